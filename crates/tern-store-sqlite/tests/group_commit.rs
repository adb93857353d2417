//! Group commit: concurrent writers share commits, and one failing request does not
//! disturb the others in its commit.

mod common;
use common::*;
use std::time::Instant;
use tern_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_commits() {
    const N: usize = 200;
    let (store, blobs, _dir) = fresh().await;
    let (acct, mb) = setup(&*store, "group@example.test").await;
    // Blobs are written concurrently too (each is its own fsync'd file).
    let mut puts = Vec::with_capacity(N);
    for i in 0..N {
        let blobs = blobs.clone();
        puts.push(tokio::spawn(async move {
            put(
                &*blobs,
                format!("Subject: {i}\r\n\r\nbody {i}\r\n").as_bytes(),
            )
            .await
        }));
    }
    let mut staged = Vec::with_capacity(N);
    for p in puts {
        staged.push(p.await.unwrap());
    }
    let bad_mailbox = MailboxId(i64::MAX - 1);

    let commits_before = store.writer_stats().commits();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(N);
    for (i, (blob, size)) in staged.iter().copied().enumerate() {
        let store = store.clone();
        // Every 10th request is an atomic batch that fails on its second message, after
        // its first was written: the savepoint must undo that write, and only that.
        let batch = if i % 10 == 9 {
            vec![message(mb.id, blob, size), message(bad_mailbox, blob, size)]
        } else {
            vec![message(mb.id, blob, size)]
        };
        tasks.push(tokio::spawn(async move {
            store.append(batch, AppendMode::Atomic).await
        }));
    }
    let mut uids = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => uids.push(r[0].as_ref().unwrap().uid),
            Err(StoreError::NoSuchMailbox) => failed += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    let elapsed = started.elapsed();
    let commits = store.writer_stats().commits() - commits_before;
    println!(
        "{N} concurrent appends ({failed} failing) used {commits} commits in {elapsed:?} \
         ({:.0} appends/s)",
        N as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(failed, N / 10);
    assert!(
        (commits as usize) < N,
        "group commit: {commits} commits for {N} appends"
    );

    uids.sort_unstable();
    let mut dedup = uids.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), uids.len(), "every append got its own UID");
    let (status, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(records.len(), N - N / 10);
    assert_eq!(status.messages as usize, N - N / 10);
    assert_eq!(records.iter().map(|r| r.uid).collect::<Vec<_>>(), uids);
    assert_eq!(
        store.usage(acct).await.unwrap().messages as usize,
        N - N / 10
    );
    for (i, (blob, _)) in staged.iter().enumerate() {
        assert_eq!(
            store.blob_referenced(blob).await.unwrap(),
            i % 10 != 9,
            "request {i}: a rolled-back request leaves no reference"
        );
    }
}
