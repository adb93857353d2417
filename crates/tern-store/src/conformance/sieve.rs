//! Sieve scripts (RFC 5804 semantics) and the vacation reply log (RFC 5230 §4.2, §4.6).

use super::support::*;
use crate::*;
use std::sync::Arc;

fn names(list: &[SieveScriptInfo]) -> Vec<(&str, bool)> {
    list.iter().map(|s| (s.name.as_str(), s.active)).collect()
}

/// Put/get/list/rename/delete, at most one active script, the active one undeletable.
pub async fn sieve_scripts(store: Arc<dyn MailStore>, _blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "sieve").await;
    let other = account(&*store, "sieve-other").await;
    assert!(store.sieve_scripts(acct).await.unwrap().is_empty());
    assert!(store.active_sieve_script(acct).await.unwrap().is_none());

    store
        .put_sieve_script(acct, "b", "keep;\r\n")
        .await
        .unwrap();
    store
        .put_sieve_script(acct, "a", "discard; # é\r\n")
        .await
        .unwrap();
    store.put_sieve_script(acct, "A", "keep;").await.unwrap();
    let list = store.sieve_scripts(acct).await.unwrap();
    assert_eq!(names(&list), vec![("A", false), ("a", false), ("b", false)]);
    let a = list.iter().find(|s| s.name == "a").unwrap();
    assert_eq!(a.size, "discard; # é\r\n".len() as u64, "size in octets");
    assert_eq!(
        store
            .sieve_script(acct, "a")
            .await
            .unwrap()
            .unwrap()
            .content,
        "discard; # é\r\n"
    );
    assert!(store.sieve_script(acct, "c").await.unwrap().is_none());
    assert!(store.sieve_script(other, "a").await.unwrap().is_none());
    assert!(matches!(
        store.put_sieve_script(acct, "", "keep;").await,
        Err(StoreError::Invalid(_))
    ));

    // One active script at a time; replacing keeps the flag.
    store
        .set_active_sieve_script(acct, Some("a"))
        .await
        .unwrap();
    store
        .set_active_sieve_script(acct, Some("b"))
        .await
        .unwrap();
    let list = store.sieve_scripts(acct).await.unwrap();
    assert_eq!(names(&list), vec![("A", false), ("a", false), ("b", true)]);
    store.put_sieve_script(acct, "b", "stop;").await.unwrap();
    let active = store.active_sieve_script(acct).await.unwrap().unwrap();
    assert_eq!(
        (active.name.as_str(), active.content.as_str()),
        ("b", "stop;")
    );
    assert!(active.active);
    assert!(matches!(
        store.set_active_sieve_script(acct, Some("zz")).await,
        Err(StoreError::NoSuchScript)
    ));
    assert_eq!(
        store.active_sieve_script(acct).await.unwrap().unwrap().name,
        "b",
        "a failed SETACTIVE changes nothing"
    );

    // What a delivery reads in one call: the active script and the mailboxes.
    let inbox = mailbox(&*store, acct, "INBOX").await;
    let work = mailbox(&*store, acct, "Work").await;
    let view = store.delivery_view(acct).await.unwrap();
    assert_eq!(view.script.as_ref().map(|s| s.name.as_str()), Some("b"));
    assert_eq!(view.script, store.active_sieve_script(acct).await.unwrap());
    assert_eq!(view.mailboxes, vec![inbox, work]);
    let other_view = store.delivery_view(other).await.unwrap();
    assert!(other_view.script.is_none() && other_view.mailboxes.is_empty());

    // The active script cannot be deleted; others can.
    assert!(matches!(
        store.delete_sieve_script(acct, "b").await,
        Err(StoreError::ScriptActive)
    ));
    assert!(matches!(
        store.delete_sieve_script(acct, "nope").await,
        Err(StoreError::NoSuchScript)
    ));
    store.delete_sieve_script(acct, "A").await.unwrap();

    // Rename keeps the active flag; refuses a taken name or a missing source.
    store.rename_sieve_script(acct, "b", "main").await.unwrap();
    assert_eq!(
        store.active_sieve_script(acct).await.unwrap().unwrap().name,
        "main"
    );
    assert!(matches!(
        store.rename_sieve_script(acct, "main", "a").await,
        Err(StoreError::ScriptExists)
    ));
    assert!(matches!(
        store.rename_sieve_script(acct, "gone", "x").await,
        Err(StoreError::NoSuchScript)
    ));
    store.rename_sieve_script(acct, "a", "a").await.unwrap();

    // Deactivate: nothing active, and everything deletable.
    store.set_active_sieve_script(acct, None).await.unwrap();
    assert!(store.active_sieve_script(acct).await.unwrap().is_none());
    let view = store.delivery_view(acct).await.unwrap();
    assert!(view.script.is_none());
    assert_eq!(view.mailboxes.len(), 2);
    store.delete_sieve_script(acct, "main").await.unwrap();
    assert_eq!(
        names(&store.sieve_scripts(acct).await.unwrap()),
        vec![("a", false)]
    );
    assert!(store.sieve_scripts(other).await.unwrap().is_empty());

    // Deleting the account takes its scripts along.
    store
        .set_active_sieve_script(acct, Some("a"))
        .await
        .unwrap();
    store.delete_account(acct).await.unwrap();
    let again = store
        .account(&store.account_name(other).await.unwrap(), false)
        .await
        .unwrap();
    assert_eq!(again, Some(other));
}

/// Once per (handle, sender) per period; senders compare case-insensitively; accounts and
/// handles are independent.
pub async fn vacation_log(store: Arc<dyn MailStore>, _blobs: Arc<dyn BlobStore>) {
    let acct = account(&*store, "vacation").await;
    let other = account(&*store, "vacation-other").await;
    let day = 86_400;
    assert!(
        store
            .vacation_check_and_record(acct, "h1", "bob@example.test", day)
            .await
            .unwrap()
    );
    assert!(
        !store
            .vacation_check_and_record(acct, "h1", "BOB@example.test", day)
            .await
            .unwrap(),
        "second reply within the period"
    );
    assert!(
        store
            .vacation_check_and_record(acct, "h2", "bob@example.test", day)
            .await
            .unwrap(),
        "another handle is another reply"
    );
    assert!(
        store
            .vacation_check_and_record(acct, "h1", "carol@example.test", day)
            .await
            .unwrap()
    );
    assert!(
        store
            .vacation_check_and_record(other, "h1", "bob@example.test", day)
            .await
            .unwrap(),
        "another account replies on its own"
    );
    // A zero period has ended at once: every message gets a reply.
    assert!(
        store
            .vacation_check_and_record(acct, "h0", "dave@example.test", 0)
            .await
            .unwrap()
    );
    assert!(
        store
            .vacation_check_and_record(acct, "h0", "dave@example.test", 0)
            .await
            .unwrap()
    );
}
