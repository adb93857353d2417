//! What the tern-mail integration tests share: an embedded store in a temporary directory,
//! accounts and recipients as delivery gets them, and a plain test message.
#![allow(dead_code)]

use async_trait::async_trait;
use std::sync::Arc;
use tern_directory::{Account, AuthOutcome, Directory, DirectoryResult, Resolution};
use tern_mail::{Mail, Recipient};
use tern_store::{BlobId, Flags, MailboxId, Timestamp, Uid};

/// The ingest path never asks the directory; delivery gets accounts from its caller.
pub struct NoDirectory;

#[async_trait]
impl Directory for NoDirectory {
    async fn authenticate(&self, _: &str, _: &str) -> DirectoryResult<AuthOutcome> {
        Ok(AuthOutcome::Failed {
            reason: "test".into(),
        })
    }
    async fn lookup(&self, _: &str) -> DirectoryResult<Option<Account>> {
        Ok(None)
    }
    async fn resolve(&self, _: &str) -> DirectoryResult<Resolution> {
        Ok(Resolution::NotFound)
    }
    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        Ok(Vec::new())
    }
}

pub async fn mail() -> (tempfile::TempDir, Mail) {
    let dir = tempfile::tempdir().unwrap();
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    (dir, Mail::new(store, blobs, Arc::new(NoDirectory)))
}

pub fn account(name: &str, quota: Option<u64>) -> Account {
    Account {
        name: name.to_string(),
        addresses: vec![name.to_string()],
        quota_bytes: quota,
        enabled: true,
        display_name: None,
        groups: Vec::new(),
        ..Default::default()
    }
}

pub fn rcpt(account: Account, mailbox: Option<&str>) -> Recipient {
    Recipient {
        account,
        mailbox: mailbox.map(str::to_string),
        flags: Flags::default(),
    }
}

pub const NOW: Timestamp = Timestamp {
    unix: 1_700_000_000,
    offset_minutes: 60,
};

pub fn message(subject: &str, body_len: usize) -> Vec<u8> {
    let mut m =
        format!("From: sender@example.test\r\nTo: all@example.test\r\nSubject: {subject}\r\n\r\n")
            .into_bytes();
    m.resize(m.len() + body_len, b'x');
    m.extend_from_slice(b"\r\n");
    m
}

/// Delivers message `make(i)` for `i` in `0..n` to `name`'s INBOX; returns the mailbox and
/// each message's (UID, blob).
pub async fn fill_inbox(
    mail: &Mail,
    name: &str,
    n: usize,
    make: impl Fn(usize) -> Vec<u8>,
) -> (MailboxId, Vec<(Uid, BlobId)>) {
    let mut out = Vec::new();
    let mut mailbox = None;
    for i in 0..n {
        let staged = mail.stage_bytes(&make(i), 1 << 20).await.unwrap();
        let r = mail
            .deliver(&staged, &[rcpt(account(name, None), None)], NOW)
            .await;
        let appended = r[0].as_ref().unwrap();
        mailbox = Some(appended.mailbox);
        out.push((appended.uid, staged.blob));
    }
    (mailbox.unwrap(), out)
}
