//! SMTP (RFC 5321): the inbound MX (port 25) and authenticated message submission
//! (RFC 6409 on 587 with STARTTLS, RFC 8314 on 465 with implicit TLS), over the core the
//! LMTP front end shares ([`crate::session`], [`crate::data`], [`crate::envelope`],
//! `crate::resolve`, `crate::body`, [`crate::trace`]).
//!
//! The session loop and STARTTLS live here; one file per command group: `ehlo` (EHLO,
//! HELO, the capability list), `auth` (AUTH with `sasl`), `mail` (MAIL FROM and sender
//! ownership), `rcpt` (RCPT TO with the relay decision of `relay`), `data` (DATA,
//! BDAT), `deliver` (the end of a transaction), `misc` (RSET, NOOP, VRFY, ...).
//!
//! ## Behaviour
//! - EHLO offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS (when a
//!   certificate is configured and TLS is not active yet), DSN, CHUNKING, BINARYMIME, and in
//!   [`Mode::Submission`] `AUTH PLAIN LOGIN` once TLS is active (or `allow_plaintext`).
//! - RCPT: local domains are resolved through the directory at once (unknown `550 5.1.1`,
//!   disabled `450 4.2.1`, over quota counting the declared SIZE `452 4.2.2`, groups expanded);
//!   other domains are relaying, allowed only to an authenticated submission client and only
//!   when an [`Outbound`] queue is configured (`550 5.7.1 relaying not configured` otherwise),
//!   and refused to everybody else with `554 5.7.1 relay access denied`.
//! - One reply after the message (RFC 5321 §4.1.1.4), `250` only once every local delivery
//!   is committed and the queue (if any remote recipient) has the message. A failure of a
//!   direct local recipient fails the whole message with a 4xx, so the client retries
//!   (recipients that already got it may see it twice: SMTP's at-least-once window); a
//!   group's members are a list expansion, so the group counts as delivered when one member
//!   got it (member failures are logged).
//! - Submission (RFC 6409): MAIL needs AUTH (`530 5.7.0`), and on 587 STARTTLS before AUTH
//!   and MAIL (`530 5.7.0 Must issue a STARTTLS command first`) unless `allow_plaintext`;
//!   the reverse-path must be an address of the authenticated account (`553 5.7.1`) and so
//!   must every `From:` address (`550 5.7.1`); `Date:` and `Message-ID:` are added when
//!   missing (§8.2, §8.3).
//! - Errors per session: protocol errors and recipients refused with a 5xx share one budget
//!   (`SessionLimits::max_errors`); when it is spent the session ends with `421 4.7.0`. A
//!   delivered message resets it. Failed AUTH attempts have their own budget with a growing
//!   delay before each `535 5.7.8`.
//! - DSN (RFC 3461): RET, ENVID, NOTIFY and ORCPT are accepted and recorded, and handed to the
//!   queue for remote recipients; no success DSN is generated for local delivery yet.
//!
//! ## Invariants
//! - Never an open relay: the only path from a RCPT to [`Outbound`] requires an account
//!   authenticated on this connection (`State::auth`), which only `auth` sets.
//! - After STARTTLS every piece of session state is forgotten (RFC 3207 §4.2) and plaintext
//!   pipelined behind the command is dropped unread.
//! - Acknowledged means durable, as for LMTP; one blob for every recipient.

mod auth;
mod checks;
mod data;
mod deliver;
mod ehlo;
mod filters;
mod mail;
mod misc;
mod msgauth;
mod rcpt;
mod relay;
mod sasl;
mod sieve_hook;
mod transaction;

use crate::queue::Outbound;
use crate::reply::Reply;
use crate::session::{Input, Session, SessionEnd, SessionLimits};
use smtp_proto::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::Account;
use tern_mail::Mail;
use tern_net::{Conn, Shutdown, TlsConfig};
use transaction::Transaction;

/// Which service a listener offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Port 25: mail for the local domains from anyone; no AUTH; never relays.
    Mx,
    /// Ports 587 (STARTTLS) and 465 (implicit TLS, done by the listener): AUTH required
    /// before MAIL; relays for the authenticated user through the [`Outbound`] queue.
    Submission,
}

/// The SMTP service's configuration slice (one per listener kind).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// This host's name, in the greeting, EHLO reply, `Received:` and generated Message-IDs.
    pub hostname: String,
    /// Domains delivered here; the first completes the bare `<postmaster>`. Empty: every
    /// domain is local (addresses the directory does not know are `550 5.1.1`) and nothing
    /// is ever relayed, as the binary treats an empty `local_domains`.
    pub local_domains: Vec<String>,
    /// Largest message accepted, in octets (advertised as `SIZE`).
    pub max_message_size: u64,
    /// Most recipients per message (`452 4.5.3` past it).
    pub max_recipients: usize,
    /// The certificate STARTTLS offers; `None`: no STARTTLS.
    pub tls: Option<TlsConfig>,
    /// Allow AUTH PLAIN/LOGIN (and so submission) without TLS.
    pub allow_plaintext: bool,
    pub mode: Mode,
    /// The delay before the first `535`; it doubles with each further failure (capped at
    /// 16 times this).
    pub auth_failure_delay: Duration,
    /// Failed AUTH attempts per connection before `421 4.7.0` and close.
    pub max_auth_failures: u32,
    /// The SASL layer for submission AUTH (mechanisms, SCRAM, GSSAPI); `None`: PLAIN and
    /// LOGIN against the mail's directory.
    pub sasl: Option<tern_sasl::Authenticator>,
    /// How long a client may take to complete the TLS handshake after STARTTLS.
    pub tls_handshake_timeout: Duration,
    /// MX: SPF/DKIM/DMARC/ARC verification into `Authentication-Results:` (`msgauth`);
    /// `None`: not verified.
    pub verifier: Option<Arc<tern_msgauth::Verifier>>,
    /// Submission: the DKIM keys that sign mail for remote recipients; `None`: unsigned.
    pub dkim_keys: Option<Arc<tern_msgauth::KeyStore>>,
    /// The gateway filters (rspamd, clamd, milters) run after DATA ([`crate::gateway`]).
    pub gateway: Arc<crate::gateway::Gateway>,
    /// Abuse limits shared by every SMTP listener ([`crate::limits`]).
    pub abuse: Arc<crate::limits::AbuseLimits>,
    /// What local recipients' Sieve scripts may do ([`crate::sieve`]).
    pub sieve: crate::sieve::SieveSettings,
}

impl SmtpConfig {
    /// A configuration with the defaults: 50 MB messages, 100 recipients, no TLS,
    /// no plaintext AUTH, 1 s first AUTH failure delay, 3 AUTH failures.
    pub fn new(hostname: impl Into<String>, local_domains: Vec<String>, mode: Mode) -> SmtpConfig {
        SmtpConfig {
            hostname: hostname.into(),
            local_domains,
            max_message_size: 50 * 1000 * 1000,
            max_recipients: 100,
            tls: None,
            allow_plaintext: false,
            mode,
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 3,
            sasl: None,
            tls_handshake_timeout: Duration::from_secs(30),
            verifier: None,
            dkim_keys: None,
            gateway: Arc::default(),
            abuse: crate::limits::AbuseLimits::none(),
            sieve: crate::sieve::SieveSettings::default(),
        }
    }
}

/// The SMTP server: shared by every connection of its listeners.
pub struct SmtpServer {
    mail: Mail,
    config: SmtpConfig,
    limits: SessionLimits,
    outbound: Option<Arc<dyn Outbound>>,
    sieve: crate::sieve::SieveRunner,
}

/// What a command does to the session.
pub(crate) enum Flow {
    Continue,
    Quit,
    /// `220` to STARTTLS was flushed: hand the connection to TLS.
    StartTls,
}

/// Why the command loop returned.
enum Exit {
    Quit,
    StartTls,
}

/// The name a client gave in EHLO or HELO.
pub(crate) struct Helo {
    pub name: String,
    /// EHLO (extended SMTP) rather than HELO.
    pub extended: bool,
}

/// Per-connection state. Replaced wholesale after STARTTLS.
pub(crate) struct State {
    pub peer: Option<SocketAddr>,
    pub tls: bool,
    pub helo: Option<Helo>,
    /// The account authenticated on this connection (submission only).
    pub auth: Option<Account>,
    pub auth_failures: u32,
    /// Unknown recipients so far on this connection (the tarpit, [`crate::limits`]).
    pub bad_rcpts: u32,
    pub tx: Option<Transaction>,
}

impl State {
    fn new(peer: Option<SocketAddr>, tls: bool) -> State {
        State {
            peer,
            tls,
            helo: None,
            auth: None,
            auth_failures: 0,
            bad_rcpts: 0,
            tx: None,
        }
    }
}

impl SmtpServer {
    pub fn new(mail: Mail, config: SmtpConfig) -> Arc<SmtpServer> {
        SmtpServer::with_options(mail, config, SessionLimits::default(), None)
    }

    /// Like [`SmtpServer::new`] with explicit timeouts and error budget, and the queue that
    /// takes mail for remote recipients from authenticated clients (none: such recipients
    /// are refused at RCPT).
    pub fn with_options(
        mail: Mail,
        config: SmtpConfig,
        limits: SessionLimits,
        outbound: Option<Arc<dyn Outbound>>,
    ) -> Arc<SmtpServer> {
        let sieve = crate::sieve::SieveRunner::new(config.sieve.clone());
        Arc::new(SmtpServer {
            mail,
            config,
            limits,
            outbound,
            sieve,
        })
    }

    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// Serves one connection until QUIT, EOF, timeout, too many errors or shutdown. An
    /// implicit-TLS connection (465) arrives with `conn.info.tls` set.
    pub async fn handle(self: Arc<Self>, conn: Conn, mut shutdown: Shutdown) {
        let peer = conn.info.peer;
        let mut state = State::new(Some(peer), conn.info.tls);
        let mut session = Session::new(conn, self.limits.clone()).watch_shutdown(shutdown.clone());
        let host = &self.config.hostname;
        // Per-address connection rate and concurrency: 421 instead of the greeting.
        let _counted = match self.config.abuse.connect(peer.ip(), host) {
            Ok(guard) => guard,
            Err(reply) => {
                session.reply(&reply);
                session.close().await;
                return;
            }
        };
        session.reply(&Reply::plain(220, format!("{host} ESMTP Tern ready")));
        let end = loop {
            match self.run(&mut session, &mut state, &mut shutdown).await {
                Ok(Exit::StartTls) => {
                    let (conn, errors, dropped) = session.into_parts();
                    if dropped {
                        tracing::info!(%peer, "SMTP: input pipelined after STARTTLS dropped");
                    }
                    let Some(tls) = self.config.tls.as_ref() else {
                        return;
                    };
                    let timeout = self.config.tls_handshake_timeout;
                    match tokio::time::timeout(timeout, conn.start_tls(tls)).await {
                        Ok(Ok(conn)) => {
                            session = Session::new(conn, self.limits.clone())
                                .with_errors(errors)
                                .watch_shutdown(shutdown.clone());
                            state = State::new(Some(peer), true);
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "SMTP: TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "SMTP: TLS handshake timed out");
                            return;
                        }
                    }
                }
                Ok(Exit::Quit) => break None,
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
            tracing::debug!(%peer, %end, "SMTP session ended");
        }
        session.close().await;
    }

    /// The command loop; returns to quit or to start TLS.
    async fn run(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        shutdown: &mut Shutdown,
    ) -> Result<Exit, SessionEnd> {
        loop {
            let flow = match session.next_input(shutdown).await? {
                Input::Command(request) => self.command(session, state, shutdown, request).await?,
                Input::Invalid(reply) => {
                    session.protocol_error(&reply)?;
                    Flow::Continue
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Quit => return Ok(Exit::Quit),
                Flow::StartTls => return Ok(Exit::StartTls),
            }
        }
    }

    async fn command(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        shutdown: &mut Shutdown,
        request: Request<String>,
    ) -> Result<Flow, SessionEnd> {
        match request {
            Request::Ehlo { host } => self.ehlo(session, state, host, true),
            Request::Helo { host } => self.ehlo(session, state, host, false),
            Request::Lhlo { .. } => {
                session.protocol_error(&Reply::new(
                    500,
                    [5, 5, 1],
                    "This is SMTP: use EHLO (LHLO is LMTP, RFC 2033)",
                ))?;
            }
            Request::StartTls => return self.starttls(session, state).await,
            Request::Auth {
                mechanism,
                initial_response,
            } => {
                return self
                    .auth(session, state, shutdown, mechanism, initial_response)
                    .await;
            }
            Request::Mail { from } => self.mail_from(session, state, from).await?,
            Request::Rcpt { to } => self.rcpt_to(session, state, to).await?,
            Request::Data => self.data(session, state).await?,
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(session, state, chunk_size, is_last).await?,
            Request::Quit => {
                session.reply(&Reply::bye(&self.config.hostname));
                return Ok(Flow::Quit);
            }
            other => misc::command(session, state, other)?,
        }
        Ok(Flow::Continue)
    }

    /// STARTTLS (RFC 3207): `220`, flushed, then the handshake in [`SmtpServer::handle`].
    async fn starttls(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
    ) -> Result<Flow, SessionEnd> {
        if state.tls {
            session.protocol_error(&Reply::bad_sequence("TLS already active"))?;
            return Ok(Flow::Continue);
        }
        if self.config.tls.is_none() {
            session.protocol_error(&Reply::not_implemented("STARTTLS"))?;
            return Ok(Flow::Continue);
        }
        session.reply(&Reply::new(220, [2, 0, 0], "Ready to start TLS"));
        session.flush().await?;
        Ok(Flow::StartTls)
    }

    /// Whether AUTH PLAIN/LOGIN may be used now.
    pub(crate) fn plaintext_ok(&self, state: &State) -> bool {
        state.tls || self.config.allow_plaintext
    }

    /// A new transaction id.
    pub(crate) fn transaction_id(&self) -> String {
        crate::trace::transaction_id()
    }
}

/// Compile-time check: the connection future can be spawned on a multi-threaded runtime.
#[cfg(test)]
#[allow(dead_code)]
fn handle_future_is_send(server: Arc<SmtpServer>, conn: Conn, shutdown: Shutdown) {
    fn is_send<T: Send>(_: &T) {}
    let future = server.handle(conn, shutdown);
    is_send(&future);
}
