//! QUIT, and the UPDATE state it enters from TRANSACTION (RFC 1939 §6).
//!
//! ## Invariants
//! - Messages marked by DELE are removed by one [`tern_store::MailStore::expunge`] call;
//!   `+OK` is written only after it returned, i.e. after the removal is durable.
//! - The maildrop lock is released before the reply is written, so a client may log in
//!   again as soon as it has read `+OK`.
//! - If the expunge fails the client gets `-ERR [SYS/TEMP] Some deleted messages not
//!   removed` and the connection closes; the messages stay.
//! - QUIT in AUTHORIZATION just ends the session.
use crate::error::Pop3Error;
use crate::session::{CmdResult, Flow, Session, State};

pub(crate) async fn quit(s: &mut Session) -> CmdResult {
    let host = s.server.config.hostname.clone();
    let state = std::mem::replace(&mut s.state, State::Authorization { user: None });
    let maildrop = match state {
        State::Authorization { .. } => {
            s.out.ok(format!("{host} Tern POP3 signing off"));
            return Ok(Flow::Close);
        }
        State::Transaction(md) => md,
    };
    let deleted = maildrop.deleted_uids();
    let (left, _) = maildrop.stat();
    if !deleted.is_empty() {
        let store = s.server.mail.store.clone();
        match store.expunge(maildrop.mailbox, &deleted).await {
            Ok((removed, _)) => {
                tracing::info!(peer = %s.peer(), user = %maildrop.account,
                    marked = deleted.len(), removed = removed.len(), "POP3 UPDATE");
            }
            Err(e) => return Err(Pop3Error::NotRemoved(e)),
        }
    }
    drop(maildrop);
    let left = match left {
        0 => "maildrop empty".to_string(),
        1 => "1 message left".to_string(),
        n => format!("{n} messages left"),
    };
    s.out.ok(format!("{host} Tern POP3 signing off ({left})"));
    Ok(Flow::Close)
}
