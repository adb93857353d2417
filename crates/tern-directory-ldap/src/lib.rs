//! # tern-directory-ldap: accounts from LDAP and Active Directory
//!
//! [`LdapDirectory`] implements [`tern_directory::Directory`] over ldap3: a pool of
//! service-bound connections searches, a second pool carries user binds (search-then-bind:
//! find the user's DN, then bind as it; the password goes to the server and nowhere else).
//! The service account binds with a password or with SASL GSSAPI from a client keytab
//! ([`ServiceBind`]; `service_bind.rs`, behind the `gssapi` feature).
//! Two profiles ([`Profile`]): Active Directory (no filters to write: sAMAccountName, UPN,
//! `DOMAIN\user` or any address; `mail` + `proxyAddresses`; userAccountControl, lockout,
//! expiry; nested groups through LDAP_MATCHING_RULE_IN_CHAIN) and generic LDAP
//! (inetOrgPerson / posixAccount with configurable filters, nested groups walked here).
//!
//! ## Invariants
//! - Every value placed in a filter is escaped ([`filter::escape`], RFC 4515).
//! - An empty password is refused before any bind (an LDAP bind with a DN and no password is
//!   an *unauthenticated* bind that succeeds, RFC 4513 §5.1.2).
//! - The account name is the primary address, lower-case, whatever spelling logged in; a
//!   user with no address cannot use mail (enabled = false, with the reason).
//! - Refusals (disabled, locked, expired, not in the mail group) carry the reason in
//!   [`tern_directory::Account::disabled_reason`] / `AuthOutcome::Failed` for the log only.
//! - "Cannot ask" (every server down, timeouts) is `DirectoryError::Unavailable`, never an
//!   authentication failure.
#![forbid(unsafe_code)]

mod ad;
pub mod ad_time;
mod config;
mod directory;
mod entry;
pub mod filter;
mod generic;
mod pool;
mod service_bind;
mod verify;

pub use config::{GENERIC_ADDRESS_FILTER, GENERIC_GROUP_FILTER, GENERIC_USER_FILTER};
pub use config::{LdapConfig, Profile, QuotaParser, ServiceBind};
pub use directory::LdapDirectory;
pub use pool::tls_config;
pub use service_bind::{ad_realm, url_host};
pub use verify::LdapBindVerifier;
