//! `SqliteMailStore`: the [`MailStore`] implementation. Writes go to the group-commit writer
//! ([`crate::writer`]), reads to the reader pool ([`crate::readers`]); the operations
//! themselves live in `ops_*` (writes) and [`crate::queries`] (reads).

use crate::codec::mailbox_name;
use crate::readers::Readers;
use crate::shared_reads::SharedReads;
use crate::writer::{Writer, WriterStats};
use crate::{ops_extras, ops_flags, ops_mailboxes, ops_messages, queries, schema, sieve, watcher};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tern_store::*;
use tokio::sync::broadcast;

/// Events buffered per subscriber before it lags (and must re-read state).
const EVENT_BUFFER: usize = 4096;

/// Mail metadata in one SQLite database file (WAL mode).
///
/// Several `SqliteMailStore`s — in one process or in several — may open the same file: each
/// sees the others' commits and their change events (see [`crate::watcher`]).
pub struct SqliteMailStore {
    path: PathBuf,
    writer: Writer,
    readers: Arc<Readers>,
    shared: SharedReads,
    events: broadcast::Sender<ChangeEvent>,
    stop_watcher: Arc<AtomicBool>,
}

impl SqliteMailStore {
    /// Opens (creating if needed) the database at `path`, starting its writer and watcher
    /// threads.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteMailStore> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_writer(&path)?;
        // Tags this store's changelog rows so its watcher skips them (never 0 or negative
        // by construction, which keeps the column easy to read).
        let origin = (rand::random::<u64>() >> 2) as i64 + 1;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let writer = Writer::start(conn, origin, events.clone())?;
        let stop_watcher = Arc::new(AtomicBool::new(false));
        watcher::start(path.clone(), origin, events.clone(), stop_watcher.clone())?;
        Ok(SqliteMailStore {
            readers: Arc::new(Readers::new(path.clone())),
            shared: SharedReads::default(),
            path,
            writer,
            events,
            stop_watcher,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commit and request counters of the writer (group commit makes commits < requests).
    pub fn writer_stats(&self) -> &WriterStats {
        self.writer.stats()
    }
}

impl Drop for SqliteMailStore {
    fn drop(&mut self) {
        self.stop_watcher.store(true, Ordering::Relaxed);
    }
}

fn sorted(uids: &[Uid]) -> Vec<Uid> {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

#[async_trait]
impl MailStore for SqliteMailStore {
    async fn account(&self, name: &str, create: bool) -> StoreResult<Option<AccountId>> {
        let lookup = name.to_owned();
        let found = self
            .readers
            .read(move |c| queries::account_id(c, &lookup))
            .await?;
        if found.is_some() || !create {
            return Ok(found);
        }
        if name.is_empty() {
            return Err(StoreError::Invalid("empty account name".into()));
        }
        let name = name.to_owned();
        self.writer
            .run(move |tx| ops_mailboxes::ensure_account(tx, &name))
            .await
            .map(Some)
    }

    async fn account_name(&self, account: AccountId) -> StoreResult<String> {
        self.readers
            .read(move |c| queries::account_name(c, account))
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<(AccountId, String)>> {
        self.readers.read(queries::accounts).await
    }

    async fn delete_account(&self, account: AccountId) -> StoreResult<()> {
        self.writer
            .run(move |tx| ops_mailboxes::delete_account(tx, account))
            .await
    }

    async fn usage(&self, account: AccountId) -> StoreResult<Usage> {
        self.readers.read(move |c| queries::usage(c, account)).await
    }

    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>> {
        self.readers
            .snapshot(move |c| queries::mailboxes(c, account))
            .await
    }

    async fn mailbox(&self, mailbox: MailboxId) -> StoreResult<MailboxInfo> {
        self.readers
            .read(move |c| queries::mailbox(c, mailbox))
            .await
    }

    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        opts: CreateMailbox,
    ) -> StoreResult<MailboxInfo> {
        let name = mailbox_name(name)?;
        self.writer
            .run(move |tx| ops_mailboxes::create_mailbox(tx, account, &name, &opts))
            .await
    }

    async fn delete_mailbox(&self, mailbox: MailboxId) -> StoreResult<()> {
        self.writer
            .run(move |tx| ops_mailboxes::delete_mailbox(tx, mailbox))
            .await
    }

    async fn rename_mailbox(&self, mailbox: MailboxId, new_name: &str) -> StoreResult<()> {
        let name = mailbox_name(new_name)?;
        self.writer
            .run(move |tx| ops_mailboxes::rename_mailbox(tx, mailbox, &name))
            .await
    }

    async fn set_special_use(
        &self,
        mailbox: MailboxId,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<()> {
        self.writer
            .run(move |tx| ops_mailboxes::set_special_use(tx, mailbox, special_use))
            .await
    }

    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &str,
        subscribed: bool,
    ) -> StoreResult<()> {
        let name = mailbox_name(name)?;
        self.writer
            .run(move |tx| ops_mailboxes::set_subscribed(tx, account, &name, subscribed))
            .await
    }

    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>> {
        self.readers
            .read(move |c| queries::subscriptions(c, account))
            .await
    }

    async fn status(&self, mailbox: MailboxId) -> StoreResult<MailboxStatus> {
        self.readers
            .snapshot(move |c| queries::status(c, mailbox))
            .await
    }

    async fn messages(
        &self,
        mailbox: MailboxId,
    ) -> StoreResult<(MailboxStatus, Vec<MessageRecord>)> {
        self.readers
            .snapshot(move |c| queries::messages(c, mailbox))
            .await
    }

    async fn meta(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, Arc<MessageMeta>)>> {
        self.meta_parts(mailbox, uids, MetaParts::ALL).await
    }

    async fn meta_parts(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        parts: MetaParts,
    ) -> StoreResult<Vec<(Uid, Arc<MessageMeta>)>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let uids = uids.to_vec();
        self.readers
            .snapshot(move |c| queries::meta(c, mailbox, &uids, parts))
            .await
    }

    async fn pop3_uidls(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, String)>> {
        let uids = uids.to_vec();
        self.readers
            .snapshot(move |c| queries::pop3_uidls(c, mailbox, &uids))
            .await
    }

    async fn append(
        &self,
        batch: Vec<NewMessage>,
        mode: AppendMode,
    ) -> StoreResult<Vec<StoreResult<Appended>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.writer
            .run(move |tx| ops_messages::append_batch(tx, &batch, mode))
            .await
    }

    async fn store_flags(
        &self,
        mailbox: MailboxId,
        mut update: FlagUpdate,
    ) -> StoreResult<FlagUpdateResult> {
        update.uids = sorted(&update.uids);
        self.writer
            .run(move |tx| ops_flags::store_flags(tx, mailbox, &update))
            .await
    }

    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<(Vec<Uid>, ModSeq)> {
        let uids = sorted(uids);
        self.writer
            .run(move |tx| ops_flags::expunge(tx, mailbox, &uids))
            .await
    }

    async fn copy(
        &self,
        source: MailboxId,
        uids: &[Uid],
        dest: MailboxId,
        remove_source: bool,
        quota_bytes: Option<u64>,
    ) -> StoreResult<CopyResult> {
        let uids = sorted(uids);
        self.writer
            .run(move |tx| ops_messages::copy(tx, source, &uids, dest, remove_source, quota_bytes))
            .await
    }

    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<Changes> {
        self.readers
            .snapshot(move |c| queries::changes_since(c, mailbox, since))
            .await
    }

    async fn changes_since_shared(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
        at_least: ModSeq,
    ) -> StoreResult<Changes> {
        self.shared
            .changes(mailbox, since, at_least, || {
                self.changes_since(mailbox, since)
            })
            .await
    }

    async fn oldest_modseq(&self, mailbox: MailboxId) -> StoreResult<ModSeq> {
        self.readers
            .read(move |c| queries::oldest_modseq(c, mailbox))
            .await
    }

    async fn claim_recent(&self, mailbox: MailboxId) -> StoreResult<Uid> {
        // Nothing unclaimed: answer without a write (the common SELECT of a read mailbox).
        let (recent, uidnext) = self
            .readers
            .read(move |c| queries::recent_boundary(c, mailbox))
            .await?;
        if recent >= uidnext {
            self.shared.note_claimed(mailbox, recent);
            return Ok(recent);
        }
        let (first, boundary) = self
            .writer
            .run(move |tx| ops_mailboxes::claim_recent(tx, mailbox))
            .await?;
        self.shared.note_claimed(mailbox, boundary);
        Ok(first)
    }

    async fn claim_recent_upto(&self, mailbox: MailboxId, newest: Uid) -> StoreResult<Uid> {
        match self.shared.claimed_above(mailbox, newest) {
            Some(boundary) => Ok(boundary),
            None => self.claim_recent(mailbox).await,
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    async fn set_acl(
        &self,
        mailbox: MailboxId,
        identifier: &str,
        rights: Option<&str>,
    ) -> StoreResult<()> {
        let identifier = identifier.to_owned();
        let rights = rights.map(str::to_owned);
        self.writer
            .run(move |tx| ops_extras::set_acl(tx, mailbox, &identifier, rights.as_deref()))
            .await
    }

    async fn acl(&self, mailbox: MailboxId) -> StoreResult<Vec<(String, String)>> {
        self.readers.read(move |c| queries::acl(c, mailbox)).await
    }

    async fn shared_with(&self, identifier: &str) -> StoreResult<Vec<MailboxInfo>> {
        let identifier = identifier.to_owned();
        self.readers
            .read(move |c| queries::shared_with(c, &identifier))
            .await
    }

    async fn get_metadata(
        &self,
        scope: MetadataScope,
        entries: &[String],
        depth: Option<u32>,
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let entries = entries.to_vec();
        self.readers
            .snapshot(move |c| queries::get_metadata(c, scope, &entries, depth))
            .await
    }

    async fn set_metadata(
        &self,
        scope: MetadataScope,
        entries: &[(String, Option<Vec<u8>>)],
    ) -> StoreResult<()> {
        let entries = entries.to_vec();
        self.writer
            .run(move |tx| ops_extras::set_metadata(tx, scope, &entries))
            .await
    }

    async fn sieve_scripts(&self, account: AccountId) -> StoreResult<Vec<SieveScriptInfo>> {
        self.readers.read(move |c| sieve::list(c, account)).await
    }

    async fn sieve_script(
        &self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<SieveScript>> {
        let name = name.to_owned();
        self.readers
            .read(move |c| sieve::get(c, account, &name))
            .await
    }

    async fn put_sieve_script(
        &self,
        account: AccountId,
        name: &str,
        content: &str,
    ) -> StoreResult<()> {
        let (name, content) = (name.to_owned(), content.to_owned());
        self.writer
            .run(move |tx| sieve::put(tx, account, &name, &content))
            .await
    }

    async fn delete_sieve_script(&self, account: AccountId, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.writer
            .run(move |tx| sieve::delete(tx, account, &name))
            .await
    }

    async fn rename_sieve_script(
        &self,
        account: AccountId,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.writer
            .run(move |tx| sieve::rename(tx, account, &old, &new))
            .await
    }

    async fn set_active_sieve_script(
        &self,
        account: AccountId,
        name: Option<&str>,
    ) -> StoreResult<()> {
        let name = name.map(str::to_owned);
        self.writer
            .run(move |tx| sieve::set_active(tx, account, name.as_deref()))
            .await
    }

    async fn active_sieve_script(&self, account: AccountId) -> StoreResult<Option<SieveScript>> {
        self.readers.read(move |c| sieve::active(c, account)).await
    }

    /// One hand-off to a reader instead of two.
    async fn delivery_view(&self, account: AccountId) -> StoreResult<DeliveryView> {
        self.readers
            .snapshot(move |c| {
                Ok(DeliveryView {
                    script: sieve::active(c, account)?,
                    mailboxes: queries::mailboxes(c, account)?,
                })
            })
            .await
    }

    async fn vacation_check_and_record(
        &self,
        account: AccountId,
        handle: &str,
        sender: &str,
        period_seconds: u64,
    ) -> StoreResult<bool> {
        let (handle, sender) = (handle.to_owned(), sender.to_owned());
        self.writer
            .run(move |tx| {
                sieve::vacation_check_and_record(tx, account, &handle, &sender, period_seconds)
            })
            .await
    }

    async fn blob_referenced(&self, blob: &BlobId) -> StoreResult<bool> {
        let blob = *blob;
        self.readers
            .read(move |c| queries::blob_referenced(c, &blob))
            .await
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<BlobId>> {
        self.readers.read(queries::referenced_blobs).await
    }
}
