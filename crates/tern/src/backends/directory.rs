//! The directory `tern serve` and `tern directory` use: the internal one, or LDAP / Active
//! Directory behind the cache, built from `[directory]`.
//!
//! ## The cache's control folder: `data_dir/directory-cache/`
//! A running server polls `flush/` every second: each file there is one request, its
//! content a login or address (or `*`, everything); the server applies it and deletes the
//! file, so `tern directory flush` knows it was heard when its file is gone. Every 5 s the
//! server writes `stats.json` (the cache counters, its pid and the time) for
//! `tern directory stats`, and it logs the counters every 5 minutes. Files only: no socket
//! to secure, works for any operator who can write the data folder (who can read the mail
//! anyway), and leftover requests are harmless (flushing an empty cache).
use crate::config::{DirectoryConfig, Settings};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tern_directory::Directory;
use tern_directory::cache::{CacheConfig, CachedDirectory};
use tern_directory_ldap::{LdapConfig, LdapDirectory, Profile, ServiceBind};
use tern_net::Shutdown;

/// The directory to serve with, and the cache in front of it (LDAP / AD only).
pub struct ServingDirectory {
    pub directory: Arc<dyn Directory>,
    pub cache: Option<Arc<CachedDirectory>>,
}

/// The `[directory]` kind, `internal` when absent.
pub fn kind(settings: &Settings) -> &str {
    settings
        .directory
        .as_ref()
        .and_then(|d| d.kind.as_deref())
        .unwrap_or("internal")
}

/// Checks the LDAP-specific keys (called by the config check, so `tern check-config` and
/// `tern serve` report them with every other problem).
pub fn check_ldap_config(kind: &str, dir: &DirectoryConfig, err: &mut impl FnMut(&str, String)) {
    if kind == "active-directory" {
        for (key, set) in [
            ("user_filter", dir.user_filter.is_some()),
            ("address_filter", dir.address_filter.is_some()),
            ("group_filter", dir.group_filter.is_some()),
        ] {
            if set {
                err(
                    &format!("directory.{key}"),
                    "only used with kind = \"ldap\" (the Active Directory profile writes its own filters)"
                        .into(),
                );
            }
        }
    }
    let holes = [("login", "x"), ("address", "x"), ("dn", "x"), ("uid", "x")];
    for (key, value) in [
        ("user_filter", &dir.user_filter),
        ("address_filter", &dir.address_filter),
        ("group_filter", &dir.group_filter),
    ] {
        if let Some(t) = value
            && !tern_directory_ldap::filter::is_valid(&tern_directory_ldap::filter::fill(t, &holes))
        {
            err(
                &format!("directory.{key}"),
                format!("{t:?} is not an LDAP filter (RFC 4515), e.g. \"(uid={{login}})\""),
            );
        }
    }
    if let Some(p) = &dir.ca_file
        && let Err(e) = tern_directory_ldap::tls_config(p)
    {
        err("directory.ca_file", e);
    }
    if dir.starttls == Some(true) && dir.urls.iter().any(|u| u.starts_with("ldaps://")) {
        err(
            "directory.starttls",
            "StartTLS is for ldap:// URLs; ldaps:// is TLS already".into(),
        );
    }
    for (key, v) in [("pool_size", dir.pool_size), ("page_size", dir.page_size)] {
        if v == Some(0) {
            err(&format!("directory.{key}"), "must be at least 1".into());
        }
    }
    if dir.timeout.is_some_and(|d| d.0.is_zero()) {
        err("directory.timeout", "must be longer than 0s".into());
    }
    if dir.cache.max_entries == Some(0) {
        err("directory.cache.max_entries", "must be at least 1".into());
    }
}

/// `bind_mechanism = "gssapi"`: a client keytab, no password, a realm to get tickets in
/// (`[kerberos]`'s, or for Active Directory the one its base DN names).
pub fn check_gssapi_bind(
    kind: &str,
    dir: &DirectoryConfig,
    has_kerberos: bool,
    err: &mut impl FnMut(&str, String),
) {
    if cfg!(not(feature = "kerberos")) {
        err(
            "directory.bind_mechanism",
            "this tern was built without the `kerberos` feature".into(),
        );
    }
    if dir.bind_keytab.is_none() {
        err(
            "directory.bind_keytab",
            "required for bind_mechanism = \"gssapi\" (the service account's client keytab)".into(),
        );
    }
    for (key, set) in [
        ("bind_dn", dir.bind_dn.is_some()),
        ("bind_password_file", dir.bind_password_file.is_some()),
    ] {
        if set {
            err(
                &format!("directory.{key}"),
                "not used with bind_mechanism = \"gssapi\" (the keytab's principal binds)".into(),
            );
        }
    }
    if !has_kerberos {
        let realm = dir
            .base_dn
            .as_deref()
            .and_then(|b| tern_directory_ldap::ad_realm(b, &dir.urls));
        if kind != "active-directory" {
            err(
                "directory.bind_mechanism",
                "\"gssapi\" with kind = \"ldap\" needs [kerberos] (realm and KDCs)".into(),
            );
        } else if dir.base_dn.is_some() && realm.is_none() {
            err(
                "directory.bind_mechanism",
                "\"gssapi\" needs [kerberos], or a base_dn with DC= components (the realm)".into(),
            );
        }
    }
    if let Some(h) = &dir.sasl_host
        && (h.is_empty() || h.contains(['/', '@', ' ']))
    {
        err(
            "directory.sasl_host",
            format!("{h:?} is not a host name (the HOST of ldap/HOST)"),
        );
    }
}

/// The directory's Kerberos client side, when it binds with GSSAPI: the client keytab, and
/// the realm to write a profile for when `[kerberos]` does not give one (Active Directory:
/// its DNS domain, its DCs as KDCs).
#[cfg(feature = "kerberos")]
pub fn client_identity(settings: &Settings) -> Option<tern_kerberos::ClientIdentity> {
    let dir = settings.directory.as_ref()?;
    if kind(settings) == "internal" || dir.bind_mechanism.as_deref() != Some("gssapi") {
        return None;
    }
    let realm = match &settings.kerberos {
        Some(_) => None,
        None => tern_directory_ldap::ad_realm(dir.base_dn.as_deref()?, &dir.urls),
    };
    Some(tern_kerberos::ClientIdentity {
        keytab: dir.bind_keytab.clone()?,
        realm,
    })
}

/// The bind password: the file's first line (a trailing newline is not part of it).
fn read_secret(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "directory.bind_password_file: cannot read {}",
            path.display()
        )
    })?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("directory.bind_password_file: {} is empty", path.display());
    }
    Ok(line.to_string())
}

/// The LDAP backend's config from `[directory]`.
pub fn ldap_config(settings: &Settings, dir: &DirectoryConfig) -> anyhow::Result<LdapConfig> {
    let profile = match dir.kind.as_deref() {
        Some("active-directory") => Profile::ActiveDirectory,
        Some("ldap") => Profile::Generic,
        other => bail!("directory.kind {other:?} is not an LDAP directory"),
    };
    let base_dn = dir
        .base_dn
        .clone()
        .context("directory.base_dn is required")?;
    let mut c = LdapConfig::new(profile, dir.urls.clone(), base_dn);
    if dir.bind_mechanism.as_deref() == Some("gssapi") {
        c.bind = ServiceBind::Gssapi {
            principal: dir.bind_principal.clone(),
            host: dir.sasl_host.clone(),
        };
    } else if let (Some(dn), Some(file)) = (&dir.bind_dn, &dir.bind_password_file) {
        c.bind = ServiceBind::Simple {
            dn: dn.clone(),
            password: read_secret(file)?,
        };
    }
    c.ca_file = dir.ca_file.clone();
    c.starttls = dir.starttls.unwrap_or(false);
    if let Some(t) = dir.timeout {
        c.timeout = t.0;
    }
    if let Some(n) = dir.pool_size {
        c.pool_size = n as usize;
    }
    if let Some(n) = dir.page_size {
        c.page_size = n.min(i32::MAX as u64) as i32;
    }
    c.mail_group = dir.mail_group.clone();
    c.quota_attribute = dir.quota_attribute.clone();
    c.default_quota = Some(settings.default_quota);
    c.quota_parser = Arc::new(|s: &str| tern_mail::parse_quota(s).map_err(|e| e.to_string()));
    c.user_filter = dir.user_filter.clone();
    c.address_filter = dir.address_filter.clone();
    c.group_filter = dir.group_filter.clone();
    Ok(c)
}

/// The LDAP / AD directory the config names (`None` for the internal directory).
pub fn ldap_directory(settings: &Settings) -> anyhow::Result<Option<LdapDirectory>> {
    let Some(dir) = &settings.directory else {
        return Ok(None);
    };
    if kind(settings) == "internal" {
        return Ok(None);
    }
    let cfg = ldap_config(settings, dir)?;
    let ldap = LdapDirectory::new(cfg).map_err(|e| anyhow::anyhow!("[directory]: {e}"))?;
    // With [kerberos], passwords go to the KDC (an AS exchange for the entry's
    // sAMAccountName / uid, verified with the service keytab) instead of an LDAP bind; the
    // cache in front then keeps those verdicts like any other.
    #[cfg(feature = "kerberos")]
    let ldap = match settings
        .kerberos
        .as_ref()
        .and_then(crate::sasl_setup::kerberos_config)
    {
        Some(k) => ldap.with_verifier(Arc::new(tern_kerberos::Kerberos::new(k))),
        None => ldap,
    };
    Ok(Some(ldap))
}

/// `[directory.cache]` with defaults.
pub fn cache_config(dir: &DirectoryConfig) -> CacheConfig {
    let d = CacheConfig::default();
    let c = &dir.cache;
    CacheConfig {
        positive_ttl: c.positive_ttl.map_or(d.positive_ttl, |v| v.0),
        negative_ttl: c.negative_ttl.map_or(d.negative_ttl, |v| v.0),
        credential_ttl: c.credential_ttl.map_or(d.credential_ttl, |v| v.0),
        max_entries: c.max_entries.map_or(d.max_entries, |v| v as usize),
        serve_stale: c.serve_stale.map(|v| v.0).filter(|v| !v.is_zero()),
    }
}

/// What `tern serve` answers logins and deliveries with.
pub async fn serving(settings: &Settings) -> anyhow::Result<ServingDirectory> {
    match ldap_directory(settings)? {
        None => Ok(ServingDirectory {
            directory: super::open_directory(settings).await?,
            cache: None,
        }),
        Some(ldap) => {
            let dir = settings.directory.as_ref().expect("ldap has a table");
            let cfg = cache_config(dir);
            tracing::info!(
                kind = kind(settings),
                urls = ?dir.urls,
                verifier = ldap.verifier_name(),
                positive_ttl = ?cfg.positive_ttl,
                negative_ttl = ?cfg.negative_ttl,
                credential_ttl = ?cfg.credential_ttl,
                serve_stale = ?cfg.serve_stale,
                "directory"
            );
            let cache = Arc::new(CachedDirectory::new(Arc::new(ldap), cfg));
            Ok(ServingDirectory {
                directory: cache.clone(),
                cache: Some(cache),
            })
        }
    }
}

/// `data_dir/directory-cache/`.
pub fn control_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("directory-cache")
}

/// Where flush requests go.
pub fn flush_dir(data_dir: &Path) -> PathBuf {
    control_dir(data_dir).join("flush")
}

/// The counters a running server publishes.
pub fn stats_file(data_dir: &Path) -> PathBuf {
    control_dir(data_dir).join("stats.json")
}

/// Applies flush requests and publishes the counters until shutdown.
pub fn spawn_control(
    cache: Arc<CachedDirectory>,
    data_dir: PathBuf,
    mut shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let flush = flush_dir(&data_dir);
        if let Err(e) = std::fs::create_dir_all(&flush) {
            tracing::warn!(error = %e, dir = %flush.display(), "directory cache: no control folder, `tern directory flush` will not reach this server");
        }
        let mut tick: u64 = 0;
        while crate::serve::tick(Duration::from_secs(1), &mut shutdown).await {
            apply_flushes(&cache, &flush);
            if tick.is_multiple_of(5) {
                write_stats(&cache, &data_dir);
            }
            if tick % 300 == 299 {
                let s = cache.stats();
                tracing::info!(stats = ?s, "directory cache");
            }
            tick += 1;
        }
    })
}

fn apply_flushes(cache: &CachedDirectory, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "flush"))
        .collect();
    files.sort();
    for f in files {
        let what = std::fs::read_to_string(&f).unwrap_or_default();
        let what = what.trim();
        if what.is_empty() || what == "*" {
            cache.flush(None);
            tracing::info!("directory cache flushed");
        } else {
            cache.flush(Some(what));
            tracing::info!(login = %what, "directory cache flushed for one login");
        }
        let _ = std::fs::remove_file(&f);
    }
}

fn write_stats(cache: &CachedDirectory, data_dir: &Path) {
    let stats = serde_json::json!({
        "pid": std::process::id(),
        "written_unix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "cache": cache.stats(),
    });
    let path = stats_file(data_dir);
    let tmp = path.with_extension("json.tmp");
    let ok = std::fs::write(&tmp, stats.to_string()).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = ok {
        tracing::debug!(error = %e, "directory cache: cannot write stats.json");
    }
}
