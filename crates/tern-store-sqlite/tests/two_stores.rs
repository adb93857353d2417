//! Two stores on one database file (as two processes would be) see each other's commits
//! and receive each other's change events through the changelog.

mod common;
use common::*;
use std::time::Duration;
use tern_store::*;
use tern_store_sqlite::{FsBlobStore, SqliteMailStore};
use tokio::sync::broadcast;

/// Waits for the event of `mailbox` reaching `modseq`; returns what it says changed.
async fn expect_mailbox_event(
    rx: &mut broadcast::Receiver<ChangeEvent>,
    mailbox: MailboxId,
    modseq: ModSeq,
) -> MailboxChange {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await.expect("event") {
                ChangeEvent::Mailbox {
                    mailbox: m,
                    modseq: s,
                    what,
                    ..
                } if m == mailbox && s >= modseq => return what,
                _ => continue,
            }
        }
    })
    .await
    .expect("the other store's change was announced")
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
            if let ChangeEvent::MailboxList { account, what } = rx2.recv().await.unwrap()
                && account == acct
                && what.names
            {
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
    let what = expect_mailbox_event(&mut rx2, mb.id, appended.modseq).await;
    assert_eq!(
        what,
        MailboxChange::ADDED,
        "the relayed event says what changed"
    );
    // The writing store announced its own commit once: its watcher skips its own rows.
    let mut own = 0;
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let ChangeEvent::Mailbox { mailbox, .. } = rx1.recv().await.unwrap()
                && mailbox == mb.id
            {
                own += 1;
            }
        }
    })
    .await;
    assert_eq!(own, 1, "one event per commit in the writing store");
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
    let what = expect_mailbox_event(&mut rx1, mb.id, r.changed[0].2).await;
    assert_eq!(what, MailboxChange::FLAGS);
    second
        .set_metadata(
            MetadataScope::Server(acct),
            &[("/private/note".to_string(), Some(b"x".to_vec()))],
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let ChangeEvent::MailboxList { account, what } = rx1.recv().await.unwrap()
                && account == acct
            {
                assert_eq!(what, ListChange::METADATA);
                return;
            }
        }
    })
    .await
    .expect("server metadata change relayed");
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

const CHILD_DB: &str = "TERN_STORE_TEST_CHILD_DB";
const CHILD_MAILBOX: &str = "TERN_STORE_TEST_CHILD_MAILBOX";

/// The child half of `another_process_sees_events`: does nothing unless that test started
/// this binary with the environment naming a database and a mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_writer() {
    let (Ok(db), Ok(mailbox)) = (std::env::var(CHILD_DB), std::env::var(CHILD_MAILBOX)) else {
        return;
    };
    let mailbox = MailboxId(mailbox.parse().unwrap());
    let db = std::path::PathBuf::from(db);
    let blobs = FsBlobStore::open(db.with_file_name("blobs")).unwrap();
    let store = SqliteMailStore::open(&db).unwrap();
    let (blob, size) = put(&blobs, b"Subject: from the child\r\n\r\nhi\r\n").await;
    store
        .append(vec![message(mailbox, blob, size)], AppendMode::Atomic)
        .await
        .unwrap()
        .remove(0)
        .unwrap();
}

/// A real second process appends; this process hears of it and reads the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_sees_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mail.db");
    let store = SqliteMailStore::open(&db).unwrap();
    let (_, mb) = setup(&store, "process@example.test").await;
    let mut rx = store.subscribe();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_writer", "--test-threads=1"])
        .env(CHILD_DB, &db)
        .env(CHILD_MAILBOX, mb.id.0.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "child process failed: {status}");
    let what = expect_mailbox_event(&mut rx, mb.id, 1).await;
    assert_eq!(what, MailboxChange::ADDED);
    let (_, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(records.len(), 1, "the child's message is visible here");
}

/// A database written before `changelog.kinds` existed opens (the column is added), and a
/// row without kinds (an older build's process writing meanwhile) is relayed as "anything
/// may have changed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changelog_without_kinds_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mail.db");
    let (acct, mb) = {
        let store = SqliteMailStore::open(&db).unwrap();
        setup(&store, "legacy@example.test").await
    };
    let old = rusqlite::Connection::open(&db).unwrap();
    old.busy_timeout(Duration::from_secs(10)).unwrap();
    old.execute_batch("ALTER TABLE changelog DROP COLUMN kinds")
        .unwrap();
    let store = SqliteMailStore::open(&db).expect("opens a changelog without kinds");
    let mut rx = store.subscribe();
    old.execute(
        "INSERT INTO changelog (at, origin, account, mailbox, modseq) VALUES (0, 7, ?1, ?2, 9)",
        (acct.0, mb.id.0),
    )
    .unwrap();
    old.execute(
        "INSERT INTO changelog (at, origin, account) VALUES (0, 7, ?1)",
        [acct.0],
    )
    .unwrap();
    assert_eq!(
        expect_mailbox_event(&mut rx, mb.id, 9).await,
        MailboxChange::ALL
    );
    let list = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        list,
        ChangeEvent::MailboxList {
            account: acct,
            what: ListChange::ALL
        }
    );
}
