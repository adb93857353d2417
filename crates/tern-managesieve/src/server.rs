//! The ManageSieve service: configuration and the per-connection entry point.

use std::sync::Arc;
use std::time::Duration;
use tern_mail::Mail;
use tern_net::{Conn, Shutdown, TlsConfig};
use tern_sasl::Authenticator;

/// What a ManageSieve listener needs to know. Built by the binary from its config slice.
#[derive(Clone, Debug)]
pub struct ManageSieveConfig {
    /// Named in the greeting.
    pub hostname: String,
    /// Accept (and advertise) AUTHENTICATE PLAIN/LOGIN before TLS (as for IMAP and POP3).
    /// Loopback connections are NOT exempt. SCRAM-SHA-256 and GSSAPI, which never show the
    /// password, are offered either way.
    pub allow_plaintext: bool,
    /// For STARTTLS; `None` disables it.
    pub tls: Option<TlsConfig>,
    /// Time without input after login before the connection is closed.
    pub idle_timeout: Duration,
    /// Largest script accepted, in octets (`[sieve] max_script_size`).
    pub max_script_size: u64,
    /// Most scripts one account may store (`[sieve] max_scripts`).
    pub max_scripts: usize,
    /// Advertised as `MAXREDIRECTS` (`[sieve] max_redirects`): what delivery enforces.
    pub max_redirects: usize,
}

impl ManageSieveConfig {
    /// Defaults for everything but the host name: 64 KiB scripts, 16 per account,
    /// 4 redirects, 30 minutes idle, no plaintext before TLS, no STARTTLS.
    pub fn new(hostname: impl Into<String>) -> ManageSieveConfig {
        ManageSieveConfig {
            hostname: hostname.into(),
            allow_plaintext: false,
            tls: None,
            idle_timeout: Duration::from_secs(30 * 60),
            max_script_size: 64 * 1024,
            max_scripts: 16,
            max_redirects: 4,
        }
    }
}

/// Limits of a connection; [`ManageSieveLimits::default`] suits production, tests shorten them.
#[derive(Clone, Debug)]
pub struct ManageSieveLimits {
    /// Time allowed from connecting to a successful login, in total.
    pub preauth_timeout: Duration,
    /// Delay before answering the first failed authentication; doubled for each further
    /// failure (capped at 16×).
    pub auth_failure_delay: Duration,
    /// Failed authentications after which the connection is closed.
    pub max_auth_failures: u32,
    /// Longest command line, CRLF included, literals excluded.
    pub max_line: usize,
    /// Malformed or unknown commands in a row after which the connection is closed.
    pub max_bad_commands: u32,
    /// A literal larger than this is not even skipped: the connection is closed
    /// (`max_script_size` bounds what is kept; between the two, the literal is read and
    /// dropped and the command answered `NO (QUOTA/MAXSIZE)`).
    pub max_skipped_literal: u64,
}

impl Default for ManageSieveLimits {
    fn default() -> ManageSieveLimits {
        ManageSieveLimits {
            preauth_timeout: Duration::from_secs(60),
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 3,
            max_line: 8192,
            max_bad_commands: 10,
            max_skipped_literal: 64 * 1024 * 1024,
        }
    }
}

/// One ManageSieve service shared by all its listeners' connections.
pub struct ManageSieveServer {
    pub(crate) mail: Mail,
    pub(crate) config: ManageSieveConfig,
    pub(crate) limits: ManageSieveLimits,
    /// AUTHENTICATE's mechanisms and the credential checks (PLAIN, LOGIN, SCRAM-SHA-256,
    /// GSSAPI): the one SASL layer IMAP, POP3 and submission use too.
    pub(crate) sasl: Authenticator,
}

impl ManageSieveServer {
    pub fn new(mail: Mail, config: ManageSieveConfig) -> Arc<ManageSieveServer> {
        ManageSieveServer::with_limits(mail, config, ManageSieveLimits::default())
    }

    /// Like [`ManageSieveServer::new`] with explicit limits (tests use short delays); PLAIN
    /// and LOGIN against the mail directory.
    pub fn with_limits(
        mail: Mail,
        config: ManageSieveConfig,
        limits: ManageSieveLimits,
    ) -> Arc<ManageSieveServer> {
        let sasl = Authenticator::new(mail.directory.clone());
        ManageSieveServer::with_sasl(mail, config, limits, sasl)
    }

    /// With the SASL layer the binary configured (SCRAM-SHA-256, GSSAPI, Kerberos password
    /// checks...).
    pub fn with_sasl(
        mail: Mail,
        config: ManageSieveConfig,
        limits: ManageSieveLimits,
        sasl: Authenticator,
    ) -> Arc<ManageSieveServer> {
        Arc::new(ManageSieveServer {
            mail,
            config,
            limits,
            sasl,
        })
    }

    /// Serves one connection until LOGOUT, error, timeout or shutdown.
    pub async fn handle(self: Arc<Self>, conn: Conn, shutdown: Shutdown) {
        crate::session::run(self, conn, shutdown).await
    }
}

/// Compile-time check: the connection future can be spawned on a multi-threaded runtime.
#[cfg(test)]
#[allow(dead_code)]
fn handle_future_is_send(server: Arc<ManageSieveServer>, conn: Conn, shutdown: Shutdown) {
    fn is_send<T: Send>(_: &T) {}
    let future = server.handle(conn, shutdown);
    is_send(&future);
}
