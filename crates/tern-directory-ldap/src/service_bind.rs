//! The service account's bind on a fresh search connection: simple (DN + password) or SASL
//! GSSAPI (Kerberos, from the client keytab; no password anywhere).
//!
//! ## Invariants
//! - A refusal (wrong password, a keytab whose key the KDC does not have, an unknown
//!   principal) is [`BindError::Fatal`] with a message naming what to check: trying the next
//!   directory server would not help. A KDC or server that cannot be reached is
//!   [`BindError::Down`]. Both leave the directory unable to answer, which logins see as a
//!   temporary failure, never as a wrong password.
//! - GSS-API calls block (KDC round trips, keytab reads): the GSSAPI bind runs on tokio's
//!   blocking pool, bounded by twice the operation timeout.
//! - Renewal: every new connection acquires its credential anew; MIT krb5 takes it from the
//!   memory cache and gets a fresh TGT from the client keytab once the cached one is half-way
//!   to expiry (or gone), so a long-running server keeps binding after the first ticket
//!   expires. Connections the server closes when their ticket expires are dropped by the
//!   pool and replaced by fresh ones.
use crate::config::ServiceBind;
use crate::pool::is_transport;
use ldap3::{Ldap, LdapError, LdapResult};
use std::time::Duration;
use tern_directory::DirectoryError;

/// Why a service bind did not happen.
pub(crate) enum BindError {
    /// Try the next URL.
    Down(String),
    /// Stop: a configuration problem.
    Fatal(DirectoryError),
}

/// Binds `ldap` (connected to `url`) as the service account.
pub(crate) async fn bind(
    ldap: &mut Ldap,
    url: &str,
    how: &ServiceBind,
    timeout: Duration,
) -> Result<(), BindError> {
    match how {
        ServiceBind::Anonymous => Ok(()),
        ServiceBind::Simple { dn, password } => {
            let res = ldap.with_timeout(timeout).simple_bind(dn, password).await;
            check(url, &format!("service bind as {dn}"), res, || {
                format!(
                    "{url}: the service account {dn} cannot bind (invalid credentials: \
                     check bind_dn and bind_password_file)"
                )
            })
        }
        ServiceBind::Gssapi { principal, host } => {
            gssapi(ldap, url, principal.as_deref(), host.as_deref(), timeout).await
        }
    }
}

/// Reads a bind's result: success, a refusal (`refused()` says what to check), or an error.
fn check(
    url: &str,
    what: &str,
    res: Result<LdapResult, LdapError>,
    refused: impl FnOnce() -> String,
) -> Result<(), BindError> {
    match res {
        Ok(r) if r.rc == 0 => Ok(()),
        Ok(r) if r.rc == 49 => Err(BindError::Fatal(DirectoryError::Backend(refused()))),
        Ok(r) => {
            let e = LdapError::LdapResult { result: r };
            if is_transport(&e) {
                return Err(BindError::Down(e.to_string()));
            }
            Err(BindError::Fatal(DirectoryError::Backend(format!(
                "{url}: {what}: {e}"
            ))))
        }
        Err(e) => Err(BindError::Down(format!("{what}: {e}"))),
    }
}

/// The host of an `ldap://` or `ldaps://` URL (no port, no brackets).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    (!host.is_empty()).then_some(host)
}

/// Active Directory's Kerberos realm and KDCs as the directory config implies them: the
/// realm is the upper-case DNS domain of the base DN, and every domain controller is a KDC
/// (port 88 on each URL's host). `None` when the base DN has no `DC=` components.
pub fn ad_realm(base_dn: &str, urls: &[String]) -> Option<(String, Vec<String>)> {
    let domain = crate::entry::dns_domain(base_dn);
    if domain.is_empty() {
        return None;
    }
    let mut kdcs: Vec<String> = Vec::new();
    for host in urls.iter().filter_map(|u| url_host(u)) {
        let kdc = if host.contains(':') {
            format!("[{host}]:88")
        } else {
            format!("{host}:88")
        };
        if !kdcs.contains(&kdc) {
            kdcs.push(kdc);
        }
    }
    Some((domain.to_ascii_uppercase(), kdcs))
}

/// Whether a GSS-API failure means "no KDC answered" (try again later) rather than a refusal.
#[cfg(any(feature = "gssapi", test))]
fn kdc_unreachable(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("cannot contact any kdc")
        || t.contains("cannot find kdc")
        || t.contains("cannot resolve network address for kdc")
}

#[cfg(feature = "gssapi")]
async fn gssapi(
    ldap: &mut Ldap,
    url: &str,
    principal: Option<&str>,
    host: Option<&str>,
    timeout: Duration,
) -> Result<(), BindError> {
    use cross_krb5::{Cred, InitiateFlags, K5Cred};
    let Some(host) = host.or_else(|| url_host(url)).map(str::to_string) else {
        return Err(BindError::Fatal(DirectoryError::Backend(format!(
            "{url}: no host for the ldap/HOST service principal (set sasl_host)"
        ))));
    };
    let who = principal
        .unwrap_or("the client keytab's principal")
        .to_string();
    let principal = principal.map(str::to_string);
    let mut conn = ldap.clone();
    let runtime = tokio::runtime::Handle::current();
    let spn_host = host.clone();
    // Off the async threads: acquiring the credential and initiating the context may talk to
    // the KDC (AS and TGS exchanges). The LDAP messages still go through the connection's
    // driver task on the runtime.
    let task = tokio::task::spawn_blocking(move || {
        let cred = Cred::client_acquire(InitiateFlags::empty(), principal.as_deref())
            .map_err(|e| format!("{e:#}"))?;
        runtime
            .block_on(conn.sasl_gssapi_cred_bind(cred, &spn_host))
            .map_err(|e| format!("{e:#}"))
    });
    let res = match tokio::time::timeout(timeout * 2, task).await {
        Err(_) => return Err(BindError::Down("GSSAPI bind timed out".into())),
        Ok(Err(e)) => {
            return Err(BindError::Fatal(DirectoryError::Backend(format!(
                "{url}: GSSAPI bind task failed: {e}"
            ))));
        }
        Ok(Ok(res)) => res,
    };
    match res {
        Ok(r) => check(url, &format!("GSSAPI bind as {who}"), Ok(r), || {
            format!("{url}: the directory refused the GSSAPI bind as {who} (ldap/{host})")
        }),
        Err(text) if kdc_unreachable(&text) => {
            Err(BindError::Down(format!("GSSAPI bind as {who}: {text}")))
        }
        Err(text) => Err(BindError::Fatal(DirectoryError::Backend(format!(
            "{url}: the service account ({who}) cannot bind with GSSAPI for ldap/{host}: {text} \
             (check bind_keytab, bind_principal, sasl_host and the [kerberos] realm)"
        )))),
    }
}

#[cfg(not(feature = "gssapi"))]
async fn gssapi(
    _ldap: &mut Ldap,
    url: &str,
    _principal: Option<&str>,
    _host: Option<&str>,
    _timeout: Duration,
) -> Result<(), BindError> {
    Err(BindError::Fatal(DirectoryError::Backend(format!(
        "{url}: GSSAPI binds need tern-directory-ldap's `gssapi` feature"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("ldap://127.0.0.2"), Some("127.0.0.2"));
        assert_eq!(
            url_host("ldaps://dc1.example.test:636"),
            Some("dc1.example.test")
        );
        assert_eq!(
            url_host("ldap://dc1.example.test/"),
            Some("dc1.example.test")
        );
        assert_eq!(url_host("ldap://[::1]:389"), Some("::1"));
        assert_eq!(url_host("ldap://"), None);
    }

    #[test]
    fn realm_of_an_ad_domain() {
        let urls = vec![
            "ldaps://dc1.example.test".to_string(),
            "ldap://127.0.0.2:389".to_string(),
            "ldap://dc1.example.test:389".to_string(),
            "ldap://[::1]".to_string(),
        ];
        let (realm, kdcs) = ad_realm("DC=Example,DC=Test", &urls).unwrap();
        assert_eq!(realm, "EXAMPLE.TEST");
        assert_eq!(kdcs, ["dc1.example.test:88", "127.0.0.2:88", "[::1]:88"]);
        assert_eq!(ad_realm("O=nowhere", &urls), None);
    }

    #[test]
    fn kdc_down_is_not_a_refusal() {
        assert!(kdc_unreachable(
            "gssapi: Cannot contact any KDC for realm 'EXAMPLE.TEST'"
        ));
        assert!(!kdc_unreachable("Preauthentication failed"));
        assert!(!kdc_unreachable("Client not found in Kerberos database"));
    }
}
