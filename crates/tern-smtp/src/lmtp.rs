//! LMTP (RFC 2033): final delivery into local mailboxes for a front MTA (Postfix's `lmtp`
//! transport, or Tern's own SMTP later).
//!
//! The session loop and the commands without a transaction live here; MAIL/RCPT/DATA/BDAT
//! in `transaction`, the final per-recipient replies in `deliver`; recipient resolution
//! (`crate::resolve`) and the message body (`crate::body`) are shared with SMTP.
//!
//! ## Behaviour
//! - `LHLO` (RFC 2033 §4.1) with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING,
//!   BINARYMIME, SMTPUTF8. `EHLO`/`HELO` get `500 5.5.1`: this is not SMTP.
//! - RCPT resolves through the directory at once: unknown `550 5.1.1`, disabled `450 4.2.1`,
//!   over quota (counting the SIZE declared in MAIL FROM) `452 4.2.2`, groups expand to their
//!   member accounts, each account is delivered to once per transaction.
//! - After the message (DATA's final dot, or `BDAT ... LAST`) there is one reply per accepted
//!   RCPT, in RCPT order (RFC 2033 §4.2), sent only after the store's commit returned: a `250`
//!   means the message is durable in that mailbox.
//!
//! ## Invariants
//! - A message is streamed into one blob for all recipients; no connection holds a whole
//!   message in memory.
//! - One commit delivers to every recipient of a transaction.
//! - STARTTLS and AUTH are not offered: LMTP is meant for loopback or a trusted network.

mod deliver;
mod transaction;

use crate::queue::Outbound;
use crate::reply::Reply;
use crate::session::{Input, Session, SessionEnd, SessionLimits};
use crate::sieve::{SieveRunner, SieveSettings};
use smtp_proto::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use tern_mail::Mail;
use tern_net::{Conn, Shutdown};
use tokio::io::{AsyncRead, AsyncWrite};
use transaction::Transaction;

/// The LMTP service's configuration slice.
#[derive(Clone, Debug)]
pub struct LmtpConfig {
    /// This host's name, in the greeting, LHLO reply and `Received:` lines.
    pub hostname: String,
    /// Largest message accepted, in octets (advertised as `SIZE`).
    pub max_message_size: u64,
    /// Domains delivered here. The first completes the bare `<postmaster>` recipient.
    pub local_domains: Vec<String>,
    /// Most RCPT commands accepted per transaction (`452 4.5.3` past it).
    pub max_recipients: usize,
    /// What recipients' Sieve scripts may do ([`crate::sieve`]).
    pub sieve: SieveSettings,
}

/// The LMTP server: shared by every LMTP connection.
pub struct LmtpServer {
    mail: Mail,
    config: LmtpConfig,
    limits: SessionLimits,
    /// Where Sieve redirects and vacation replies go; `None`: they are not sent (a
    /// redirect keeps the message instead).
    outbound: Option<Arc<dyn Outbound>>,
    sieve: SieveRunner,
}

/// What a command does to the session.
pub(crate) enum Flow {
    Continue,
    Quit,
}

/// Per-connection state.
pub(crate) struct State {
    pub peer: Option<SocketAddr>,
    /// The name given in LHLO; `None` until then.
    pub helo: Option<String>,
    pub tx: Option<Transaction>,
}

impl LmtpServer {
    pub fn new(mail: Mail, config: LmtpConfig) -> Arc<LmtpServer> {
        LmtpServer::with_limits(mail, config, SessionLimits::default())
    }

    /// Like [`LmtpServer::new`] with explicit timeouts and error budget (tests use short ones).
    pub fn with_limits(mail: Mail, config: LmtpConfig, limits: SessionLimits) -> Arc<LmtpServer> {
        LmtpServer::with_options(mail, config, limits, None)
    }

    /// Like [`LmtpServer::with_limits`] with the outbound queue Sieve sends through.
    pub fn with_options(
        mail: Mail,
        config: LmtpConfig,
        limits: SessionLimits,
        outbound: Option<Arc<dyn Outbound>>,
    ) -> Arc<LmtpServer> {
        let sieve = SieveRunner::new(config.sieve.clone());
        Arc::new(LmtpServer {
            mail,
            config,
            limits,
            outbound,
            sieve,
        })
    }

    /// Serves one connection until QUIT, EOF, timeout, too many errors or shutdown.
    pub async fn handle(self: Arc<Self>, conn: Conn, shutdown: Shutdown) {
        let peer = conn.info.peer;
        self.serve(conn, Some(peer), shutdown).await;
    }

    /// [`LmtpServer::handle`] over any byte stream.
    pub async fn serve<S>(&self, stream: S, peer: Option<SocketAddr>, mut shutdown: Shutdown)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut session =
            Session::new(stream, self.limits.clone()).watch_shutdown(shutdown.clone());
        let mut state = State {
            peer,
            helo: None,
            tx: None,
        };
        let host = &self.config.hostname;
        session.reply(&Reply::plain(220, format!("{host} LMTP Tern ready")));
        let end = loop {
            let input = match session.next_input(&mut shutdown).await {
                Ok(input) => input,
                Err(end) => break Some(end),
            };
            let result = match input {
                Input::Command(request) => self.command(&mut session, &mut state, request).await,
                Input::Invalid(reply) => session.protocol_error(&reply).map(|()| Flow::Continue),
            };
            match result {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => break None,
                Err(end) => break Some(end),
            }
        };
        match &end {
            Some(SessionEnd::Timeout) => session.reply(&Reply::timeout(host)),
            Some(SessionEnd::Shutdown) => session.reply(&Reply::shutting_down(host)),
            Some(SessionEnd::TooManyErrors) => session.reply(&Reply::too_many_errors(host)),
            Some(SessionEnd::Eof) | Some(SessionEnd::Io(_)) | None => {}
        }
        if let Some(end) = end {
            tracing::debug!(?peer, %end, "LMTP session ended");
        }
        session.close().await;
    }

    async fn command<S>(
        &self,
        session: &mut Session<S>,
        state: &mut State,
        request: Request<String>,
    ) -> Result<Flow, SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        match request {
            Request::Lhlo { host } => {
                state.helo = Some(host);
                state.tx = None;
                session.reply(&self.lhlo_reply());
            }
            Request::Ehlo { .. } | Request::Helo { .. } => {
                session.protocol_error(&Reply::new(
                    500,
                    [5, 5, 1],
                    "This is LMTP (RFC 2033): use LHLO",
                ))?;
            }
            Request::Mail { from } => self.mail_from(session, state, from)?,
            Request::Rcpt { to } => self.rcpt_to(session, state, to).await?,
            Request::Data => self.data(session, state).await?,
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(session, state, chunk_size, is_last).await?,
            Request::Rset => {
                state.tx = None;
                session.reply(&Reply::ok());
            }
            Request::Noop { .. } => session.reply(&Reply::ok()),
            // RFC 5321 §3.5.3: 252 when the server will not verify but will try to deliver.
            Request::Vrfy { .. } => session.reply(&Reply::new(
                252,
                [2, 5, 0],
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Request::Help { .. } => session.reply(&Reply::new(
                214,
                [2, 0, 0],
                "LHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT (RFC 2033)",
            )),
            Request::Quit => {
                session.reply(&Reply::bye(&self.config.hostname));
                return Ok(Flow::Quit);
            }
            other @ (Request::StartTls
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. }) => {
                session.protocol_error(&Reply::not_implemented(other.name()))?;
            }
        }
        Ok(Flow::Continue)
    }

    /// The LHLO reply (RFC 2033 §4.1); no enhanced status codes (RFC 2034 §3).
    fn lhlo_reply(&self) -> Reply {
        Reply::multiline(
            250,
            None,
            vec![
                self.config.hostname.clone(),
                "PIPELINING".into(),
                format!("SIZE {}", self.config.max_message_size),
                "8BITMIME".into(),
                "ENHANCEDSTATUSCODES".into(),
                "CHUNKING".into(),
                "BINARYMIME".into(),
                "SMTPUTF8".into(),
            ],
        )
    }

    /// A new transaction id.
    fn transaction_id(&self) -> String {
        crate::trace::transaction_id()
    }
}

/// Compile-time check: the connection future can be spawned on a multi-threaded runtime.
#[cfg(test)]
#[allow(dead_code)]
fn handle_future_is_send(server: Arc<LmtpServer>, conn: Conn, shutdown: Shutdown) {
    fn is_send<T: Send>(_: &T) {}
    let future = server.handle(conn, shutdown);
    is_send(&future);
}
