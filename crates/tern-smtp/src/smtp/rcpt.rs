//! RCPT TO (RFC 5321 §4.1.1.3): where the recipient is ([`relay::classify`]), then either
//! the directory's answer (local) or the relay decision (remote).
//!
//! ## Replies
//! - no transaction `503 5.5.1`; after BDAT started `503 5.5.1`
//! - parameters `555 5.5.4` (only DSN's NOTIFY and ORCPT are taken)
//! - more than `max_recipients` `452 4.5.3` (RFC 5321 §4.5.3.1.10: the client sends the rest
//!   in another transaction)
//! - bad syntax `501 5.1.3`; non-ASCII without SMTPUTF8 `553 5.6.7`
//! - local: as [`crate::resolve`] says (`550 5.1.1`, `450 4.2.1`, `452 4.2.2`, `451 4.4.3`)
//! - remote, not authenticated: `554 5.7.1 relay access denied`
//! - remote, authenticated, no queue configured: `550 5.7.1 relaying not configured`
//! - remote, authenticated, queue configured: `250 2.1.5`
//!
//! Every 5xx here counts against the session's error budget. Unknown local recipients go
//! through the tarpit of [`crate::limits`] (growing delay, then `421 4.7.0`).

use super::relay::{self, Destination};
use super::{SmtpServer, State};
use crate::envelope::{Extensions, rcpt_params};
use crate::reply::Reply;
use crate::resolve;
use crate::session::{Session, SessionEnd};
use smtp_proto::RcptTo;
use tern_net::Conn;

impl SmtpServer {
    pub(super) async fn rcpt_to(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        to: RcptTo<String>,
    ) -> Result<(), SessionEnd> {
        let authenticated = state.auth.is_some();
        let Some(tx) = state.tx.as_mut() else {
            return session.protocol_error(&Reply::bad_sequence("Need MAIL before RCPT"));
        };
        if tx.bdat.is_some() {
            return session.protocol_error(&Reply::bad_sequence("RCPT after BDAT"));
        }
        let extensions = Extensions {
            dsn: true,
            auth: false,
        };
        let params = match rcpt_params(&to, extensions) {
            Ok(params) => params,
            Err(reply) => return self.refuse(session, reply),
        };
        if tx.envelope.recipients.len() >= self.config.max_recipients {
            session.reply(&Reply::new(452, [4, 5, 3], "Too many recipients"));
            return Ok(());
        }
        let address = to.address;
        let shown = resolve::display(&address).to_string();
        let destination =
            match relay::classify(&address, tx.envelope.smtputf8, &self.config.local_domains) {
                Ok(destination) => destination,
                Err(reply) => return self.refuse(session, reply),
            };
        match destination {
            Destination::Local(lookup) => {
                let declared = tx.envelope.declared_size;
                let local_domains = &self.config.local_domains;
                match resolve::resolve(&self.mail, local_domains, &lookup, declared).await {
                    Ok(resolved) => {
                        if !resolved.relayed.is_empty() && self.outbound.is_none() {
                            tracing::warn!(rcpt = %shown,
                                "SMTP: recipient on the legacy server, but no queue to reach it");
                            return self.refuse(session, Reply::local_error(&format!("<{shown}>")));
                        }
                        session.reply(&accepted(&shown));
                        tx.add_local(
                            address,
                            params,
                            resolved.accounts,
                            resolved.group,
                            resolved.relayed,
                        );
                        Ok(())
                    }
                    Err(reply) if reply.status == Some([5, 1, 1]) => {
                        state.bad_rcpts += 1;
                        self.unknown_recipient(session, state.peer, state.bad_rcpts, reply)
                            .await
                    }
                    Err(reply) => self.refuse(session, reply),
                }
            }
            Destination::Remote(wire) => {
                if !authenticated {
                    tracing::info!(peer = ?state.peer, from = %tx.envelope.from, rcpt = %shown,
                        "SMTP: relay access denied");
                    return self.refuse(
                        session,
                        Reply::new(554, [5, 7, 1], format!("<{shown}>: relay access denied")),
                    );
                }
                if self.outbound.is_none() {
                    return self.refuse(
                        session,
                        Reply::new(
                            550,
                            [5, 7, 1],
                            format!("<{shown}>: relaying not configured"),
                        ),
                    );
                }
                session.reply(&accepted(&shown));
                tx.add_remote(address, params, wire);
                Ok(())
            }
        }
    }
}

impl SmtpServer {
    /// The tarpit ([`crate::limits`]): the n-th unknown recipient of the connection waits
    /// n × `bad_rcpt_delay` for its `550 5.1.1`; at `max_bad_rcpts` the answer is
    /// `421 4.7.0` and the connection closes.
    async fn unknown_recipient(
        &self,
        session: &mut Session<Conn>,
        peer: Option<std::net::SocketAddr>,
        count: u32,
        reply: Reply,
    ) -> Result<(), SessionEnd> {
        let (delay, close) = self.config.abuse.bad_recipient(peer.map(|p| p.ip()), count);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if close {
            tracing::info!(?peer, count, "SMTP: too many unknown recipients, closing");
            session.reply(&crate::limits::too_many_bad_recipients(
                &self.config.hostname,
            ));
            return Err(SessionEnd::Eof);
        }
        self.refuse(session, reply)
    }
}

fn accepted(shown: &str) -> Reply {
    Reply::new(250, [2, 1, 5], format!("<{shown}> recipient ok"))
}
