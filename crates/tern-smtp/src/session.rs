//! The connection core shared by every SMTP-family front end (LMTP, SMTP, submission):
//! buffered input, command framing with `smtp-proto`'s [`RequestReceiver`], raw lines for
//! SASL exchanges, buffered replies, timeouts, the protocol-error budget and graceful
//! shutdown.
//!
//! ## Invariants
//! - Replies are buffered and flushed before the session waits for input, never later
//!   (RFC 2920 §3.2: a server may batch replies to pipelined commands, but must flush
//!   before blocking on a read). So a client that pipelines gets its replies in one write,
//!   and one that does not still never waits on an unflushed reply.
//! - Input is read into one fixed buffer of [`READ_BUFFER`] octets; a connection holds at
//!   most that plus one partial command line, whatever the client sends.
//! - After an over-long command line the rest of that line is discarded up to its LF, so its
//!   tail is never taken for a command.
//! - [`Session::into_parts`] (before a TLS handshake) hands back the stream and drops any
//!   input already buffered: plaintext pipelined after STARTTLS is never executed
//!   (RFC 3207 §5, the command injection of CVE-2011-0411).

use crate::reply::Reply;
use smtp_proto::request::receiver::RequestReceiver;
use smtp_proto::{Error as ParseError, Request};
use std::time::Duration;
use tern_net::Shutdown;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of the input buffer of a connection.
pub const READ_BUFFER: usize = 8 * 1024;

/// Per-session limits.
#[derive(Clone, Debug)]
pub struct SessionLimits {
    /// How long the server waits for the client (a command, or more message data) before
    /// replying `421` and closing. RFC 5321 §4.5.3.2.7 asks for at least 5 minutes.
    pub idle_timeout: Duration,
    /// How long a write to the client may stall before the session is dropped.
    pub write_timeout: Duration,
    /// Protocol errors (syntax, unknown command, bad sequence) tolerated before the session
    /// is closed with `421 4.7.0`. Rejected recipients do not count.
    pub max_errors: u32,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(300),
            max_errors: 20,
        }
    }
}

/// What the client sent next.
#[derive(Debug)]
pub enum Input {
    /// A well-formed command.
    Command(Request<String>),
    /// A line that is not a well-formed command; the reply says why.
    Invalid(Reply),
}

/// Why a session ends without a QUIT.
#[derive(Debug, thiserror::Error)]
pub enum SessionEnd {
    #[error("client closed the connection")]
    Eof,
    #[error("client idle for too long")]
    Timeout,
    #[error("server shutting down")]
    Shutdown,
    #[error("too many protocol errors")]
    TooManyErrors,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// One client connection's wire state.
pub struct Session<S> {
    stream: S,
    inbuf: Box<[u8]>,
    /// `inbuf[start..end]` is received and not yet consumed.
    start: usize,
    end: usize,
    receiver: RequestReceiver,
    /// Skipping the rest of an over-long command line.
    discarding_line: bool,
    out: Vec<u8>,
    limits: SessionLimits,
    errors: u32,
    /// Watched while waiting for message data too (DATA/BDAT), so a client stalled in the
    /// middle of a message cannot hold up a graceful shutdown.
    shutdown: Option<Shutdown>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub fn new(stream: S, limits: SessionLimits) -> Session<S> {
        Session {
            stream,
            inbuf: vec![0u8; READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            receiver: RequestReceiver::default(),
            discarding_line: false,
            out: Vec::with_capacity(512),
            limits,
            errors: 0,
            shutdown: None,
        }
    }

    /// Makes every wait for input, message data included, end on shutdown.
    pub fn watch_shutdown(mut self, shutdown: Shutdown) -> Session<S> {
        self.shutdown = Some(shutdown);
        self
    }

    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// The stream back, and the protocol errors counted so far (so that a new session over
    /// the same connection, after STARTTLS, keeps the budget). Buffered replies must have
    /// been flushed; buffered input is dropped. Returns whether input was dropped.
    pub fn into_parts(self) -> (S, u32, bool) {
        let dropped = self.start < self.end || self.discarding_line;
        (self.stream, self.errors, dropped)
    }

    /// Starts the error budget at `errors` (see [`Session::into_parts`]).
    pub fn with_errors(mut self, errors: u32) -> Session<S> {
        self.errors = errors;
        self
    }

    /// Protocol errors counted so far.
    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// Forgets counted errors (after a delivered message: the budget is per streak).
    pub fn reset_errors(&mut self) {
        self.errors = 0;
    }

    /// Reads one raw line (a SASL response, RFC 4954 §4), without its CRLF. Lines longer than
    /// `max` octets are consumed to their end and give `None`.
    pub async fn read_line(
        &mut self,
        shutdown: &mut Shutdown,
        max: usize,
    ) -> Result<Option<Vec<u8>>, SessionEnd> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let available = &self.inbuf[self.start..self.end];
            match memchr::memchr(b'\n', available) {
                Some(pos) => {
                    if !too_long {
                        line.extend_from_slice(&available[..pos]);
                    }
                    self.start += pos + 1;
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok((!too_long && line.len() <= max).then_some(line));
                }
                None => {
                    if !too_long {
                        line.extend_from_slice(available);
                        if line.len() > max + 1 {
                            too_long = true;
                            line = Vec::new();
                        }
                    }
                    self.start = self.end;
                }
            }
            if shutdown.is_shutdown() {
                return Err(SessionEnd::Shutdown);
            }
            tokio::select! {
                filled = self.fill() => filled?,
                _ = shutdown.wait() => return Err(SessionEnd::Shutdown),
            }
        }
    }

    /// Buffers a reply (sent at the next flush).
    pub fn reply(&mut self, reply: &Reply) {
        reply.write_to(&mut self.out);
    }

    /// Buffers the reply to a protocol error and counts it against the error budget.
    /// Fails with [`SessionEnd::TooManyErrors`] once the budget is spent (the caller sends
    /// `421` and closes).
    pub fn protocol_error(&mut self, reply: &Reply) -> Result<(), SessionEnd> {
        self.reply(reply);
        self.errors += 1;
        if self.errors >= self.limits.max_errors {
            return Err(SessionEnd::TooManyErrors);
        }
        Ok(())
    }

    /// Sends every buffered reply.
    pub async fn flush(&mut self) -> Result<(), SessionEnd> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.limits.write_timeout, write).await {
            Ok(result) => result?,
            Err(_) => return Err(SessionEnd::Timeout),
        }
        self.out.clear();
        if self.out.capacity() > 4096 {
            self.out.shrink_to(512);
        }
        Ok(())
    }

    /// The next command. Waits (after flushing replies) while no complete line is buffered;
    /// gives up on timeout, EOF or shutdown.
    pub async fn next_input(&mut self, shutdown: &mut Shutdown) -> Result<Input, SessionEnd> {
        loop {
            if self.discarding_line {
                self.discard_line();
            }
            if !self.discarding_line && self.start < self.end {
                let available = &self.inbuf[self.start..self.end];
                let mut bytes = available.iter();
                let result = self.receiver.ingest(&mut bytes).map(Request::into_owned);
                let consumed = available.len() - bytes.as_slice().len();
                match result {
                    Ok(request) => {
                        self.start += consumed;
                        return Ok(Input::Command(request));
                    }
                    // The receiver keeps the partial line itself.
                    Err(ParseError::NeedsMoreData { .. }) => self.start = self.end,
                    Err(ParseError::ResponseTooLong) => {
                        self.start += consumed;
                        self.discarding_line = true;
                        return Ok(Input::Invalid(Reply::line_too_long()));
                    }
                    Err(error) => {
                        self.start += consumed;
                        return Ok(Input::Invalid(Reply::for_parse_error(&error)));
                    }
                }
            }
            if shutdown.is_shutdown() {
                return Err(SessionEnd::Shutdown);
            }
            tokio::select! {
                filled = self.fill() => filled?,
                _ = shutdown.wait() => return Err(SessionEnd::Shutdown),
            }
        }
    }

    /// Skips input up to and including the next LF.
    fn discard_line(&mut self) {
        let available = &self.inbuf[self.start..self.end];
        match memchr::memchr(b'\n', available) {
            Some(pos) => {
                self.start += pos + 1;
                self.discarding_line = false;
            }
            None => self.start = self.end,
        }
    }

    /// Input received and not yet consumed.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.inbuf[self.start..self.end]
    }

    /// Marks `n` buffered octets as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
    }

    /// Flushes replies, then reads more input into the buffer (at least one octet).
    pub(crate) async fn fill(&mut self) -> Result<(), SessionEnd> {
        self.flush().await?;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.inbuf.len() {
            self.inbuf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let read = tokio::time::timeout(
            self.limits.idle_timeout,
            self.stream.read(&mut self.inbuf[self.end..]),
        );
        let timed = match self.shutdown.as_mut() {
            Some(shutdown) => {
                if shutdown.is_shutdown() {
                    return Err(SessionEnd::Shutdown);
                }
                tokio::select! {
                    r = read => r,
                    _ = shutdown.wait() => return Err(SessionEnd::Shutdown),
                }
            }
            None => read.await,
        };
        let n = match timed {
            Ok(result) => result?,
            Err(_) => return Err(SessionEnd::Timeout),
        };
        if n == 0 {
            return Err(SessionEnd::Eof);
        }
        self.end += n;
        Ok(())
    }

    /// Closes the write side after flushing.
    pub async fn close(&mut self) {
        if self.flush().await.is_ok() {
            let _ = self.stream.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    fn limits() -> SessionLimits {
        SessionLimits {
            idle_timeout: Duration::from_millis(300),
            write_timeout: Duration::from_secs(5),
            max_errors: 3,
        }
    }

    #[tokio::test]
    async fn frames_pipelined_and_split_commands() {
        let (mut client, server) = duplex(64 * 1024);
        let (_tx, mut shutdown) = Shutdown::new();
        let mut session = Session::new(server, limits());
        client
            .write_all(b"LHLO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<p@q>\r\nNO")
            .await
            .unwrap();
        let mut names = Vec::new();
        for _ in 0..3 {
            match session.next_input(&mut shutdown).await.unwrap() {
                Input::Command(r) => names.push(r.name()),
                Input::Invalid(r) => panic!("{r:?}"),
            }
        }
        assert_eq!(names, ["LHLO", "MAIL", "RCPT"]);
        client.write_all(b"OP\r\n").await.unwrap();
        match session.next_input(&mut shutdown).await.unwrap() {
            Input::Command(Request::Noop { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn long_line_is_rejected_and_its_tail_ignored() {
        let (mut client, server) = duplex(64 * 1024);
        let (_tx, mut shutdown) = Shutdown::new();
        let mut session = Session::new(server, limits());
        let mut line = b"NOOP ".to_vec();
        line.extend(std::iter::repeat_n(b'x', 10_000));
        // The tail of the long line looks like a command: it must not run.
        line.extend_from_slice(b" QUIT\r\nRSET\r\n");
        let writer = tokio::spawn(async move {
            client.write_all(&line).await.unwrap();
            client
        });
        match session.next_input(&mut shutdown).await.unwrap() {
            Input::Invalid(r) => assert_eq!(r.code, 500),
            other => panic!("{other:?}"),
        }
        match session.next_input(&mut shutdown).await.unwrap() {
            Input::Command(Request::Rset) => {}
            other => panic!("{other:?}"),
        }
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn replies_flush_before_reading() {
        let (mut client, server) = duplex(64 * 1024);
        let (_tx, mut shutdown) = Shutdown::new();
        let mut session = Session::new(server, limits());
        session.reply(&Reply::plain(220, "ready"));
        let task = tokio::spawn(async move {
            let r = session.next_input(&mut shutdown).await;
            (session, r)
        });
        let mut buf = [0u8; 64];
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"220 ready\r\n");
        client.write_all(b"QUIT\r\n").await.unwrap();
        let (_session, r) = task.await.unwrap();
        assert!(matches!(r, Ok(Input::Command(Request::Quit))));
    }

    #[tokio::test]
    async fn idle_timeout_eof_and_shutdown() {
        let (_client, server) = duplex(1024);
        let (tx, mut shutdown) = Shutdown::new();
        let mut session = Session::new(server, limits());
        assert!(matches!(
            session.next_input(&mut shutdown).await,
            Err(SessionEnd::Timeout)
        ));

        let (client, server) = duplex(1024);
        let mut session = Session::new(server, limits());
        drop(client);
        assert!(matches!(
            session.next_input(&mut shutdown).await,
            Err(SessionEnd::Eof)
        ));

        let (_client, server) = duplex(1024);
        let mut session = Session::new(server, limits());
        tx.send(true).unwrap();
        assert!(matches!(
            session.next_input(&mut shutdown).await,
            Err(SessionEnd::Shutdown)
        ));
    }

    #[tokio::test]
    async fn raw_lines_and_into_parts() {
        let (mut client, server) = duplex(64 * 1024);
        let (_tx, mut shutdown) = Shutdown::new();
        let mut session = Session::new(server, limits());
        client.write_all(b"dXNlcg==\r\n").await.unwrap();
        let line = session.read_line(&mut shutdown, 100).await.unwrap();
        assert_eq!(line.as_deref(), Some(&b"dXNlcg=="[..]));
        let mut long = vec![b'A'; 300];
        long.extend_from_slice(b"\r\nshort\nNOOP\r\n");
        client.write_all(&long).await.unwrap();
        assert_eq!(session.read_line(&mut shutdown, 100).await.unwrap(), None);
        let line = session.read_line(&mut shutdown, 100).await.unwrap();
        assert_eq!(line.as_deref(), Some(&b"short"[..]));
        // A pipelined command is still buffered: into_parts drops it and says so.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (_stream, errors, dropped) = session.into_parts();
        assert_eq!(errors, 0);
        assert!(dropped);
    }

    #[tokio::test]
    async fn error_budget() {
        let (_client, server) = duplex(1024);
        let mut session = Session::new(server, limits());
        let r = Reply::bad_sequence("no");
        assert!(session.protocol_error(&r).is_ok());
        assert!(session.protocol_error(&r).is_ok());
        assert!(matches!(
            session.protocol_error(&r),
            Err(SessionEnd::TooManyErrors)
        ));
    }
}
