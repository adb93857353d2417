//! # tern-kerberos: Kerberos V5 for Tern, on MIT krb5 (libgssapi)
//!
//! Two jobs, both through GSS-API with the service keytab:
//!
//! - **Password checks** ([`Kerberos::verify_password`]), as pam_krb5 does them: an AS
//!   exchange for `user@REALM` with the password (`gss_acquire_cred_with_password`, into a
//!   memory credential cache), then a service ticket for one of *our* principals, accepted
//!   with our keytab. A KDC that does not know our key cannot produce a ticket we accept,
//!   so a spoofed KDC (or a spoofed reply) that "confirms" any password is refused.
//! - **SASL GSSAPI** acceptance ([`Acceptor`], a [`tern_sasl::GssAcceptor`]): the client's
//!   AP-REQ is accepted with any key in the keytab (`imap/`, `smtp/`, `pop/`... host),
//!   wrap/unwrap for RFC 4752's security-layer message.
//!
//! ## Environment (set once, before any krb5 call)
//! [`prepare_environment`] writes a private `krb5.conf` into the data folder (realm, KDCs,
//! no DNS lookups) and points `KRB5_CONFIG`, `KRB5_KTNAME` (the keytab) and `KRB5CCNAME`
//! (a memory cache: Tern never writes a ticket file) at it. `/etc/krb5.conf` is never read
//! or written. When the directory binds with SASL GSSAPI, [`prepare_client_environment`]
//! also sets `KRB5_CLIENT_KTNAME` (the service account's client keytab: MIT krb5 gets and
//! renews the initiator's tickets from it) and, without `[kerberos]`, writes the profile
//! for the directory's realm. krb5 reads these variables when a library context is first made, so they are
//! set in `main`, before the async runtime or any other thread starts.
//!
//! ## Invariants
//! - GSS-API calls block (network round trips to the KDC): they run on tokio's blocking
//!   pool, each bounded by [`KerberosConfig::timeout`]; a timeout is "directory
//!   unavailable", never "wrong password".
//! - A password is never logged or stored; only the KDC sees it (inside the AS exchange).
//! - A principal from another realm is never mapped to an account.
#![deny(unsafe_op_in_unsafe_fn)]

mod acceptor;
mod directory;
mod env;
mod verify;

pub use acceptor::Acceptor;
pub use directory::KerberosDirectory;
pub use env::{
    ClientIdentity, KRB5_CONF_FILE, MEMORY_CACHE, prepare_client_environment, prepare_environment,
};
pub use verify::{Kerberos, Verdict};

use std::path::PathBuf;
use std::time::Duration;

/// How Kerberos names relate to accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PrincipalMap {
    /// `carol@REALM` is the login `carol` (the internal directory finds the one account
    /// whose address has that local part; AD finds the sAMAccountName).
    #[default]
    Localpart,
    /// `carol@REALM` is the login `carol@REALM` (a directory that knows UPNs).
    Principal,
}

/// The `[kerberos]` settings.
#[derive(Clone, Debug)]
pub struct KerberosConfig {
    /// The realm served, e.g. `MIT.TEST`.
    pub realm: String,
    /// KDCs, `host` or `host:port`, tried in order.
    pub kdcs: Vec<String>,
    /// The service keytab (keys of `imap/host`, `smtp/host`... principals).
    pub keytab: PathBuf,
    /// Service principals (`imap/mail.example.test`) in the keytab. Password checks get a
    /// ticket for the first one; empty: password checks are refused (nothing to verify the
    /// KDC's reply with).
    pub service_principals: Vec<String>,
    pub principal_map: PrincipalMap,
    /// Bound on each blocking GSS-API call.
    pub timeout: Duration,
}

impl KerberosConfig {
    /// The account login a client principal maps to; `None` for other realms.
    pub fn login_for(&self, principal: &str) -> Option<String> {
        let (user, realm) = principal.rsplit_once('@')?;
        if user.is_empty() || !realm.eq_ignore_ascii_case(&self.realm) || user.contains('/') {
            return None;
        }
        Some(match self.principal_map {
            PrincipalMap::Localpart => user.to_string(),
            PrincipalMap::Principal => format!("{user}@{}", self.realm),
        })
    }

    /// The principal to check a password for, from a login or account name: the local
    /// part of an address, or `user` of `user@REALM`, in our realm.
    pub fn principal_for(&self, name: &str) -> String {
        let user = match name.rsplit_once('@') {
            Some((user, realm)) if realm.eq_ignore_ascii_case(&self.realm) => user,
            Some((user, _domain)) => user,
            None => name,
        };
        // `DOMAIN\user` (a Windows habit) names the user.
        let user = user.rsplit_once('\\').map_or(user, |(_, u)| u);
        format!("{user}@{}", self.realm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(map: PrincipalMap) -> KerberosConfig {
        KerberosConfig {
            realm: "MIT.TEST".into(),
            kdcs: vec!["127.0.0.1:10088".into()],
            keytab: "/dev/null".into(),
            service_principals: vec!["imap/mail.mit.test".into()],
            principal_map: map,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn principal_mapping() {
        let c = config(PrincipalMap::Localpart);
        assert_eq!(c.login_for("carol@MIT.TEST").as_deref(), Some("carol"));
        assert_eq!(c.login_for("carol@mit.test").as_deref(), Some("carol"));
        assert_eq!(c.login_for("carol@EVIL.TEST"), None);
        assert_eq!(c.login_for("imap/mail.mit.test@MIT.TEST"), None);
        assert_eq!(c.login_for("carol"), None);
        assert_eq!(c.login_for("@MIT.TEST"), None);
        let c = config(PrincipalMap::Principal);
        assert_eq!(
            c.login_for("carol@MIT.TEST").as_deref(),
            Some("carol@MIT.TEST")
        );
        assert_eq!(c.principal_for("carol@mit.test"), "carol@MIT.TEST");
        assert_eq!(c.principal_for("carol@example.test"), "carol@MIT.TEST");
        assert_eq!(c.principal_for("MIT\\carol"), "carol@MIT.TEST");
        assert_eq!(c.principal_for("carol"), "carol@MIT.TEST");
    }
}
