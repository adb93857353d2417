//! Accounts, mailbox create/rename/delete, INBOX rules, subscriptions.

use super::support::*;
use crate::*;
use std::sync::Arc;

/// Accounts are found case-insensitively, keep their canonical name, and go away whole.
pub async fn accounts(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let name = unique("Alice");
    assert_eq!(store.account(&name, false).await.unwrap(), None);
    let id = store.account(&name, true).await.unwrap().expect("created");
    assert_eq!(
        store.account(&name.to_uppercase(), false).await.unwrap(),
        Some(id)
    );
    assert_eq!(
        store.account(&name.to_lowercase(), true).await.unwrap(),
        Some(id),
        "create of an existing name (other case) returns the same account"
    );
    assert_eq!(store.account_name(id).await.unwrap(), name);
    assert!(
        store
            .accounts()
            .await
            .unwrap()
            .contains(&(id, name.clone()))
    );
    assert_eq!(store.usage(id).await.unwrap(), Usage::default());
    assert!(
        store.mailboxes(id).await.unwrap().is_empty(),
        "a new account has no mailboxes"
    );

    let inbox = mailbox(&*store, id, "INBOX").await;
    let a = deliver(&*store, &*blobs, inbox.id, "doomed").await;
    let (_, records) = store.messages(inbox.id).await.unwrap();
    let blob = records[0].blob;
    store.set_subscribed(id, "INBOX", true).await.unwrap();
    assert_eq!(a.mailbox, inbox.id);

    store.delete_account(id).await.unwrap();
    assert_eq!(store.account(&name, false).await.unwrap(), None);
    assert!(matches!(
        store.account_name(id).await,
        Err(StoreError::NoSuchAccount)
    ));
    assert!(matches!(
        store.mailbox(inbox.id).await,
        Err(StoreError::NoSuchMailbox)
    ));
    assert!(!store.blob_referenced(&blob).await.unwrap());
    assert!(
        !store
            .accounts()
            .await
            .unwrap()
            .iter()
            .any(|(i, _)| *i == id)
    );
    assert!(store.delete_account(id).await.is_err());
}

/// Create, list, special-use, delete, re-create; INBOX is case-insensitive.
pub async fn mailbox_lifecycle(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "mbox").await;
    let inbox = store
        .create_mailbox(acct, "inbox", CreateMailbox::default())
        .await
        .unwrap();
    assert_eq!(inbox.name, "INBOX", "INBOX is stored as INBOX");
    assert_eq!(inbox.account, acct);
    assert_ne!(inbox.uidvalidity, 0);
    for dup in ["INBOX", "Inbox", "iNbOx"] {
        assert!(
            matches!(
                store
                    .create_mailbox(acct, dup, CreateMailbox::default())
                    .await,
                Err(StoreError::MailboxExists)
            ),
            "{dup} is INBOX"
        );
    }
    let sub = mailbox(&*store, acct, "inbox/Sub").await;
    assert_eq!(sub.name, "INBOX/Sub");
    let work = mailbox(&*store, acct, "Work").await;
    assert!(matches!(
        store
            .create_mailbox(acct, "Work", CreateMailbox::default())
            .await,
        Err(StoreError::MailboxExists)
    ));
    let lower = mailbox(&*store, acct, "work").await;
    assert_ne!(
        lower.id, work.id,
        "names other than INBOX are case-sensitive"
    );
    let sent = store
        .create_mailbox(
            acct,
            "Sent",
            CreateMailbox {
                special_use: Some(SpecialUse::Sent),
                uidvalidity: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.special_use, Some(SpecialUse::Sent));

    let list = store.mailboxes(acct).await.unwrap();
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "mailboxes are sorted by name");
    assert_eq!(names.len(), 5);
    assert_eq!(store.mailbox(work.id).await.unwrap(), work);

    store.set_special_use(sent.id, None).await.unwrap();
    assert_eq!(store.mailbox(sent.id).await.unwrap().special_use, None);
    store
        .set_special_use(sent.id, Some(SpecialUse::Trash))
        .await
        .unwrap();
    assert_eq!(
        store.mailbox(sent.id).await.unwrap().special_use,
        Some(SpecialUse::Trash)
    );

    // Deleting a mailbox takes its messages (and their usage) with it.
    deliver(&*store, &*blobs, work.id, "w1").await;
    deliver(&*store, &*blobs, work.id, "w2").await;
    let blob = store.messages(work.id).await.unwrap().1[0].blob;
    assert_eq!(store.usage(acct).await.unwrap().messages, 2);
    store.delete_mailbox(work.id).await.unwrap();
    assert_eq!(store.usage(acct).await.unwrap(), Usage::default());
    assert!(!store.blob_referenced(&blob).await.unwrap());
    assert!(matches!(
        store.mailbox(work.id).await,
        Err(StoreError::NoSuchMailbox)
    ));
    assert!(matches!(
        store.status(work.id).await,
        Err(StoreError::NoSuchMailbox)
    ));
    assert!(store.delete_mailbox(work.id).await.is_err());
    assert!(
        !store
            .mailboxes(acct)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == work.id)
    );

    let again = mailbox(&*store, acct, "Work").await;
    assert_ne!(again.id, work.id, "mailbox ids are never reused");
    assert_ne!(
        again.uidvalidity, work.uidvalidity,
        "a re-created mailbox has a new UIDVALIDITY"
    );
    assert!(store.status(again.id).await.unwrap().messages == 0);

    let nobody = AccountId(i64::MAX - 7);
    assert!(
        store
            .create_mailbox(nobody, "INBOX", CreateMailbox::default())
            .await
            .is_err()
    );
}

/// RENAME moves the hierarchy below a mailbox and keeps UIDVALIDITY and messages
/// (RFC 9051 §6.3.6).
pub async fn rename_children(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "rename").await;
    let inbox = mailbox(&*store, acct, "INBOX").await;
    let proj = mailbox(&*store, acct, "Proj").await;
    let a = mailbox(&*store, acct, "Proj/A").await;
    let b = mailbox(&*store, acct, "Proj/A/B").await;
    let sibling = mailbox(&*store, acct, "Projects").await;
    let other = mailbox(&*store, acct, "Other").await;
    let appended = deliver(&*store, &*blobs, a.id, "in A").await;

    store.rename_mailbox(proj.id, "Done/Proj").await.unwrap();
    let by_id = |list: &[MailboxInfo], id: MailboxId| {
        list.iter()
            .find(|m| m.id == id)
            .cloned()
            .expect("mailbox still listed")
    };
    let list = store.mailboxes(acct).await.unwrap();
    assert_eq!(by_id(&list, proj.id).name, "Done/Proj");
    assert_eq!(by_id(&list, a.id).name, "Done/Proj/A");
    assert_eq!(by_id(&list, b.id).name, "Done/Proj/A/B");
    assert_eq!(
        by_id(&list, sibling.id).name,
        "Projects",
        "a name that merely starts with the old name is not an inferior"
    );
    assert_eq!(by_id(&list, a.id).uidvalidity, a.uidvalidity);
    assert_eq!(uids(&*store, a.id).await, vec![appended.uid]);

    assert!(matches!(
        store.rename_mailbox(a.id, "Other").await,
        Err(StoreError::MailboxExists)
    ));
    assert!(
        store
            .rename_mailbox(proj.id, "Done/Proj/A/C")
            .await
            .is_err(),
        "cannot rename a mailbox into its own inferior"
    );
    assert!(matches!(
        store.rename_mailbox(MailboxId(i64::MAX - 3), "X").await,
        Err(StoreError::NoSuchMailbox)
    ));
    // Renaming a child out of its parent leaves the parent alone.
    store.rename_mailbox(b.id, "Top").await.unwrap();
    let list = store.mailboxes(acct).await.unwrap();
    assert_eq!(by_id(&list, b.id).name, "Top");
    assert_eq!(by_id(&list, a.id).name, "Done/Proj/A");
    assert_eq!(by_id(&list, other.id).name, "Other");
    assert_eq!(by_id(&list, inbox.id).name, "INBOX");
}

/// Subscriptions are names, may name mailboxes that do not exist, and are per account.
pub async fn subscriptions(store: Arc<dyn MailStore>, _blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "subs").await;
    let other = account(&*store, "subs-other").await;
    assert!(store.subscriptions(acct).await.unwrap().is_empty());
    store
        .set_subscribed(acct, "Lists/rust", true)
        .await
        .unwrap();
    store.set_subscribed(acct, "INBOX", true).await.unwrap();
    store.set_subscribed(acct, "INBOX", true).await.unwrap();
    let mut subs = store.subscriptions(acct).await.unwrap();
    subs.sort();
    assert_eq!(subs, vec!["INBOX".to_string(), "Lists/rust".to_string()]);
    assert!(store.subscriptions(other).await.unwrap().is_empty());
    store
        .set_subscribed(acct, "Lists/rust", false)
        .await
        .unwrap();
    store.set_subscribed(acct, "Never", false).await.unwrap();
    assert_eq!(
        store.subscriptions(acct).await.unwrap(),
        vec!["INBOX".to_string()]
    );
}
