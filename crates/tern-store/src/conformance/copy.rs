//! COPY/MOVE (sharing blobs) and blob references.

use super::support::*;
use crate::*;
use std::sync::Arc;

/// COPY keeps flags, dates and the blob; MOVE also expunges the source in the same step.
pub async fn copy_move(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "copy").await;
    let src = mailbox(&*store, acct, "INBOX").await;
    let dst = mailbox(&*store, acct, "Archive").await;
    let mut sent = Vec::new();
    for (i, names) in [&["\\Seen"][..], &[][..], &["\\Flagged", "$Work"][..]]
        .iter()
        .enumerate()
    {
        let mut m = staged(&*blobs, src.id, &format!("c{i}")).await;
        m.flags = flags(names);
        sent.push(append_one(&*store, m).await.unwrap());
    }
    let usage0 = store.usage(acct).await.unwrap();
    let (_, src_records) = store.messages(src.id).await.unwrap();

    let r = store
        .copy(
            src.id,
            &[sent[2].uid, sent[0].uid, 999_999],
            dst.id,
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.dest_uidvalidity, dst.uidvalidity);
    assert_eq!(r.pairs.len(), 2);
    assert_eq!(r.pairs[0].0, sent[0].uid, "pairs in source UID order");
    assert_eq!(r.pairs[1].0, sent[2].uid);
    assert!(r.pairs[1].1 > r.pairs[0].1);
    let (dst_status, dst_records) = store.messages(dst.id).await.unwrap();
    assert_eq!(dst_status.messages, 2);
    for (rec, (from, to)) in dst_records.iter().zip(&r.pairs) {
        let orig = src_records.iter().find(|s| s.uid == *from).unwrap();
        assert_eq!(rec.uid, *to);
        assert_eq!(rec.blob, orig.blob, "copies share the blob");
        assert_eq!(rec.flags, orig.flags);
        assert_eq!(rec.internaldate, orig.internaldate);
        assert_eq!(rec.size, orig.size);
    }
    let metas = store.meta(dst.id, &[r.pairs[0].1]).await.unwrap();
    assert_eq!(metas.len(), 1, "a copy has the source's metadata");
    assert_eq!(
        metas[0].1.envelope.subject.as_deref(),
        Some("c0"),
        "metadata follows the blob"
    );
    assert_eq!(store.status(src.id).await.unwrap().messages, 3);
    let usage1 = store.usage(acct).await.unwrap();
    assert_eq!(usage1.messages, usage0.messages + 2);
    assert_eq!(
        usage1.bytes,
        usage0.bytes + src_records[0].size + src_records[2].size
    );

    let before_move = store.status(src.id).await.unwrap().highestmodseq;
    let mv = store
        .copy(src.id, &[sent[1].uid], dst.id, true, None)
        .await
        .unwrap();
    assert_eq!(mv.pairs.len(), 1);
    assert_eq!(uids(&*store, src.id).await, vec![sent[0].uid, sent[2].uid]);
    assert_eq!(store.status(dst.id).await.unwrap().messages, 3);
    assert_eq!(
        store.usage(acct).await.unwrap(),
        usage1,
        "a MOVE does not change usage"
    );
    let ch = store.changes_since(src.id, before_move).await.unwrap();
    assert_eq!(
        ch.expunged,
        vec![sent[1].uid],
        "MOVE expunges the source (VANISHED)"
    );
    let moved_blob = src_records[1].blob;
    assert!(store.blob_referenced(&moved_blob).await.unwrap());

    // Across accounts: the destination account pays.
    let other = account(&*store, "copy-dest").await;
    let theirs = mailbox(&*store, other, "INBOX").await;
    let x = store
        .copy(src.id, &[sent[0].uid], theirs.id, false, None)
        .await
        .unwrap();
    assert_eq!(x.pairs.len(), 1);
    assert_eq!(
        store.usage(other).await.unwrap(),
        Usage {
            bytes: src_records[0].size,
            messages: 1
        }
    );
    assert_eq!(store.usage(acct).await.unwrap(), usage1);

    let none = store
        .copy(src.id, &[999_999], dst.id, false, None)
        .await
        .unwrap();
    assert!(none.pairs.is_empty());
    assert!(matches!(
        store
            .copy(src.id, &[sent[0].uid], MailboxId(i64::MAX - 2), false, None)
            .await,
        Err(StoreError::NoSuchMailbox)
    ));
}

/// A blob stays referenced while any message names it, and only then.
pub async fn referenced_blobs(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "refs").await;
    let one = mailbox(&*store, acct, "One").await;
    let two = mailbox(&*store, acct, "Two").await;
    let a = deliver(&*store, &*blobs, one.id, "shared").await;
    let blob = store.messages(one.id).await.unwrap().1[0].blob;
    assert!(store.blob_referenced(&blob).await.unwrap());
    assert!(store.referenced_blobs().await.unwrap().contains(&blob));

    // The same content delivered again, and a copy: three references to one blob.
    let (dup_blob, size) = {
        let bytes = blobs.get(&blob).await.unwrap();
        put_blob(&*blobs, (*bytes).as_ref()).await
    };
    assert_eq!(dup_blob, blob);
    let again = append_one(&*store, new_message(two.id, dup_blob, size, "shared"))
        .await
        .unwrap();
    let c = store
        .copy(one.id, &[a.uid], two.id, false, None)
        .await
        .unwrap();

    store.expunge(one.id, &[a.uid]).await.unwrap();
    assert!(store.blob_referenced(&blob).await.unwrap());
    store.expunge(two.id, &[again.uid]).await.unwrap();
    assert!(store.blob_referenced(&blob).await.unwrap());
    store.expunge(two.id, &[c.pairs[0].1]).await.unwrap();
    assert!(
        !store.blob_referenced(&blob).await.unwrap(),
        "no message names the blob any more"
    );
    assert!(!store.referenced_blobs().await.unwrap().contains(&blob));

    // Deleting a mailbox releases its references too.
    let d = deliver(&*store, &*blobs, two.id, "in two").await;
    let blob2 = store.messages(two.id).await.unwrap().1[0].blob;
    assert_eq!(d.mailbox, two.id);
    store.delete_mailbox(two.id).await.unwrap();
    assert!(!store.blob_referenced(&blob2).await.unwrap());
    assert!(
        blobs.exists(&blob2).await.unwrap(),
        "the store never deletes blobs itself: GC does"
    );
}
