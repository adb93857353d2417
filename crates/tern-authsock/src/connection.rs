//! One client connection: the handshake, then any number of requests, several at a time.
//!
//! ## Flow
//! 1. The server's handshake goes out at once (`VERSION`, `MECH`..., `SPID`, `CUID`,
//!    `COOKIE`, `DONE`); the client must answer `VERSION 1.x` then `CPID` within
//!    [`AuthSocketConfig::handshake_timeout`](crate::AuthSocketConfig), or the connection
//!    closes.
//! 2. Each `AUTH` starts a [`tern_sasl::Exchange`]; each of its steps runs as a task of the
//!    connection, so a slow directory or a delayed failure holds up only its own request.
//!    A request is *busy* while a step runs and *waiting* while a `CONT` challenge is out.
//! 3. Replies are written as steps finish, in that order (each names its request).
//!
//! ## Invariants
//! - Every `AUTH` or `CONT` the server accepts gets exactly one reply (`CONT`, `OK` or
//!   `FAIL`) unless the client cancels it, the connection ends, or it is replaced at the
//!   request limit (then it gets `FAIL`).
//! - A line that names a request but is wrong gets `FAIL` for that request; a line that
//!   names none (bad handshake, unknown command, no id, an id reused while in progress)
//!   closes the connection. Nothing a client sends panics or grows memory past the line and
//!   request limits.
//! - Lines are never logged (they carry credentials); failure reasons are, the client's
//!   `FAIL` never says more than "failed".
use crate::framer::{Frame, Framer};
use crate::penalty::PenaltyKey;
use crate::reply::{self, Fail, Reply};
use crate::request::{self, AuthRequest, ClientLine, LineError};
use crate::server::Shared;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tern_net::Shutdown;
use tern_sasl::{Exchange, Mechanism, SaslError, Step};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

/// The `FAIL` reason for a mechanism that is not offered.
pub const UNSUPPORTED: &str = "Unsupported authentication mechanism";
/// The `FAIL` reason for PLAIN/LOGIN from a remote user without TLS.
pub const PLAINTEXT_DISABLED: &str = "Plaintext authentication disabled";
/// The `FAIL` reason when the directory cannot answer.
pub const TEMPFAIL: &str = "Temporary authentication failure";
/// The `FAIL` reason for a request pushed out by the request limit, or refused at it.
pub const TOO_MANY: &str = "Too many requests in progress";
/// The `FAIL` reason for a line longer than the limit.
pub const TOO_LONG: &str = "Line too long";
/// The `FAIL` reason for a `CONT` naming no request in progress.
pub const UNKNOWN_REQUEST: &str = "Unknown authentication request";
/// The `FAIL` reason for a `CONT` sent before the previous step was answered.
pub const NOT_YOUR_TURN: &str = "Response sent before the challenge";

/// Octets read at a time.
const READ_CHUNK: usize = 8192;

enum Phase {
    /// Waiting for the client's `VERSION`.
    Version,
    /// Waiting for `CPID`.
    Cpid,
    Ready,
}

/// What a request is for, for its steps and log lines.
struct Meta {
    id: u32,
    mechanism: Mechanism,
    service: String,
    remote_ip: Option<IpAddr>,
    session: Option<String>,
    peer: Arc<str>,
    penalty_key: PenaltyKey,
}

enum State {
    /// A challenge is out; the exchange waits for `CONT`.
    Waiting(Box<Exchange>),
    /// A step is running.
    Busy,
}

struct Request {
    /// Unique per `AUTH` on this connection: orders requests by age and tells a step's
    /// result from that of an earlier request with the same id.
    seq: u64,
    state: State,
    meta: Arc<Meta>,
}

/// A finished step.
struct StepDone {
    id: u32,
    seq: u64,
    /// The exchange, when it goes on (the reply is `CONT`).
    exchange: Option<Box<Exchange>>,
    reply: Reply,
}

enum Flow {
    Continue,
    Close,
}

enum Event {
    Read(std::io::Result<usize>),
    Step(Result<StepDone, JoinError>),
    Shutdown,
    HandshakeTimeout,
}

pub(crate) struct Connection<S> {
    shared: Arc<Shared>,
    stream: S,
    peer: Arc<str>,
    cuid: u32,
    framer: Framer,
    phase: Phase,
    requests: HashMap<u32, Request>,
    next_seq: u64,
    steps: JoinSet<StepDone>,
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin> Connection<S> {
    pub(crate) fn new(shared: Arc<Shared>, stream: S, peer: String, cuid: u32) -> Connection<S> {
        Connection {
            framer: Framer::new(shared.config.max_line),
            shared,
            stream,
            peer: peer.into(),
            cuid,
            phase: Phase::Version,
            requests: HashMap::new(),
            next_seq: 0,
            steps: JoinSet::new(),
        }
    }

    pub(crate) async fn run(mut self, mut shutdown: Shutdown) {
        let mechanisms = self.shared.sasl.mechanisms();
        let cookie: [u8; 16] = rand::random();
        let handshake = reply::handshake(&mechanisms, self.shared.spid, self.cuid, &cookie);
        if self.write(handshake.as_bytes()).await.is_err() {
            return;
        }
        tracing::debug!(peer = %self.peer, cuid = self.cuid, "auth socket: client connected");
        let handshake_deadline = Instant::now() + self.shared.config.handshake_timeout;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut reading = true;
        loop {
            if !reading && self.steps.is_empty() {
                break;
            }
            let in_handshake = !matches!(self.phase, Phase::Ready);
            let event = tokio::select! {
                r = self.stream.read(&mut buf), if reading => Event::Read(r),
                Some(done) = self.steps.join_next(), if !self.steps.is_empty() => Event::Step(done),
                _ = shutdown.wait(), if reading => Event::Shutdown,
                _ = tokio::time::sleep_until(handshake_deadline), if reading && in_handshake => {
                    Event::HandshakeTimeout
                }
            };
            let flow = match event {
                Event::Read(Ok(0)) => {
                    if !self.requests.is_empty() || self.framer.mid_line() {
                        tracing::debug!(peer = %self.peer, requests = self.requests.len(),
                            "auth socket: client left during an exchange");
                    }
                    Flow::Close
                }
                Event::Read(Ok(n)) => {
                    self.framer.push(&buf[..n]);
                    let mut flow = Flow::Continue;
                    while let Some(frame) = self.framer.next_frame() {
                        if let Flow::Close = self.frame(frame).await {
                            flow = Flow::Close;
                            break;
                        }
                    }
                    flow
                }
                Event::Read(Err(e)) => {
                    tracing::debug!(peer = %self.peer, error = %e, "auth socket: read failed");
                    Flow::Close
                }
                Event::Step(Ok(done)) => self.finish(done).await,
                Event::Step(Err(e)) => {
                    tracing::error!(peer = %self.peer, error = %e, "auth socket: a step failed");
                    Flow::Close
                }
                Event::Shutdown => {
                    // Answer what is running, take nothing new.
                    reading = false;
                    Flow::Continue
                }
                Event::HandshakeTimeout => {
                    tracing::info!(peer = %self.peer, "auth socket: no handshake from the client");
                    Flow::Close
                }
            };
            if let Flow::Close = flow {
                break;
            }
        }
        // Dropping the connection aborts steps still running (their client is gone).
    }

    async fn frame(&mut self, frame: Frame) -> Flow {
        match frame {
            Frame::Line(line) => self.line(&line).await,
            Frame::TooLong { prefix } => match (&self.phase, too_long_request(&prefix)) {
                (Phase::Ready, Some(id)) => {
                    tracing::info!(peer = %self.peer, id, "auth socket: line too long");
                    self.forget(id);
                    self.reply(Fail::because(id, TOO_LONG)).await
                }
                _ => {
                    tracing::warn!(peer = %self.peer, "auth socket: line too long, closing");
                    Flow::Close
                }
            },
        }
    }

    async fn line(&mut self, line: &[u8]) -> Flow {
        let parsed = request::parse_line(line);
        match (&self.phase, parsed) {
            (Phase::Version, Ok(ClientLine::Version { major: 1, .. })) => {
                self.phase = Phase::Cpid;
                Flow::Continue
            }
            (Phase::Version, Ok(ClientLine::Version { major, .. })) => {
                tracing::warn!(peer = %self.peer, major,
                    "auth socket: client speaks another major protocol version, closing");
                Flow::Close
            }
            (Phase::Version, _) => {
                tracing::warn!(peer = %self.peer, "auth socket: expected VERSION, closing");
                Flow::Close
            }
            (Phase::Cpid, Ok(ClientLine::Cpid(pid))) => {
                tracing::debug!(peer = %self.peer, client_pid = pid, "auth socket: handshake done");
                self.phase = Phase::Ready;
                Flow::Continue
            }
            (Phase::Cpid, _) => {
                tracing::warn!(peer = %self.peer, "auth socket: expected CPID, closing");
                Flow::Close
            }
            (Phase::Ready, Ok(ClientLine::Auth(request))) => self.auth(request).await,
            (Phase::Ready, Ok(ClientLine::Cont { id, response })) => self.cont(id, &response).await,
            (Phase::Ready, Ok(ClientLine::Cancel { id })) => {
                self.forget(id);
                Flow::Continue
            }
            (Phase::Ready, Ok(ClientLine::Version { .. } | ClientLine::Cpid(_))) => {
                tracing::warn!(peer = %self.peer,
                    "auth socket: handshake line after the handshake, closing");
                Flow::Close
            }
            (Phase::Ready, Err(LineError::BadRequest { id, reason })) => {
                tracing::info!(peer = %self.peer, id, reason, "auth socket: malformed request");
                self.forget(id);
                self.reply(Fail::because(id, reason)).await
            }
            (Phase::Ready, Err(e)) => {
                tracing::warn!(peer = %self.peer, error = %e,
                    "auth socket: protocol error, closing");
                Flow::Close
            }
        }
    }

    async fn auth(&mut self, r: AuthRequest) -> Flow {
        let id = r.id;
        if self.requests.contains_key(&id) {
            tracing::warn!(peer = %self.peer, id,
                "auth socket: request id reused while in progress, closing");
            return Flow::Close;
        }
        let shared = self.shared.clone();
        let sasl = &shared.sasl;
        let Some(mechanism) = Mechanism::from_name(&r.mechanism).filter(|m| sasl.offers(m.name()))
        else {
            tracing::info!(peer = %self.peer, id, service = %r.service,
                "auth socket: mechanism not offered");
            return self.reply(Fail::because(id, UNSUPPORTED)).await;
        };
        if mechanism.sends_password() && !r.secured && !self.shared.config.allow_plaintext {
            tracing::info!(peer = %self.peer, id, %mechanism, service = %r.service,
                rip = %Rip(r.remote_ip), "auth socket: plaintext mechanism without TLS refused");
            return self.reply(Fail::because(id, PLAINTEXT_DISABLED)).await;
        }
        let initial = match r.initial_response.as_deref() {
            None => None,
            Some(b64) => match decode(b64) {
                Some(bytes) => Some(bytes),
                None => {
                    return self
                        .reply(Fail::because(id, "Invalid base64 data in initial response"))
                        .await;
                }
            },
        };
        if self.requests.len() >= self.shared.config.max_requests.max(1) {
            let oldest_waiting = self
                .requests
                .iter()
                .filter(|(_, r)| matches!(r.state, State::Waiting(_)))
                .min_by_key(|(_, r)| r.seq)
                .map(|(id, _)| *id);
            match oldest_waiting {
                Some(old) => {
                    tracing::info!(peer = %self.peer, id = old,
                        "auth socket: request limit, dropping the oldest waiting request");
                    self.requests.remove(&old);
                    if let Flow::Close = self.reply(Fail::because(old, TOO_MANY)).await {
                        return Flow::Close;
                    }
                }
                None => {
                    tracing::warn!(peer = %self.peer, id, "auth socket: request limit reached");
                    return self.reply(Fail::temporary(id, TOO_MANY)).await;
                }
            }
        }
        let exchange = match sasl.start(mechanism.name()) {
            Ok(ex) => ex,
            Err(SaslError::UnknownMechanism) => {
                return self.reply(Fail::because(id, UNSUPPORTED)).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, id, %mechanism, error = %e,
                    "auth socket: cannot start the mechanism");
                return self.reply(Fail::temporary(id, TEMPFAIL)).await;
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let meta = Arc::new(Meta {
            id,
            mechanism,
            service: r.service,
            remote_ip: r.remote_ip,
            session: r.session,
            peer: self.peer.clone(),
            penalty_key: PenaltyKey::new(r.remote_ip, self.cuid),
        });
        self.step(seq, meta, Box::new(exchange), initial);
        Flow::Continue
    }

    async fn cont(&mut self, id: u32, response: &str) -> Flow {
        let Some(request) = self.requests.get_mut(&id) else {
            tracing::info!(peer = %self.peer, id, "auth socket: CONT for no request in progress");
            return self.reply(Fail::because(id, UNKNOWN_REQUEST)).await;
        };
        let State::Waiting(exchange) = std::mem::replace(&mut request.state, State::Busy) else {
            tracing::info!(peer = %self.peer, id, "auth socket: CONT while a step is running");
            self.forget(id);
            return self.reply(Fail::because(id, NOT_YOUR_TURN)).await;
        };
        let (seq, meta) = (request.seq, request.meta.clone());
        match decode(response) {
            Some(bytes) => {
                self.step(seq, meta, exchange, Some(bytes));
                Flow::Continue
            }
            None => {
                self.forget(id);
                self.reply(Fail::because(
                    id,
                    "Invalid base64 data in continued response",
                ))
                .await
            }
        }
    }

    /// Runs the exchange's next step as a task; the request is busy until it ends.
    fn step(
        &mut self,
        seq: u64,
        meta: Arc<Meta>,
        exchange: Box<Exchange>,
        response: Option<Vec<u8>>,
    ) {
        self.requests.insert(
            meta.id,
            Request {
                seq,
                state: State::Busy,
                meta: meta.clone(),
            },
        );
        let shared = self.shared.clone();
        self.steps
            .spawn(run_step(shared, meta, seq, exchange, response));
    }

    /// A step ended: answer it, unless its request was cancelled or replaced meanwhile.
    async fn finish(&mut self, done: StepDone) -> Flow {
        let Some(request) = self.requests.get_mut(&done.id) else {
            return Flow::Continue;
        };
        if request.seq != done.seq {
            return Flow::Continue;
        }
        match done.exchange {
            Some(exchange) => request.state = State::Waiting(exchange),
            None => {
                self.requests.remove(&done.id);
            }
        }
        self.reply(done.reply).await
    }

    /// Drops a request (a step still running for it is answered to nobody).
    fn forget(&mut self, id: u32) {
        self.requests.remove(&id);
    }

    async fn reply(&mut self, reply: Reply) -> Flow {
        match self.write(reply.to_line().as_bytes()).await {
            Ok(()) => Flow::Continue,
            Err(()) => Flow::Close,
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.shared.config.write_timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "auth socket: write failed");
                Err(())
            }
            Err(_) => {
                tracing::info!(peer = %self.peer, "auth socket: client does not read, closing");
                Err(())
            }
        }
    }
}

/// One step of an exchange, with the logging and failure delay that go with its outcome.
async fn run_step(
    shared: Arc<Shared>,
    meta: Arc<Meta>,
    seq: u64,
    mut exchange: Box<Exchange>,
    response: Option<Vec<u8>>,
) -> StepDone {
    let id = meta.id;
    let result = exchange.step(response.as_deref()).await;
    let (exchange, reply) = match result {
        Ok(Step::Challenge(challenge)) => (Some(exchange), Reply::Cont { id, challenge }),
        Ok(Step::Done(success)) => {
            tracing::info!(peer = %meta.peer, id, mechanism = %meta.mechanism,
                service = %meta.service, rip = %Rip(meta.remote_ip),
                session = %meta.session.as_deref().unwrap_or("-"),
                account = %success.account.name, "auth socket: authenticated");
            let user = success.account.name;
            (None, Reply::Ok { id, user })
        }
        Err(SaslError::Malformed(reason)) => {
            tracing::info!(peer = %meta.peer, id, mechanism = %meta.mechanism,
                service = %meta.service, rip = %Rip(meta.remote_ip), reason,
                "auth socket: malformed response");
            (None, Fail::because(id, reason))
        }
        Err(SaslError::UnknownMechanism) => (None, Fail::because(id, UNSUPPORTED)),
        Err(e @ (SaslError::Failed { .. } | SaslError::NotAuthorized { .. })) => {
            let delay = shared.penalty.failure(meta.penalty_key);
            tracing::info!(peer = %meta.peer, id, mechanism = %meta.mechanism,
                service = %meta.service, rip = %Rip(meta.remote_ip),
                session = %meta.session.as_deref().unwrap_or("-"),
                reason = %e, delay_ms = delay.as_millis() as u64,
                "auth socket: authentication failed");
            tokio::time::sleep(delay).await;
            (None, Fail::credentials(id))
        }
        Err(e) => {
            tracing::warn!(peer = %meta.peer, id, mechanism = %meta.mechanism,
                service = %meta.service, error = %e, "auth socket: cannot check credentials");
            (None, Fail::temporary(id, TEMPFAIL))
        }
    };
    StepDone {
        id,
        seq,
        exchange,
        reply,
    }
}

/// A request's remote address for the log (`-` when the client did not say).
struct Rip(Option<IpAddr>);

impl std::fmt::Display for Rip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// Base64 as SASL sends it; `=` alone is an empty response (RFC 4954's notation, which
/// some clients pass through).
fn decode(b64: &str) -> Option<Vec<u8>> {
    if b64 == "=" {
        return Some(Vec::new());
    }
    B64.decode(b64).ok()
}

/// The request an over-long line belongs to: `AUTH` or `CONT` with a complete id field.
fn too_long_request(prefix: &[u8]) -> Option<u32> {
    let mut fields = prefix.split(|&b| b == b'\t');
    let command = fields.next()?;
    if command != b"AUTH" && command != b"CONT" {
        return None;
    }
    let id = fields.next()?;
    // The id field is complete only if a TAB follows it within the prefix.
    fields.next()?;
    if id.is_empty() || id.len() > 10 || !id.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(id).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_long_lines_name_their_request_when_they_can() {
        assert_eq!(
            too_long_request(b"AUTH\t17\tPLAIN\tservice=smtp\tre"),
            Some(17)
        );
        assert_eq!(
            too_long_request(b"CONT\t3\tAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Some(3)
        );
        assert_eq!(
            too_long_request(b"CONT\t33333333333333333333333333333"),
            None
        );
        assert_eq!(too_long_request(b"AUTH\tx\tPLAIN"), None);
        assert_eq!(
            too_long_request(b"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
            None
        );
    }

    #[test]
    fn base64_responses() {
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(decode("="), Some(vec![]));
        assert_eq!(decode("dGVzdA=="), Some(b"test".to_vec()));
        assert_eq!(decode("not base64!"), None);
    }
}
