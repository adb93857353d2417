//! The SASL layer `tern serve` gives IMAP, POP3, submission and ManageSieve
//! (`[auth] mechanisms`), and
//! Kerberos (`[kerberos]`): password checks by the KDC in front of the directory, GSSAPI
//! with the keytab.
//!
//! - SCRAM-SHA-256 is offered with the internal directory only (it keeps the secrets).
//! - GSSAPI is offered only with `[kerberos]` (its keytab is required).
//! - With `[kerberos]`, every password check asks the KDC (verified through the keytab).
//!   The internal directory: `localpart@REALM` first, and an account the KDC refuses may
//!   still use a local password (see `tern_kerberos::KerberosDirectory`). LDAP / AD: the
//!   entry's `sAMAccountName` / `uid` in the realm, instead of an LDAP bind, behind the
//!   directory cache (`backends::directory::ldap_directory`).
use crate::config::{Kerberos, Settings};
use std::sync::Arc;
use tern_directory::Directory;
use tern_sasl::{Authenticator, Mechanism};

/// `[kerberos]`: realm, KDCs and a readable keytab.
pub fn check_kerberos(k: &Kerberos, err: &mut impl FnMut(&str, String)) {
    if cfg!(not(feature = "kerberos")) {
        err(
            "kerberos",
            "this tern was built without the `kerberos` feature".into(),
        );
        return;
    }
    match &k.realm {
        None => err("kerberos.realm", "required".into()),
        Some(r) if r.is_empty() || r.contains(char::is_whitespace) => {
            err("kerberos.realm", format!("{r:?} is not a realm"))
        }
        Some(_) => {}
    }
    if k.kdcs.is_empty() {
        err("kerberos.kdcs", "at least one KDC (host:port)".into());
    }
    match &k.keytab {
        None => err("kerberos.keytab", "required".into()),
        Some(p) => {
            if let Err(e) = std::fs::File::open(p) {
                err(
                    "kerberos.keytab",
                    format!("cannot read {}: {e}", p.display()),
                );
            }
        }
    }
    if k.service_principals.is_empty() {
        err(
            "kerberos.service_principals",
            "at least one (e.g. \"imap/mail.example.test\"): password checks verify the KDC with its key".into(),
        );
    }
}

/// `[auth] mechanisms`: known names; GSSAPI only with `[kerberos]`.
pub fn check_mechanisms(
    mechanisms: &[String],
    kerberos: Option<&Kerberos>,
    err: &mut impl FnMut(&str, String),
) {
    for m in mechanisms {
        match Mechanism::from_name(m) {
            None => err(
                "auth.mechanisms",
                format!("{m:?}: not one of PLAIN, LOGIN, SCRAM-SHA-256, GSSAPI"),
            ),
            Some(Mechanism::Gssapi) if kerberos.is_none() => err(
                "auth.mechanisms",
                "GSSAPI needs [kerberos] (realm, kdcs, keytab)".into(),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(feature = "kerberos")]
pub(crate) fn kerberos_config(k: &Kerberos) -> Option<tern_kerberos::KerberosConfig> {
    Some(tern_kerberos::KerberosConfig {
        realm: k.realm.clone()?,
        kdcs: k.kdcs.clone(),
        keytab: k.keytab.clone()?,
        service_principals: k.service_principals.clone(),
        principal_map: match k.principal_map.as_deref() {
            Some("principal") => tern_kerberos::PrincipalMap::Principal,
            _ => tern_kerberos::PrincipalMap::Localpart,
        },
        timeout: k
            .timeout
            .map_or(std::time::Duration::from_secs(10), |d| d.0),
    })
}

/// Writes the private krb5.conf and points krb5 at it and the keytab (`[kerberos]`), and at
/// the directory's client keytab (`bind_mechanism = "gssapi"`). Call before the runtime
/// (or any other thread) starts: every command that may ask the directory does, through
/// `cli::Globals::settings`.
pub fn prepare_environment(settings: &Settings) -> anyhow::Result<()> {
    #[cfg(feature = "kerberos")]
    if let Some(config) = settings.kerberos.as_ref().and_then(kerberos_config) {
        let path = tern_kerberos::prepare_environment(&settings.data_dir, &config)
            .map_err(|e| anyhow::anyhow!("kerberos: cannot write krb5.conf: {e}"))?;
        tracing::info!(profile = %path.display(), realm = %config.realm, "Kerberos configured");
    }
    #[cfg(feature = "kerberos")]
    if let Some(client) = crate::backends::directory::client_identity(settings) {
        let path = tern_kerberos::prepare_client_environment(&settings.data_dir, &client)
            .map_err(|e| anyhow::anyhow!("directory: cannot write krb5.conf: {e}"))?;
        tracing::debug!(keytab = %client.keytab.display(), profile = ?path,
            "directory: GSSAPI service bind with a client keytab");
    }
    let _ = settings;
    Ok(())
}

/// The authenticator every protocol server shares.
pub fn authenticator(settings: &Settings, directory: Arc<dyn Directory>) -> Authenticator {
    let mechanisms: Vec<Mechanism> = settings
        .sasl_mechanisms
        .iter()
        .filter_map(|m| Mechanism::from_name(m))
        .collect();
    let internal = settings
        .directory
        .as_ref()
        .is_none_or(|d| d.kind.as_deref().is_none_or(|k| k == "internal"));
    #[cfg(feature = "kerberos")]
    let (directory, acceptor) = match settings.kerberos.as_ref().and_then(kerberos_config) {
        // LDAP / AD check passwords with the KDC themselves (`backends::directory`), behind
        // the cache; the internal directory gets the KDC in front of its own check.
        Some(config) if !internal => {
            let kerberos = tern_kerberos::Kerberos::new(config);
            (directory, Some(tern_kerberos::Acceptor::shared(kerberos)))
        }
        Some(config) => {
            let kerberos = tern_kerberos::Kerberos::new(config);
            let wrapped: Arc<dyn Directory> = Arc::new(tern_kerberos::KerberosDirectory::new(
                directory,
                kerberos.clone(),
            ));
            (wrapped, Some(tern_kerberos::Acceptor::shared(kerberos)))
        }
        None => (directory, None),
    };
    let mut sasl = Authenticator::new(directory).with_mechanisms(&mechanisms);
    #[cfg(feature = "kerberos")]
    if let Some(acceptor) = acceptor {
        sasl = sasl.with_gssapi(acceptor);
    }
    if internal {
        match tern_directory::internal::InternalDirectory::open_in(&settings.data_dir) {
            Ok(store) => sasl = sasl.with_scram(Arc::new(store)),
            Err(e) => tracing::warn!(error = %e, "SCRAM-SHA-256 not offered: directory"),
        }
    }
    sasl
}
