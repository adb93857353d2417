//! The ingest path: bytes → durable blob → analyzed → committed into mailboxes.
//! Signatures here are the contract used by tern-imap (APPEND) and tern-smtp (LMTP).
use std::sync::Arc;
use tern_directory::{Account, Directory};
use tern_store::{
    AccountId, Appended, BlobId, BlobStore, BlobWriter, Flags, MailStore, MailboxId, MessageMeta,
    StoreError, Timestamp,
};

/// Errors while receiving a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The message exceeds the size limit; nothing is kept.
    #[error("message exceeds the size limit of {limit} octets")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one recipient's delivery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    #[error("over quota")]
    OverQuota,
    #[error("no such mailbox")]
    NoSuchMailbox,
    #[error("account disabled")]
    Disabled,
    #[error(transparent)]
    Store(StoreError),
}

/// A message received into the blob store and analyzed, not yet in any mailbox.
#[derive(Clone, Debug)]
pub struct Staged {
    pub blob: BlobId,
    pub size: u64,
    pub meta: Arc<MessageMeta>,
}

/// A streamed receive: write chunks as they arrive, then `finish`.
pub struct Stager {
    writer: Box<dyn BlobWriter>,
    written: u64,
    limit: u64,
    blobs: Arc<dyn BlobStore>,
}

impl Stager {
    /// Appends bytes; fails with `TooLarge` (and discards everything) past the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        let _ = (&self.writer, self.written, self.limit, &self.blobs, chunk);
        todo!("helper C")
    }

    /// Makes the blob durable and analyzes it.
    pub async fn finish(self) -> Result<Staged, IngestError> {
        todo!("helper C")
    }
}

/// One local recipient of a delivery.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub account: Account,
    /// Target mailbox name; `None` = INBOX. A missing mailbox falls back to INBOX.
    pub mailbox: Option<String>,
    pub flags: Flags,
}

/// The mail core's handle, shared by all protocol servers.
#[derive(Clone)]
pub struct Mail {
    pub store: Arc<dyn MailStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub directory: Arc<dyn Directory>,
}

impl Mail {
    pub fn new(
        store: Arc<dyn MailStore>,
        blobs: Arc<dyn BlobStore>,
        directory: Arc<dyn Directory>,
    ) -> Mail {
        Mail {
            store,
            blobs,
            directory,
        }
    }

    /// Starts a streamed receive with a size limit in octets.
    pub async fn stager(&self, limit: u64) -> Result<Stager, IngestError> {
        let _ = limit;
        todo!("helper C")
    }

    /// Receives a message held in memory (small messages, tests).
    pub async fn stage_bytes(&self, bytes: &[u8], limit: u64) -> Result<Staged, IngestError> {
        let _ = (bytes, limit);
        todo!("helper C")
    }

    /// The store account for a directory account, created on first use with the
    /// default folders ([`crate::DEFAULT_MAILBOXES`]).
    pub async fn open_account(&self, account: &Account) -> Result<AccountId, StoreError> {
        let _ = account;
        todo!("helper C")
    }

    /// Whether `extra` more bytes fit in the account's quota (used at RCPT / before APPEND).
    pub async fn fits_quota(&self, account: &Account, extra: u64) -> Result<bool, StoreError> {
        let _ = (account, extra);
        todo!("helper C")
    }

    /// Delivers one staged message to many local recipients in one commit: one blob,
    /// a result per recipient (in order).
    pub async fn deliver(
        &self,
        staged: &Staged,
        recipients: &[Recipient],
        internaldate: Timestamp,
    ) -> Vec<Result<Appended, DeliveryError>> {
        let _ = (staged, recipients, internaldate);
        todo!("helper C")
    }

    /// APPEND into a known mailbox, with the owner's quota.
    pub async fn append(
        &self,
        mailbox: MailboxId,
        staged: &Staged,
        flags: Flags,
        internaldate: Timestamp,
        quota_bytes: Option<u64>,
    ) -> Result<Appended, StoreError> {
        let _ = (mailbox, staged, flags, internaldate, quota_bytes);
        todo!("helper C")
    }

    /// MULTIAPPEND: several messages into one mailbox, all or nothing, one commit.
    pub async fn append_many(
        &self,
        mailbox: MailboxId,
        messages: Vec<(Staged, Flags, Timestamp)>,
        quota_bytes: Option<u64>,
    ) -> Result<Vec<Appended>, StoreError> {
        let _ = (mailbox, messages, quota_bytes);
        todo!("helper C")
    }
}
