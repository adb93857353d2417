//! NOTIFY (RFC 5465), one test per event type, each across two connections: what one
//! connection changes, the other is told without asking, and only what its filters ask for.

mod common;

use common::{Client, TestServer, message};
use std::time::Duration;

const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const PASS: &str = "pw";

async fn server() -> TestServer {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PASS).await;
    srv.add_user(BOB, PASS).await;
    srv
}

/// Asserts that nothing arrives for a while.
async fn quiet(c: &mut Client) {
    if let Ok(l) = c.line_within(Duration::from_millis(400)).await {
        panic!("unexpected output: {l:?}");
    }
}

fn uidvalidity(status: &str) -> &str {
    let at = status.find("UIDVALIDITY ").expect("UIDVALIDITY") + "UIDVALIDITY ".len();
    status[at..].split([' ', ')']).next().unwrap()
}

#[tokio::test]
async fn status_only_for_the_message_events_asked_for() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        .await;
    a2.append("Sent", "", &message("one")).await;
    let l = a.line().await;
    assert!(
        l.starts_with("* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
            && l.ends_with(" UNSEEN 1)"),
        "{l}"
    );
    let uv = uidvalidity(&l).to_string();
    a2.ok("SELECT Sent").await;
    // No FlagChange asked for: a flag change is not reported.
    a2.ok("STORE 1 +FLAGS (\\Seen)").await;
    quiet(&mut a).await;

    a.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge FlagChange))")
        .await;
    a2.ok("STORE 1 -FLAGS (\\Seen)").await;
    assert_eq!(
        a.line().await,
        format!("* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {uv} UNSEEN 1)")
    );
    // A change the STATUS items cannot show (without CONDSTORE) is still announced.
    a2.ok("STORE 1 +FLAGS (\\Flagged)").await;
    assert_eq!(
        a.line().await,
        format!("* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {uv} UNSEEN 1)")
    );
    // With CONDSTORE, HIGHESTMODSEQ shows it.
    a.ok("ENABLE CONDSTORE").await;
    a2.ok("STORE 1 -FLAGS (\\Flagged)").await;
    let l = a.line().await;
    assert!(
        l.starts_with(&format!(
            "* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {uv} UNSEEN 1 HIGHESTMODSEQ "
        )),
        "{l}"
    );
    a2.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    a.line().await;
    a2.ok("EXPUNGE").await;
    let l = a.line().await;
    assert!(
        l.starts_with(&format!(
            "* STATUS Sent (MESSAGES 0 UIDNEXT 2 UIDVALIDITY {uv} UNSEEN 0 HIGHESTMODSEQ "
        )),
        "{l}"
    );
    // The selected mailbox never gets STATUS: only SELECTED filters speak for it.
    a.ok("SELECT Sent").await;
    a2.append("Sent", "", &message("two")).await;
    quiet(&mut a).await;
}

#[tokio::test]
async fn status_indicator_covers_every_watched_mailbox_but_the_selected_one() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    a.ok("ENABLE CONDSTORE").await;
    a.ok("SELECT INBOX").await;
    let lines = a
        .ok("NOTIFY SET STATUS (PERSONAL (MessageNew MessageExpunge))")
        .await;
    let statuses: Vec<&String> = lines.iter().filter(|l| l.starts_with("* STATUS")).collect();
    let names: Vec<&str> = statuses
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(
        names,
        ["Archive", "Drafts", "Junk", "Sent", "Trash"],
        "{lines:#?}"
    );
    assert!(
        statuses.iter().all(|l| l.contains(" HIGHESTMODSEQ ")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn message_new_with_fetch_atts_in_the_selected_mailbox() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a.ok("SELECT INBOX").await;
    a.ok("NOTIFY SET (SELECTED (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge))")
        .await;
    a2.append("INBOX", "", &message("first news")).await;
    assert_eq!(a.line().await, "* 1 EXISTS");
    assert_eq!(a.line().await, "* 1 RECENT");
    let fetch = a.line().await;
    assert!(
        fetch.starts_with("* 1 FETCH (UID 1 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {"),
        "{fetch}"
    );
    assert!(fetch.ends_with("Subject: first news\r\n\r\n)"), "{fetch:?}");
    // The PEEK did not set \Seen.
    let lines = a.ok("UID FETCH 1 (FLAGS)").await;
    assert_eq!(lines[0], "* 1 FETCH (UID 1 FLAGS (\\Recent))");

    // No FlagChange: another session's flag change waits for a command.
    a2.ok("SELECT INBOX").await;
    a2.ok("STORE 1 +FLAGS (\\Flagged)").await;
    quiet(&mut a).await;
    let lines = a.ok("NOOP").await;
    assert_eq!(
        lines[0], "* 1 FETCH (FLAGS (\\Flagged \\Recent))",
        "{lines:#?}"
    );
    // Expunges are pushed (SELECTED, not SELECTED-DELAYED).
    a2.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    a2.ok("EXPUNGE").await;
    assert_eq!(a.line().await, "* 1 EXPUNGE");
    quiet(&mut a).await;

    // This session's own APPEND gets EXISTS, not the MessageNew FETCH (§5.2).
    let lines = a.append("INBOX", "", &message("mine")).await;
    assert!(lines.contains(&"* 1 EXISTS".to_string()), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("FETCH")), "{lines:#?}");
}

#[tokio::test]
async fn flag_change_in_the_selected_mailbox_is_pushed_when_asked() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("INBOX", "", &message("hello")).await;
    a.ok("ENABLE IMAP4rev2").await;
    a.ok("SELECT INBOX").await;
    a.ok("NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange))")
        .await;
    a2.ok("SELECT INBOX").await;
    a2.ok("STORE 1 +FLAGS (\\Answered)").await;
    assert_eq!(a.line().await, "* 1 FETCH (FLAGS (\\Answered))");
}

#[tokio::test]
async fn selected_delayed_holds_expunges_for_a_command() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("INBOX", "", &message("old")).await;
    a.ok("ENABLE IMAP4rev2").await;
    a.ok("SELECT INBOX").await;
    a.ok("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))")
        .await;
    a2.ok("SELECT INBOX").await;
    a2.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    a2.ok("EXPUNGE").await;
    quiet(&mut a).await;
    // New mail is still announced at once; the expunged message keeps its MSN meanwhile.
    a2.append("INBOX", "", &message("new")).await;
    assert_eq!(a.line().await, "* 2 EXISTS");
    quiet(&mut a).await;
    let lines = a.ok("NOOP").await;
    assert_eq!(lines[0], "* 1 EXPUNGE", "{lines:#?}");
}

#[tokio::test]
async fn without_a_selected_filter_idle_stays_quiet_about_the_selected_mailbox() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a.ok("SELECT INBOX").await;
    a.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        .await;
    a.send("i1 IDLE").await;
    assert_eq!(a.line().await, "+ idling");
    a2.append("INBOX", "", &message("for the selected one"))
        .await;
    quiet(&mut a).await;
    // Other mailboxes' events still arrive during IDLE (RFC 5465 §4).
    a2.append("Junk", "", &message("spam")).await;
    assert!(a.line().await.starts_with("* STATUS Junk (MESSAGES 1 "));
    a.send("DONE").await;
    // The command's end reports the selected mailbox as RFC 9051 requires.
    let lines = a.until("i1 ").await;
    assert!(lines.contains(&"* 1 EXISTS".to_string()), "{lines:#?}");
    assert_eq!(lines.last().unwrap(), "i1 OK IDLE terminated");

    // NOTIFY NONE: nothing at all while idling either.
    a.ok("NOTIFY NONE").await;
    a.send("i2 IDLE").await;
    assert_eq!(a.line().await, "+ idling");
    a2.append("INBOX", "", &message("second")).await;
    a2.append("Junk", "", &message("more spam")).await;
    quiet(&mut a).await;
    a.send("DONE").await;
    let lines = a.until("i2 ").await;
    assert!(lines.contains(&"* 2 EXISTS".to_string()), "{lines:#?}");
}

#[tokio::test]
async fn mailbox_name_events_include_sharing() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut b = srv.login(BOB, PASS).await;
    b.ok("NOTIFY SET (SUBTREE \"Other Users\" (MailboxName))")
        .await;
    a.ok("CREATE Team").await;
    // Alice's own mailbox is not under Bob's filter (and not visible to him).
    quiet(&mut b).await;
    a.ok("SETACL Team bob@example.test lr").await;
    assert_eq!(
        b.line().await,
        "* LIST (\\HasNoChildren) \"/\" \"Other Users/alice@example.test/Team\""
    );
    a.ok("RENAME Team Crew").await;
    assert_eq!(
        b.line().await,
        "* LIST (\\HasNoChildren) \"/\" \"Other Users/alice@example.test/Crew\" (\"OLDNAME\" (\"Other Users/alice@example.test/Team\"))"
    );
    a.ok("DELETEACL Crew bob@example.test").await;
    assert_eq!(
        b.line().await,
        "* LIST (\\NonExistent) \"/\" \"Other Users/alice@example.test/Crew\""
    );
    // MailboxName only: a new personal mailbox of Bob's is outside the SUBTREE.
    b.ok("CREATE Private").await;
    quiet(&mut b).await;
}

#[tokio::test]
async fn subscription_change_events() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a.ok("NOTIFY SET (PERSONAL (SubscriptionChange))").await;
    a2.ok("CREATE Work").await;
    // Not asked for MailboxName.
    quiet(&mut a).await;
    a2.ok("SUBSCRIBE Work").await;
    assert_eq!(
        a.line().await,
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" Work"
    );
    a2.ok("SUBSCRIBE Sent").await;
    assert_eq!(
        a.line().await,
        "* LIST (\\HasNoChildren \\Sent \\Subscribed) \"/\" Sent"
    );
    a2.ok("UNSUBSCRIBE Sent").await;
    assert_eq!(a.line().await, "* LIST (\\HasNoChildren \\Sent) \"/\" Sent");
    a2.ok("SUBSCRIBE Nowhere").await;
    assert_eq!(
        a.line().await,
        "* LIST (\\NonExistent \\Subscribed) \"/\" Nowhere"
    );
}

#[tokio::test]
async fn mailbox_and_server_metadata_change_events() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut a2 = srv.login(ALICE, PASS).await;
    a.ok("NOTIFY SET (INBOXES (MailboxMetadataChange ServerMetadataChange))")
        .await;
    a2.ok("SETMETADATA INBOX (/private/comment \"hello\")")
        .await;
    assert_eq!(a.line().await, "* METADATA INBOX /private/comment");
    a2.ok("SETMETADATA INBOX (/private/comment \"hello again\" /shared/comment \"all\")")
        .await;
    assert_eq!(
        a.line().await,
        "* METADATA INBOX /private/comment /shared/comment"
    );
    a2.ok("SETMETADATA INBOX (/private/comment NIL)").await;
    assert_eq!(a.line().await, "* METADATA INBOX /private/comment");
    // Sent is not under INBOXES.
    a2.ok("SETMETADATA Sent (/private/comment \"x\")").await;
    quiet(&mut a).await;
    a2.ok("SETMETADATA \"\" (/private/vendor/tern/theme \"dark\")")
        .await;
    assert_eq!(a.line().await, "* METADATA \"\" /private/vendor/tern/theme");

    // Without ServerMetadataChange, server entries stay quiet.
    a.ok("NOTIFY SET (PERSONAL (MailboxMetadataChange))").await;
    a2.ok("SETMETADATA \"\" (/private/vendor/tern/theme \"light\")")
        .await;
    quiet(&mut a).await;
    a2.ok("SETMETADATA Sent (/private/comment \"y\")").await;
    assert_eq!(a.line().await, "* METADATA Sent /private/comment");
}

#[tokio::test]
async fn metadata_of_a_shared_mailbox_shows_only_what_the_user_may_see() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let mut b = srv.login(BOB, PASS).await;
    b.ok("SETACL INBOX alice@example.test lr").await;
    a.ok("NOTIFY SET (SUBTREE \"Other Users\" (MailboxMetadataChange))")
        .await;
    b.ok("SETMETADATA INBOX (/shared/comment \"team inbox\")")
        .await;
    assert_eq!(
        a.line().await,
        "* METADATA \"Other Users/bob@example.test/INBOX\" /shared/comment"
    );
    // Bob's private entries are his own.
    b.ok("SETMETADATA INBOX (/private/comment \"mine\")").await;
    quiet(&mut a).await;
}

#[tokio::test]
async fn notify_command_rules() {
    let srv = server().await;
    let mut a = srv.login(ALICE, PASS).await;
    let no = a
        .no("NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))")
        .await;
    assert!(
        no.contains("[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)]"),
        "{no}"
    );
    a.bad("NOTIFY SET (SELECTED (MailboxName))").await;
    a.bad("NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))")
        .await;
    a.bad("NOTIFY SET (PERSONAL (MessageExpunge))").await;
    // A refused NOTIFY SET leaves nothing behind: still no events.
    let mut a2 = srv.login(ALICE, PASS).await;
    a2.append("Sent", "", &message("x")).await;
    quiet(&mut a).await;
}
