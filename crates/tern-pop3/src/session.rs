//! The connection loop: greeting, line framing, dispatch by state, replies, timeouts,
//! shutdown and STLS.
//!
//! ## Invariants
//! - Output is buffered and written before the loop waits for input, so pipelined commands
//!   (RFC 2449 §6.6 PIPELINING) get their replies in one write, in order; RETR and TOP
//!   flush as they stream.
//! - A line longer than [`crate::Pop3Limits::max_line`] is discarded up to its LF and
//!   answered `-ERR line too long`; the input buffer never holds more than that limit plus
//!   one read.
//! - Before login the connection has `preauth_timeout` in total; afterwards `idle_timeout`
//!   without input. When either passes the connection is closed without a response and
//!   without entering UPDATE (RFC 1939 §3): nothing is deleted.
//! - Shutdown answers `-ERR [SYS/TEMP] Server shutting down` and closes; nothing is deleted.
//! - I/O errors end the session without a word; dropping the session drops the maildrop
//!   and its lock. A client that stops reading our output for `idle_timeout` is dropped
//!   too, so a stalled RETR cannot hold the lock forever.
use crate::command::{self, Command};
use crate::error::{Pop3Error, Severity};
use crate::maildrop::Maildrop;
use crate::server::Pop3Server;
use crate::{auth, capa, transaction, update};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tern_net::{Conn, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Read size: one TLS record's worth.
const READ_BUF: usize = 4096;
/// Output beyond this is written at once rather than after the next command.
pub(crate) const FLUSH_AT: usize = 64 * 1024;
/// Buffer capacity kept between commands.
const KEEP: usize = 4096;

/// The POP3 states of RFC 1939 §3. UPDATE exists only inside QUIT ([`crate::update`]).
pub(crate) enum State {
    /// Before login; `user` is the name given by USER, waiting for PASS.
    Authorization { user: Option<String> },
    /// Logged in, holding the maildrop snapshot and its lock.
    Transaction(Box<Maildrop>),
}

/// What the loop does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// Why input ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The client closed the connection.
    Eof,
    /// The pre-auth or idle timer passed.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// The outcome of a command.
pub(crate) type CmdResult = Result<Flow, Pop3Error>;

/// Buffered response output.
#[derive(Default)]
pub(crate) struct Out {
    pub(crate) buf: Vec<u8>,
}

impl Out {
    /// `+OK text` (or a bare `+OK`).
    pub(crate) fn ok(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        self.buf.extend_from_slice(b"+OK");
        if !text.is_empty() {
            self.buf.push(b' ');
            self.buf.extend_from_slice(text.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-ERR [code] text` (RFC 2449 §8 response codes).
    pub(crate) fn err(&mut self, code: Option<&str>, text: &str) {
        self.buf.extend_from_slice(b"-ERR ");
        if let Some(code) = code {
            self.buf.push(b'[');
            self.buf.extend_from_slice(code.as_bytes());
            self.buf.extend_from_slice(b"] ");
        }
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// One line of a multi-line response. Callers never start one with `.`.
    pub(crate) fn line(&mut self, text: impl AsRef<str>) {
        debug_assert!(!text.as_ref().starts_with('.'));
        self.buf.extend_from_slice(text.as_ref().as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The end of a multi-line response.
    pub(crate) fn dot(&mut self) {
        self.buf.extend_from_slice(b".\r\n");
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

/// One POP3 connection.
pub(crate) struct Session {
    pub(crate) server: Arc<Pop3Server>,
    conn: Conn,
    /// Bytes read and not yet taken as lines.
    inbuf: Vec<u8>,
    /// An overlong line is being skipped up to its LF.
    discarding: bool,
    pub(crate) out: Out,
    shutdown: Shutdown,
    started: Instant,
    last_input: Instant,
    pub(crate) state: State,
    pub(crate) auth_failures: u32,
    bad_commands: u32,
    /// Set by a login relayed to the legacy server (migration mode).
    pub(crate) relay: Option<crate::legacy::Relay>,
}

/// Serves one connection until QUIT, error, timeout or shutdown.
pub(crate) async fn run(server: Arc<Pop3Server>, conn: Conn, shutdown: Shutdown) {
    let now = Instant::now();
    let mut s = Session {
        server,
        conn,
        inbuf: Vec::new(),
        discarding: false,
        out: Out::default(),
        shutdown,
        started: now,
        last_input: now,
        state: State::Authorization { user: None },
        auth_failures: 0,
        bad_commands: 0,
        relay: None,
    };
    if let Err(e) = s.serve().await {
        tracing::debug!(peer = %s.conn.info.peer, error = %e, "POP3 connection ended");
    }
    // The maildrop (and its lock) goes with the session: no UPDATE state here.
    s.state = State::Authorization { user: None };
    let _ = s.conn.shutdown().await;
}

impl Session {
    async fn serve(&mut self) -> io::Result<()> {
        if self.shutdown.is_shutdown() {
            self.out.err(Some("SYS/TEMP"), "Server shutting down");
            return self.flush().await;
        }
        let host = &self.server.config.hostname;
        self.out.ok(format!("{host} Tern POP3 ready"));
        loop {
            let flow = match self.next_input().await? {
                Ok(line) => self.command(&line).await?,
                Err(Pop3Error::Ended(end)) => self.ended(end),
                Err(e) => self.finish(Err(e)).await?,
            };
            if flow == Flow::Close {
                return self.flush().await;
            }
            if let Some(relay) = self.relay.take() {
                self.flush().await?;
                return self.relay_legacy(relay).await;
            }
        }
    }

    /// Relays the connection to the legacy server until either side closes, the user is
    /// cut over, or the server shuts down (then the connection is just closed).
    async fn relay_legacy(&mut self, relay: crate::legacy::Relay) -> io::Result<()> {
        let crate::legacy::Relay {
            account,
            session,
            guard,
        } = relay;
        let mail = self.server.mail.clone();
        let mut shutdown = self.shutdown.clone();
        let who = account.clone();
        let stop = async move {
            tokio::select! {
                _ = mail.until_moved(&who) => {}
                _ = shutdown.wait() => {}
            }
        };
        let pipelined = std::mem::take(&mut self.inbuf);
        let result = tern_legacy::relay::relay(&mut self.conn, &pipelined, session, stop).await;
        drop(guard);
        match &result {
            Ok((ended, up, down)) => tracing::info!(peer = %self.conn.info.peer, user = %account,
                ?ended, up, down, "POP3 relay to the legacy server ended"),
            Err(e) => tracing::info!(peer = %self.conn.info.peer, user = %account, error = %e,
                "POP3 relay to the legacy server failed"),
        }
        result.map(|_| ())
    }

    /// Parses, runs and answers one command line.
    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let result = match command::parse(line) {
            Ok(cmd) => self.dispatch(cmd).await,
            Err(e) => Err(e.into()),
        };
        let flow = self.finish(result).await?;
        if self.out.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(flow)
    }

    /// Runs a command allowed in the current state (RFC 1939 §§4-6, RFC 2449, RFC 2595).
    async fn dispatch(&mut self, cmd: Command) -> CmdResult {
        let in_transaction = matches!(self.state, State::Transaction(_));
        match (in_transaction, cmd) {
            (_, Command::Capa) => capa::capa(self),
            (_, Command::Quit) => update::quit(self).await,
            (false, Command::Stls) => self.stls().await,
            (false, Command::User(name)) => auth::user(self, name),
            (false, Command::Pass(password)) => auth::pass(self, password).await,
            (false, Command::Auth { mechanism, initial }) => {
                auth::auth(self, mechanism, initial).await
            }
            (true, Command::Stat) => transaction::stat(self),
            (true, Command::List(msn)) => transaction::list(self, msn),
            (true, Command::Uidl(msn)) => transaction::uidl(self, msn),
            (true, Command::Retr(msn)) => transaction::retr(self, msn).await,
            (true, Command::Top(msn, lines)) => transaction::top(self, msn, lines).await,
            (true, Command::Dele(msn)) => transaction::dele(self, msn),
            (true, Command::Noop) => transaction::noop(self),
            (true, Command::Rset) => transaction::rset(self),
            _ => Err(Pop3Error::WrongState),
        }
    }

    /// Answers a failed command (in the one place errors meet the wire) and applies the
    /// delays and limits that go with it.
    async fn finish(&mut self, result: CmdResult) -> io::Result<Flow> {
        let e = match result {
            Ok(flow) => {
                self.bad_commands = 0;
                return Ok(flow);
            }
            Err(Pop3Error::Io(e)) => return Err(e),
            Err(Pop3Error::Ended(end)) => return Ok(self.ended(end)),
            Err(e) => e,
        };
        let peer = self.conn.info.peer;
        if e.is_internal() {
            tracing::warn!(%peer, error = %e, "POP3 command failed");
        } else {
            tracing::debug!(%peer, error = %e, "POP3 command refused");
        }
        let (code, text) = e.wire();
        let mut flow = Flow::Continue;
        if e.severity() != Severity::BadCommand {
            self.bad_commands = 0;
        }
        match e.severity() {
            Severity::AuthFailure => {
                self.auth_failures += 1;
                tracing::info!(%peer, failures = self.auth_failures, reason = %e,
                    "POP3 authentication failed");
                let limits = &self.server.limits;
                tokio::time::sleep(failure_delay(limits.auth_failure_delay, self.auth_failures))
                    .await;
                if self.auth_failures >= limits.max_auth_failures {
                    flow = Flow::Close;
                }
            }
            Severity::BadCommand => {
                self.bad_commands += 1;
                if self.bad_commands >= self.server.limits.max_bad_commands {
                    self.out.err(None, "Too many bad commands");
                    return Ok(Flow::Close);
                }
            }
            Severity::Close => flow = Flow::Close,
            Severity::Reply => {}
        }
        self.out.err(code, &text);
        Ok(flow)
    }

    /// Input ended outside a command's control.
    fn ended(&mut self, end: End) -> Flow {
        match end {
            End::Shutdown => self.out.err(Some("SYS/TEMP"), "Server shutting down"),
            // RFC 1939 §3: on autologout, close without a response and without UPDATE.
            End::Timeout => {
                tracing::debug!(peer = %self.conn.info.peer, "POP3 session timed out");
            }
            End::Eof => {}
        }
        Flow::Close
    }

    /// STLS (RFC 2595 §4): only in AUTHORIZATION, once, when TLS is configured. Plaintext
    /// pipelined after the command is discarded; the session starts afresh over TLS.
    async fn stls(&mut self) -> CmdResult {
        if self.conn.info.tls {
            return Err(Pop3Error::Stls("Command not permitted when TLS active"));
        }
        let Some(tls) = self.server.config.tls.clone() else {
            return Err(Pop3Error::Stls("STLS is not available"));
        };
        self.out.ok("Begin TLS negotiation now");
        self.flush().await?;
        if !self.inbuf.is_empty() || self.discarding {
            tracing::info!(peer = %self.conn.info.peer, octets = self.inbuf.len(),
                "discarded plaintext pipelined after STLS");
        }
        self.inbuf = Vec::new();
        self.discarding = false;
        let info = self.conn.info.clone();
        let placeholder = Conn::new(tokio::io::duplex(1).0, info);
        let plain = std::mem::replace(&mut self.conn, placeholder);
        let deadline = self.deadline();
        self.conn = tokio::time::timeout_at(deadline, plain.start_tls(&tls))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        self.state = State::Authorization { user: None };
        Ok(Flow::Continue)
    }

    /// Plaintext credentials are acceptable: TLS is active, or the site allows them.
    pub(crate) fn plaintext_allowed(&self) -> bool {
        self.conn.info.tls || self.server.config.allow_plaintext
    }

    pub(crate) fn tls_active(&self) -> bool {
        self.conn.info.tls
    }

    pub(crate) fn peer(&self) -> std::net::SocketAddr {
        self.conn.info.peer
    }

    /// The next line of input (without its line end); for commands, and for SASL
    /// responses read inside AUTH. Flushes pending output before waiting.
    pub(crate) async fn next_input(&mut self) -> io::Result<Result<Vec<u8>, Pop3Error>> {
        let max_line = self.server.limits.max_line;
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.inbuf) {
                let mut line: Vec<u8> = self.inbuf.drain(..=pos).collect();
                if self.inbuf.is_empty() && self.inbuf.capacity() > 4 * READ_BUF {
                    self.inbuf = Vec::new();
                }
                if std::mem::take(&mut self.discarding) || line.len() > max_line {
                    return Ok(Err(Pop3Error::LineTooLong));
                }
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Ok(line));
            }
            if self.inbuf.len() > max_line {
                self.inbuf = Vec::new();
                self.discarding = true;
            }
            self.flush().await?;
            if let Some(end) = self.read_more().await? {
                return Ok(Err(Pop3Error::Ended(end)));
            }
        }
    }

    /// Reads once into the input buffer, or reports why input ended.
    async fn read_more(&mut self) -> io::Result<Option<End>> {
        let mut chunk = [0u8; READ_BUF];
        let deadline = self.deadline();
        tokio::select! {
            r = self.conn.read(&mut chunk) => {
                let n = r?;
                if n == 0 {
                    return Ok(Some(End::Eof));
                }
                self.inbuf.extend_from_slice(&chunk[..n]);
                self.last_input = Instant::now();
                Ok(None)
            }
            _ = tokio::time::sleep_until(deadline) => Ok(Some(End::Timeout)),
            _ = self.shutdown.wait() => Ok(Some(End::Shutdown)),
        }
    }

    /// When the current wait ends: total pre-auth time, or idle time after login.
    fn deadline(&self) -> Instant {
        match self.state {
            State::Authorization { .. } => self.started + self.server.limits.preauth_timeout,
            State::Transaction(_) => self.last_input + self.server.config.idle_timeout,
        }
    }

    /// Writes pending output and flushes the connection. A client that accepts none of it
    /// for `idle_timeout` is gone: the session ends (and so does its maildrop lock).
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let limit = self.server.config.idle_timeout;
        let write = async {
            if !self.out.buf.is_empty() {
                self.conn.write_all(&self.out.buf).await?;
            }
            self.conn.flush().await
        };
        tokio::time::timeout(limit, write)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        self.out.buf.clear();
        if self.out.buf.capacity() > 4 * FLUSH_AT {
            self.out.buf = Vec::with_capacity(KEEP);
        }
        Ok(())
    }
}

/// `base`, doubled per earlier failure, at most 16 × `base`.
pub(crate) fn failure_delay(base: Duration, failures: u32) -> Duration {
    base * (1u32 << failures.saturating_sub(1).min(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_delay_grows_and_caps() {
        let b = Duration::from_millis(100);
        assert_eq!(failure_delay(b, 1), b);
        assert_eq!(failure_delay(b, 2), 2 * b);
        assert_eq!(failure_delay(b, 3), 4 * b);
        assert_eq!(failure_delay(b, 40), 16 * b);
    }

    #[test]
    fn reply_lines() {
        let mut out = Out::default();
        out.ok("");
        out.ok("2 320");
        out.err(Some("IN-USE"), "locked");
        out.err(None, "Unknown command");
        out.line("1 120");
        out.dot();
        assert_eq!(
            String::from_utf8(out.buf).unwrap(),
            "+OK\r\n+OK 2 320\r\n-ERR [IN-USE] locked\r\n-ERR Unknown command\r\n1 120\r\n.\r\n"
        );
    }
}
