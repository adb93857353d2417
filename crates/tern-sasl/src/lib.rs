//! # tern-sasl: one SASL layer for every protocol
//!
//! IMAP `AUTHENTICATE`, POP3 `AUTH`, SMTP submission `AUTH`, ManageSieve `AUTHENTICATE` and
//! the Dovecot-compatible auth socket all run the same server-side mechanisms from here; the
//! protocol crates keep only their framing (`+ base64`, `334 base64`, `CONT\tid\tbase64`...).
//!
//! ## Using it
//! ```text
//! let sasl = Authenticator::new(directory)                 // PLAIN, LOGIN
//!     .with_mechanisms(&[Mechanism::Plain, Mechanism::Login, Mechanism::ScramSha256]);
//! let mut ex = sasl.start("PLAIN")?;                       // Err(UnknownMechanism) if not offered
//! let mut step = ex.step(initial_response.as_deref()).await;   // None: no initial response
//! loop {
//!     match step? {
//!         Step::Challenge(bytes) => { send "+ base64(bytes)"; read line; "*" cancels;
//!                                     step = ex.step(Some(&decoded)).await }
//!         Step::Done(success) => { log in as success.account; break }
//!     }
//! }
//! ```
//! Errors are [`SaslError`]: the protocol maps `Malformed`/`UnknownMechanism` to its syntax
//! error, `Failed`/`NotAuthorized` to its authentication failure (with its own delay and
//! failure counting), `Unavailable` to "try again later".
//!
//! Where a protocol cannot carry data with its success reply (IMAP, POP3, SMTP), a
//! mechanism's final server data (SCRAM's `v=`, GSSAPI's last context token) is sent as one
//! more challenge, answered by an empty response (RFC 4422 §5 allows both). A protocol whose
//! success reply can carry it asks for that with [`Exchange::final_data_in_success`]
//! (ManageSieve's `OK (SASL ...)`); the Dovecot auth socket does not, because Postfix
//! ignores data in `OK`.
//!
//! ## Invariants
//! - An exchange ends in [`Step::Done`] only after the directory (or the Kerberos acceptor)
//!   accepted the client, the account is enabled, and the authorization identity, if any,
//!   names the same account. Nothing else in a protocol sets "authenticated" from SASL.
//! - Failure reasons ([`SaslError::Failed`]) are for the log only; clients learn
//!   "authentication failed".
//! - Mechanisms are matched case-insensitively; only the configured ones can be started.
//! - PLAIN and LOGIN carry the password itself: protocols offer mechanisms only where
//!   plaintext credentials are allowed (TLS or `allow_plaintext`), as they did before.
#![forbid(unsafe_code)]

mod exchange;
pub mod gssapi;
mod mechanism;
mod plain;
pub mod scram;

pub use exchange::{Exchange, PlainCredentials, Step, Success};
pub use gssapi::{GssAcceptor, GssContext};
pub use mechanism::Mechanism;
pub use scram::{ScramKeys, ScramStore};

use std::sync::Arc;
use tern_directory::{Account, AuthOutcome, Directory, DirectoryError};

/// Why an exchange ended without a login.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The mechanism is unknown or not offered here.
    #[error("Unsupported authentication mechanism")]
    UnknownMechanism,
    /// The client's message does not follow the mechanism's syntax (a protocol error, not
    /// a failed login). The text is safe to show to the client.
    #[error("{0}")]
    Malformed(&'static str),
    /// Wrong credentials, unknown user, disabled account, bad proof or ticket. The reason
    /// is for the log only.
    #[error("authentication failed: {reason}")]
    Failed { reason: String },
    /// The credentials are right but the authorization identity names another account.
    #[error("authorization identity {authzid:?} refused for {account}")]
    NotAuthorized { account: String, authzid: String },
    /// The directory could not answer: not a failed login.
    #[error(transparent)]
    Unavailable(#[from] DirectoryError),
}

impl SaslError {
    pub(crate) fn failed(reason: impl Into<String>) -> SaslError {
        SaslError::Failed {
            reason: reason.into(),
        }
    }
}

/// The message of a PLAIN response that is not `[authzid] NUL authcid NUL passwd`.
pub const MALFORMED_PLAIN: &str = "Malformed PLAIN response";
/// The message of credentials that are not UTF-8.
pub const NOT_UTF8: &str = "Credentials are not UTF-8";

/// The server side of SASL for one service: which mechanisms it offers and what checks
/// them. Cheap to share (`Arc`); one per protocol server or one for all.
#[derive(Clone)]
pub struct Authenticator {
    directory: Arc<dyn Directory>,
    mechanisms: Vec<Mechanism>,
    gssapi: Option<Arc<dyn GssAcceptor>>,
    scram: Option<Arc<dyn ScramStore>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mechanisms", &self.mechanisms)
            .field("gssapi", &self.gssapi.is_some())
            .field("scram", &self.scram.is_some())
            .finish()
    }
}

impl Authenticator {
    /// PLAIN and LOGIN against `directory`.
    pub fn new(directory: Arc<dyn Directory>) -> Authenticator {
        Authenticator {
            directory,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            gssapi: None,
            scram: None,
        }
    }

    /// The mechanisms to offer, in advertising order (duplicates dropped). GSSAPI is
    /// offered only once an acceptor is set ([`Authenticator::with_gssapi`]), SCRAM-SHA-256
    /// only with a verifier store ([`Authenticator::with_scram`]).
    pub fn with_mechanisms(mut self, mechanisms: &[Mechanism]) -> Authenticator {
        self.mechanisms.clear();
        for m in mechanisms {
            if !self.mechanisms.contains(m) {
                self.mechanisms.push(*m);
            }
        }
        self
    }

    /// Kerberos for GSSAPI (RFC 4752): a keytab-backed acceptor.
    pub fn with_gssapi(mut self, acceptor: Arc<dyn GssAcceptor>) -> Authenticator {
        self.gssapi = Some(acceptor);
        self
    }

    /// Where SCRAM-SHA-256 keys come from (the internal directory implements it).
    pub fn with_scram(mut self, store: Arc<dyn ScramStore>) -> Authenticator {
        self.scram = Some(store);
        self
    }

    /// The directory logins are checked against.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// The mechanisms offered now, in order.
    pub fn mechanisms(&self) -> Vec<Mechanism> {
        self.mechanisms
            .iter()
            .copied()
            .filter(|m| match m {
                Mechanism::Gssapi => self.gssapi.is_some(),
                Mechanism::ScramSha256 => self.scram.is_some(),
                Mechanism::Plain | Mechanism::Login => true,
            })
            .collect()
    }

    /// The offered mechanisms' names, in order (for CAPABILITY, CAPA, EHLO).
    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.mechanisms().into_iter().map(Mechanism::name).collect()
    }

    /// Whether `name` (any case) is offered.
    pub fn offers(&self, name: &str) -> bool {
        Mechanism::from_name(name).is_some_and(|m| self.mechanisms().contains(&m))
    }

    /// Starts an exchange; `UnknownMechanism` unless `name` is offered.
    pub fn start(&self, name: &str) -> Result<Exchange, SaslError> {
        let mechanism = Mechanism::from_name(name)
            .filter(|m| self.mechanisms().contains(m))
            .ok_or(SaslError::UnknownMechanism)?;
        Exchange::new(self.clone(), mechanism)
    }

    /// A password login outside SASL (IMAP LOGIN, POP3 USER/PASS) or from PLAIN/LOGIN:
    /// the directory's check, the account enabled, and the authorization identity (absent,
    /// empty, or naming the same account).
    pub async fn check_password(
        &self,
        authcid: &str,
        password: &str,
        authzid: Option<&str>,
    ) -> Result<Account, SaslError> {
        let account = match self.directory.authenticate(authcid, password).await? {
            AuthOutcome::Ok(account) if account.enabled => account,
            AuthOutcome::Ok(_) => return Err(SaslError::failed("account disabled")),
            AuthOutcome::Failed { reason } => return Err(SaslError::Failed { reason }),
        };
        self.authorize(account, authzid).await
    }

    /// Checks that `authzid` (if given and not empty) names `account` itself.
    pub async fn authorize(
        &self,
        account: Account,
        authzid: Option<&str>,
    ) -> Result<Account, SaslError> {
        let Some(authz) = authzid.filter(|a| !a.is_empty()) else {
            return Ok(account);
        };
        match self.directory.lookup(authz).await? {
            Some(a) if a.name == account.name => Ok(account),
            _ => Err(SaslError::NotAuthorized {
                account: account.name,
                authzid: authz.to_string(),
            }),
        }
    }

    pub(crate) fn gssapi(&self) -> Option<&Arc<dyn GssAcceptor>> {
        self.gssapi.as_ref()
    }

    pub(crate) fn scram(&self) -> Option<&Arc<dyn ScramStore>> {
        self.scram.as_ref()
    }
}

#[cfg(test)]
mod tests;
