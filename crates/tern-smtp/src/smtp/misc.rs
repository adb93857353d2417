//! The commands outside a transaction's data path: RSET, NOOP, VRFY, EXPN, HELP, and the
//! ones not implemented.

use super::State;
use crate::reply::Reply;
use crate::session::{Session, SessionEnd};
use smtp_proto::Request;
use tern_net::Conn;

pub(super) fn command(
    session: &mut Session<Conn>,
    state: &mut State,
    request: Request<String>,
) -> Result<(), SessionEnd> {
    match request {
        // RFC 5321 §4.1.1.5: the transaction goes; EHLO, TLS and AUTH stay.
        Request::Rset => {
            state.tx = None;
            session.reply(&Reply::ok());
        }
        Request::Noop { .. } => session.reply(&Reply::ok()),
        // RFC 5321 §3.5.3: 252 when the server will not verify; no user enumeration.
        Request::Vrfy { .. } => session.reply(&Reply::new(
            252,
            [2, 5, 0],
            "Cannot VRFY user, but will accept message and attempt delivery",
        )),
        // RFC 5321 §3.5.2: list expansion may be refused; it would disclose group members.
        Request::Expn { .. } => session.reply(&Reply::new(502, [5, 5, 1], "EXPN not available")),
        Request::Help { .. } => session.reply(&Reply::new(
            214,
            [2, 0, 0],
            "EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT (RFC 5321)",
        )),
        other => session.protocol_error(&Reply::not_implemented(other.name()))?,
    }
    Ok(())
}
