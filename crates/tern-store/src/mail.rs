//! The metadata store: accounts, mailboxes, messages, flags, changes, ACLs, METADATA.

use crate::error::StoreResult;
use crate::types::*;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Mailbox metadata. Every write method returns only after its commit is durable.
#[async_trait]
pub trait MailStore: Send + Sync + 'static {
    // ---- accounts -------------------------------------------------------------------------

    /// Looks up the account named `name` (the directory's canonical login, compared
    /// case-insensitively). With `create`, creates it (without mailboxes) if missing.
    async fn account(&self, name: &str, create: bool) -> StoreResult<Option<AccountId>>;

    /// The canonical name of an account.
    async fn account_name(&self, account: AccountId) -> StoreResult<String>;

    /// Every account the store holds, with its name.
    async fn accounts(&self) -> StoreResult<Vec<(AccountId, String)>>;

    /// Deletes an account, its mailboxes, messages, subscriptions, ACLs and metadata.
    async fn delete_account(&self, account: AccountId) -> StoreResult<()>;

    /// Bytes and messages the account holds (what quota counts).
    async fn usage(&self, account: AccountId) -> StoreResult<Usage>;

    // ---- mailboxes ------------------------------------------------------------------------

    /// All mailboxes of an account, sorted by name.
    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>>;

    /// One mailbox by id (any account).
    async fn mailbox(&self, mailbox: MailboxId) -> StoreResult<MailboxInfo>;

    /// Creates a mailbox. Fails with `MailboxExists` if the name is taken (INBOX compared
    /// case-insensitively).
    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        opts: CreateMailbox,
    ) -> StoreResult<MailboxInfo>;

    /// Deletes a mailbox and its messages (the messages' blobs become collectable).
    async fn delete_mailbox(&self, mailbox: MailboxId) -> StoreResult<()>;

    /// Renames a mailbox and every mailbox below it (`a` → `b` renames `a/x` → `b/x`),
    /// keeping UIDVALIDITY. Renaming INBOX is the caller's special case (RFC 9051 §6.3.6).
    async fn rename_mailbox(&self, mailbox: MailboxId, new_name: &str) -> StoreResult<()>;

    /// Sets or clears a mailbox's special-use role.
    async fn set_special_use(
        &self,
        mailbox: MailboxId,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<()>;

    /// Subscriptions are by name and may name mailboxes that do not exist.
    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &str,
        subscribed: bool,
    ) -> StoreResult<()>;
    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>>;

    /// Counters of one mailbox in one snapshot.
    async fn status(&self, mailbox: MailboxId) -> StoreResult<MailboxStatus>;

    // ---- messages -------------------------------------------------------------------------

    /// Every message of a mailbox, in UID order, with the status snapshot they belong to.
    async fn messages(
        &self,
        mailbox: MailboxId,
    ) -> StoreResult<(MailboxStatus, Vec<MessageRecord>)>;

    /// Parsed metadata of the given UIDs (those that still exist), in the order asked.
    async fn meta(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, Arc<MessageMeta>)>>;

    /// Like [`MailStore::meta`], but only the `parts` asked for need be filled in; the
    /// others may be left at their defaults. Readers that need a little of many messages
    /// (SORT and THREAD only the keys, FETCH ENVELOPE only the envelope) use it so a backend
    /// can skip decoding the rest. The default reads everything.
    async fn meta_parts(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        parts: MetaParts,
    ) -> StoreResult<Vec<(Uid, Arc<MessageMeta>)>> {
        let _ = parts;
        self.meta(mailbox, uids).await
    }

    /// POP3 UIDLs of the given UIDs (those that still exist), in the order asked.
    async fn pop3_uidls(&self, mailbox: MailboxId, uids: &[Uid])
    -> StoreResult<Vec<(Uid, String)>>;

    /// Adds messages (blobs already durable). With [`AppendMode::Atomic`] the result is
    /// all `Ok` or the first error and nothing is written; with `Independent` each entry
    /// has its own result. Results are in input order. One commit for the whole batch.
    /// (An `Atomic` batch that fails returns its first error as the outer `Err`.)
    async fn append(
        &self,
        batch: Vec<NewMessage>,
        mode: AppendMode,
    ) -> StoreResult<Vec<StoreResult<Appended>>>;

    /// Changes flags; messages not in the mailbox are ignored.
    async fn store_flags(
        &self,
        mailbox: MailboxId,
        update: FlagUpdate,
    ) -> StoreResult<FlagUpdateResult>;

    /// Removes messages; returns the UIDs actually removed (ascending) and the new
    /// HIGHESTMODSEQ.
    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<(Vec<Uid>, ModSeq)>;

    /// Copies (or, with `remove_source`, moves atomically) messages to another mailbox of
    /// any account, sharing blobs. Checks `quota_bytes` of the destination's account.
    async fn copy(
        &self,
        source: MailboxId,
        uids: &[Uid],
        dest: MailboxId,
        remove_source: bool,
        quota_bytes: Option<u64>,
    ) -> StoreResult<CopyResult>;

    /// What changed after `since` (0: everything). Expunges older than what the store
    /// retains are reported as far back as it can; callers fall back to a full resync when
    /// `since` is below [`MailStore::oldest_modseq`].
    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<Changes>;

    /// [`MailStore::changes_since`] for a caller that was told of a change with MODSEQ
    /// `at_least` and needs a snapshot at least that new, not one taken after its call (a
    /// session woken by a [`ChangeEvent`]). Callers asking the same question at about the
    /// same time may share one read: a delivery to a mailbox a thousand sessions IDLE on
    /// costs one query, not a thousand.
    async fn changes_since_shared(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
        at_least: ModSeq,
    ) -> StoreResult<Changes> {
        let _ = at_least;
        self.changes_since(mailbox, since).await
    }

    /// The lowest MODSEQ for which expunge history is complete.
    async fn oldest_modseq(&self, mailbox: MailboxId) -> StoreResult<ModSeq>;

    /// Claims `\Recent` for the caller: returns the first UID that is recent for this
    /// session (messages with UID ≥ it), and moves the mailbox's boundary past all current
    /// messages so no other session sees them as recent.
    async fn claim_recent(&self, mailbox: MailboxId) -> StoreResult<Uid>;

    /// [`MailStore::claim_recent`] for a session whose newest message is `newest`. When the
    /// store knows every message up to `newest` was claimed already (by any session), it may
    /// answer with a UID above `newest` without a read: nothing the session knows is recent
    /// for it, and later messages are claimed again when they arrive.
    async fn claim_recent_upto(&self, mailbox: MailboxId, newest: Uid) -> StoreResult<Uid> {
        let _ = newest;
        self.claim_recent(mailbox).await
    }

    // ---- change notification --------------------------------------------------------------

    /// Committed changes, from this process and from any other process or node on the same
    /// store. A lagging receiver must re-read state (it missed events, not data).
    fn subscribe(&self) -> broadcast::Receiver<ChangeEvent>;

    // ---- ACL (RFC 4314) ---------------------------------------------------------------------

    /// Sets (`Some`) or removes (`None`) the rights of `identifier` (an account's canonical
    /// name, `anyone`, or a `-negative` identifier) on a mailbox.
    async fn set_acl(
        &self,
        mailbox: MailboxId,
        identifier: &str,
        rights: Option<&str>,
    ) -> StoreResult<()>;

    /// ACL entries of a mailbox (identifier, rights), sorted by identifier.
    async fn acl(&self, mailbox: MailboxId) -> StoreResult<Vec<(String, String)>>;

    /// Mailboxes of other accounts with an ACL entry for `identifier` or `anyone`.
    async fn shared_with(&self, identifier: &str) -> StoreResult<Vec<MailboxInfo>>;

    // ---- METADATA (RFC 5464) ----------------------------------------------------------------

    /// Entries at or below the given names (`depth`: 0, 1 or infinity as `None`).
    async fn get_metadata(
        &self,
        scope: MetadataScope,
        entries: &[String],
        depth: Option<u32>,
    ) -> StoreResult<Vec<(String, Vec<u8>)>>;

    /// Sets (`Some`) or removes (`None`) entries, in one commit.
    async fn set_metadata(
        &self,
        scope: MetadataScope,
        entries: &[(String, Option<Vec<u8>>)],
    ) -> StoreResult<()>;

    // ---- Sieve scripts (RFC 5228, managed by RFC 5804) ---------------------------------------

    /// The account's Sieve scripts, sorted by name. Names compare exactly (case-sensitive).
    async fn sieve_scripts(&self, account: AccountId) -> StoreResult<Vec<SieveScriptInfo>>;

    /// One script with its source; `None` if the account has none of that name.
    async fn sieve_script(
        &self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<SieveScript>>;

    /// Creates or replaces a script (a replaced script keeps its active flag). Limits on
    /// size and count are the caller's (config); the store refuses only an empty name.
    async fn put_sieve_script(
        &self,
        account: AccountId,
        name: &str,
        content: &str,
    ) -> StoreResult<()>;

    /// Deletes a script: `NoSuchScript` if absent, `ScriptActive` if it is the active one.
    async fn delete_sieve_script(&self, account: AccountId, name: &str) -> StoreResult<()>;

    /// Renames a script, keeping its active flag: `NoSuchScript` if `old` is absent,
    /// `ScriptExists` if `new` is taken (renaming a script onto itself succeeds).
    async fn rename_sieve_script(
        &self,
        account: AccountId,
        old: &str,
        new: &str,
    ) -> StoreResult<()>;

    /// Makes `name` the one active script (`None`: no script is active). `NoSuchScript` if
    /// it does not exist; the previously active script, if any, becomes inactive in the
    /// same commit, so at most one script is ever active.
    async fn set_active_sieve_script(
        &self,
        account: AccountId,
        name: Option<&str>,
    ) -> StoreResult<()>;

    /// The active script, if any.
    async fn active_sieve_script(&self, account: AccountId) -> StoreResult<Option<SieveScript>>;

    /// The active script and the mailboxes, which every delivery reads: a backend that can
    /// read both in one round trip overrides this.
    async fn delivery_view(&self, account: AccountId) -> StoreResult<DeliveryView> {
        Ok(DeliveryView {
            script: self.active_sieve_script(account).await?,
            mailboxes: self.mailboxes(account).await?,
        })
    }

    /// The RFC 5230 once-per-period rule, durable: `true` when no vacation reply for
    /// `handle` went to `sender` (compared case-insensitively) within `period_seconds`, in
    /// which case the reply is recorded as sent now (committed before returning); `false`
    /// when one did, and nothing changes.
    async fn vacation_check_and_record(
        &self,
        account: AccountId,
        handle: &str,
        sender: &str,
        period_seconds: u64,
    ) -> StoreResult<bool>;

    // ---- maintenance ------------------------------------------------------------------------

    /// Whether committed metadata references the blob.
    async fn blob_referenced(&self, blob: &BlobId) -> StoreResult<bool>;

    /// Every blob referenced by committed metadata.
    async fn referenced_blobs(&self) -> StoreResult<Vec<BlobId>>;
}
