//! What the queue runs with, built by `tern serve` from `[outbound]` and `[dns]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the smarthost is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmarthostTls {
    /// STARTTLS is required (the message is deferred if the relay does not offer it); the
    /// certificate is verified.
    StartTls,
    /// TLS from the first octet (port 465); the certificate is verified.
    Implicit,
    /// Plain text (only without AUTH: the config check refuses credentials in the clear).
    None,
}

/// A relay that takes all outbound mail.
#[derive(Clone, Debug)]
pub struct Smarthost {
    /// Host name (for SNI and certificate verification) or IP address.
    pub host: String,
    pub port: u16,
    pub tls: SmarthostTls,
    /// AUTH PLAIN (or LOGIN) credentials.
    pub auth: Option<(String, String)>,
    /// PEM certificates trusted in addition to the system's roots (a private relay).
    pub ca_file: Option<PathBuf>,
}

/// Migration mode: where mail for accounts still on the legacy server is handed over.
#[derive(Clone, Debug)]
pub struct LegacyDelivery {
    /// Host name or IP address of the legacy server's LMTP or SMTP service.
    pub host: String,
    pub port: u16,
    /// LMTP (the legacy store's own delivery agent); `false`: SMTP.
    pub lmtp: bool,
    /// The legacy server knows users by the local part only (`alice`, not
    /// `alice@example.test`).
    pub strip_domain: bool,
}

/// The queue's settings.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// This host's name: EHLO, Reporting-MTA, the DSN's From.
    pub hostname: String,
    /// Domains delivered locally (a DSN to a sender here goes into the INBOX).
    pub local_domains: Vec<String>,
    /// `data_dir`: the queue lives in `queue.db` and `queue/`.
    pub data_dir: PathBuf,
    /// DNS servers; empty: the system's resolver.
    pub nameservers: Vec<SocketAddr>,
    pub smarthost: Option<Smarthost>,
    /// Migration mode: the legacy server's delivery service.
    pub legacy: Option<LegacyDelivery>,
    /// The port of remote MX hosts (25; tests change it).
    pub remote_port: u16,
    /// Apply the MTA-STS policies of recipient domains (RFC 8461) to MX delivery.
    pub mta_sts: bool,
    /// DANE (RFC 7672): the `nameservers` validate DNSSEC and their AD bit is trusted;
    /// TLSA records of DNSSEC-secure MX hosts are enforced.
    pub dane: bool,
    /// PEM certificates trusted besides the system's roots for MTA-STS: the policy fetch
    /// (`https://mta-sts.DOMAIN/`) and the MX certificates `enforce` verifies.
    pub tls_ca_file: Option<PathBuf>,
    /// A message still undelivered this long after arrival bounces.
    pub max_lifetime: Duration,
    /// A "delayed" DSN once a recipient has waited this long.
    pub delay_warning: Duration,
    /// First retry interval; doubled after each failed attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Connections open at once, in total and per destination (domain or smarthost).
    pub concurrency: usize,
    pub concurrency_per_destination: usize,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// How often the queue looks for due entries (picks up `tern queue retry`).
    pub poll_interval: Duration,
}

impl QueueConfig {
    /// Defaults for everything but the names and folders.
    pub fn new(hostname: String, local_domains: Vec<String>, data_dir: PathBuf) -> QueueConfig {
        QueueConfig {
            hostname,
            local_domains,
            data_dir,
            nameservers: Vec::new(),
            smarthost: None,
            legacy: None,
            remote_port: 25,
            mta_sts: true,
            dane: false,
            tls_ca_file: None,
            max_lifetime: Duration::from_secs(5 * 24 * 3600),
            delay_warning: Duration::from_secs(4 * 3600),
            retry_base: Duration::from_secs(5 * 60),
            retry_max: Duration::from_secs(4 * 3600),
            concurrency: 32,
            concurrency_per_destination: 4,
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(5 * 60),
            poll_interval: Duration::from_secs(1),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("queue.db")
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("queue")
    }

    /// Whether `domain` is delivered here.
    pub fn is_local(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The wait before attempt number `attempts + 1` (after `attempts` failures).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry_base
            .checked_mul(factor)
            .unwrap_or(self.retry_max)
            .min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = QueueConfig::new("h".into(), vec![], PathBuf::from("/x"));
        assert_eq!(c.backoff(1), Duration::from_secs(300));
        assert_eq!(c.backoff(2), Duration::from_secs(600));
        assert_eq!(c.backoff(3), Duration::from_secs(1200));
        assert_eq!(c.backoff(10), Duration::from_secs(4 * 3600));
        assert_eq!(c.backoff(200), Duration::from_secs(4 * 3600));
    }
}
