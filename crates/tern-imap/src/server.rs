//! The IMAP service: configuration and the per-connection entry point.

use std::sync::Arc;
use std::time::Duration;
use tern_mail::Mail;
use tern_net::{Conn, Shutdown, TlsConfig};
use tern_sasl::Authenticator;

/// What an IMAP listener needs to know. Built by the binary from its config slice.
#[derive(Clone)]
pub struct ImapConfig {
    /// Named in the greeting.
    pub hostname: String,
    /// Accept LOGIN / AUTHENTICATE PLAIN before TLS (Dovecot's `disable_plaintext_auth = no`).
    /// Loopback connections are NOT exempt unless this is set.
    pub allow_plaintext: bool,
    /// For STARTTLS; `None` disables STARTTLS.
    pub tls: Option<TlsConfig>,
    /// Largest message APPEND accepts (APPENDLIMIT), octets.
    pub max_message_size: u64,
    /// Longest command line (without literals), octets.
    pub max_line: usize,
    /// Largest literal accepted in a command other than APPEND, octets.
    pub max_literal: usize,
    /// Time allowed before authentication.
    pub preauth_timeout: Duration,
    /// Autologout timer for an authenticated connection, IDLE included (RFC 9051 §5.4: ≥ 30 min).
    pub idle_timeout: Duration,
    /// Delay before answering the first failed authentication on a connection; doubled
    /// for each further failure (capped at 16×).
    pub auth_failure_delay: Duration,
    /// Failed authentications after which the connection is closed.
    pub max_auth_failures: u32,
}

impl ImapConfig {
    /// Defaults suitable for tests and the embedded single node.
    pub fn new(hostname: impl Into<String>) -> ImapConfig {
        ImapConfig {
            hostname: hostname.into(),
            allow_plaintext: false,
            tls: None,
            max_message_size: 50 * 1000 * 1000,
            max_line: 64 * 1024,
            max_literal: 1024 * 1024,
            preauth_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 5,
        }
    }
}

/// One IMAP service shared by all its listeners' connections.
pub struct ImapServer {
    pub mail: Mail,
    pub config: ImapConfig,
    /// The SASL mechanisms AUTHENTICATE offers, and what checks passwords (LOGIN too).
    pub sasl: Authenticator,
    /// Migration mode: the legacy IMAP server users not cut over yet are relayed to.
    pub legacy: Option<Arc<tern_legacy::Legacy>>,
}

impl ImapServer {
    /// PLAIN and LOGIN against the mail's directory.
    pub fn new(mail: Mail, config: ImapConfig) -> Arc<ImapServer> {
        let sasl = Authenticator::new(mail.directory.clone());
        ImapServer::with_sasl(mail, config, sasl)
    }

    /// With the SASL layer the binary configured (SCRAM-SHA-256, GSSAPI...).
    pub fn with_sasl(mail: Mail, config: ImapConfig, sasl: Authenticator) -> Arc<ImapServer> {
        ImapServer::build(mail, config, sasl, None)
    }

    /// With a legacy server for migration mode (`mail.homes` says who is still there).
    pub fn build(
        mail: Mail,
        config: ImapConfig,
        sasl: Authenticator,
        legacy: Option<Arc<tern_legacy::Legacy>>,
    ) -> Arc<ImapServer> {
        Arc::new(ImapServer {
            mail,
            config,
            sasl,
            legacy,
        })
    }

    /// Serves one connection until LOGOUT, error, timeout or shutdown.
    pub async fn handle(self: Arc<Self>, conn: Conn, shutdown: Shutdown) {
        crate::session::run(self, conn, shutdown).await
    }
}
