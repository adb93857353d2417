//! A large mailbox stays cheap to list: `messages()` reads only the small columns, and
//! whole-mailbox STORE / CHANGEDSINCE work in one pass. Prints timings; the size can be
//! raised with `TERN_LARGE_MAILBOX=100000`.

mod common;
use common::*;
use std::sync::Arc;
use std::time::Instant;
use tern_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_mailbox_operations() {
    let n: u32 = std::env::var("TERN_LARGE_MAILBOX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (store, blobs, _dir) = fresh().await;
    let (_, mb) = setup(&*store, "large@example.test").await;
    let (blob, size) = put(&*blobs, b"Subject: same\r\n\r\nall campus\r\n").await;
    let meta = Arc::new(MessageMeta {
        preview: "x".repeat(200),
        ..MessageMeta::default()
    });

    let started = Instant::now();
    let batch = 1000;
    for start in (0..n).step_by(batch) {
        let msgs = (start..(start + batch as u32).min(n))
            .map(|_| {
                let mut m = message(mb.id, blob, size);
                m.meta = meta.clone();
                m
            })
            .collect();
        for r in store.append(msgs, AppendMode::Independent).await.unwrap() {
            r.unwrap();
        }
    }
    let append = started.elapsed();

    let t = Instant::now();
    let (status, records) = store.messages(mb.id).await.unwrap();
    let list = t.elapsed();
    assert_eq!(records.len(), n as usize);
    assert_eq!(status.messages, n);
    assert!(records.windows(2).all(|w| w[0].uid < w[1].uid));

    let t = Instant::now();
    let all: Vec<Uid> = records.iter().map(|r| r.uid).collect();
    let r = store
        .store_flags(
            mb.id,
            FlagUpdate {
                uids: all.clone(),
                op: FlagOp::Add,
                flags: Flags::from_names(["\\Seen"]),
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    let flag_all = t.elapsed();
    assert_eq!(r.changed.len(), n as usize);
    assert_eq!(store.status(mb.id).await.unwrap().unseen, 0);

    let t = Instant::now();
    let ch = store
        .changes_since(mb.id, status.highestmodseq)
        .await
        .unwrap();
    let changes = t.elapsed();
    assert_eq!(ch.changed.len(), n as usize);

    let t = Instant::now();
    let metas = store
        .meta(mb.id, &all[..1000.min(all.len())])
        .await
        .unwrap();
    let meta_time = t.elapsed();
    assert_eq!(metas.len(), 1000.min(all.len()));

    println!(
        "{n} messages: append {append:?}, messages() {list:?}, STORE all {flag_all:?}, \
         changes_since {changes:?}, meta(1000) {meta_time:?}"
    );
}
