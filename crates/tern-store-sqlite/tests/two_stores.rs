//! Two stores on one database file (as two processes would be) see each other's commits
//! and receive each other's change events through the changelog.

mod common;
use common::*;
use std::time::Duration;
use tern_store::*;
use tern_store_sqlite::{FsBlobStore, SqliteMailStore};
use tokio::sync::broadcast;

async fn expect_mailbox_event(
    rx: &mut broadcast::Receiver<ChangeEvent>,
    mailbox: MailboxId,
    modseq: ModSeq,
) {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await.expect("event") {
                ChangeEvent::Mailbox {
                    mailbox: m,
                    modseq: s,
                    ..
                } if m == mailbox && s >= modseq => return,
                _ => continue,
            }
        }
    })
    .await
    .expect("the other store's change was announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_store_on_the_same_file_sees_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mail.db");
    let blobs = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    let first = SqliteMailStore::open(&db).unwrap();
    let second = SqliteMailStore::open(&db).unwrap();
    let mut rx2 = second.subscribe();
    let mut rx1 = first.subscribe();

    let (acct, mb) = setup(&first, "two@example.test").await;
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if rx2.recv().await.unwrap() == (ChangeEvent::MailboxList { account: acct }) {
                return;
            }
        }
    })
    .await
    .expect("CREATE in the first store is announced in the second");

    let (blob, size) = put(&blobs, b"Subject: x\r\n\r\nhello\r\n").await;
    let appended = first
        .append(vec![message(mb.id, blob, size)], AppendMode::Atomic)
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    expect_mailbox_event(&mut rx2, mb.id, appended.modseq).await;
    let (_, records) = second.messages(mb.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].uid, appended.uid);

    // And the other way round.
    let r = second
        .store_flags(
            mb.id,
            FlagUpdate {
                uids: vec![appended.uid],
                op: FlagOp::Add,
                flags: Flags::from_names(["\\Seen"]),
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    expect_mailbox_event(&mut rx1, mb.id, r.changed[0].2).await;
    assert_eq!(first.status(mb.id).await.unwrap().unseen, 0);

    // Both write concurrently: UIDs stay unique across the two writers.
    let mut tasks = Vec::new();
    for (i, store) in [first, second].into_iter().enumerate() {
        let store = std::sync::Arc::new(store);
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .append(vec![message(mb.id, blob, size)], AppendMode::Atomic)
                    .await
                    .unwrap()
                    .remove(0)
                    .unwrap()
                    .uid
            }));
        }
        let _ = i;
    }
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.unwrap());
    }
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (acct, mb, uid) = {
        let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
        let (acct, mb) = setup(&*store, "reopen@example.test").await;
        let (blob, size) = put(&*blobs, b"Subject: keep\r\n\r\nme\r\n").await;
        let a = store
            .append(vec![message(mb.id, blob, size)], AppendMode::Atomic)
            .await
            .unwrap()
            .remove(0)
            .unwrap();
        (acct, mb, a.uid)
    };
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    assert_eq!(
        store.account("REOPEN@example.test", false).await.unwrap(),
        Some(acct)
    );
    let (status, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].uid, uid);
    assert_eq!(status.uidvalidity, mb.uidvalidity);
    assert!(blobs.exists(&records[0].blob).await.unwrap());
    let (blob, size) = put(&*blobs, b"Subject: next\r\n\r\n").await;
    let next = store
        .append(vec![message(mb.id, blob, size)], AppendMode::Atomic)
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(next.uid, uid + 1);
}
