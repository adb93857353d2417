//! # tern-directory: who exists, how they log in, where their mail goes
//!
//! Protocol servers ask a [`Directory`]; they never see how it answers. The internal
//! directory ([`internal::InternalDirectory`]: a SQLite file with argon2 hashes) is the default;
//! the LDAP / Active Directory / Kerberos backends implement the same trait.
//!
//! ## Invariants
//! - An authentication failure tells the client nothing about why: [`AuthOutcome::Failed`]
//!   carries the reason for the log only.
//! - One login = one account: every accepted spelling of a login (address, alias, name)
//!   yields the same [`Account::name`].
//! - No plaintext password is ever stored; the internal directory keeps argon2id hashes.
#![forbid(unsafe_code)]

pub mod cache;
pub mod internal;
pub mod verifier;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use verifier::{PasswordCheck, PasswordSubject, PasswordVerifier};

/// The default quota: 200 MB.
pub const DEFAULT_QUOTA_BYTES: u64 = 200 * 1000 * 1000;

/// What the directory knows of an account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The canonical name: the store's account key (lower-case primary address).
    pub name: String,
    /// Every address that delivers to this account, primary first, lower-case.
    pub addresses: Vec<String>,
    /// Quota in bytes; `None` means unlimited.
    pub quota_bytes: Option<u64>,
    /// Disabled accounts cannot log in; mail to them is refused temporarily.
    pub enabled: bool,
    pub display_name: Option<String>,
    /// Groups the account belongs to (names as the directory spells them).
    pub groups: Vec<String>,
    /// Why the account is not enabled (`enabled == false`), for logs and admin tools only:
    /// never shown to a client. `None` when enabled, or when the directory does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Directory facts for operators, by attribute name: the entry's `dn`, RFC 2307
    /// `uidNumber`, `gidNumber`, `unixHomeDirectory` / `homeDirectory`, `loginShell`,
    /// `sAMAccountName`, `userPrincipalName`... Empty for the internal directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// The result of resolving an address for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The address belongs to an account.
    Account(Account),
    /// The address is a distribution group or alias with several targets: member addresses.
    Group(Vec<String>),
    /// Nobody has this address.
    NotFound,
}

/// The result of a password check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok(Account),
    /// Wrong password, unknown user, disabled account... The reason is for the log only.
    Failed {
        reason: String,
    },
}

/// The directory could not answer (it is down, misconfigured...). Not an auth failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    #[error("directory error: {0}")]
    Backend(String),
    #[error("{0}")]
    Invalid(String),
}

pub type DirectoryResult<T> = Result<T, DirectoryError>;

/// Identities, authentication and address resolution.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Checks a password for a login (any accepted spelling).
    async fn authenticate(&self, login: &str, password: &str) -> DirectoryResult<AuthOutcome>;

    /// The account a login names, if any (used after SASL mechanisms that authenticate
    /// elsewhere, and for authorization identities).
    async fn lookup(&self, login: &str) -> DirectoryResult<Option<Account>>;

    /// Where mail for an address goes.
    async fn resolve(&self, address: &str) -> DirectoryResult<Resolution>;

    /// Every account (for provisioning and admin listings).
    async fn accounts(&self) -> DirectoryResult<Vec<Account>>;
}
