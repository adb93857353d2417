//! The ingest path: bytes → durable blob → analyzed → committed into mailboxes.
//! Signatures here are the contract used by tern-imap (APPEND) and tern-smtp (LMTP).
//!
//! Invariants:
//! - A [`Stager`] never holds more of the message in memory than its [`BlobWriter`]
//!   buffers: analysis uses the writer's buffer when the whole (small) message is still in
//!   it ([`BlobWriter::finish_keep`]), else reads the finished blob back through
//!   [`BlobStore::get`] (memory-mapped by the file backend).
//! - Past its limit a stager discards what it wrote and only answers `TooLarge`.
//! - Every mailbox write is one store commit with the quota checked inside it
//!   ([`NewMessage::quota_bytes`]), so concurrent deliveries cannot overshoot.
//! - Opening an account provisions [`DEFAULT_MAILBOXES`] once (recorded by a server
//!   METADATA entry, [`PROVISIONED_ENTRY`]); a folder the user deletes later is not
//!   recreated, and two sessions provisioning at once both succeed.
use crate::analyze::analyze;
use crate::homes::{Home, Homes};
use crate::mailboxes::DEFAULT_MAILBOXES;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tern_directory::{Account, Directory};
use tern_store::{
    AccountId, AppendMode, Appended, BlobId, BlobStore, BlobWriter, CreateMailbox, Flags,
    MailStore, MailboxId, MailboxInfo, MessageMeta, MetadataScope, NewMessage, StoreError,
    Timestamp, Usage,
};

/// Server METADATA entry (per account) marking that the default folders were created.
pub const PROVISIONED_ENTRY: &str = "/private/vendor/tern/provisioned";

/// Messages up to this size are analyzed on the calling task; larger ones on a blocking
/// thread, so a 50 MB message does not stall the runtime.
const INLINE_ANALYSIS_BYTES: u64 = 64 * 1024;

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
    /// `None` once the limit was passed or a write failed: the partial blob was dropped
    /// (discarded).
    writer: Option<Box<dyn BlobWriter>>,
    /// Why `writer` is gone: the limit (`true`) or a store failure.
    too_large: bool,
    written: u64,
    limit: u64,
    blobs: Arc<dyn BlobStore>,
}

impl Stager {
    /// Appends bytes; fails with `TooLarge` (and discards everything) past the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        let limit = self.limit;
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.gone());
        };
        let total = self.written.saturating_add(chunk.len() as u64);
        if total > limit {
            // Dropping an unfinished writer leaves nothing behind.
            self.writer = None;
            self.too_large = true;
            return Err(IngestError::TooLarge { limit });
        }
        if let Err(e) = writer.write(chunk).await {
            self.writer = None;
            return Err(e.into());
        }
        self.written = total;
        Ok(())
    }

    /// Octets accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The error for a stager whose writer is gone.
    fn gone(&self) -> IngestError {
        if self.too_large {
            IngestError::TooLarge { limit: self.limit }
        } else {
            IngestError::Store(StoreError::Backend(
                "an earlier write of this message failed".into(),
            ))
        }
    }

    /// Makes the blob durable and analyzes it.
    pub async fn finish(mut self) -> Result<Staged, IngestError> {
        let Some(writer) = self.writer.take() else {
            return Err(self.gone());
        };
        let (blob, size, kept) = writer.finish_keep().await?;
        let data = match kept {
            Some(data) => data,
            None => self.blobs.get(&blob).await?,
        };
        let meta = if size <= INLINE_ANALYSIS_BYTES {
            analyze((*data).as_ref())
        } else {
            tokio::task::spawn_blocking(move || analyze((*data).as_ref()))
                .await
                .map_err(|e| StoreError::Backend(format!("message analysis failed: {e}")))?
        };
        Ok(Staged {
            blob,
            size,
            meta: Arc::new(meta),
        })
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

/// Mailbox lists already read for a delivery, by account name ([`Mail::deliver_known`]).
pub type KnownMailboxes = HashMap<String, Vec<MailboxInfo>>;

/// The mail core's handle, shared by all protocol servers.
#[derive(Clone)]
pub struct Mail {
    pub store: Arc<dyn MailStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub directory: Arc<dyn Directory>,
    /// Migration mode: where each account is served from. `None`: every account is local.
    pub homes: Option<Arc<dyn Homes>>,
    /// Decoded metadata shared by every reader of this handle.
    pub meta_cache: Arc<crate::MetaCache>,
    /// Store accounts already opened (and provisioned) for delivery, by account name.
    delivery_ids: Arc<Mutex<HashMap<String, AccountId>>>,
}

/// Entries of [`Mail`]'s delivery account cache; it is emptied when it grows past this.
const DELIVERY_IDS: usize = 100_000;

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
            homes: None,
            meta_cache: Arc::default(),
            delivery_ids: Arc::default(),
        }
    }

    /// The same handle in migration mode.
    pub fn with_homes(mut self, homes: Arc<dyn Homes>) -> Mail {
        self.homes = Some(homes);
        self
    }

    /// Completes once `account` is no longer served by the legacy server (a relayed
    /// session's stop signal); never outside migration mode.
    pub async fn until_moved(&self, account: &str) {
        let Some(mut changes) = self.homes.as_ref().map(|h| h.changes()) else {
            return std::future::pending().await;
        };
        loop {
            if changes.changed().await.is_err() {
                return std::future::pending().await;
            }
            if self.home(account).await != Home::Legacy {
                return;
            }
        }
    }

    /// Where `account` is served from: [`Home::Local`] outside migration mode, and
    /// [`Home::Moving`] (retry later) when the migration state cannot be read.
    pub async fn home(&self, account: &str) -> Home {
        let Some(homes) = &self.homes else {
            return Home::Local;
        };
        match homes.home(account).await {
            Ok(home) => home,
            Err(e) => {
                tracing::warn!(%account, error = %e, "migration state unreadable; retry later");
                Home::Moving
            }
        }
    }

    /// Starts a streamed receive with a size limit in octets.
    pub async fn stager(&self, limit: u64) -> Result<Stager, IngestError> {
        Ok(Stager {
            writer: Some(self.blobs.writer().await?),
            too_large: false,
            written: 0,
            limit,
            blobs: self.blobs.clone(),
        })
    }

    /// Receives a message held in memory (small messages, tests).
    pub async fn stage_bytes(&self, bytes: &[u8], limit: u64) -> Result<Staged, IngestError> {
        if bytes.len() as u64 > limit {
            return Err(IngestError::TooLarge { limit });
        }
        let mut stager = self.stager(limit).await?;
        stager.write(bytes).await?;
        stager.finish().await
    }

    /// The store account for a directory account, created on first use with the
    /// default folders ([`crate::DEFAULT_MAILBOXES`]).
    pub async fn open_account(&self, account: &Account) -> Result<AccountId, StoreError> {
        let id = self
            .store
            .account(&account.name, true)
            .await?
            .ok_or(StoreError::NoSuchAccount)?;
        let scope = MetadataScope::Server(id);
        let marker = self
            .store
            .get_metadata(scope, &[PROVISIONED_ENTRY.to_string()], Some(0))
            .await?;
        if marker.iter().any(|(name, _)| name == PROVISIONED_ENTRY) {
            return Ok(id);
        }
        self.provision(id).await?;
        self.store
            .set_metadata(
                scope,
                &[(PROVISIONED_ENTRY.to_string(), Some(b"1".to_vec()))],
            )
            .await?;
        Ok(id)
    }

    /// [`Mail::open_account`] for delivery, remembered: once an account is open, its id is
    /// taken from memory, so a delivery does not ask the store again for the account and its
    /// provisioning marker. Store ids are never reused, so a remembered id can only have
    /// gone stale by the account's deletion: a delivery that then finds no such account
    /// calls [`Mail::forget_delivery_account`] and opens it afresh.
    pub async fn delivery_account(&self, account: &Account) -> Result<AccountId, StoreError> {
        if let Some(id) = self.remembered(&account.name) {
            return Ok(id);
        }
        let id = self.open_account(account).await?;
        let mut ids = self.delivery_ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() >= DELIVERY_IDS {
            ids.clear();
        }
        ids.insert(account.name.clone(), id);
        Ok(id)
    }

    /// Drops what [`Mail::delivery_account`] remembers about `name`.
    pub fn forget_delivery_account(&self, name: &str) {
        self.delivery_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    fn remembered(&self, name: &str) -> Option<AccountId> {
        self.delivery_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied()
    }

    /// Creates the default folders that are missing. Safe to run twice at once: a folder
    /// created by the other run (`MailboxExists`) counts as created.
    async fn provision(&self, id: AccountId) -> Result<(), StoreError> {
        let mut existing = self.store.mailboxes(id).await?;
        for (name, special_use) in DEFAULT_MAILBOXES {
            let found = existing.iter().find(|m| same_mailbox(&m.name, name));
            match found {
                None => {
                    let opts = CreateMailbox {
                        special_use,
                        uidvalidity: None,
                    };
                    match self.store.create_mailbox(id, name, opts).await {
                        Ok(info) => existing.push(info),
                        Err(StoreError::MailboxExists) => {}
                        Err(e) => return Err(e),
                    }
                }
                // An existing folder of that name (e.g. migrated) gets the role if no
                // other folder has it.
                Some(m) if m.special_use.is_none() && special_use.is_some() => {
                    let taken = existing.iter().any(|o| o.special_use == special_use);
                    if !taken {
                        self.store.set_special_use(m.id, special_use).await?;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The account's usage and quota (`None`: unlimited), for IMAP GETQUOTA and the CLI.
    /// An account the store has not seen yet uses nothing.
    pub async fn quota_usage(&self, account: &Account) -> Result<(Usage, Option<u64>), StoreError> {
        let usage = match self.store.account(&account.name, false).await? {
            Some(id) => self.store.usage(id).await?,
            None => Usage::default(),
        };
        Ok((usage, account.quota_bytes))
    }

    /// Whether `extra` more bytes fit in the account's quota (used at RCPT / before APPEND).
    pub async fn fits_quota(&self, account: &Account, extra: u64) -> Result<bool, StoreError> {
        let Some(quota) = account.quota_bytes else {
            return Ok(true);
        };
        let remembered = self.remembered(&account.name);
        let used = match remembered {
            Some(id) => match self.store.usage(id).await {
                Ok(usage) => Some(usage.bytes),
                Err(StoreError::NoSuchAccount) => {
                    self.forget_delivery_account(&account.name);
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let used = match used {
            Some(used) => used,
            None => match self.store.account(&account.name, false).await? {
                Some(id) => self.store.usage(id).await?.bytes,
                None => 0,
            },
        };
        Ok(used.saturating_add(extra) <= quota)
    }

    /// Delivers one staged message to many local recipients in one commit: one blob,
    /// a result per recipient (in order).
    ///
    /// Each recipient's quota is its [`Account::quota_bytes`]; a disabled account gets
    /// [`DeliveryError::Disabled`] and nothing is written for it. Recipients are not
    /// de-duplicated: the caller passes each account once.
    pub async fn deliver(
        &self,
        staged: &Staged,
        recipients: &[Recipient],
        internaldate: Timestamp,
    ) -> Vec<Result<Appended, DeliveryError>> {
        self.deliver_known(staged, recipients, internaldate, &KnownMailboxes::new())
            .await
    }

    /// [`Mail::deliver`], with the mailbox lists of some accounts already read (by
    /// [`MailStore::delivery_view`], with their Sieve scripts): those are not read again.
    pub async fn deliver_known(
        &self,
        staged: &Staged,
        recipients: &[Recipient],
        internaldate: Timestamp,
        known: &KnownMailboxes,
    ) -> Vec<Result<Appended, DeliveryError>> {
        let mut results: Vec<Option<Result<Appended, DeliveryError>>> =
            recipients.iter().map(|_| None).collect();
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for (i, r) in recipients.iter().enumerate() {
            if !r.account.enabled {
                results[i] = Some(Err(DeliveryError::Disabled));
                continue;
            }
            match self.target_mailbox(r, known.get(&r.account.name)).await {
                Ok(mailbox) => {
                    batch.push(self.new_message(
                        mailbox.id,
                        staged,
                        r.flags.clone(),
                        internaldate,
                        r.account.quota_bytes,
                    ));
                    slots.push(i);
                }
                Err(e) => results[i] = Some(Err(delivery_error(e))),
            }
        }
        if !batch.is_empty() {
            match self.store.append(batch, AppendMode::Independent).await {
                Ok(outcomes) => {
                    for (slot, outcome) in slots.iter().zip(outcomes) {
                        results[*slot] = Some(outcome.map_err(delivery_error));
                    }
                }
                Err(e) => {
                    for slot in &slots {
                        results[*slot] = Some(Err(delivery_error(copy_error(&e))));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(DeliveryError::Store(StoreError::Backend(
                        "store returned no result for a recipient".into(),
                    )))
                })
            })
            .collect()
    }

    /// The recipient's target mailbox: the one named, else INBOX; among `known` when given.
    async fn target_mailbox(
        &self,
        r: &Recipient,
        known: Option<&Vec<MailboxInfo>>,
    ) -> Result<MailboxInfo, StoreError> {
        let read;
        let mailboxes = match known {
            Some(known) => known,
            None => {
                read = self.read_mailboxes(&r.account).await?;
                &read
            }
        };
        let wanted = r.mailbox.as_deref().unwrap_or("INBOX");
        mailboxes
            .iter()
            .find(|m| same_mailbox(&m.name, wanted))
            .or_else(|| mailboxes.iter().find(|m| same_mailbox(&m.name, "INBOX")))
            .cloned()
            .ok_or(StoreError::NoSuchMailbox)
    }

    /// The account's mailboxes, opening it first if needed.
    async fn read_mailboxes(&self, account: &Account) -> Result<Vec<MailboxInfo>, StoreError> {
        let remembered = self.remembered(&account.name).is_some();
        let id = self.delivery_account(account).await?;
        match self.store.mailboxes(id).await {
            // The account was deleted since it was remembered: open it again.
            Err(StoreError::NoSuchAccount) if remembered => {
                self.forget_delivery_account(&account.name);
                let id = self.delivery_account(account).await?;
                self.store.mailboxes(id).await
            }
            other => other,
        }
    }

    fn new_message(
        &self,
        mailbox: MailboxId,
        staged: &Staged,
        flags: Flags,
        internaldate: Timestamp,
        quota_bytes: Option<u64>,
    ) -> NewMessage {
        NewMessage {
            mailbox,
            blob: staged.blob,
            size: staged.size,
            flags,
            internaldate,
            meta: staged.meta.clone(),
            quota_bytes,
            import_uid: None,
            import_modseq: None,
            pop3_uidl: None,
        }
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
        let message = self.new_message(mailbox, staged, flags, internaldate, quota_bytes);
        let mut results = self.store.append(vec![message], AppendMode::Atomic).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(StoreError::Backend("store returned no result".into())))
    }

    /// MULTIAPPEND: several messages into one mailbox, all or nothing, one commit.
    pub async fn append_many(
        &self,
        mailbox: MailboxId,
        messages: Vec<(Staged, Flags, Timestamp)>,
        quota_bytes: Option<u64>,
    ) -> Result<Vec<Appended>, StoreError> {
        let expected = messages.len();
        let batch = messages
            .into_iter()
            .map(|(staged, flags, date)| {
                self.new_message(mailbox, &staged, flags, date, quota_bytes)
            })
            .collect();
        let results = self.store.append(batch, AppendMode::Atomic).await?;
        let appended = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        if appended.len() != expected {
            return Err(StoreError::Backend(format!(
                "store appended {} of {expected} messages",
                appended.len()
            )));
        }
        Ok(appended)
    }
}

/// Mailbox names compare exactly, except INBOX, which is case-insensitive (RFC 9051 §5.1).
fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

fn delivery_error(e: StoreError) -> DeliveryError {
    match e {
        StoreError::OverQuota => DeliveryError::OverQuota,
        StoreError::NoSuchMailbox => DeliveryError::NoSuchMailbox,
        e => DeliveryError::Store(e),
    }
}

/// `StoreError` is not `Clone`; a batch-wide failure is reported to every recipient.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::NoSuchAccount => StoreError::NoSuchAccount,
        StoreError::NoSuchMailbox => StoreError::NoSuchMailbox,
        StoreError::MailboxExists => StoreError::MailboxExists,
        StoreError::OverQuota => StoreError::OverQuota,
        StoreError::UidConflict { mailbox, uid } => StoreError::UidConflict {
            mailbox: *mailbox,
            uid: *uid,
        },
        StoreError::Invalid(s) => StoreError::Invalid(s.clone()),
        StoreError::BlobMissing(s) => StoreError::BlobMissing(s.clone()),
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
        other => StoreError::Backend(other.to_string()),
    }
}
