//! STORE (with UNCHANGEDSINCE), EXPUNGE with change history, and \Recent.

use super::support::flags as f;
use super::support::*;
use crate::*;
use std::sync::Arc;

fn update(uids: &[Uid], op: FlagOp, names: &[&str], since: Option<ModSeq>) -> FlagUpdate {
    FlagUpdate {
        uids: uids.to_vec(),
        op,
        flags: f(names),
        unchanged_since: since,
    }
}

/// Add/remove/replace; changed vs unchanged; RFC 7162 §3.1.3 UNCHANGEDSINCE → MODIFIED.
pub async fn flags(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "flags").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let a = deliver(&*store, &*blobs, mb.id, "a").await;
    let b = deliver(&*store, &*blobs, mb.id, "b").await;
    let c = deliver(&*store, &*blobs, mb.id, "c").await;

    let r = store
        .store_flags(
            mb.id,
            update(&[b.uid, a.uid], FlagOp::Add, &["\\Seen"], None),
        )
        .await
        .unwrap();
    assert_eq!(r.changed.len(), 2);
    assert!(r.unchanged.is_empty() && r.modified.is_empty());
    assert_eq!(r.changed[0].0, a.uid, "results in UID order");
    let m1 = r.changed[0].2;
    assert!(
        m1 > c.modseq,
        "a change gets a MODSEQ above every earlier one"
    );
    assert!(r.changed.iter().all(|(_, fl, _)| fl.has(Flags::SEEN)));
    let st = store.status(mb.id).await.unwrap();
    assert_eq!(st.unseen, 1);
    assert!(st.highestmodseq >= r.changed.iter().map(|c| c.2).max().unwrap());

    let r = store
        .store_flags(mb.id, update(&[a.uid], FlagOp::Add, &["\\Seen"], None))
        .await
        .unwrap();
    assert!(r.changed.is_empty());
    assert_eq!(r.unchanged, vec![(a.uid, f(&["\\Seen"]), m1)]);
    assert_eq!(
        store.status(mb.id).await.unwrap().highestmodseq,
        st.highestmodseq,
        "a STORE that changes nothing does not raise HIGHESTMODSEQ"
    );

    let r = store
        .store_flags(mb.id, update(&[a.uid], FlagOp::Add, &["$Label1"], None))
        .await
        .unwrap();
    assert_eq!(r.changed[0].1, f(&["\\Seen", "$Label1"]));
    let r = store
        .store_flags(mb.id, update(&[a.uid], FlagOp::Add, &["$label1"], None))
        .await
        .unwrap();
    assert!(
        r.changed.is_empty(),
        "keywords compare case-insensitively: {r:?}"
    );
    let r = store
        .store_flags(mb.id, update(&[a.uid], FlagOp::Remove, &["\\Seen"], None))
        .await
        .unwrap();
    assert_eq!(r.changed[0].1, f(&["$Label1"]));
    let r = store
        .store_flags(
            mb.id,
            update(&[b.uid], FlagOp::Replace, &["\\Flagged", "Work"], None),
        )
        .await
        .unwrap();
    assert_eq!(r.changed[0].1, f(&["\\Flagged", "Work"]));
    let latest = r.changed[0].2;

    // UNCHANGEDSINCE: `a` and `b` changed after c's MODSEQ; `c` did not.
    let r = store
        .store_flags(
            mb.id,
            update(
                &[a.uid, b.uid, c.uid],
                FlagOp::Add,
                &["\\Answered"],
                Some(c.modseq),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.modified, vec![a.uid, b.uid]);
    assert_eq!(r.changed.len(), 1);
    assert_eq!(r.changed[0].0, c.uid);
    assert!(r.changed[0].2 > latest);
    let r = store
        .store_flags(
            mb.id,
            update(&[c.uid], FlagOp::Add, &["\\Answered"], Some(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        r.modified,
        vec![c.uid],
        "UNCHANGEDSINCE 0 always fails (RFC 7162 §3.1.3)"
    );

    let r = store
        .store_flags(mb.id, update(&[999_999], FlagOp::Add, &["\\Seen"], None))
        .await
        .unwrap();
    assert_eq!(r, FlagUpdateResult::default(), "unknown UIDs are ignored");

    store
        .store_flags(mb.id, update(&[c.uid], FlagOp::Add, &["\\Deleted"], None))
        .await
        .unwrap();
    let (st, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(st.deleted, 1);
    assert_eq!(st.unseen, 3);
    assert_eq!(records[1].flags, f(&["\\Flagged", "Work"]));
    assert_eq!(records[2].flags, f(&["\\Answered", "\\Deleted"]));
}

/// EXPUNGE records what it removed; CHANGEDSINCE/QRESYNC see changes and expunges.
pub async fn expunge_and_changes(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "expunge").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let mut got = Vec::new();
    for i in 0..5 {
        got.push(deliver(&*store, &*blobs, mb.id, &format!("m{i}")).await);
    }
    let base = store.status(mb.id).await.unwrap().highestmodseq;
    let usage = store.usage(acct).await.unwrap();
    let flagged = store
        .store_flags(
            mb.id,
            FlagUpdate {
                uids: vec![got[1].uid],
                op: FlagOp::Add,
                flags: f(&["\\Flagged"]),
                unchanged_since: None,
            },
        )
        .await
        .unwrap()
        .changed[0]
        .2;

    let (removed, modseq) = store
        .expunge(mb.id, &[got[2].uid, got[0].uid, 999_999])
        .await
        .unwrap();
    assert_eq!(removed, vec![got[0].uid, got[2].uid]);
    assert!(modseq > flagged);
    let st = store.status(mb.id).await.unwrap();
    assert_eq!(st.messages, 3);
    assert_eq!(st.highestmodseq, modseq);
    assert_eq!(
        store.usage(acct).await.unwrap().messages,
        usage.messages - 2
    );
    assert!(store.usage(acct).await.unwrap().bytes < usage.bytes);

    let (again, same) = store.expunge(mb.id, &[got[0].uid]).await.unwrap();
    assert!(again.is_empty());
    assert_eq!(same, modseq, "expunging nothing leaves HIGHESTMODSEQ");

    let ch = store.changes_since(mb.id, base).await.unwrap();
    assert_eq!(ch.highestmodseq, modseq);
    let changed: Vec<Uid> = ch.changed.iter().map(|r| r.uid).collect();
    assert_eq!(changed, vec![got[1].uid]);
    assert_eq!(ch.changed[0].modseq, flagged);
    assert_eq!(ch.expunged, vec![got[0].uid, got[2].uid]);

    let all = store.changes_since(mb.id, 0).await.unwrap();
    let all_uids: Vec<Uid> = all.changed.iter().map(|r| r.uid).collect();
    assert_eq!(all_uids, vec![got[1].uid, got[3].uid, got[4].uid]);
    assert!(all.expunged.contains(&got[0].uid) && all.expunged.contains(&got[2].uid));

    let none = store.changes_since(mb.id, modseq).await.unwrap();
    assert!(none.changed.is_empty() && none.expunged.is_empty());
    assert!(store.oldest_modseq(mb.id).await.unwrap() <= base);

    let later = deliver(&*store, &*blobs, mb.id, "later").await;
    let ch = store.changes_since(mb.id, modseq).await.unwrap();
    assert_eq!(ch.changed.len(), 1);
    assert_eq!(ch.changed[0].uid, later.uid);
    assert!(later.uid > got[4].uid, "UIDs are not reused after EXPUNGE");
}

/// \Recent goes to exactly one claimer (RFC 3501 §2.3.2).
pub async fn claim_recent(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "recent").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let a = deliver(&*store, &*blobs, mb.id, "a").await;
    let b = deliver(&*store, &*blobs, mb.id, "b").await;
    assert_eq!(store.status(mb.id).await.unwrap().recent, 2);
    let first = store.claim_recent(mb.id).await.unwrap();
    assert!(
        first <= a.uid,
        "both messages are recent for the first claimer"
    );
    assert_eq!(store.status(mb.id).await.unwrap().recent, 0);
    let second = store.claim_recent(mb.id).await.unwrap();
    assert!(second > b.uid, "nothing is recent for the second claimer");
    let c = deliver(&*store, &*blobs, mb.id, "c").await;
    assert_eq!(store.status(mb.id).await.unwrap().recent, 1);
    let third = store.claim_recent(mb.id).await.unwrap();
    assert!(third > b.uid && third <= c.uid);
    assert!(matches!(
        store.claim_recent(MailboxId(i64::MAX - 9)).await,
        Err(StoreError::NoSuchMailbox)
    ));
}

/// The shared forms of `changes_since` and `claim_recent` answer as the plain ones do: a
/// shared answer is never older than the change the caller was told of, and `\Recent`
/// still goes to exactly one claimer.
pub async fn shared_reads(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "shared").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let a = deliver(&*store, &*blobs, mb.id, "a").await;
    let since = a.modseq;
    // Two sessions that know `a` learn of `b`.
    let b = deliver(&*store, &*blobs, mb.id, "b").await;
    for _ in 0..2 {
        let c = store
            .changes_since_shared(mb.id, since, b.modseq)
            .await
            .unwrap();
        assert_eq!(c.highestmodseq, b.modseq);
        assert_eq!(c.changed.iter().map(|r| r.uid).collect::<Vec<_>>(), [b.uid]);
    }
    let first = store.claim_recent_upto(mb.id, b.uid).await.unwrap();
    assert!(first <= a.uid, "a and b are recent for the first claimer");
    let second = store.claim_recent_upto(mb.id, b.uid).await.unwrap();
    assert!(second > b.uid, "nothing is recent for the second claimer");
    // A later change: the answer at `b` is not enough for a session told of `c`.
    let c = deliver(&*store, &*blobs, mb.id, "c").await;
    let after = store
        .changes_since_shared(mb.id, since, c.modseq)
        .await
        .unwrap();
    assert_eq!(after.highestmodseq, c.modseq);
    assert_eq!(
        after.changed.iter().map(|r| r.uid).collect::<Vec<_>>(),
        [b.uid, c.uid]
    );
    let third = store.claim_recent_upto(mb.id, c.uid).await.unwrap();
    assert!(
        third > b.uid && third <= c.uid,
        "c is recent for its claimer"
    );
    let fourth = store.claim_recent_upto(mb.id, c.uid).await.unwrap();
    assert!(fourth > c.uid);
    // A flag change is a change too.
    let r = store
        .store_flags(mb.id, update(&[a.uid], FlagOp::Add, &["\\Seen"], None))
        .await
        .unwrap();
    let m = r.changed[0].2;
    let after = store.changes_since_shared(mb.id, since, m).await.unwrap();
    assert_eq!(after.highestmodseq, m);
    assert_eq!(after.changed[0].flags, f(&["\\Seen"]));
}
