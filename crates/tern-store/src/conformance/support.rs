//! Helpers shared by the checks: unique names, blobs, messages.

use crate::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name no other check (or earlier run on the same store) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{t:x}-{n}", std::process::id())
}

pub async fn account(store: &dyn MailStore, prefix: &str) -> AccountId {
    store
        .account(&unique(prefix), true)
        .await
        .expect("create account")
        .expect("account id")
}

pub async fn mailbox(store: &dyn MailStore, account: AccountId, name: &str) -> MailboxInfo {
    store
        .create_mailbox(account, name, CreateMailbox::default())
        .await
        .unwrap_or_else(|e| panic!("create mailbox {name:?}: {e}"))
}

pub async fn put_blob(blobs: &dyn BlobStore, bytes: &[u8]) -> (BlobId, u64) {
    let mut w = blobs.writer().await.expect("blob writer");
    w.write(bytes).await.expect("blob write");
    w.finish().await.expect("blob finish")
}

/// A message with unique content (so blob reference checks are not disturbed by others).
pub fn body(label: &str) -> Vec<u8> {
    format!(
        "From: a@example.test\r\nSubject: {label}\r\nMessage-ID: <{}@example.test>\r\n\r\nbody of {label}\r\n",
        unique("m")
    )
    .into_bytes()
}

pub fn meta(subject: &str) -> Arc<MessageMeta> {
    Arc::new(MessageMeta {
        envelope: Envelope {
            subject: Some(subject.to_owned()),
            ..Envelope::default()
        },
        preview: format!("preview of {subject}"),
        ..MessageMeta::default()
    })
}

pub const DATE: Timestamp = Timestamp {
    unix: 1_700_000_000,
    offset_minutes: 60,
};

pub fn new_message(mailbox: MailboxId, blob: BlobId, size: u64, subject: &str) -> NewMessage {
    NewMessage {
        mailbox,
        blob,
        size,
        flags: Flags::default(),
        internaldate: DATE,
        meta: meta(subject),
        quota_bytes: None,
        import_uid: None,
        import_modseq: None,
        pop3_uidl: None,
    }
}

/// Stores a fresh blob and builds the message for it.
pub async fn staged(blobs: &dyn BlobStore, mailbox: MailboxId, subject: &str) -> NewMessage {
    let (blob, size) = put_blob(blobs, &body(subject)).await;
    new_message(mailbox, blob, size, subject)
}

pub async fn append_one(store: &dyn MailStore, msg: NewMessage) -> StoreResult<Appended> {
    let mut results = store.append(vec![msg], AppendMode::Atomic).await?;
    assert_eq!(results.len(), 1, "one result per message");
    results.pop().expect("one result")
}

/// Stores and appends one message; returns where it landed.
pub async fn deliver(
    store: &dyn MailStore,
    blobs: &dyn BlobStore,
    mailbox: MailboxId,
    subject: &str,
) -> Appended {
    let msg = staged(blobs, mailbox, subject).await;
    append_one(store, msg).await.expect("append")
}

pub fn flags(names: &[&str]) -> Flags {
    Flags::from_names(names.iter().copied())
}

pub async fn uids(store: &dyn MailStore, mailbox: MailboxId) -> Vec<Uid> {
    let (_, records) = store.messages(mailbox).await.expect("messages");
    records.iter().map(|r| r.uid).collect()
}
