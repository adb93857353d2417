//! The metadata cache against the embedded store: what it answers is what the store has,
//! it keeps the parts it held when asked for more, and it stays within its budget.
mod common;

use common::*;
use tern_mail::{Mail, MetaCache};
use tern_store::{BlobId, MetaParts, Uid};

/// `n` plain messages in one account's INBOX.
async fn fill(mail: &Mail, n: usize) -> (tern_store::MailboxId, Vec<(Uid, BlobId)>) {
    fill_inbox(mail, "meta@example.test", n, |i| {
        message(&format!("message {i}"), 100 + i)
    })
    .await
}

const ENVELOPE: MetaParts = MetaParts {
    envelope: true,
    ..MetaParts::NONE
};
const SORT: MetaParts = MetaParts {
    sort: true,
    ..MetaParts::NONE
};

#[tokio::test]
async fn answers_what_the_store_has_and_keeps_parts_it_held() {
    let (_dir, mail) = mail().await;
    let (mb, msgs) = fill(&mail, 5).await;
    let cache = MetaCache::default();
    let uids: Vec<Uid> = msgs.iter().map(|m| m.0).collect();
    let from_store = mail.store.meta_parts(mb, &uids, ENVELOPE).await.unwrap();
    let first = cache
        .read(mail.store.as_ref(), mb, &msgs, ENVELOPE)
        .await
        .unwrap();
    let again = cache
        .read(mail.store.as_ref(), mb, &msgs, ENVELOPE)
        .await
        .unwrap();
    for answer in [&first, &again] {
        assert_eq!(answer.len(), 5);
        for ((u, m), (su, sm)) in answer.iter().zip(&from_store) {
            assert_eq!((u, &*m.envelope), (su, &sm.envelope));
        }
    }
    let (bytes_envelope, count) = cache.usage();
    assert_eq!(count, 5);
    // The second read came from memory: the very same decoded values.
    assert!(std::sync::Arc::ptr_eq(&first[2].1, &again[2].1));
    // Asking for the sort keys reads them; the envelope held before is kept: both are held.
    let sorted = cache
        .read(mail.store.as_ref(), mb, &msgs[1..3], SORT)
        .await
        .unwrap();
    assert_eq!(sorted.len(), 2);
    assert_eq!(sorted[0].1.sort.base_subject, "MESSAGE 1");
    assert_eq!(*sorted[0].1.envelope, from_store[1].1.envelope);
    // The envelope part is the one read first, not a new copy.
    assert!(std::sync::Arc::ptr_eq(
        &sorted[0].1.envelope,
        &first[1].1.envelope
    ));
    assert!(cache.usage().0 > bytes_envelope);
    // Reversed order in, reversed order out.
    let mut reversed = msgs.clone();
    reversed.reverse();
    let back = cache
        .read(mail.store.as_ref(), mb, &reversed, ENVELOPE)
        .await
        .unwrap();
    let back_uids: Vec<Uid> = back.iter().map(|m| m.0).collect();
    assert_eq!(back_uids, uids.iter().rev().copied().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_message_gone_and_never_read_is_left_out() {
    let (_dir, mail) = mail().await;
    let (mb, msgs) = fill(&mail, 3).await;
    let cache = MetaCache::default();
    cache
        .read(mail.store.as_ref(), mb, &msgs[..1], ENVELOPE)
        .await
        .unwrap();
    mail.store
        .expunge(mb, &[msgs[0].0, msgs[1].0])
        .await
        .unwrap();
    let answer = cache
        .read(mail.store.as_ref(), mb, &msgs, ENVELOPE)
        .await
        .unwrap();
    let uids: Vec<Uid> = answer.iter().map(|m| m.0).collect();
    // The first is still remembered (RFC 2180 §4.1.3 allows answering for it); the second
    // was never read and is gone; the third is there.
    assert_eq!(uids, [msgs[0].0, msgs[2].0]);
}

#[tokio::test]
async fn stays_within_its_budget_and_zero_means_no_cache() {
    let (_dir, mail) = mail().await;
    let (mb, msgs) = fill(&mail, 40).await;
    let small = MetaCache::new(8 * 1024);
    for chunk in msgs.chunks(7) {
        let got = small
            .read(mail.store.as_ref(), mb, chunk, ENVELOPE)
            .await
            .unwrap();
        assert_eq!(got.len(), chunk.len());
        assert!(small.usage().0 <= 8 * 1024, "{:?}", small.usage());
    }
    assert!(small.usage().1 < 40);
    let none = MetaCache::new(0);
    let got = none
        .read(mail.store.as_ref(), mb, &msgs, SORT)
        .await
        .unwrap();
    assert_eq!(got.len(), 40);
    assert_eq!(none.usage(), (0, 0));
}
