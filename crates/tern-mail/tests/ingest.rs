//! The ingest path against the embedded store (tern-store-sqlite): staging, provisioning,
//! delivery to many recipients, quota, APPEND and MULTIAPPEND.
mod common;

use common::*;
use tern_mail::{DEFAULT_MAILBOXES, DeliveryError, IngestError, Mail, Recipient, analyze};
use tern_store::{Flags, SpecialUse, StoreError};

async fn inbox_count(mail: &Mail, name: &str, mailbox: &str) -> u32 {
    let id = mail.store.account(name, false).await.unwrap().unwrap();
    let mb = mail
        .store
        .mailboxes(id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == mailbox)
        .unwrap();
    mail.store.status(mb.id).await.unwrap().messages
}

#[tokio::test]
async fn one_message_to_three_recipients_is_one_blob() {
    let (_dir, mail) = mail().await;
    let bytes = message("all hands", 2000);
    let staged = mail.stage_bytes(&bytes, 1 << 20).await.unwrap();
    assert_eq!(staged.size, bytes.len() as u64);
    let recipients: Vec<Recipient> = ["a@example.test", "b@example.test", "c@example.test"]
        .into_iter()
        .map(|n| rcpt(account(n, None), None))
        .collect();
    let results = mail.deliver(&staged, &recipients, NOW).await;
    assert_eq!(results.len(), 3);
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(mail.blobs.list().await.unwrap(), vec![staged.blob]);
    for n in ["a@example.test", "b@example.test", "c@example.test"] {
        assert_eq!(inbox_count(&mail, n, "INBOX").await, 1);
    }
    // The stored bytes and metadata are the message's.
    let blob = mail.blobs.get(&staged.blob).await.unwrap();
    assert_eq!((*blob).as_ref(), &bytes[..]);
    let appended = results[1].as_ref().unwrap();
    let meta = mail
        .store
        .meta(appended.mailbox, &[appended.uid])
        .await
        .unwrap();
    assert_eq!(*meta[0].1, analyze(&bytes));
}

#[tokio::test]
async fn streamed_stager_and_size_limit() {
    let (_dir, mail) = mail().await;
    let bytes = message("streamed", 300_000);
    let mut stager = mail.stager(1 << 20).await.unwrap();
    for chunk in bytes.chunks(8192) {
        stager.write(chunk).await.unwrap();
    }
    assert_eq!(stager.written(), bytes.len() as u64);
    let staged = stager.finish().await.unwrap();
    assert_eq!(staged.size, bytes.len() as u64);
    assert_eq!(*staged.meta, analyze(&bytes));
    assert_eq!(staged.meta.envelope.subject.as_deref(), Some("streamed"));

    // Too large: refused, and nothing of it is kept.
    let mut stager = mail.stager(1000).await.unwrap();
    stager.write(&[b'a'; 600]).await.unwrap();
    let err = stager.write(&[b'b'; 600]).await.unwrap_err();
    assert!(
        matches!(err, IngestError::TooLarge { limit: 1000 }),
        "{err:?}"
    );
    assert!(matches!(
        stager.write(b"more").await,
        Err(IngestError::TooLarge { .. })
    ));
    assert!(matches!(
        stager.finish().await,
        Err(IngestError::TooLarge { .. })
    ));
    assert!(matches!(
        mail.stage_bytes(&[0u8; 2000], 1000).await,
        Err(IngestError::TooLarge { limit: 1000 })
    ));
    assert_eq!(mail.blobs.list().await.unwrap(), vec![staged.blob]);
}

#[tokio::test]
async fn open_account_provisions_once_and_is_race_safe() {
    let (_dir, mail) = mail().await;
    let acct = account("new@example.test", None);
    let (a, b) = tokio::join!(mail.open_account(&acct), mail.open_account(&acct));
    let id = a.unwrap();
    assert_eq!(b.unwrap(), id);
    let boxes = mail.store.mailboxes(id).await.unwrap();
    assert_eq!(boxes.len(), DEFAULT_MAILBOXES.len());
    for (name, role) in DEFAULT_MAILBOXES {
        let m = boxes.iter().find(|m| m.name == name).expect(name);
        assert_eq!(m.special_use, role, "{name}");
    }
    // A folder the user deletes is not recreated at the next login.
    let junk = boxes.iter().find(|m| m.name == "Junk").unwrap();
    mail.store.delete_mailbox(junk.id).await.unwrap();
    assert_eq!(mail.open_account(&acct).await.unwrap(), id);
    let names: Vec<String> = mail
        .store
        .mailboxes(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(!names.contains(&"Junk".to_string()));
    assert_eq!(names.len(), DEFAULT_MAILBOXES.len() - 1);
}

#[tokio::test]
async fn existing_folder_gets_its_role_at_provisioning() {
    let (_dir, mail) = mail().await;
    let id = mail
        .store
        .account("migrated@example.test", true)
        .await
        .unwrap()
        .unwrap();
    mail.store
        .create_mailbox(id, "Sent", Default::default())
        .await
        .unwrap();
    mail.open_account(&account("migrated@example.test", None))
        .await
        .unwrap();
    let boxes = mail.store.mailboxes(id).await.unwrap();
    let sent = boxes.iter().find(|m| m.name == "Sent").unwrap();
    assert_eq!(sent.special_use, Some(SpecialUse::Sent));
    assert_eq!(boxes.len(), DEFAULT_MAILBOXES.len());
}

#[tokio::test]
async fn delivery_targets_fallbacks_and_disabled_accounts() {
    let (_dir, mail) = mail().await;
    let staged = mail
        .stage_bytes(&message("targets", 10), 1 << 20)
        .await
        .unwrap();
    let mut disabled = account("off@example.test", None);
    disabled.enabled = false;
    let results = mail
        .deliver(
            &staged,
            &[
                rcpt(account("u@example.test", None), Some("Archive")),
                rcpt(account("v@example.test", None), Some("No/Such/Folder")),
                rcpt(disabled, None),
                rcpt(account("w@example.test", None), Some("inbox")),
            ],
            NOW,
        )
        .await;
    assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
    assert!(matches!(results[2], Err(DeliveryError::Disabled)));
    assert_eq!(inbox_count(&mail, "u@example.test", "Archive").await, 1);
    assert_eq!(inbox_count(&mail, "u@example.test", "INBOX").await, 0);
    assert_eq!(inbox_count(&mail, "v@example.test", "INBOX").await, 1);
    assert_eq!(inbox_count(&mail, "w@example.test", "INBOX").await, 1);
    assert_eq!(
        mail.store.account("off@example.test", false).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn quota_per_recipient_in_one_commit() {
    let (_dir, mail) = mail().await;
    let bytes = message("quota", 500);
    let size = bytes.len() as u64;
    let staged = mail.stage_bytes(&bytes, 1 << 20).await.unwrap();
    let small = account("small@example.test", Some(size + size / 2));
    let big = account("big@example.test", Some(5_000_000_000));
    assert!(
        mail.fits_quota(&small, size).await.unwrap(),
        "nothing stored yet"
    );
    assert!(!mail.fits_quota(&small, size * 2).await.unwrap());

    let first = mail
        .deliver(
            &staged,
            &[rcpt(small.clone(), None), rcpt(big.clone(), None)],
            NOW,
        )
        .await;
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    // Second copy: over quota for one, fine for the other, same commit.
    let second = mail
        .deliver(
            &staged,
            &[rcpt(small.clone(), None), rcpt(big.clone(), None)],
            NOW,
        )
        .await;
    assert!(
        matches!(second[0], Err(DeliveryError::OverQuota)),
        "{second:?}"
    );
    assert!(second[1].is_ok());
    assert_eq!(inbox_count(&mail, "small@example.test", "INBOX").await, 1);
    assert_eq!(inbox_count(&mail, "big@example.test", "INBOX").await, 2);
    assert!(!mail.fits_quota(&small, size).await.unwrap());
    let (usage, limit) = mail.quota_usage(&small).await.unwrap();
    assert_eq!(
        (usage.bytes, usage.messages, limit),
        (size, 1, small.quota_bytes)
    );
    let (usage, _) = mail
        .quota_usage(&account("unseen@example.test", None))
        .await
        .unwrap();
    assert_eq!(usage.bytes, 0);
    // Quotas above 4 GiB are plain u64 arithmetic.
    assert!(mail.fits_quota(&big, 4_999_000_000).await.unwrap());
    assert!(!mail.fits_quota(&big, 5_000_000_000).await.unwrap());
    assert!(
        mail.fits_quota(&account("x@example.test", None), u64::MAX)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn append_and_multiappend_are_atomic_with_quota() {
    let (_dir, mail) = mail().await;
    let owner = account("app@example.test", None);
    let id = mail.open_account(&owner).await.unwrap();
    let drafts = mail
        .store
        .mailboxes(id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Drafts")
        .unwrap();
    let one = mail
        .stage_bytes(&message("one", 100), 1 << 20)
        .await
        .unwrap();
    let two = mail
        .stage_bytes(&message("two", 100), 1 << 20)
        .await
        .unwrap();
    let flags = Flags::from_names(["\\Draft", "$Label"]);

    let a = mail
        .append(drafts.id, &one, flags.clone(), NOW, None)
        .await
        .unwrap();
    assert_eq!(a.mailbox, drafts.id);
    let (_, records) = mail.store.messages(drafts.id).await.unwrap();
    assert_eq!(records[0].flags, flags);
    assert_eq!(records[0].internaldate, NOW);

    // MULTIAPPEND that does not fit: nothing is stored.
    let used = mail.store.usage(id).await.unwrap().bytes;
    let quota = used + one.size + one.size / 2;
    let err = mail
        .append_many(
            drafts.id,
            vec![
                (one.clone(), Flags::default(), NOW),
                (two.clone(), Flags::default(), NOW),
            ],
            Some(quota),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OverQuota), "{err:?}");
    assert_eq!(mail.store.status(drafts.id).await.unwrap().messages, 1);

    let both = mail
        .append_many(
            drafts.id,
            vec![(one, Flags::default(), NOW), (two, Flags::default(), NOW)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(both[0].uid < both[1].uid && a.uid < both[0].uid);
    let err = mail
        .append(
            drafts.id,
            &mail.stage_bytes(b"x", 10).await.unwrap(),
            Flags::default(),
            NOW,
            Some(0),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OverQuota));
}

/// Delivery remembers opened accounts; an account deleted from the store (by another process,
/// say) is opened afresh at the next delivery, and its quota is that of the new account.
#[tokio::test]
async fn delivery_after_the_account_was_deleted() {
    let (_dir, mail) = mail().await;
    let small = account("gone@example.test", Some(10_000));
    let staged = mail
        .stage_bytes(&message("one", 3000), 1 << 20)
        .await
        .unwrap();
    let first = mail
        .deliver(&staged, &[rcpt(small.clone(), None)], NOW)
        .await;
    let old = first[0].as_ref().unwrap().mailbox;
    assert!(mail.fits_quota(&small, 5000).await.unwrap());
    assert!(!mail.fits_quota(&small, 8000).await.unwrap());

    let id = mail
        .store
        .account(&small.name, false)
        .await
        .unwrap()
        .unwrap();
    mail.store.delete_account(id).await.unwrap();
    let again = mail
        .deliver(&staged, &[rcpt(small.clone(), None)], NOW)
        .await;
    let appended = again[0].as_ref().expect("delivered into the new account");
    assert_ne!(appended.mailbox, old);
    let new = mail
        .store
        .account(&small.name, false)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new, id);
    assert_eq!(inbox_count(&mail, &small.name, "INBOX").await, 1);
    assert_eq!(mail.store.usage(new).await.unwrap().messages, 1);

    // Deleted again: the quota check finds no account (nothing used) rather than failing.
    mail.store.delete_account(new).await.unwrap();
    assert!(mail.fits_quota(&small, 8000).await.unwrap());
    assert!(!mail.fits_quota(&small, 20_000).await.unwrap());
}
