//! Kerberos as the password check of a directory.
//!
//! - [`Kerberos`] is a [`PasswordVerifier`]: the LDAP/AD directory finds the account, the
//!   KDC checks the password (principal from the entry's `sAMAccountName`/`uid` hint, else
//!   the UPN, else the login).
//! - [`KerberosDirectory`] puts that in front of any directory, for the internal one: an
//!   account found by `lookup` has its password checked by the KDC as
//!   `localpart@REALM`. If the KDC refuses it, the inner directory's own check runs, so an
//!   account with a local password (an administrator, a service mailbox without a
//!   principal) still logs in; an account *without* a local password is Kerberos-only.
//!   A KDC that cannot be reached is "unavailable", never a fallback to the local check.
use crate::{Kerberos, Verdict};
use async_trait::async_trait;
use std::sync::Arc;
use tern_directory::{
    Account, AuthOutcome, Directory, DirectoryResult, PasswordCheck, PasswordSubject,
    PasswordVerifier, Resolution,
};

#[async_trait]
impl PasswordVerifier for Kerberos {
    async fn verify(
        &self,
        subject: PasswordSubject<'_>,
        password: &str,
    ) -> DirectoryResult<PasswordCheck> {
        let principal = match (subject.principal_hint, subject.upn) {
            (Some(hint), _) => self.config().principal_for(hint),
            (None, Some(upn)) => upn.to_string(),
            (None, None) => self.config().principal_for(subject.login),
        };
        Ok(match self.verify_password(&principal, password).await? {
            Verdict::Valid => PasswordCheck::Valid,
            Verdict::Rejected(reason) => PasswordCheck::Rejected {
                reason: format!("{principal}: {reason}"),
            },
        })
    }

    fn name(&self) -> &'static str {
        "kerberos"
    }
}

/// A directory whose password checks go to the KDC first.
pub struct KerberosDirectory {
    inner: Arc<dyn Directory>,
    kerberos: Kerberos,
}

impl KerberosDirectory {
    pub fn new(inner: Arc<dyn Directory>, kerberos: Kerberos) -> KerberosDirectory {
        KerberosDirectory { inner, kerberos }
    }
}

#[async_trait]
impl Directory for KerberosDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> DirectoryResult<AuthOutcome> {
        let Some(account) = self.inner.lookup(login).await? else {
            return self.inner.authenticate(login, password).await;
        };
        let principal = self.kerberos.config().principal_for(&account.name);
        match self.kerberos.verify_password(&principal, password).await? {
            Verdict::Valid if account.enabled => Ok(AuthOutcome::Ok(account)),
            Verdict::Valid => Ok(AuthOutcome::Failed {
                reason: "account disabled".into(),
            }),
            Verdict::Rejected(kdc_reason) => {
                match self.inner.authenticate(login, password).await? {
                    AuthOutcome::Ok(a) => Ok(AuthOutcome::Ok(a)),
                    AuthOutcome::Failed { reason } => Ok(AuthOutcome::Failed {
                        reason: format!("Kerberos {principal}: {kdc_reason}; local: {reason}"),
                    }),
                }
            }
        }
    }

    async fn lookup(&self, login: &str) -> DirectoryResult<Option<Account>> {
        self.inner.lookup(login).await
    }

    async fn resolve(&self, address: &str) -> DirectoryResult<Resolution> {
        self.inner.resolve(address).await
    }

    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        self.inner.accounts().await
    }
}
