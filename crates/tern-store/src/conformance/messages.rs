//! APPEND: UID order, counters, atomic vs independent batches, quota, imports.

use super::support::*;
use crate::*;
use std::sync::Arc;

/// UIDs and MODSEQs increase; status, records, metadata and UIDLs agree with what was put.
pub async fn append_and_status(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "append").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let empty = store.status(mb.id).await.unwrap();
    assert_eq!(empty.messages, 0);
    assert_eq!(empty.uidvalidity, mb.uidvalidity);
    assert!(empty.uidnext >= 1);
    assert!(
        empty.highestmodseq >= 1,
        "RFC 7162: HIGHESTMODSEQ is never 0"
    );

    let specs: [(&[&str], &str, i16); 3] = [
        (&["\\Seen"], "one", 0),
        (&["\\Deleted", "$Label1", "NonJunk"], "two", -300),
        (&[], "three", 330),
    ];
    let mut sent = Vec::new();
    let mut appended = Vec::new();
    for (names, subject, offset) in specs {
        let mut msg = staged(&*blobs, mb.id, subject).await;
        msg.flags = flags(names);
        msg.internaldate = Timestamp {
            unix: DATE.unix + appended.len() as i64,
            offset_minutes: offset,
        };
        let a = append_one(&*store, msg.clone()).await.unwrap();
        assert_eq!(a.mailbox, mb.id);
        assert_eq!(a.uidvalidity, mb.uidvalidity);
        sent.push(msg);
        appended.push(a);
    }
    for w in appended.windows(2) {
        assert!(w[1].uid > w[0].uid, "UIDs strictly increase");
        assert!(w[1].modseq > w[0].modseq, "MODSEQs strictly increase");
    }
    assert!(appended[0].uid >= empty.uidnext);
    assert!(appended[0].modseq > empty.highestmodseq);

    let total: u64 = sent.iter().map(|m| m.size).sum();
    let status = store.status(mb.id).await.unwrap();
    assert_eq!(status.messages, 3);
    assert_eq!(status.unseen, 2);
    assert_eq!(status.deleted, 1);
    assert_eq!(status.size, total);
    assert_eq!(status.uidnext, appended[2].uid + 1);
    assert_eq!(status.highestmodseq, appended[2].modseq);
    assert_eq!(status.recent, 3, "nobody claimed \\Recent yet");
    assert_eq!(
        store.usage(acct).await.unwrap(),
        Usage {
            bytes: total,
            messages: 3
        }
    );

    let (snap, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(snap, status);
    assert_eq!(records.len(), 3);
    for ((rec, msg), a) in records.iter().zip(&sent).zip(&appended) {
        assert_eq!(rec.uid, a.uid);
        assert_eq!(rec.modseq, a.modseq);
        assert_eq!(rec.blob, msg.blob);
        assert_eq!(rec.size, msg.size);
        assert_eq!(rec.internaldate, msg.internaldate);
        let mut want = msg.flags.clone();
        want.normalize();
        let mut got = rec.flags.clone();
        got.normalize();
        assert_eq!(got, want);
    }

    let asked = [appended[2].uid, 999_999, appended[0].uid];
    let metas = store.meta(mb.id, &asked).await.unwrap();
    assert_eq!(metas.len(), 2, "missing UIDs are skipped");
    assert_eq!(metas[0].0, appended[2].uid);
    assert_eq!(*metas[0].1, *sent[2].meta);
    assert_eq!(metas[1].0, appended[0].uid);
    assert_eq!(*metas[1].1, *sent[0].meta);
    // A narrower read answers for the same UIDs, with at least the parts asked for.
    let parts = MetaParts {
        envelope: true,
        preview: true,
        ..MetaParts::NONE
    };
    let narrow = store.meta_parts(mb.id, &asked, parts).await.unwrap();
    assert_eq!(
        narrow.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        vec![appended[2].uid, appended[0].uid]
    );
    assert_eq!(narrow[0].1.envelope, sent[2].meta.envelope);
    assert_eq!(narrow[1].1.preview, sent[0].meta.preview);

    let all: Vec<Uid> = appended.iter().map(|a| a.uid).collect();
    let uidls = store.pop3_uidls(mb.id, &all).await.unwrap();
    assert_eq!(uidls.len(), 3);
    assert!(uidls.iter().all(|(_, u)| !u.is_empty()));
    let mut distinct: Vec<&String> = uidls.iter().map(|(_, u)| u).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "UIDLs are distinct");
    assert_eq!(
        store.pop3_uidls(mb.id, &all).await.unwrap(),
        uidls,
        "UIDLs are stable"
    );

    let missing = new_message(MailboxId(i64::MAX - 11), sent[0].blob, sent[0].size, "x");
    assert!(matches!(
        append_one(&*store, missing).await,
        Err(StoreError::NoSuchMailbox)
    ));
}

/// `Atomic`: all or nothing. `Independent`: each entry on its own, in order.
pub async fn atomic_and_independent(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "batch").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let before = store.status(mb.id).await.unwrap();
    let good = staged(&*blobs, mb.id, "good").await;
    let bad = new_message(MailboxId(i64::MAX - 5), good.blob, good.size, "bad");

    let r = store
        .append(vec![good.clone(), bad.clone()], AppendMode::Atomic)
        .await;
    assert!(
        matches!(r, Err(StoreError::NoSuchMailbox)),
        "a failed atomic batch returns its first error: {r:?}"
    );
    assert_eq!(
        store.status(mb.id).await.unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(store.usage(acct).await.unwrap(), Usage::default());
    assert!(!store.blob_referenced(&good.blob).await.unwrap());

    let second = staged(&*blobs, mb.id, "second").await;
    let r = store
        .append(
            vec![good.clone(), bad.clone(), second.clone()],
            AppendMode::Independent,
        )
        .await
        .unwrap();
    assert_eq!(r.len(), 3);
    let first = r[0].as_ref().expect("first entry commits");
    assert!(matches!(r[1], Err(StoreError::NoSuchMailbox)));
    let third = r[2].as_ref().expect("third entry commits");
    assert!(third.uid > first.uid);
    assert_eq!(
        uids(&*store, mb.id).await,
        vec![first.uid, third.uid],
        "the failed entry left nothing"
    );

    // Independent with quota: the one that does not fit fails alone.
    let small = staged(&*blobs, mb.id, "s").await;
    let used = store.usage(acct).await.unwrap().bytes;
    let mut fits = small.clone();
    fits.quota_bytes = Some(used + small.size);
    let mut too_big = staged(&*blobs, mb.id, "big").await;
    too_big.quota_bytes = Some(used + small.size);
    let r = store
        .append(vec![fits, too_big.clone()], AppendMode::Independent)
        .await
        .unwrap();
    assert!(r[0].is_ok());
    assert!(matches!(r[1], Err(StoreError::OverQuota)));
    assert!(!store.blob_referenced(&too_big.blob).await.unwrap());

    let batch = vec![
        staged(&*blobs, mb.id, "m1").await,
        staged(&*blobs, mb.id, "m2").await,
        staged(&*blobs, mb.id, "m3").await,
    ];
    let r = store.append(batch, AppendMode::Atomic).await.unwrap();
    let got: Vec<Uid> = r.iter().map(|a| a.as_ref().unwrap().uid).collect();
    assert!(got.windows(2).all(|w| w[1] > w[0]), "in input order");
    assert_eq!(store.status(mb.id).await.unwrap().messages, 6);
}

/// Over quota, nothing is written: no message, no usage, no reference.
pub async fn quota(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "quota").await;
    let inbox = mailbox(&*store, acct, "INBOX").await;
    let other = mailbox(&*store, acct, "Other").await;
    let first = deliver(&*store, &*blobs, inbox.id, "first").await;
    let used = store.usage(acct).await.unwrap();
    let before = store.status(inbox.id).await.unwrap();

    let mut big = staged(&*blobs, inbox.id, "too big for the rest").await;
    big.quota_bytes = Some(used.bytes + big.size - 1);
    assert!(matches!(
        append_one(&*store, big.clone()).await,
        Err(StoreError::OverQuota)
    ));
    assert_eq!(store.usage(acct).await.unwrap(), used);
    assert_eq!(store.status(inbox.id).await.unwrap(), before);
    assert!(!store.blob_referenced(&big.blob).await.unwrap());

    big.quota_bytes = Some(used.bytes + big.size);
    append_one(&*store, big.clone())
        .await
        .expect("usage equal to the quota fits");
    let full = store.usage(acct).await.unwrap();
    assert_eq!(full.bytes, used.bytes + big.size);

    let r = store
        .copy(
            inbox.id,
            &[first.uid],
            other.id,
            false,
            Some(full.bytes + 1),
        )
        .await;
    assert!(matches!(r, Err(StoreError::OverQuota)), "{r:?}");
    assert_eq!(store.status(other.id).await.unwrap().messages, 0);
    assert_eq!(store.usage(acct).await.unwrap(), full);

    // A MOVE inside the account does not grow usage: allowed even at the limit.
    let moved = store
        .copy(inbox.id, &[first.uid], other.id, true, Some(full.bytes))
        .await
        .expect("move within the account");
    assert_eq!(moved.pairs.len(), 1);
    assert_eq!(store.usage(acct).await.unwrap(), full);
}

/// An imported mailbox keeps UIDVALIDITY, UIDs, MODSEQs, INTERNALDATEs, flags and UIDLs.
pub async fn import(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "import").await;
    let mb = store
        .create_mailbox(
            acct,
            "Imported",
            CreateMailbox {
                special_use: None,
                uidvalidity: Some(1_234_567),
            },
        )
        .await
        .unwrap();
    assert_eq!(mb.uidvalidity, 1_234_567);
    assert_eq!(store.status(mb.id).await.unwrap().uidvalidity, 1_234_567);

    let mut m = staged(&*blobs, mb.id, "old").await;
    m.import_uid = Some(100);
    m.import_modseq = Some(5000);
    m.pop3_uidl = Some("legacy-uidl-1".into());
    m.flags = flags(&["\\Seen", "\\Answered"]);
    m.internaldate = Timestamp {
        unix: 1_000_000_000,
        offset_minutes: -420,
    };
    let a = append_one(&*store, m.clone()).await.unwrap();
    assert_eq!((a.uid, a.modseq, a.uidvalidity), (100, 5000, 1_234_567));
    let st = store.status(mb.id).await.unwrap();
    assert_eq!(st.uidnext, 101);
    assert_eq!(st.highestmodseq, 5000);

    for uid in [50, 100] {
        let mut dup = staged(&*blobs, mb.id, "dup").await;
        dup.import_uid = Some(uid);
        assert!(
            matches!(
                append_one(&*store, dup).await,
                Err(StoreError::UidConflict { uid: u, .. }) if u == uid
            ),
            "UID {uid} is below UIDNEXT"
        );
    }

    let mut low = staged(&*blobs, mb.id, "low modseq").await;
    low.import_uid = Some(200);
    low.import_modseq = Some(10);
    let b = append_one(&*store, low).await.unwrap();
    assert_eq!(b.uid, 200);
    assert!(b.modseq > 5000, "a MODSEQ below HIGHESTMODSEQ is raised");

    let c = deliver(&*store, &*blobs, mb.id, "new").await;
    assert_eq!(c.uid, 201, "UIDNEXT follows the highest imported UID");

    let uidls = store.pop3_uidls(mb.id, &[100, 200]).await.unwrap();
    assert_eq!(uidls[0], (100, "legacy-uidl-1".to_string()));
    assert_eq!(uidls[1].0, 200);
    assert_ne!(uidls[1].1, "legacy-uidl-1");

    let (_, records) = store.messages(mb.id).await.unwrap();
    assert_eq!(records[0].internaldate, m.internaldate);
    assert_eq!(records[0].flags, flags(&["\\Seen", "\\Answered"]));
    assert_eq!(records[0].modseq, 5000);
}
