//! Password verification by AS exchange, verified with the service keytab (pam_krb5's
//! `validate`): the steps and why each one is there.
//!
//! 1. `gss_acquire_cred_with_password(user@REALM)`: the AS exchange. The KDC's reply is
//!    decrypted with a key derived from the password, so a wrong password fails here. A
//!    spoofed KDC, though, can answer with a reply made from the password it was given.
//! 2. `gss_init_sec_context` for our service principal: the TGS exchange (a service
//!    ticket for `imap/host@REALM`, encrypted in that service's long-term key).
//! 3. `gss_accept_sec_context` with our keytab: only a KDC that knows our service key can
//!    have made that ticket. This is the step that defeats the spoofed KDC.
//! 4. The accepted context's initiator must be the principal we asked for.
use crate::KerberosConfig;
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::error::Error as GssError;
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL, OidSet};
use std::sync::Arc;
use tern_directory::{DirectoryError, DirectoryResult};

/// The outcome of a password check (the reason is for the log only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Rejected(String),
}

/// Kerberos for one realm. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Kerberos {
    config: Arc<KerberosConfig>,
}

// krb5 error codes (com_err table), as GSS-API minor statuses.
const C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
const CLIENT_REVOKED: i32 = -1765328366;
const KEY_EXP: i32 = -1765328361;
const PREAUTH_FAILED: i32 = -1765328360;
const AP_ERR_BAD_INTEGRITY: i32 = -1765328353;
const REALM_UNKNOWN: i32 = -1765328230;
const KDC_UNREACH: i32 = -1765328228;
const REALM_CANT_RESOLVE: i32 = -1765328164;

impl Kerberos {
    pub fn new(config: KerberosConfig) -> Kerberos {
        Kerberos {
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &KerberosConfig {
        &self.config
    }

    /// Checks `password` for `principal` (`user@REALM`). `Err(Unavailable)` when the KDC
    /// cannot be reached in time: not a wrong password.
    pub async fn verify_password(
        &self,
        principal: &str,
        password: &str,
    ) -> DirectoryResult<Verdict> {
        let Some(service) = self.config.service_principals.first() else {
            return Ok(Verdict::Rejected(
                "no service principal configured: cannot verify the KDC".into(),
            ));
        };
        let service = with_realm(service, &self.config.realm);
        let principal = principal.to_string();
        let password = password.to_string();
        self.blocking(move || verify_blocking(&principal, &password, &service))
            .await?
    }

    /// Runs blocking GSS-API work on the blocking pool, bounded by the configured timeout.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> DirectoryResult<T> {
        let task = tokio::task::spawn_blocking(f);
        match tokio::time::timeout(self.config.timeout, task).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(DirectoryError::Backend(format!(
                "Kerberos task failed: {e}"
            ))),
            Err(_) => Err(DirectoryError::Unavailable(format!(
                "Kerberos: no answer within {:?}",
                self.config.timeout
            ))),
        }
    }
}

/// `imap/host` → `imap/host@REALM` (unchanged if it names a realm).
pub(crate) fn with_realm(principal: &str, realm: &str) -> String {
    if principal.contains('@') {
        principal.to_string()
    } else {
        format!("{principal}@{realm}")
    }
}

fn minor(e: &GssError) -> i32 {
    e.minor as i32
}

/// What an AS-exchange failure means for the login.
fn classify_as_error(e: &GssError) -> DirectoryResult<Verdict> {
    let reason = match minor(e) {
        PREAUTH_FAILED | AP_ERR_BAD_INTEGRITY => "wrong password".to_string(),
        C_PRINCIPAL_UNKNOWN => "unknown Kerberos principal".to_string(),
        CLIENT_REVOKED => "principal disabled or locked out at the KDC".to_string(),
        KEY_EXP => "password expired".to_string(),
        KDC_UNREACH | REALM_UNKNOWN | REALM_CANT_RESOLVE => {
            return Err(DirectoryError::Unavailable(format!("Kerberos KDC: {e}")));
        }
        _ => format!("Kerberos AS exchange failed: {e}"),
    };
    Ok(Verdict::Rejected(reason))
}

fn krb5_name(principal: &str) -> Result<Name, GssError> {
    Name::new(principal.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))
}

pub(crate) fn name_text(name: &Name) -> Result<String, GssError> {
    Ok(String::from_utf8_lossy(&name.display_name()?).into_owned())
}

fn verify_blocking(principal: &str, password: &str, service: &str) -> DirectoryResult<Verdict> {
    let gss = |what: &str, e: GssError| DirectoryError::Backend(format!("Kerberos {what}: {e}"));
    let mechs = OidSet::singleton(GSS_MECH_KRB5).map_err(|e| gss("mechanism set", e))?;
    let user = match krb5_name(principal) {
        Ok(n) => n,
        Err(e) => return Ok(Verdict::Rejected(format!("not a principal name: {e}"))),
    };
    // 1. AS exchange (credentials live in a memory cache owned by the credential).
    let cred = match Cred::acquire_with_password(
        Some(&user),
        password,
        None,
        CredUsage::Initiate,
        Some(&mechs),
    ) {
        Ok(c) => c,
        Err(e) => return classify_as_error(&e),
    };
    // 2. TGS exchange: a ticket for our own service.
    let target = krb5_name(service).map_err(|e| gss("service name", e))?;
    let mut client = ClientCtx::new(Some(cred), target, CtxFlags::empty(), Some(GSS_MECH_KRB5));
    let token = match client.step(None, None) {
        Ok(Some(t)) => t.to_vec(),
        Ok(None) => return Ok(Verdict::Rejected("no AP-REQ token produced".into())),
        Err(e) if matches!(minor(&e), KDC_UNREACH) => {
            return Err(DirectoryError::Unavailable(format!("Kerberos KDC: {e}")));
        }
        Err(e) => {
            return Ok(Verdict::Rejected(format!(
                "no service ticket for {service}: {e}"
            )));
        }
    };
    // 3. Accept it with our keytab.
    let acceptor_name = krb5_name(service).map_err(|e| gss("service name", e))?;
    let acceptor = match Cred::acquire(Some(&acceptor_name), None, CredUsage::Accept, Some(&mechs))
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%service, error = %e, "Kerberos: the keytab has no key for the service principal");
            return Ok(Verdict::Rejected(format!(
                "keytab has no key for {service}: {e}"
            )));
        }
    };
    let mut server = ServerCtx::new(Some(acceptor));
    if let Err(e) = server.step(&token, None) {
        tracing::warn!(%principal, %service, error = %e,
            "Kerberos: service ticket not accepted with our keytab (spoofed KDC or stale keytab)");
        return Ok(Verdict::Rejected(format!(
            "KDC reply not verified by the keytab: {e}"
        )));
    }
    if !server.is_complete() {
        return Ok(Verdict::Rejected("service context incomplete".into()));
    }
    // 4. The ticket is for the user we asked about.
    let source = server
        .source_name()
        .and_then(|n| name_text(&n))
        .map_err(|e| gss("source name", e))?;
    if source != principal {
        return Ok(Verdict::Rejected(format!(
            "ticket names {source}, not {principal}"
        )));
    }
    Ok(Verdict::Valid)
}
