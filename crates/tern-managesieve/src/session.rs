//! The connection loop: greeting, command framing and limits, dispatch by state, responses,
//! timeouts, shutdown and STARTTLS.
//!
//! ## Invariants
//! - Output is buffered and written before the loop waits for input, so pipelined commands
//!   get their responses in one write, in order.
//! - Input never grows past `max_line` plus one literal of at most `max_script_size`: a
//!   longer line is discarded up to its LF (`NO "Line too long"`), a larger literal is read
//!   and dropped without buffering (`NO (QUOTA/MAXSIZE)`), and one larger than
//!   `max_skipped_literal` closes the connection with `BYE`.
//! - Before login the connection has `preauth_timeout` in total; afterwards `idle_timeout`
//!   without input. Either ends the session with `BYE`; shutdown with `BYE (TRYLATER)`.
//! - After STARTTLS, plaintext the client pipelined behind the command is discarded, and the
//!   capabilities are sent again over TLS (RFC 5804 §2.2).
use crate::command::{self, Command};
use crate::error::{Severity, SieveError};
use crate::framing::{self, Frame, FrameLimits, Token};
use crate::response::{Code, Out};
use crate::server::ManageSieveServer;
use crate::{auth, capability, cmd};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::Account;
use tern_net::{Conn, Shutdown};
use tern_store::AccountId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Read size: one TLS record's worth.
const READ_BUF: usize = 4096;
/// Output beyond this is written at once rather than after the next command.
const FLUSH_AT: usize = 64 * 1024;

/// The logged-in user.
pub(crate) struct Login {
    pub(crate) account: Account,
    pub(crate) id: AccountId,
}

/// RFC 5804 states: non-authenticated and authenticated.
pub(crate) enum State {
    Unauthenticated,
    Authenticated(Box<Login>),
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
    Eof,
    Timeout,
    Shutdown,
    /// A literal too large even to skip.
    Oversized,
}

pub(crate) type CmdResult = Result<Flow, SieveError>;

/// Input being skipped after a framing refusal, and the error to answer once it is gone.
#[derive(Default)]
struct Skip {
    literal: u64,
    through_lf: bool,
    then: Option<SieveError>,
}

/// One ManageSieve connection.
pub(crate) struct Session {
    pub(crate) server: Arc<ManageSieveServer>,
    conn: Conn,
    inbuf: Vec<u8>,
    /// Don't re-frame before the buffer holds this much (a literal is arriving).
    need: usize,
    skip: Skip,
    pub(crate) out: Out,
    shutdown: Shutdown,
    started: Instant,
    last_input: Instant,
    pub(crate) state: State,
    pub(crate) auth_failures: u32,
    bad_commands: u32,
}

/// Serves one connection until LOGOUT, error, timeout or shutdown.
pub(crate) async fn run(server: Arc<ManageSieveServer>, conn: Conn, shutdown: Shutdown) {
    let now = Instant::now();
    let mut s = Session {
        server,
        conn,
        inbuf: Vec::new(),
        need: 0,
        skip: Skip::default(),
        out: Out::default(),
        shutdown,
        started: now,
        last_input: now,
        state: State::Unauthenticated,
        auth_failures: 0,
        bad_commands: 0,
    };
    if let Err(e) = s.serve().await {
        tracing::debug!(peer = %s.conn.info.peer, error = %e, "ManageSieve connection ended");
    }
    let _ = s.conn.shutdown().await;
}

impl Session {
    async fn serve(&mut self) -> io::Result<()> {
        if self.shutdown.is_shutdown() {
            self.out.bye(Some(&Code::TryLater), "Server shutting down");
            return self.flush().await;
        }
        capability::write(self);
        let host = self.server.config.hostname.clone();
        self.out.ok(None, &format!("{host} Tern ManageSieve ready"));
        loop {
            let flow = match self.next_command().await? {
                Ok(tokens) => self.command(tokens).await?,
                Err(SieveError::Ended(end)) => self.ended(end),
                Err(e) => self.finish(Err(e)).await?,
            };
            if flow == Flow::Close {
                return self.flush().await;
            }
        }
    }

    async fn command(&mut self, tokens: Vec<Token>) -> io::Result<Flow> {
        let result = match command::parse(tokens) {
            Ok(cmd) => self.dispatch(cmd).await,
            Err(e) => Err(e.into()),
        };
        let flow = self.finish(result).await?;
        if self.out.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(flow)
    }

    /// Runs a command allowed in the current state (RFC 5804 §2).
    async fn dispatch(&mut self, command: Command) -> CmdResult {
        let authenticated = matches!(self.state, State::Authenticated(_));
        match (authenticated, command) {
            (_, Command::Capability) => {
                capability::write(self);
                self.out.ok(None, "Capability completed");
                Ok(Flow::Continue)
            }
            (_, Command::Logout) => {
                self.out.ok(None, "Logout completed");
                Ok(Flow::Close)
            }
            (_, Command::Noop(tag)) => {
                let code = tag.map(Code::Tag);
                self.out.ok(code.as_ref(), "Done");
                Ok(Flow::Continue)
            }
            (false, Command::StartTls) => self.starttls().await,
            (false, Command::Authenticate { mechanism, initial }) => {
                auth::authenticate(self, &mechanism, initial).await
            }
            (true, Command::Unauthenticate) => {
                self.state = State::Unauthenticated;
                self.started = Instant::now();
                self.out.ok(None, "Unauthenticated");
                Ok(Flow::Continue)
            }
            (true, Command::HaveSpace { name, size }) => {
                cmd::havespace::run(self, &name, size).await
            }
            (true, Command::PutScript { name, content }) => {
                cmd::putscript::put(self, &name, content).await
            }
            (true, Command::CheckScript(content)) => cmd::putscript::check(self, content),
            (true, Command::ListScripts) => cmd::listscripts::run(self).await,
            (true, Command::SetActive(name)) => cmd::setactive::run(self, &name).await,
            (true, Command::GetScript(name)) => cmd::getscript::run(self, &name).await,
            (true, Command::DeleteScript(name)) => cmd::deletescript::run(self, &name).await,
            (true, Command::RenameScript { old, new }) => {
                cmd::renamescript::run(self, &old, &new).await
            }
            _ => Err(SieveError::WrongState),
        }
    }

    /// Answers a failed command (the one place errors meet the wire) and applies the
    /// delays and limits that go with it.
    async fn finish(&mut self, result: CmdResult) -> io::Result<Flow> {
        let e = match result {
            Ok(flow) => {
                self.bad_commands = 0;
                return Ok(flow);
            }
            Err(SieveError::Io(e)) => return Err(e),
            Err(SieveError::Ended(end)) => return Ok(self.ended(end)),
            Err(e) => e,
        };
        let peer = self.conn.info.peer;
        if e.is_internal() {
            tracing::warn!(%peer, error = %e, "ManageSieve command failed");
        } else {
            tracing::debug!(%peer, error = %e, "ManageSieve command refused");
        }
        let (code, text) = e.wire();
        match e.severity() {
            Severity::AuthFailure => {
                self.bad_commands = 0;
                self.auth_failures += 1;
                tracing::info!(%peer, failures = self.auth_failures, reason = %e,
                    "ManageSieve authentication failed");
                let limits = &self.server.limits;
                tokio::time::sleep(failure_delay(limits.auth_failure_delay, self.auth_failures))
                    .await;
                if self.auth_failures >= limits.max_auth_failures {
                    self.out.bye(None, "Too many authentication failures");
                    return Ok(Flow::Close);
                }
            }
            Severity::BadCommand => {
                self.bad_commands += 1;
                if self.bad_commands >= self.server.limits.max_bad_commands {
                    self.out.bye(None, "Too many bad commands");
                    return Ok(Flow::Close);
                }
            }
            Severity::Reply => self.bad_commands = 0,
        }
        self.out.no(code.as_ref(), &text);
        Ok(Flow::Continue)
    }

    /// Input ended outside a command's control.
    fn ended(&mut self, end: End) -> Flow {
        match end {
            End::Shutdown => self.out.bye(Some(&Code::TryLater), "Server shutting down"),
            End::Timeout => {
                tracing::debug!(peer = %self.conn.info.peer, "ManageSieve session timed out");
                self.out.bye(None, "Idle timeout, closing the connection");
            }
            End::Oversized => self
                .out
                .bye(Some(&Code::QuotaMaxSize), "Literal far too large"),
            End::Eof => {}
        }
        Flow::Close
    }

    /// STARTTLS (RFC 5804 §2.2): only before login, once, when TLS is configured.
    async fn starttls(&mut self) -> CmdResult {
        if self.conn.info.tls {
            return Err(SieveError::StartTls("TLS is already active"));
        }
        let Some(tls) = self.server.config.tls.clone() else {
            return Err(SieveError::StartTls("STARTTLS is not available"));
        };
        self.out.ok(None, "Begin TLS negotiation now");
        self.flush().await?;
        if !self.inbuf.is_empty() {
            tracing::info!(peer = %self.conn.info.peer, octets = self.inbuf.len(),
                "discarded plaintext pipelined after STARTTLS");
        }
        self.inbuf = Vec::new();
        self.need = 0;
        self.skip = Skip::default();
        let info = self.conn.info.clone();
        let placeholder = Conn::new(tokio::io::duplex(1).0, info);
        let plain = std::mem::replace(&mut self.conn, placeholder);
        let deadline = self.deadline();
        self.conn = tokio::time::timeout_at(deadline, plain.start_tls(&tls))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        capability::write(self);
        self.out.ok(None, "TLS negotiation successful");
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

    /// The logged-in user (commands of the authenticated state only run with one).
    pub(crate) fn login(&self) -> Result<&Login, SieveError> {
        match &self.state {
            State::Authenticated(login) => Ok(login),
            State::Unauthenticated => Err(SieveError::WrongState),
        }
    }

    fn frame_limits(&self) -> FrameLimits {
        FrameLimits {
            max_line: self.server.limits.max_line,
            max_literal: self.server.config.max_script_size,
        }
    }

    /// The next command's tokens (also used for SASL responses inside AUTHENTICATE).
    /// Flushes pending output before waiting.
    pub(crate) async fn next_command(&mut self) -> io::Result<Result<Vec<Token>, SieveError>> {
        loop {
            if self.skip.literal > 0 {
                let n = (self.skip.literal.min(self.inbuf.len() as u64)) as usize;
                self.inbuf.drain(..n);
                self.skip.literal -= n as u64;
            }
            if self.skip.literal == 0 && self.skip.through_lf {
                match memchr::memchr(b'\n', &self.inbuf) {
                    Some(lf) => {
                        self.inbuf.drain(..=lf);
                        self.skip.through_lf = false;
                    }
                    None => self.inbuf.clear(),
                }
            }
            if self.skip.literal == 0
                && !self.skip.through_lf
                && let Some(e) = self.skip.then.take()
            {
                return Ok(Err(e));
            }
            let skipping = self.skip.literal > 0 || self.skip.through_lf;
            if !skipping && !self.inbuf.is_empty() && self.inbuf.len() >= self.need {
                match framing::frame(&self.inbuf, self.frame_limits()) {
                    Frame::Command { tokens, consumed } => {
                        self.consume(consumed);
                        return Ok(Ok(tokens));
                    }
                    Frame::Incomplete { need } => self.need = need,
                    Frame::Bad { reason, consumed } => {
                        self.consume(consumed);
                        return Ok(Err(SieveError::Syntax(reason)));
                    }
                    Frame::TooLong => {
                        self.inbuf.clear();
                        self.need = 0;
                        self.skip = Skip {
                            literal: 0,
                            through_lf: true,
                            then: Some(SieveError::LineTooLong),
                        };
                        continue;
                    }
                    Frame::TooLarge { consumed, literal } => {
                        self.consume(consumed);
                        if literal > self.server.limits.max_skipped_literal {
                            return Ok(Err(SieveError::Ended(End::Oversized)));
                        }
                        self.skip = Skip {
                            literal,
                            through_lf: true,
                            then: Some(SieveError::TooLarge(self.server.config.max_script_size)),
                        };
                        continue;
                    }
                }
            }
            self.flush().await?;
            if let Some(end) = self.read_more().await? {
                return Ok(Err(SieveError::Ended(end)));
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.inbuf.drain(..n);
        self.need = 0;
        if self.inbuf.is_empty() && self.inbuf.capacity() > 4 * READ_BUF {
            self.inbuf = Vec::new();
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
            State::Unauthenticated => self.started + self.server.limits.preauth_timeout,
            State::Authenticated(_) => self.last_input + self.server.config.idle_timeout,
        }
    }

    /// Writes pending output. A client that accepts none of it for `idle_timeout` is gone.
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
            self.out.buf = Vec::new();
        }
        Ok(())
    }
}

/// `base`, doubled per earlier failure, at most 16 × `base`.
pub(crate) fn failure_delay(base: Duration, failures: u32) -> Duration {
    base * (1u32 << failures.saturating_sub(1).min(4))
}
