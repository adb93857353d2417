//! Commands that need the connection itself: STARTTLS (RFC 9051 §6.2.1), AUTHENTICATE's
//! continuation exchange (RFC 9051 §6.2.2, RFC 4959 SASL-IR), IDLE (RFC 2177) and
//! COMPRESS=DEFLATE (RFC 4978).

use super::conn_loop::{Flow, Loop, Wake, framer_config};
use super::io::{Prefixed, dead_conn};
use super::{ExpungePolicy, State};
use crate::cmd::{self, CmdError, Done};
use crate::proto::framing::{Event, Framer};
use crate::proto::parse::{SaslResponse, is_idle_done, parse_sasl_response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io;
use tern_net::Conn;
use tern_sasl::Step;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

impl Loop {
    /// STARTTLS: only before authentication on a plain connection with TLS configured.
    /// Plaintext pipelined after the command is discarded (RFC 9051 §11.1: command
    /// injection); capabilities are not re-announced unsolicited.
    pub(super) async fn starttls(&mut self, tag: &str) -> io::Result<Flow> {
        let refuse = match (
            &self.s.state,
            self.s.tls_active(),
            &self.s.server.config.tls,
        ) {
            (State::NotAuthenticated, false, Some(_)) => None,
            (State::NotAuthenticated, true, _) => Some("TLS is already active"),
            (State::NotAuthenticated, false, None) => Some("STARTTLS is not available"),
            _ => Some("Already authenticated"),
        };
        if let Some(why) = refuse {
            return self.bad(Some(tag), why).await;
        }
        let tls = self.s.server.config.tls.clone().expect("checked above");
        self.s
            .raw(format!("{tag} OK Begin TLS negotiation now\r\n").as_bytes());
        self.flush_out().await?;
        let discarded = self.framer.take_buffered();
        if !discarded.is_empty() {
            tracing::info!(peer = %self.s.conn.peer, octets = discarded.len(),
                "discarded plaintext pipelined after STARTTLS");
        }
        let info = self.conn.info.clone();
        let plain = std::mem::replace(&mut self.conn, dead_conn(info));
        self.conn = plain.start_tls(&tls).await?;
        self.s.conn.tls = true;
        self.framer = Framer::new(framer_config(&self.s));
        Ok(Flow::Continue)
    }

    /// COMPRESS DEFLATE after authentication; a second time is `NO [COMPRESSIONACTIVE]`.
    pub(super) async fn compress(&mut self, tag: &str, mechanism: &str) -> io::Result<Flow> {
        let result = if self.s.auth().is_none() {
            Err(CmdError::bad("Not authenticated"))
        } else if !mechanism.eq_ignore_ascii_case("DEFLATE") {
            Err(CmdError::bad("Unsupported compression mechanism"))
        } else if self.s.compressed || self.conn.is_compressed() {
            Err(CmdError::no_code(
                "COMPRESSIONACTIVE",
                "Compression is already active",
            ))
        } else {
            Ok(Done::ok("DEFLATE active"))
        };
        let ok = result.is_ok();
        let flow = self.finish(tag, result, ExpungePolicy::Announce).await?;
        if !ok || flow == Flow::Close {
            return Ok(flow);
        }
        // Octets after the command's CRLF are the first compressed ones (RFC 4978 §3).
        let early = self.framer.take_buffered();
        let info = self.conn.info.clone();
        let plain = std::mem::replace(&mut self.conn, dead_conn(info.clone()));
        self.conn = if early.is_empty() {
            plain.start_deflate()
        } else {
            Conn::new(Prefixed::new(early, plain), info).start_deflate()
        };
        self.s.compressed = true;
        Ok(Flow::Continue)
    }

    /// AUTHENTICATE with SASL-IR, any mechanism the server's authenticator offers; `*`
    /// cancels (BAD).
    pub(super) async fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) -> io::Result<Flow> {
        if !matches!(self.s.state, State::NotAuthenticated) {
            return self.bad(Some(tag), "Already authenticated").await;
        }
        let mut exchange = match self.s.server.sasl.start(mechanism) {
            Ok(e) => e,
            Err(e) => {
                let e = cmd::authenticate::refusal(&mut self.s, e).await;
                return self.reply(Some(tag), Err(e)).await;
            }
        };
        if !self.s.plaintext_allowed() {
            let e = CmdError::no_code(
                "PRIVACYREQUIRED",
                "Plaintext authentication is disabled on unencrypted connections; use STARTTLS first",
            );
            return self.reply(Some(tag), Err(e)).await;
        }
        let mut step = exchange.step(initial.as_deref()).await;
        loop {
            match step {
                Err(e) => {
                    let result = cmd::authenticate::outcome(&mut self.s, Err(e)).await;
                    return self.finish(tag, result, ExpungePolicy::Announce).await;
                }
                Ok(Step::Done(success)) => {
                    self.s.plaintext = success.plaintext.map(|p| (p.login, p.password));
                    let result = cmd::authenticate::outcome(&mut self.s, Ok(success.account)).await;
                    self.s.plaintext = None;
                    return self.finish(tag, result, ExpungePolicy::Announce).await;
                }
                Ok(Step::Challenge(challenge)) => {
                    let mut line = b"+ ".to_vec();
                    line.extend_from_slice(STANDARD.encode(&challenge).as_bytes());
                    line.extend_from_slice(b"\r\n");
                    self.s.raw(&line);
                    self.flush_out().await?;
                    self.framer.expect_raw_line();
                    let response = match self.raw_line().await? {
                        Some(Event::RawLine(l)) => l,
                        Some(Event::LineTooLong { .. }) => {
                            return self.bad(Some(tag), "SASL response too long").await;
                        }
                        Some(_) => return self.bad(Some(tag), "Expected a SASL response").await,
                        None => return Ok(Flow::Close),
                    };
                    step = match parse_sasl_response(&response) {
                        Ok(SaslResponse::Cancel) => {
                            return self.bad(Some(tag), "Authentication cancelled").await;
                        }
                        Ok(SaslResponse::Data(d)) => exchange.step(Some(&d)).await,
                        Err(e) => return self.bad(Some(tag), &e.reason).await,
                    };
                }
            }
        }
    }

    /// The next framer event after [`crate::proto::framing::Framer::expect_raw_line`],
    /// reading as needed; `None` when the connection ended.
    async fn raw_line(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(ev) = self.framer.next_event() {
                return Ok(Some(ev));
            }
            match self.wait_input(false).await? {
                Wake::Input => {}
                Wake::Closed => return Ok(None),
            }
        }
    }

    /// IDLE: `+ idling`, then push the selected mailbox's changes (as far as
    /// [`Loop::push_options`] allows: RFC 5465 §4 makes NOTIFY decide) and NOTIFY events as
    /// they are committed, until DONE. The autologout timer and shutdown apply.
    pub(super) async fn idle(&mut self, tag: &str) -> io::Result<Flow> {
        if self.s.auth().is_none() {
            return self.bad(Some(tag), "Not authenticated").await;
        }
        // Events committed before this point are covered by the sync below.
        self.s.events = self.s.events.resubscribe();
        self.s.raw(b"+ idling\r\n");
        if let Some(opts) = self.push_options(true) {
            self.sync(opts, true).await;
        }
        self.flush_out().await?;
        if self.s.state_is_logout() {
            return Ok(Flow::Close);
        }
        self.framer.expect_raw_line();
        loop {
            if let Some(ev) = self.framer.next_event() {
                let result = match ev {
                    Event::RawLine(l) if is_idle_done(&l) => Ok(Done::ok("IDLE terminated")),
                    Event::LineTooLong { .. } => Err(CmdError::bad("Line too long")),
                    _ => Err(CmdError::bad("Expected DONE")),
                };
                return self.finish(tag, result, ExpungePolicy::Announce).await;
            }
            let deadline = self.deadline();
            tokio::select! {
                r = self.conn.read(&mut self.rbuf) => {
                    let n = r?;
                    if n == 0 {
                        return Ok(Flow::Close);
                    }
                    self.framer.push(&self.rbuf[..n]);
                    self.last_input = Instant::now();
                }
                ev = self.s.events.recv(), if !self.events_closed => {
                    self.deliver_events(ev, true).await?;
                    if self.s.state_is_logout() {
                        return Ok(Flow::Close);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.s.untagged("BYE Autologout; idle for too long");
                    self.flush_out().await?;
                    return Ok(Flow::Close);
                }
                _ = self.shutdown.wait() => {
                    self.s.untagged("BYE Server shutting down");
                    self.flush_out().await?;
                    return Ok(Flow::Close);
                }
            }
        }
    }
}
