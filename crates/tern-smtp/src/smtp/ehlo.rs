//! EHLO and HELO (RFC 5321 §4.1.1.1): the client's name, a reset of any transaction, and
//! the capability list.
//!
//! The list depends on the connection: STARTTLS only while TLS is not active and a
//! certificate is configured (RFC 3207 §4.2: not after the handshake); AUTH only in
//! submission mode and only where PLAIN/LOGIN may be used (RFC 4954 §4 and RFC 8314: not in
//! the clear unless `allow_plaintext`). HELO gets no extensions.

use super::{Helo, Mode, SmtpServer, State};
use crate::reply::Reply;
use crate::session::Session;
use tern_net::Conn;

impl SmtpServer {
    pub(super) fn ehlo(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        name: String,
        extended: bool,
    ) {
        // RFC 5321 §4.1.4: EHLO/HELO in a session resets it as RSET does.
        state.tx = None;
        let reply = if extended {
            Reply::multiline(250, None, self.capabilities(state, &name))
        } else {
            Reply::plain(250, self.greeting_line(state, &name))
        };
        state.helo = Some(Helo { name, extended });
        session.reply(&reply);
    }

    /// `mx.example.test Hello client.test [192.0.2.1]`.
    fn greeting_line(&self, state: &State, name: &str) -> String {
        let name: String = name.chars().filter(|c| !c.is_control()).collect();
        match state.peer {
            Some(peer) => format!(
                "{} Hello {name} {}",
                self.config.hostname,
                crate::trace::address_literal(peer.ip())
            ),
            None => format!("{} Hello {name}", self.config.hostname),
        }
    }

    /// The EHLO reply lines (no enhanced status codes: RFC 2034 §3).
    pub(crate) fn capabilities(&self, state: &State, name: &str) -> Vec<String> {
        let mut lines = vec![
            self.greeting_line(state, name),
            "PIPELINING".into(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        if self.config.tls.is_some() && !state.tls {
            lines.push("STARTTLS".into());
        }
        if self.config.mode == Mode::Submission && self.plaintext_ok(state) {
            lines.push(format!("AUTH {}", self.sasl().mechanism_names().join(" ")));
        }
        lines.extend(["DSN".into(), "CHUNKING".into(), "BINARYMIME".into()]);
        lines
    }
}
