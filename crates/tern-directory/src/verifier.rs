//! Password verification, pluggable: a directory finds *who* logs in, a [`PasswordVerifier`]
//! decides whether the password is theirs.
//!
//! The LDAP backend's default verifier binds as the user's DN on a connection of its own
//! (search-then-bind); a Kerberos verifier does an AS exchange against the KDC instead (as
//! pam_krb5 does). Either way the directory keeps the account facts (enabled, groups,
//! addresses): a verifier only answers "is this the password".
//!
//! ## Invariants
//! - A verifier never stores or logs the password.
//! - [`PasswordCheck::Rejected`] carries a reason for the log only; the client learns
//!   "authentication failed" and nothing more.
//! - `Err(DirectoryError::Unavailable)` means "could not ask" (KDC/DC down), not "wrong
//!   password": callers must not count it as a failed login.
use crate::{Account, DirectoryResult};
use async_trait::async_trait;

/// Who a password is checked for: what the user typed and what the directory found.
#[derive(Clone, Copy, Debug)]
pub struct PasswordSubject<'a> {
    /// The login as the client sent it (`alice`, `EXAMPLE\alice`, `alice@example.test`...).
    pub login: &'a str,
    /// The directory entry's DN, for directories that have one (LDAP, AD).
    pub dn: Option<&'a str>,
    /// The Kerberos principal hint, without realm unless the directory knows it: AD gives
    /// `sAMAccountName` (the verifier appends its realm), generic LDAP the `uid`. `None`
    /// when the directory has no idea (the verifier may fall back on `login`).
    pub principal_hint: Option<&'a str>,
    /// The user principal name (AD `userPrincipalName`), when the entry has one.
    pub upn: Option<&'a str>,
    /// The account the directory resolved the login to.
    pub account: &'a Account,
}

/// The verdict of one password check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is the subject's.
    Valid,
    /// It is not (or the verifier refused the subject: disabled at the KDC, locked...).
    /// The reason is for the log only.
    Rejected { reason: String },
}

/// Checks a password for a subject the directory already found.
#[async_trait]
pub trait PasswordVerifier: Send + Sync + 'static {
    async fn verify(
        &self,
        subject: PasswordSubject<'_>,
        password: &str,
    ) -> DirectoryResult<PasswordCheck>;

    /// A short name for logs and `tern directory auth` ("ldap-bind", "kerberos").
    fn name(&self) -> &'static str;
}
