//! `[migration]`: migration mode, in which Tern serves the users already cut over and
//! relays everyone else to the legacy server (issue 6's non-disruptive cutover).
//!
//! ```toml
//! [migration]
//! legacy_imap = "imap://legacy.example.test:143?starttls"   # or imaps://host:993, imap://host
//! legacy_pop3 = "pop3s://legacy.example.test:995"           # optional
//! legacy_delivery = "lmtp://legacy.example.test:24"         # or smtp://host:25
//! legacy_ca_file = "/etc/tern/legacy-ca.pem"                # default: the system's roots
//! legacy_tls_insecure = false          # accept any certificate from the legacy server
//! legacy_admin = "admin"               # logs in on users' behalf when Tern has no password
//! legacy_admin_password_file = "/etc/tern/legacy-admin.secret"
//! legacy_admin_style = "plain-authzid" # or "dovecot-master", "cyrus-proxy"
//! legacy_prefer_admin = false          # always the administrator, never the user's password
//! legacy_strip_domain = false          # the legacy server knows users as "alice"
//! unlisted = "legacy"                  # home of users without a cutover record ("local")
//! ```
//! The users' homes live in `data_dir/migrate.db`; `tern migrate cutover USER` moves a
//! user to Tern, `tern migrate rollback USER` back.
use super::schema::{Field, Kind};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

pub const ADMIN_STYLES: &[&str] = &["plain-authzid", "dovecot-master", "cyrus-proxy"];

pub const MIGRATION: &[Field] = &[
    f("legacy_imap", Kind::Str),
    f("legacy_pop3", Kind::Str),
    f("legacy_delivery", Kind::Str),
    f("legacy_ca_file", Kind::Path),
    f("legacy_tls_insecure", Kind::Bool),
    f("legacy_admin", Kind::Str),
    f("legacy_admin_password_file", Kind::Path),
    f("legacy_admin_style", Kind::OneOf(ADMIN_STYLES)),
    f("legacy_prefer_admin", Kind::Bool),
    f("legacy_strip_domain", Kind::Bool),
    f("unlisted", Kind::OneOf(&["legacy", "local"])),
];

/// `[migration]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Migration {
    pub legacy_imap: Option<String>,
    pub legacy_pop3: Option<String>,
    pub legacy_delivery: Option<String>,
    pub legacy_ca_file: Option<PathBuf>,
    pub legacy_tls_insecure: Option<bool>,
    pub legacy_admin: Option<String>,
    pub legacy_admin_password_file: Option<PathBuf>,
    pub legacy_admin_style: Option<String>,
    pub legacy_prefer_admin: Option<bool>,
    pub legacy_strip_domain: Option<bool>,
    pub unlisted: Option<String>,
}

/// What `tern serve` and `tern migrate` use.
#[derive(Clone, Debug)]
pub struct Legacy {
    pub imap: Option<Arc<tern_legacy::Legacy>>,
    pub pop3: Option<Arc<tern_legacy::Legacy>>,
    pub delivery: Option<tern_queue::config::LegacyDelivery>,
    /// The IMAP URL as written (`tern migrate`'s default source).
    pub imap_url: Option<String>,
    pub unlisted: tern_mail::Home,
}

impl Migration {
    fn tls_options(&self) -> tern_legacy::net::TlsOptions {
        tern_legacy::net::TlsOptions {
            ca_file: self.legacy_ca_file.clone(),
            insecure: self.legacy_tls_insecure.unwrap_or(false),
        }
    }

    /// Every problem, as (key, reason).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.legacy_imap.is_none() && self.legacy_pop3.is_none() {
            errors.push((
                "migration.legacy_imap",
                "migration mode needs legacy_imap (or legacy_pop3)".to_string(),
            ));
        }
        if let Some(u) = &self.legacy_imap
            && let Err(e) = imap_endpoint(u, self.tls_options())
        {
            errors.push(("migration.legacy_imap", e));
        }
        if let Some(u) = &self.legacy_pop3
            && let Err(e) = pop3_endpoint(u, self.tls_options())
        {
            errors.push(("migration.legacy_pop3", e));
        }
        if let Some(u) = &self.legacy_delivery
            && let Err(e) = delivery(u, false)
        {
            errors.push(("migration.legacy_delivery", e));
        }
        match (&self.legacy_admin, &self.legacy_admin_password_file) {
            (Some(_), None) => errors.push((
                "migration.legacy_admin_password_file",
                "legacy_admin needs its password file".to_string(),
            )),
            (None, Some(_)) => errors.push((
                "migration.legacy_admin",
                "legacy_admin_password_file without legacy_admin".to_string(),
            )),
            (Some(_), Some(path)) => {
                if let Err(e) = std::fs::read_to_string(path) {
                    errors.push((
                        "migration.legacy_admin_password_file",
                        format!("cannot read {}: {e}", path.display()),
                    ));
                }
            }
            (None, None) => {
                if self.legacy_prefer_admin == Some(true) {
                    errors.push((
                        "migration.legacy_prefer_admin",
                        "needs legacy_admin".to_string(),
                    ));
                }
            }
        }
        errors
    }

    /// The settings, assuming [`Migration::check`] passed.
    pub fn resolve(&self) -> Result<Legacy, String> {
        let admin = match (&self.legacy_admin, &self.legacy_admin_password_file) {
            (Some(login), Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Some(tern_legacy::Admin {
                    style: tern_legacy::AdminStyle::parse(
                        self.legacy_admin_style
                            .as_deref()
                            .unwrap_or("plain-authzid"),
                    )
                    .unwrap_or(tern_legacy::AdminStyle::PlainAuthzid),
                    login: login.clone(),
                    password: text.lines().next().unwrap_or_default().to_string(),
                })
            }
            _ => None,
        };
        let strip_domain = self.legacy_strip_domain.unwrap_or(false);
        let legacy = |endpoint| {
            Arc::new(tern_legacy::Legacy {
                endpoint,
                admin: admin.clone(),
                prefer_admin: self.legacy_prefer_admin.unwrap_or(false),
                strip_domain,
            })
        };
        Ok(Legacy {
            imap: self
                .legacy_imap
                .as_deref()
                .map(|u| imap_endpoint(u, self.tls_options()))
                .transpose()?
                .map(legacy),
            pop3: self
                .legacy_pop3
                .as_deref()
                .map(|u| pop3_endpoint(u, self.tls_options()))
                .transpose()?
                .map(legacy),
            delivery: self
                .legacy_delivery
                .as_deref()
                .map(|u| delivery(u, strip_domain))
                .transpose()?,
            imap_url: self.legacy_imap.clone(),
            unlisted: match self.unlisted.as_deref() {
                Some("local") => tern_mail::Home::Local,
                _ => tern_mail::Home::Legacy,
            },
        })
    }
}

fn imap_endpoint(
    url: &str,
    tls: tern_legacy::net::TlsOptions,
) -> Result<tern_legacy::Endpoint, String> {
    tern_legacy::Endpoint::parse(url, "imap", "imaps", (143, 993), tls)
}

fn pop3_endpoint(
    url: &str,
    tls: tern_legacy::net::TlsOptions,
) -> Result<tern_legacy::Endpoint, String> {
    tern_legacy::Endpoint::parse(url, "pop3", "pop3s", (110, 995), tls)
}

/// `lmtp://host:port` or `smtp://host:port`.
fn delivery(url: &str, strip_domain: bool) -> Result<tern_queue::config::LegacyDelivery, String> {
    let bad = || format!("{url:?} is not lmtp://host:port or smtp://host:port");
    let (lmtp, rest) = if let Some(r) = url.strip_prefix("lmtp://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("smtp://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (
            h.trim_matches(|c| c == '[' || c == ']').to_string(),
            p.parse::<u16>().map_err(|_| bad())?,
        ),
        Some(_) => return Err(bad()),
        None if !rest.is_empty() => (rest.to_string(), if lmtp { 24 } else { 25 }),
        None => return Err(bad()),
    };
    Ok(tern_queue::config::LegacyDelivery {
        host,
        port,
        lmtp,
        strip_domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_urls() {
        let d = delivery("lmtp://127.0.0.1:2424", false).unwrap();
        assert_eq!((d.host.as_str(), d.port, d.lmtp), ("127.0.0.1", 2424, true));
        let d = delivery("smtp://legacy.example", true).unwrap();
        assert_eq!((d.port, d.lmtp, d.strip_domain), (25, false, true));
        for bad in ["http://x", "lmtp://", "lmtp://:24", "smtp://x:y"] {
            assert!(delivery(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks() {
        let m = Migration::default();
        assert_eq!(m.check()[0].0, "migration.legacy_imap");
        let m = Migration {
            legacy_imap: Some("imap://127.0.0.1:1143".into()),
            legacy_delivery: Some("ftp://x".into()),
            legacy_admin: Some("admin".into()),
            ..Migration::default()
        };
        let keys: Vec<_> = m.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "migration.legacy_delivery",
                "migration.legacy_admin_password_file"
            ]
        );
    }
}
