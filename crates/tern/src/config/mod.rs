//! The configuration: one TOML file (or built-in defaults), checked as a whole.
//!
//! ## Layout
//! - [`schema`]: the key tree, walked key by key so every error is reported at once.
//! - [`units`]: sizes (`50MB`), durations (`30m`), `addr:port`.
//! - [`check`]: rules that span keys (cert without key, unimplemented services...).
//! - this file: the typed [`Config`] (serde, `deny_unknown_fields` at every level), where the
//!   file comes from ([`Source`]), and the [`Settings`] a command runs with, defaults applied.
//!
//! ## Invariants
//! - [`load`] either returns a config every later step can use, or *all* the problems found,
//!   each as `FILE: KEY: REASON`.
//! - Relative paths in the file are relative to the current directory, like `./tern-data`.
pub mod check;
pub mod gateway;
pub mod migration;
pub mod msgauth;
pub mod provision;
pub mod schema;
pub mod units;

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use units::{Dur, Size};

/// Where the configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// No file: built-in defaults.
    Defaults,
}

impl Source {
    /// `--config FILE`, else `$TERN_CONFIG`, else `./tern.toml` if present, else defaults.
    pub fn locate(cli: Option<&Path>) -> Source {
        if let Some(p) = cli {
            return Source::File(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os("TERN_CONFIG").filter(|p| !p.is_empty()) {
            return Source::File(PathBuf::from(p));
        }
        let local = Path::new("tern.toml");
        if local.is_file() {
            return Source::File(local.to_path_buf());
        }
        Source::Defaults
    }

    /// The name errors are reported under.
    pub fn label(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Defaults => "(built-in defaults)".into(),
        }
    }
}

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.key, self.reason)
    }
}

/// Every problem found, in file order as far as the checks allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The file's contents, typed. Absent keys are `None`/empty; defaults are applied by
/// [`Settings::resolve`], so `check-config` can tell "absent" from "set to the default".
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub hostname: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub local_domains: Vec<String>,
    /// Absent: the default listeners. Present: exactly the services listed.
    pub listen: Option<Listen>,
    pub tls: Tls,
    pub quota: Quota,
    pub auth: Auth,
    pub dns: Dns,
    pub outbound: Outbound,
    /// Absent: the internal directory.
    pub directory: Option<DirectoryConfig>,
    pub kerberos: Option<Kerberos>,
    pub limits: Limits,
    /// `[sieve]`: limits on users' Sieve scripts (ManageSieve uploads, delivery).
    pub sieve: Sieve,
    /// `[spam]`, `[virus]`, `[milter]`: the gateway filters ([`gateway`]); absent: off.
    pub spam: Option<gateway::Spam>,
    pub virus: Option<gateway::Virus>,
    pub milter: Option<gateway::MilterTable>,
    /// `[ratelimit]`: SMTP abuse limits ([`gateway`]).
    pub ratelimit: gateway::RateLimit,
    /// `[auth_results]`: SPF/DKIM/DMARC/ARC verification on the MX ([`msgauth`]).
    pub auth_results: msgauth::AuthResults,
    /// `[dkim]`: DKIM signing of submissions ([`msgauth`]).
    pub dkim: msgauth::Dkim,
    /// `[migration]`: migration mode ([`migration`]); absent: off.
    pub migration: Option<migration::Migration>,
    /// `[provision]`: the directory sync ([`provision`]).
    pub provision: provision::Provision,
}

/// `[listen]`: each service a list of `addr:port`; an absent service is off.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    pub smtp: Vec<String>,
    pub submission: Vec<String>,
    pub submissions: Vec<String>,
    pub lmtp: Vec<String>,
    pub imap: Vec<String>,
    pub imaps: Vec<String>,
    pub pop3: Vec<String>,
    pub pop3s: Vec<String>,
    pub managesieve: Vec<String>,
    pub http: Vec<String>,
    /// The Dovecot-compatible SASL auth socket over TCP (for a Postfix in front).
    pub auth: Vec<String>,
}

impl Listen {
    /// `(service, addresses)` for every service, in [`schema::LISTEN`] order.
    pub fn services(&self) -> [(&'static str, &[String]); 11] {
        [
            ("smtp", &self.smtp),
            ("submission", &self.submission),
            ("submissions", &self.submissions),
            ("lmtp", &self.lmtp),
            ("imap", &self.imap),
            ("imaps", &self.imaps),
            ("pop3", &self.pop3),
            ("pop3s", &self.pop3s),
            ("managesieve", &self.managesieve),
            ("http", &self.http),
            ("auth", &self.auth),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    pub default: Option<Size>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    pub allow_plaintext: Option<bool>,
    /// SASL mechanisms offered, in order (default PLAIN, LOGIN, SCRAM-SHA-256, GSSAPI;
    /// GSSAPI only with `[kerberos] keytab`).
    pub mechanisms: Option<Vec<String>>,
    /// The Dovecot-compatible SASL auth socket on a Unix socket (`crate::authsock_setup`):
    /// its path, permission bits (octal, default `0660`), owner and group.
    pub socket: Option<PathBuf>,
    pub socket_mode: Option<String>,
    pub socket_owner: Option<String>,
    pub socket_group: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Dns {
    /// Absent: the system's resolver.
    pub nameservers: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Outbound {
    /// Absent: deliver by MX.
    pub smarthost: Option<String>,
    /// AUTH to the smarthost (PLAIN, else LOGIN) with this user and the password in the file.
    pub smarthost_user: Option<String>,
    pub smarthost_password_file: Option<PathBuf>,
    /// `starttls` (default), `tls` (implicit) or `none` (only without credentials).
    pub smarthost_tls: Option<String>,
    /// PEM certificates trusted for the smarthost besides the system's roots.
    pub smarthost_ca_file: Option<PathBuf>,
    /// Apply recipient domains' MTA-STS policies (RFC 8461) to MX delivery (default true).
    pub mta_sts: Option<bool>,
    /// DANE for MX delivery (RFC 7672, default false): `true` declares that the `[dns]
    /// nameservers` validate DNSSEC, so their AD bit is trusted and secure TLSA records
    /// are enforced.
    pub dane: Option<bool>,
    /// PEM certificates trusted besides the system's roots for MTA-STS: the policy fetch
    /// and the MX certificates a policy in `enforce` mode requires.
    pub tls_ca_file: Option<PathBuf>,
    /// The port of remote MX hosts (default 25; tests point it elsewhere).
    pub port: Option<u64>,
    pub max_lifetime: Option<Dur>,
    pub delay_warning: Option<Dur>,
    pub retry_base: Option<Dur>,
    pub retry_max: Option<Dur>,
    pub concurrency: Option<u64>,
    pub concurrency_per_destination: Option<u64>,
    pub connect_timeout: Option<Dur>,
    pub command_timeout: Option<Dur>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    pub kind: Option<String>,
    pub urls: Vec<String>,
    pub base_dn: Option<String>,
    pub bind_dn: Option<String>,
    pub bind_password_file: Option<PathBuf>,
    /// `"simple"` (default: `bind_dn` + `bind_password_file`) or `"gssapi"` (SASL GSSAPI
    /// with `bind_keytab`, no password).
    pub bind_mechanism: Option<String>,
    /// GSSAPI: the client keytab holding the service account's key.
    pub bind_keytab: Option<PathBuf>,
    /// GSSAPI: the service account's principal (default: the keytab's first).
    pub bind_principal: Option<String>,
    /// GSSAPI: the host of the server's `ldap/HOST` principal (default: each URL's host).
    pub sasl_host: Option<String>,
    pub mail_group: Option<String>,
    pub quota_attribute: Option<String>,
    /// PEM CA certificates trusted for `ldaps://` and StartTLS (absent: the system's).
    pub ca_file: Option<PathBuf>,
    /// StartTLS on `ldap://` URLs.
    pub starttls: Option<bool>,
    /// Connect and per-operation timeout (default 10s).
    pub timeout: Option<Dur>,
    /// Connections per pool (default 8).
    pub pool_size: Option<u64>,
    /// Paged-search page size (default 500).
    pub page_size: Option<u64>,
    /// `kind = "ldap"` only: filter templates (`{login}`, `{address}`, `{dn}`, `{uid}`).
    pub user_filter: Option<String>,
    pub address_filter: Option<String>,
    pub group_filter: Option<String>,
    /// `[directory.cache]`: the cache in front of an LDAP / AD directory.
    pub cache: DirectoryCache,
}

/// `[directory.cache]` (defaults in `crate::backends`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryCache {
    pub positive_ttl: Option<Dur>,
    pub negative_ttl: Option<Dur>,
    pub credential_ttl: Option<Dur>,
    pub max_entries: Option<u64>,
    pub serve_stale: Option<Dur>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Kerberos {
    pub realm: Option<String>,
    pub kdcs: Vec<String>,
    pub keytab: Option<PathBuf>,
    /// Service principals in the keytab (`imap/mail.example.test`); password checks get a
    /// ticket for the first one to verify the KDC.
    pub service_principals: Vec<String>,
    /// `"localpart"` (default: `carol@REALM` logs in as `carol`) or `"principal"`.
    pub principal_map: Option<String>,
    /// Bound on each KDC round trip (default 10 s).
    pub timeout: Option<Dur>,
}

/// `[limits]`: protection against clients, with defaults in [`Settings::resolve`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_message_size: Option<Size>,
    pub max_connections: Option<u64>,
    pub max_line_length: Option<Size>,
    pub max_literal_size: Option<Size>,
    pub max_recipients: Option<u64>,
    pub preauth_timeout: Option<Dur>,
    pub imap_idle_timeout: Option<Dur>,
    /// POP3 autologout after login (RFC 1939 §3: at least 10 minutes).
    pub pop3_idle_timeout: Option<Dur>,
    pub lmtp_timeout: Option<Dur>,
    /// SMTP (MX and submission) command and data timeout (RFC 5321 §4.5.3.2: at least
    /// 5 minutes).
    pub smtp_timeout: Option<Dur>,
    pub tls_handshake_timeout: Option<Dur>,
    pub shutdown_grace: Option<Dur>,
    pub blob_gc_interval: Option<Dur>,
    /// Decoded message metadata kept in memory for IMAP (0: none).
    pub metadata_cache: Option<Size>,
}

/// `[sieve]`: script size and count per account (ManageSieve refuses beyond them) and the
/// redirects one delivery may make (advertised as MAXREDIRECTS, enforced at delivery).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Sieve {
    pub max_script_size: Option<Size>,
    pub max_scripts: Option<u64>,
    pub max_redirects: Option<u64>,
}

/// Reads and checks a config. Every problem is returned, not just the first.
pub fn load(source: &Source) -> Result<Config, ConfigErrors> {
    match source {
        Source::Defaults => Ok(Config::default()),
        Source::File(path) => {
            let label = source.label();
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    file: label.clone(),
                    key: "(file)".into(),
                    reason: format!("cannot read: {e}"),
                }])
            })?;
            parse(&label, &text)
        }
    }
}

/// Parses and checks config text; `label` names it in errors.
pub fn parse(label: &str, text: &str) -> Result<Config, ConfigErrors> {
    let to_errors = |list: Vec<schema::KeyError>| {
        ConfigErrors(
            list.into_iter()
                .map(|e| ConfigError {
                    file: label.to_string(),
                    key: e.key,
                    reason: e.reason,
                })
                .collect(),
        )
    };
    let mut table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return Err(to_errors(vec![syntax_error(text, &e)])),
    };
    let mut errors = Vec::new();
    schema::check_table(&mut table, schema::ROOT, "", &mut errors);
    // What is left is well-formed; serde builds the typed config from it.
    let config = match Config::deserialize(toml::Value::Table(table)) {
        Ok(c) => c,
        Err(e) => {
            errors.push(schema::KeyError {
                key: "(file)".into(),
                reason: format!("internal: schema and config types disagree: {e}"),
            });
            return Err(to_errors(errors));
        }
    };
    check::check(&config, &mut errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(to_errors(errors))
    }
}

fn syntax_error(text: &str, e: &toml::de::Error) -> schema::KeyError {
    let key = match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}")
        }
        None => "(syntax)".into(),
    };
    schema::KeyError {
        key,
        reason: format!("TOML syntax error: {}", e.message().trim()),
    }
}

/// A service a listener serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSpec {
    pub service: &'static str,
    pub addr: String,
}

/// What a command runs with: the config with every default applied.
#[derive(Clone, Debug)]
pub struct Settings {
    pub source: Source,
    pub hostname: String,
    pub data_dir: PathBuf,
    /// Lower-case; empty means "any domain".
    pub local_domains: Vec<String>,
    pub listeners: Vec<ListenerSpec>,
    /// The listeners are the built-in defaults (no `[listen]` table).
    pub default_listeners: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub default_quota: u64,
    pub allow_plaintext: bool,
    /// `[auth] mechanisms`, upper-case, checked.
    pub sasl_mechanisms: Vec<String>,
    /// `[kerberos]` as written.
    pub kerberos: Option<Kerberos>,
    /// `[auth] socket`: the auth socket's Unix socket, resolved (`crate::authsock_setup`).
    pub auth_socket: Option<tern_authsock::UnixSocketOptions>,
    pub max_message_size: u64,
    pub max_connections: usize,
    pub max_line_length: usize,
    pub max_literal_size: usize,
    pub max_recipients: usize,
    pub preauth_timeout: std::time::Duration,
    pub imap_idle_timeout: std::time::Duration,
    pub pop3_idle_timeout: std::time::Duration,
    pub lmtp_timeout: std::time::Duration,
    pub smtp_timeout: std::time::Duration,
    pub tls_handshake_timeout: std::time::Duration,
    pub shutdown_grace: std::time::Duration,
    pub blob_gc_interval: std::time::Duration,
    /// `[limits] metadata_cache` in octets (default 256 MiB; 0: no cache).
    pub metadata_cache: usize,
    /// `[sieve] max_script_size` in octets (default 64 KB).
    pub sieve_max_script_size: u64,
    /// `[sieve] max_scripts` per account (default 16).
    pub sieve_max_scripts: usize,
    /// `[sieve] max_redirects` per delivery (default 4).
    pub sieve_max_redirects: usize,
    /// `[directory]` as written; absent: the internal directory.
    pub directory: Option<DirectoryConfig>,
    /// The gateway filters for the SMTP listeners.
    pub gateway: tern_smtp::gateway::Gateway,
    /// The SMTP abuse limits.
    pub rate_limits: tern_smtp::limits::RateLimitConfig,
    /// `[outbound]` as written (the queue applies its defaults, see `crate::outbound`).
    pub outbound: Outbound,
    /// `[dns] nameservers`; empty: the system's resolver.
    pub nameservers: Vec<String>,
    /// `[auth_results]` and `[dkim]` with defaults.
    pub msgauth: msgauth::MsgAuthSettings,
    /// `[migration]` as written; `Some`: migration mode.
    pub migration: Option<migration::Migration>,
    /// `[provision]` with defaults.
    pub provision: provision::ProvisionSettings,
}

/// Defaults for the listeners when the file has no `[listen]` table: the standard ports as
/// root, the same ports plus 10000 otherwise. LMTP stays on loopback (it has no
/// authentication: whoever reaches it can deliver), and is listed last.
pub fn default_listeners(as_root: bool) -> Vec<ListenerSpec> {
    let offset = if as_root { 0 } else { 10_000 };
    [
        ("smtp", "0.0.0.0", 25),
        ("submission", "0.0.0.0", 587),
        ("submissions", "0.0.0.0", 465),
        ("imap", "0.0.0.0", 143),
        ("imaps", "0.0.0.0", 993),
        ("pop3", "0.0.0.0", 110),
        ("pop3s", "0.0.0.0", 995),
        ("managesieve", "0.0.0.0", 4190),
        ("lmtp", "127.0.0.1", 24),
    ]
    .into_iter()
    .map(|(service, host, port)| ListenerSpec {
        service,
        addr: format!("{host}:{}", port + offset),
    })
    .collect()
}

/// Whether this process runs as root (effective uid 0), read without `unsafe` from the owner
/// of `/proc/self`.
pub fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn system_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            let h = std::fs::read_to_string(p).ok()?;
            let h = h.trim().to_ascii_lowercase();
            (!h.is_empty()).then_some(h)
        })
        .unwrap_or_else(|| "localhost".into())
}

impl Settings {
    /// Applies defaults. `data_dir` (from `--data-dir`) wins over the file.
    pub fn resolve(source: Source, config: Config, data_dir: Option<&Path>) -> Settings {
        let l = &config.limits;
        let secs = std::time::Duration::from_secs;
        let (listeners, default_listeners) = match &config.listen {
            Some(listen) => (
                listen
                    .services()
                    .into_iter()
                    .flat_map(|(service, addrs)| {
                        addrs.iter().map(move |a| ListenerSpec {
                            service,
                            addr: a.clone(),
                        })
                    })
                    .collect(),
                false,
            ),
            None => (default_listeners(running_as_root()), true),
        };
        let data_dir = data_dir
            .map(Path::to_path_buf)
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("tern-data"));
        Settings {
            hostname: config.hostname.clone().unwrap_or_else(system_hostname),
            msgauth: msgauth::resolve(&config.auth_results, &config.dkim, &data_dir),
            provision: provision::resolve(&config.provision, &data_dir),
            data_dir,
            local_domains: config
                .local_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            listeners,
            default_listeners,
            tls_cert: config.tls.cert.clone(),
            tls_key: config.tls.key.clone(),
            default_quota: config
                .quota
                .default
                .map_or(tern_directory::DEFAULT_QUOTA_BYTES, |s| s.0),
            allow_plaintext: config.auth.allow_plaintext.unwrap_or(false),
            sasl_mechanisms: config.auth.mechanisms.clone().map_or_else(
                || {
                    ["PLAIN", "LOGIN", "SCRAM-SHA-256", "GSSAPI"]
                        .map(String::from)
                        .to_vec()
                },
                |m| m.iter().map(|s| s.to_ascii_uppercase()).collect(),
            ),
            kerberos: config.kerberos.clone(),
            auth_socket: crate::authsock_setup::unix_options(&config.auth)
                .ok()
                .flatten(),
            max_message_size: l.max_message_size.map_or(50_000_000, |s| s.0),
            max_connections: l.max_connections.map_or(10_000, |n| n as usize),
            max_line_length: l.max_line_length.map_or(64 * 1024, |s| s.0 as usize),
            max_literal_size: l.max_literal_size.map_or(1024 * 1024, |s| s.0 as usize),
            max_recipients: l.max_recipients.map_or(1000, |n| n as usize),
            preauth_timeout: l.preauth_timeout.map_or(secs(60), |d| d.0),
            imap_idle_timeout: l.imap_idle_timeout.map_or(secs(30 * 60), |d| d.0),
            pop3_idle_timeout: l.pop3_idle_timeout.map_or(secs(10 * 60), |d| d.0),
            lmtp_timeout: l.lmtp_timeout.map_or(secs(5 * 60), |d| d.0),
            smtp_timeout: l.smtp_timeout.map_or(secs(5 * 60), |d| d.0),
            tls_handshake_timeout: l.tls_handshake_timeout.map_or(secs(30), |d| d.0),
            shutdown_grace: l.shutdown_grace.map_or(secs(10), |d| d.0),
            blob_gc_interval: l.blob_gc_interval.map_or(secs(3600), |d| d.0),
            metadata_cache: l
                .metadata_cache
                .map_or(tern_mail::meta_cache::DEFAULT_BUDGET, |s| s.0 as usize),
            sieve_max_script_size: config.sieve.max_script_size.map_or(64 * 1024, |s| s.0),
            sieve_max_scripts: config.sieve.max_scripts.map_or(16, |n| n as usize),
            sieve_max_redirects: config.sieve.max_redirects.map_or(4, |n| n as usize),
            directory: config.directory.clone(),
            gateway: gateway::gateway(
                config.spam.as_ref(),
                config.virus.as_ref(),
                config.milter.as_ref(),
            ),
            rate_limits: gateway::rate_limits(&config.ratelimit),
            outbound: config.outbound.clone(),
            nameservers: config.dns.nameservers.clone(),
            migration: config.migration.clone(),
            source,
        }
    }

    /// Locates, loads and resolves in one step (what every command does first).
    pub fn load(
        cli_config: Option<&Path>,
        data_dir: Option<&Path>,
    ) -> Result<Settings, ConfigErrors> {
        let source = Source::locate(cli_config);
        let config = load(&source)?;
        Ok(Settings::resolve(source, config, data_dir))
    }

    /// The internal directory's database file.
    pub fn directory_db(&self) -> PathBuf {
        self.data_dir.join("directory.db")
    }

    /// Whether `address`'s domain is one this server accepts accounts for.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains.is_empty()
            || self
                .local_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

#[cfg(test)]
mod tests;
