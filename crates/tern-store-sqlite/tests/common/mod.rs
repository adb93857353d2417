//! Shared test helpers (included with `mod common;`).
#![allow(dead_code)]

use std::sync::Arc;
use tern_store::*;
use tern_store_sqlite::{FsBlobStore, SqliteMailStore, open_embedded};

pub async fn fresh() -> (Arc<SqliteMailStore>, Arc<FsBlobStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, blobs) = open_embedded(dir.path()).await.expect("open store");
    (store, blobs, dir)
}

pub async fn put(blobs: &dyn BlobStore, bytes: &[u8]) -> (BlobId, u64) {
    let mut w = blobs.writer().await.unwrap();
    w.write(bytes).await.unwrap();
    w.finish().await.unwrap()
}

pub fn message(mailbox: MailboxId, blob: BlobId, size: u64) -> NewMessage {
    NewMessage {
        mailbox,
        blob,
        size,
        flags: Flags::default(),
        internaldate: Timestamp {
            unix: 1_700_000_000,
            offset_minutes: 0,
        },
        meta: Arc::new(MessageMeta::default()),
        quota_bytes: None,
        import_uid: None,
        import_modseq: None,
        pop3_uidl: None,
    }
}

pub async fn setup(store: &dyn MailStore, name: &str) -> (AccountId, MailboxInfo) {
    let acct = store.account(name, true).await.unwrap().unwrap();
    let mb = store
        .create_mailbox(acct, "INBOX", CreateMailbox::default())
        .await
        .unwrap();
    (acct, mb)
}
