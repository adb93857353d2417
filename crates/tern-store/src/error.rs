//! Errors a store reports. Protocol servers map them to the wire in one place each
//! (IMAP `NO [OVERQUOTA]`, LMTP `452 4.2.2`, ...).

use crate::types::{MailboxId, Uid};

/// What went wrong in a store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The account does not exist in the store.
    #[error("no such account")]
    NoSuchAccount,
    /// The mailbox does not exist (or was deleted concurrently).
    #[error("no such mailbox")]
    NoSuchMailbox,
    /// A mailbox with that name already exists for the account.
    #[error("mailbox already exists")]
    MailboxExists,
    /// The operation would take the account over its quota; nothing was written.
    #[error("quota exceeded")]
    OverQuota,
    /// An import asked for a UID at or below the mailbox's UIDNEXT-1, or a duplicate.
    #[error("UID {uid} not allowed in mailbox {mailbox:?}")]
    UidConflict { mailbox: MailboxId, uid: Uid },
    /// The request is invalid for the current state (e.g. renaming INBOX's hierarchy onto itself).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A blob named by metadata is missing from the blob store.
    #[error("blob missing: {0}")]
    BlobMissing(String),
    /// No Sieve script of that name exists for the account (ManageSieve `NONEXISTENT`).
    #[error("no such script")]
    NoSuchScript,
    /// A Sieve script of that name already exists (ManageSieve `ALREADYEXISTS`).
    #[error("script already exists")]
    ScriptExists,
    /// The script is the account's active one and cannot be deleted (ManageSieve `ACTIVE`).
    #[error("script is active")]
    ScriptActive,
    /// The backend failed (I/O, database). The operation did not take effect.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(format!("I/O: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
