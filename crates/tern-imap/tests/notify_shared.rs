//! NOTIFY (RFC 5465) and mailboxes shared through ACLs (RFC 4314) under `Other Users/`.

mod common;

use common::{Client, TestServer, message};
use std::time::Duration;

const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const PASS: &str = "pw";

async fn two_users() -> (TestServer, Client, Client) {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PASS).await;
    srv.add_user(BOB, PASS).await;
    let a = srv.login(ALICE, PASS).await;
    let b = srv.login(BOB, PASS).await;
    (srv, a, b)
}

/// Asserts that nothing arrives for a short while.
async fn quiet(c: &mut Client) {
    if let Ok(l) = c.line_within(Duration::from_millis(300)).await {
        panic!("unexpected output: {l:?}");
    }
}

#[tokio::test]
async fn notify_status_for_other_mailboxes_without_a_command() {
    let (srv, mut a, _b) = two_users().await;
    a.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        .await;
    quiet(&mut a).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("Sent", "\\Seen", &message("sent one")).await;
    let l = a.line().await;
    assert!(
        l.starts_with("* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
            && l.ends_with(" UNSEEN 0)"),
        "{l}"
    );
    a.ok("NOTIFY NONE").await;
    a2.append("Sent", "", &message("sent two")).await;
    quiet(&mut a).await;
}

#[tokio::test]
async fn notify_selected_pushes_exists_outside_idle() {
    let (srv, mut a, _b) = two_users().await;
    a.ok("SELECT INBOX").await;
    a.ok("NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange)) (INBOXES NONE)")
        .await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("INBOX", "", &message("hi")).await;
    assert_eq!(a.line().await, "* 1 EXISTS");
    assert_eq!(a.line().await, "* 1 RECENT");
}

#[tokio::test]
async fn notify_mailbox_names_and_status_indicator() {
    let (srv, mut a, _b) = two_users().await;
    let lines = a
        .ok("NOTIFY SET STATUS (INBOXES (MessageNew MessageExpunge)) (PERSONAL (MailboxName SubscriptionChange))")
        .await;
    assert!(
        lines[0].starts_with("* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UIDVALIDITY "),
        "{lines:#?}"
    );
    assert_eq!(lines.len(), 2, "only INBOX has message events: {lines:#?}");
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.ok("CREATE Plans").await;
    assert_eq!(a.line().await, "* LIST (\\HasNoChildren) \"/\" Plans");
    a2.ok("RENAME Plans Ideas").await;
    assert_eq!(
        a.line().await,
        "* LIST (\\HasNoChildren) \"/\" Ideas (\"OLDNAME\" (Plans))"
    );
    a2.ok("SUBSCRIBE Ideas").await;
    assert_eq!(
        a.line().await,
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" Ideas"
    );
    a2.ok("DELETE Ideas").await;
    assert_eq!(a.line().await, "* LIST (\\NonExistent) \"/\" Ideas");
}

#[tokio::test]
async fn notify_refuses_what_it_cannot_do() {
    let (_srv, mut a, _b) = two_users().await;
    let no = a.no("NOTIFY SET (PERSONAL (AnnotationChange))").await;
    assert!(no.starts_with("a2 NO [BADEVENT ("), "{no}");
    a.bad("NOTIFY SET (PERSONAL (MessageNew))").await;
    a.bad("NOTIFY SET (PERSONAL (FlagChange))").await;
}

#[tokio::test]
async fn shared_mailbox_rights() {
    let (srv, mut a, mut b) = two_users().await;
    b.append("INBOX", "", &message("for bob")).await;
    // Nothing shared yet: the other user's mailbox does not exist for alice.
    let no = a.no("SELECT \"Other Users/bob@example.test/INBOX\"").await;
    assert!(no.contains("[NONEXISTENT]"), "{no}");

    b.ok("SETACL INBOX alice@example.test lr").await;
    let lines = a.ok("LIST \"\" \"Other Users/*\"").await;
    assert_eq!(
        lines[..3],
        [
            "* LIST (\\Noselect \\HasChildren) \"/\" \"Other Users/bob@example.test\"",
            "* LIST (\\HasNoChildren) \"/\" \"Other Users/bob@example.test/INBOX\"",
            "a3 OK LIST completed",
        ]
    );
    let lines = a.ok("LIST \"\" %").await;
    assert!(
        lines.contains(&"* LIST (\\Noselect \\HasChildren) \"/\" \"Other Users\"".to_string()),
        "{lines:#?}"
    );
    let lines = a.ok("SELECT \"Other Users/bob@example.test/INBOX\"").await;
    assert!(lines.contains(&"* 1 EXISTS".to_string()), "{lines:#?}");
    assert!(lines.contains(&"* OK [PERMANENTFLAGS ()] Flags permitted".to_string()));
    assert!(
        lines
            .last()
            .unwrap()
            .contains("[READ-ONLY] SELECT completed")
    );
    let st = a
        .ok("STATUS \"Other Users/bob@example.test/INBOX\" (MESSAGES)")
        .await;
    assert_eq!(
        st[0],
        "* STATUS \"Other Users/bob@example.test/INBOX\" (MESSAGES 1)"
    );
    let lines = a
        .append(
            "Other Users/bob@example.test/INBOX",
            "",
            &message("from alice"),
        )
        .await;
    assert!(lines.last().unwrap().contains("NO [NOPERM]"), "{lines:#?}");

    b.ok("SETACL INBOX alice@example.test lrsi").await;
    let lines = a
        .append(
            "Other Users/bob@example.test/INBOX",
            "\\Seen \\Flagged",
            &message("from alice"),
        )
        .await;
    assert!(
        lines.last().unwrap().contains("OK [APPENDUID "),
        "{lines:#?}"
    );
    let lines = a.ok("SELECT \"Other Users/bob@example.test/INBOX\"").await;
    assert!(lines.last().unwrap().contains("[READ-WRITE]"));
    // With `s` but not `w`, only \Seen is permanent; \Flagged was dropped at APPEND.
    assert!(lines.contains(&"* OK [PERMANENTFLAGS (\\Seen)] Flags permitted".to_string()));
    let fetch = a.ok("FETCH 2 (FLAGS)").await;
    assert!(
        fetch[0].starts_with("* 2 FETCH (FLAGS (\\Seen"),
        "{fetch:#?}"
    );
    // Alice cannot delete or create below Bob's INBOX without x / k.
    let no = a.no("DELETE \"Other Users/bob@example.test/INBOX\"").await;
    assert!(no.contains("[NOPERM]") || no.contains("[CANNOT]"), "{no}");
    let no = a
        .no("CREATE \"Other Users/bob@example.test/INBOX/sub\"")
        .await;
    assert!(no.contains("[NOPERM]"), "{no}");
    // Negative rights subtract (RFC 4314 §2).
    b.ok("SETACL INBOX -alice@example.test r").await;
    let no = a.no("SELECT \"Other Users/bob@example.test/INBOX\"").await;
    assert!(no.contains("[NOPERM]"), "{no}");
    let _ = srv;
}

#[tokio::test]
async fn notify_status_arrives_during_idle() {
    let (srv, mut a, _b) = two_users().await;
    a.ok("SELECT INBOX").await;
    a.ok(
        "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))",
    )
    .await;
    a.send("i1 IDLE").await;
    assert_eq!(a.line().await, "+ idling");
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("Junk", "", &message("spam")).await;
    let l = a.line().await;
    assert!(l.starts_with("* STATUS Junk (MESSAGES 1 UIDNEXT 2 "), "{l}");
    a2.append("INBOX", "", &message("ham")).await;
    assert_eq!(a.line().await, "* 1 EXISTS");
    assert_eq!(a.line().await, "* 1 RECENT");
    a.send("DONE").await;
    assert_eq!(a.line().await, "i1 OK IDLE terminated");
}
