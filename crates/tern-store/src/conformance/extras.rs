//! Change notifications, ACLs (RFC 4314) and METADATA (RFC 5464).

use super::support::*;
use crate::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(10);

/// Waits for an event matching `want`, skipping others (other accounts' traffic).
async fn wait_for(
    rx: &mut broadcast::Receiver<ChangeEvent>,
    what: &str,
    mut want: impl FnMut(&ChangeEvent) -> bool,
) -> ChangeEvent {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if want(&ev) => return ev,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("event channel closed"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no event for {what} within {WAIT:?}"))
}

fn mailbox_event(ev: &ChangeEvent, mailbox: MailboxId, at_least: ModSeq) -> bool {
    matches!(*ev, ChangeEvent::Mailbox { mailbox: m, modseq, .. } if m == mailbox && modseq >= at_least)
}

/// What a mailbox event says changed.
fn mailbox_what(ev: &ChangeEvent) -> MailboxChange {
    match *ev {
        ChangeEvent::Mailbox { what, .. } => what,
        ChangeEvent::MailboxList { .. } => panic!("expected a mailbox event, got {ev:?}"),
    }
}

fn list_event(ev: &ChangeEvent, acct: AccountId, want: impl Fn(ListChange) -> bool) -> bool {
    matches!(*ev, ChangeEvent::MailboxList { account, what } if account == acct && want(what))
}

/// Every committed change is announced, and the announcement comes after the commit: a
/// receiver that re-reads on the event sees the change.
pub async fn notifications(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let mut rx = store.subscribe();
    let acct = account(&*store, "notify").await;
    let mb = mailbox(&*store, acct, "Notes").await;
    wait_for(&mut rx, "CREATE", |ev| list_event(ev, acct, |w| w.names)).await;

    // A listener that reads the mailbox the moment it hears of the append.
    let mut listener_rx = store.subscribe();
    let listener_store = store.clone();
    let listener = tokio::spawn(async move {
        let ev = wait_for(&mut listener_rx, "APPEND", |ev| mailbox_event(ev, mb.id, 1)).await;
        let seen = uids(&*listener_store, mb.id).await;
        (ev, seen)
    });
    let a = deliver(&*store, &*blobs, mb.id, "hello").await;
    let (ev, seen) = listener.await.unwrap();
    assert!(
        seen.contains(&a.uid),
        "the event came before the change was readable"
    );
    if let ChangeEvent::Mailbox {
        account, modseq, ..
    } = ev
    {
        assert_eq!(account, acct);
        assert!(modseq <= a.modseq);
    }
    let ev = wait_for(&mut rx, "APPEND", |ev| mailbox_event(ev, mb.id, a.modseq)).await;
    assert!(
        mailbox_what(&ev).added,
        "an APPEND says messages were added: {ev:?}"
    );

    let r = store
        .store_flags(
            mb.id,
            FlagUpdate {
                uids: vec![a.uid],
                op: FlagOp::Add,
                flags: flags(&["\\Seen"]),
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    let ev = wait_for(&mut rx, "STORE", |ev| {
        mailbox_event(ev, mb.id, r.changed[0].2)
    })
    .await;
    assert_eq!(mailbox_what(&ev), MailboxChange::FLAGS, "{ev:?}");
    let (_, modseq) = store.expunge(mb.id, &[a.uid]).await.unwrap();
    let ev = wait_for(&mut rx, "EXPUNGE", |ev| mailbox_event(ev, mb.id, modseq)).await;
    assert_eq!(mailbox_what(&ev), MailboxChange::EXPUNGED, "{ev:?}");
    store
        .set_metadata(
            MetadataScope::Mailbox(mb.id),
            &[("/shared/comment".to_string(), Some(b"hi".to_vec()))],
        )
        .await
        .unwrap();
    let ev = wait_for(&mut rx, "SETMETADATA", |ev| {
        mailbox_event(ev, mb.id, modseq)
    })
    .await;
    assert_eq!(mailbox_what(&ev), MailboxChange::METADATA, "{ev:?}");
    store
        .set_metadata(
            MetadataScope::Server(acct),
            &[("/private/comment".to_string(), Some(b"hi".to_vec()))],
        )
        .await
        .unwrap();
    wait_for(&mut rx, "server SETMETADATA", |ev| {
        list_event(ev, acct, |w| w == ListChange::METADATA)
    })
    .await;
    store.set_subscribed(acct, "Notes", true).await.unwrap();
    wait_for(&mut rx, "SUBSCRIBE", |ev| {
        list_event(ev, acct, |w| w == ListChange::SUBSCRIPTIONS)
    })
    .await;
    store.set_acl(mb.id, "anyone", Some("lr")).await.unwrap();
    wait_for(&mut rx, "SETACL", |ev| list_event(ev, acct, |w| w.acl)).await;
    store.rename_mailbox(mb.id, "Renamed").await.unwrap();
    wait_for(&mut rx, "RENAME", |ev| list_event(ev, acct, |w| w.names)).await;
}

/// ACL entries per mailbox, and the mailboxes shared with an identifier.
pub async fn acl(store: Arc<dyn MailStore>, _blobs: Arc<dyn BlobStore>) {
    let owner = account(&*store, "owner").await;
    let guest_id = account(&*store, "guest").await;
    let owner_name = store.account_name(owner).await.unwrap();
    let guest = store.account_name(guest_id).await.unwrap();
    let shared = mailbox(&*store, owner, "Shared").await;
    let private = mailbox(&*store, owner, "Private").await;
    assert!(store.acl(shared.id).await.unwrap().is_empty());

    store.set_acl(shared.id, &guest, Some("lr")).await.unwrap();
    store.set_acl(shared.id, "anyone", Some("l")).await.unwrap();
    let mut want = vec![
        ("anyone".to_string(), "l".to_string()),
        (guest.clone(), "lr".to_string()),
    ];
    want.sort();
    assert_eq!(store.acl(shared.id).await.unwrap(), want);

    store.set_acl(shared.id, &guest, Some("lrs")).await.unwrap();
    assert!(
        store
            .acl(shared.id)
            .await
            .unwrap()
            .contains(&(guest.clone(), "lrs".to_string()))
    );
    let with_guest = store.shared_with(&guest).await.unwrap();
    assert!(with_guest.iter().any(|m| m.id == shared.id));
    assert!(!with_guest.iter().any(|m| m.id == private.id));
    assert!(
        !store
            .shared_with(&owner_name)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == shared.id),
        "an account's own mailboxes are not 'shared with' it"
    );
    let stranger = unique("stranger");
    assert!(
        store
            .shared_with(&stranger)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == shared.id),
        "`anyone` shares with every identifier"
    );

    store.set_acl(shared.id, &guest, None).await.unwrap();
    store.set_acl(shared.id, "anyone", None).await.unwrap();
    assert!(store.acl(shared.id).await.unwrap().is_empty());
    assert!(
        !store
            .shared_with(&guest)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == shared.id)
    );
    assert!(
        store
            .set_acl(MailboxId(i64::MAX - 4), &guest, Some("l"))
            .await
            .is_err()
    );

    store.set_acl(private.id, &guest, Some("lr")).await.unwrap();
    store.delete_mailbox(private.id).await.unwrap();
    assert!(
        !store
            .shared_with(&guest)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == private.id),
        "a deleted mailbox's ACL goes with it"
    );
}

fn entries(list: &[(&str, &[u8])]) -> Vec<(String, Option<Vec<u8>>)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), Some(v.to_vec())))
        .collect()
}

fn names(got: &[(String, Vec<u8>)]) -> Vec<&str> {
    let mut v: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    v.sort();
    v
}

/// RFC 5464: entries per mailbox and per server scope, DEPTH 0 / 1 / infinity, removal.
pub async fn metadata(store: Arc<dyn MailStore>, _blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "meta").await;
    let other = account(&*store, "meta-other").await;
    let mb = mailbox(&*store, acct, "INBOX").await;
    let scope = MetadataScope::Mailbox(mb.id);
    store
        .set_metadata(
            scope,
            &entries(&[
                ("/private/comment", b"hello"),
                ("/private/comment/sub", b"child"),
                ("/private/comment/sub/deeper", b"grandchild"),
                ("/private/commentary", b"sibling"),
                ("/shared/comment", b"shared"),
            ]),
        )
        .await
        .unwrap();
    let q = |depth| {
        let store = store.clone();
        async move {
            store
                .get_metadata(scope, &["/private/comment".to_string()], depth)
                .await
                .unwrap()
        }
    };
    let d0 = q(Some(0)).await;
    assert_eq!(
        d0,
        vec![("/private/comment".to_string(), b"hello".to_vec())]
    );
    assert_eq!(
        names(&q(Some(1)).await),
        vec!["/private/comment", "/private/comment/sub"]
    );
    assert_eq!(
        names(&q(None).await),
        vec![
            "/private/comment",
            "/private/comment/sub",
            "/private/comment/sub/deeper"
        ]
    );
    let none = store
        .get_metadata(scope, &["/private/nothing".to_string()], None)
        .await
        .unwrap();
    assert!(none.is_empty());

    // Server entries are a separate scope, per account.
    let server = MetadataScope::Server(acct);
    store
        .set_metadata(server, &entries(&[("/private/comment", b"server")]))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_metadata(server, &["/private/comment".to_string()], Some(0))
            .await
            .unwrap(),
        vec![("/private/comment".to_string(), b"server".to_vec())]
    );
    assert!(
        store
            .get_metadata(
                MetadataScope::Server(other),
                &["/private/comment".to_string()],
                None
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(q(Some(0)).await, d0, "mailbox entries are untouched");

    // Replace one, remove one, in one call.
    store
        .set_metadata(
            scope,
            &[
                ("/private/comment".to_string(), Some(b"bye".to_vec())),
                ("/private/comment/sub".to_string(), None),
            ],
        )
        .await
        .unwrap();
    let mut after = q(None).await;
    after.sort();
    assert_eq!(
        after,
        vec![
            ("/private/comment".to_string(), b"bye".to_vec()),
            (
                "/private/comment/sub/deeper".to_string(),
                b"grandchild".to_vec()
            ),
        ]
    );
}
