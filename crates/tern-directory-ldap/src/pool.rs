//! Connections to the directory servers: failover over the configured URLs, TLS (LDAPS or
//! StartTLS, with a configured CA), timeouts, and a small pool of service-bound connections.
//!
//! ## Invariants
//! - Two pools: *search* connections are bound as the service account (or anonymous) and
//!   only ever search; *bind* connections only ever carry user binds (search-then-bind), so
//!   a user's identity never leaks into a search, and a search never runs with a user's
//!   rights. A bind connection is reused for the next user's bind (each bind replaces the
//!   last identity) and dropped on any error.
//! - A connection that failed in transit is dropped, never returned to the pool; the
//!   operation is retried once on a fresh connection (the server may close idle ones).
//! - Failover: URLs are tried in order starting with the last one that worked; "every URL
//!   failed" is [`DirectoryError::Unavailable`], a refused service bind is `Backend`
//!   (misconfiguration: retrying elsewhere would not help).
use crate::config::ServiceBind;
use crate::service_bind::BindError as ConnectError;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tern_directory::{DirectoryError, DirectoryResult};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How to reach the directory.
#[derive(Clone)]
pub struct Endpoint {
    pub urls: Vec<String>,
    pub starttls: bool,
    /// `None`: the system's trust store (ldap3's default).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub timeout: Duration,
}

/// A TLS client config trusting exactly the CA certificates in `ca_file` (PEM).
pub fn tls_config(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let pem =
        std::fs::read(ca_file).map_err(|e| format!("cannot read {}: {e}", ca_file.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let mut n = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("{}: {e}", ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
        n += 1;
    }
    if n == 0 {
        return Err(format!("{}: no PEM certificate", ca_file.display()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Whether an ldap3 error means "the server could not be reached or went away".
pub fn is_transport(e: &LdapError) -> bool {
    match e {
        LdapError::LdapResult { result } => matches!(result.rc, 51 | 52 | 80 | 81),
        LdapError::FilterParsing
        | LdapError::UrlParsing { .. }
        | LdapError::UnknownScheme(_)
        | LdapError::DecodingUTF8
        | LdapError::AddNoValues
        | LdapError::AdapterInit(_) => false,
        _ => true,
    }
}

/// Maps an ldap3 error to the directory's error kinds.
pub fn map_err(context: &str, e: LdapError) -> DirectoryError {
    if is_transport(&e) {
        DirectoryError::Unavailable(format!("{context}: {e}"))
    } else {
        DirectoryError::Backend(format!("{context}: {e}"))
    }
}

/// A connection checked out of a [`Pool`].
pub struct Conn {
    pub ldap: Ldap,
    /// The URL it is connected to (for logs).
    pub url: String,
    _permit: OwnedSemaphorePermit,
}

/// A bounded pool of connections bound as one identity (the service account, or none).
pub struct Pool {
    endpoint: Endpoint,
    /// How new connections bind (`Anonymous` for the user-bind pool).
    bind: ServiceBind,
    idle: Mutex<Vec<(Ldap, String)>>,
    permits: Arc<Semaphore>,
    preferred: Arc<AtomicUsize>,
}

impl Pool {
    pub fn new(
        endpoint: Endpoint,
        bind: ServiceBind,
        size: usize,
        preferred: Arc<AtomicUsize>,
    ) -> Pool {
        Pool {
            endpoint,
            bind,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
            preferred,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.endpoint.timeout
    }

    /// An idle connection, or a new one. `fresh` skips the idle ones (after a failure).
    pub async fn get(&self, fresh: bool) -> DirectoryResult<Conn> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DirectoryError::Unavailable("directory pool closed".into()))?;
        if !fresh {
            loop {
                let next = self.idle.lock().expect("pool lock").pop();
                match next {
                    Some((mut ldap, url)) => {
                        if ldap.is_closed() {
                            continue;
                        }
                        return Ok(Conn {
                            ldap,
                            url,
                            _permit: permit,
                        });
                    }
                    None => break,
                }
            }
        }
        let (ldap, url) = self.connect().await?;
        Ok(Conn {
            ldap,
            url,
            _permit: permit,
        })
    }

    /// Returns a healthy connection to the pool.
    pub fn put(&self, mut conn: Conn) {
        if !conn.ldap.is_closed() {
            self.idle
                .lock()
                .expect("pool lock")
                .push((conn.ldap, conn.url));
        }
    }

    /// Connects (and binds as the service account) to the first URL that answers.
    async fn connect(&self) -> DirectoryResult<(Ldap, String)> {
        let urls = &self.endpoint.urls;
        let start = self.preferred.load(Ordering::Relaxed) % urls.len().max(1);
        let mut failures = Vec::new();
        for i in 0..urls.len() {
            let idx = (start + i) % urls.len();
            let url = &urls[idx];
            match self.connect_one(url).await {
                Ok(ldap) => {
                    if idx != start {
                        tracing::warn!(%url, "directory: failed over");
                    }
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok((ldap, url.clone()));
                }
                Err(ConnectError::Fatal(e)) => return Err(e),
                Err(ConnectError::Down(why)) => {
                    tracing::warn!(%url, error = %why, "directory server unreachable");
                    failures.push(format!("{url}: {why}"));
                }
            }
        }
        Err(DirectoryError::Unavailable(format!(
            "no directory server answered ({})",
            failures.join("; ")
        )))
    }

    async fn connect_one(&self, url: &str) -> Result<Ldap, ConnectError> {
        let ep = &self.endpoint;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(ep.timeout)
            .set_starttls(ep.starttls && url.starts_with("ldap://"));
        if let Some(tls) = &ep.tls {
            settings = settings.set_config(tls.clone());
        }
        let connect = LdapConnAsync::with_settings(settings, url);
        // The connect timeout covers TCP only; StartTLS and TLS handshakes are bounded too.
        let (conn, mut ldap) = match tokio::time::timeout(ep.timeout * 2, connect).await {
            Err(_) => return Err(ConnectError::Down("connection timed out".into())),
            Ok(Err(e)) if is_transport(&e) => return Err(ConnectError::Down(e.to_string())),
            Ok(Err(e)) => {
                return Err(ConnectError::Fatal(DirectoryError::Backend(format!(
                    "{url}: {e}"
                ))));
            }
            Ok(Ok(pair)) => pair,
        };
        let u = url.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(url = %u, error = %e, "directory connection closed");
            }
        });
        crate::service_bind::bind(&mut ldap, url, &self.bind, ep.timeout).await?;
        Ok(ldap)
    }
}
