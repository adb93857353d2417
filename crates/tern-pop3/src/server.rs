//! The POP3 service: configuration and the per-connection entry point.

use crate::lock::MaildropLocks;
use std::sync::Arc;
use std::time::Duration;
use tern_mail::Mail;
use tern_net::{Conn, Shutdown, TlsConfig};
use tern_sasl::Authenticator;

/// What a POP3 listener needs to know. Built by the binary from its config slice.
#[derive(Clone, Debug)]
pub struct Pop3Config {
    /// Named in the greeting and the QUIT reply.
    pub hostname: String,
    /// Accept USER/PASS and AUTH PLAIN/LOGIN before TLS (Dovecot's
    /// `disable_plaintext_auth = no`). Loopback connections are NOT exempt.
    pub allow_plaintext: bool,
    /// For STLS; `None` disables STLS. Implicit TLS (995) is the listener's job.
    pub tls: Option<TlsConfig>,
    /// Autologout timer after login (RFC 1939 §3: at least 10 minutes).
    pub idle_timeout: Duration,
}

/// Limits of a POP3 connection; [`Pop3Limits::default`] suits production, tests shorten them.
#[derive(Clone, Debug)]
pub struct Pop3Limits {
    /// Time allowed from connecting to a successful login, in total.
    pub preauth_timeout: Duration,
    /// Delay before answering the first failed authentication on a connection; doubled for
    /// each further failure (capped at 16×).
    pub auth_failure_delay: Duration,
    /// Failed authentications after which the connection is closed.
    pub max_auth_failures: u32,
    /// Longest command line accepted, CRLF included. RFC 2449 §4 caps commands at 255
    /// octets; SASL responses (RFC 5034 §4) may be longer, hence the larger default.
    pub max_line: usize,
    /// Unknown or malformed commands after which the connection is closed.
    pub max_bad_commands: u32,
}

impl Default for Pop3Limits {
    fn default() -> Pop3Limits {
        Pop3Limits {
            preauth_timeout: Duration::from_secs(60),
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 3,
            max_line: 8192,
            max_bad_commands: 10,
        }
    }
}

/// One POP3 service shared by all its listeners' connections (110 with STLS, 995).
pub struct Pop3Server {
    pub(crate) mail: Mail,
    pub(crate) config: Pop3Config,
    pub(crate) limits: Pop3Limits,
    /// AUTH's mechanisms and the password check (PLAIN, LOGIN, SCRAM-SHA-256, GSSAPI).
    pub(crate) sasl: Authenticator,
    /// Accounts with a POP3 session in the TRANSACTION state, in this process.
    pub(crate) locks: MaildropLocks,
    /// Migration mode: the legacy POP3 server users not cut over yet are relayed to.
    pub(crate) legacy: Option<Arc<tern_legacy::Legacy>>,
}

impl Pop3Server {
    pub fn new(mail: Mail, config: Pop3Config) -> Arc<Pop3Server> {
        Pop3Server::with_limits(mail, config, Pop3Limits::default())
    }

    /// Like [`Pop3Server::new`] with explicit limits (tests use short timeouts and delays).
    pub fn with_limits(mail: Mail, config: Pop3Config, limits: Pop3Limits) -> Arc<Pop3Server> {
        let sasl = Authenticator::new(mail.directory.clone());
        Pop3Server::with_sasl(mail, config, limits, sasl)
    }

    /// With the SASL layer the binary configured (SCRAM-SHA-256, GSSAPI...); it also
    /// checks USER/PASS.
    pub fn with_sasl(
        mail: Mail,
        config: Pop3Config,
        limits: Pop3Limits,
        sasl: Authenticator,
    ) -> Arc<Pop3Server> {
        Pop3Server::with_legacy(mail, config, limits, sasl, None)
    }

    /// With a legacy server for migration mode (`mail.homes` says who is still there).
    pub fn with_legacy(
        mail: Mail,
        config: Pop3Config,
        limits: Pop3Limits,
        sasl: Authenticator,
        legacy: Option<Arc<tern_legacy::Legacy>>,
    ) -> Arc<Pop3Server> {
        Arc::new(Pop3Server {
            mail,
            config,
            limits,
            sasl,
            locks: MaildropLocks::default(),
            legacy,
        })
    }

    /// Serves one connection until QUIT, error, timeout or shutdown.
    pub async fn handle(self: Arc<Self>, conn: Conn, shutdown: Shutdown) {
        crate::session::run(self, conn, shutdown).await
    }
}

/// Compile-time check: the connection future can be spawned on a multi-threaded runtime.
#[cfg(test)]
#[allow(dead_code)]
fn handle_future_is_send(server: Arc<Pop3Server>, conn: Conn, shutdown: Shutdown) {
    fn is_send<T: Send>(_: &T) {}
    let future = server.handle(conn, shutdown);
    is_send(&future);
}
