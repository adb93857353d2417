//! COPY/MOVE (COPYUID, TRYCREATE, OVERQUOTA), EXPUNGE/UID EXPUNGE seen by a second
//! session, CLOSE and UNSELECT.

mod common;

use common::{Client, TestServer, message};
use std::time::Duration;

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

/// Alice with three messages in INBOX; `c` has INBOX selected.
async fn three(quota: Option<u64>) -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user_with_quota(USER, PASS, quota).await;
    let mut c = srv.login(USER, PASS).await;
    for s in ["one", "two", "three"] {
        c.append("INBOX", "", &message(s)).await;
    }
    c.ok("SELECT INBOX").await;
    (srv, c)
}

/// The UIDVALIDITY of a mailbox, from STATUS.
async fn uidvalidity(c: &mut Client, mailbox: &str) -> u32 {
    let lines = c.ok(&format!("STATUS {mailbox} (UIDVALIDITY)")).await;
    let l = &lines[0];
    l.split("UIDVALIDITY ")
        .nth(1)
        .and_then(|r| r.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("{l}"))
}

async fn messages(c: &mut Client, mailbox: &str) -> String {
    c.ok(&format!("STATUS {mailbox} (MESSAGES)")).await[0].clone()
}

#[tokio::test]
async fn copy_with_copyuid() {
    let (_srv, mut c) = three(None).await;
    let v = uidvalidity(&mut c, "Archive").await;
    let lines = c.ok("COPY 1:2 Archive").await;
    assert_eq!(
        lines,
        vec![format!("a7 OK [COPYUID {v} 1:2 1:2] COPY completed")]
    );
    let lines = c.ok("UID COPY 3,1 Archive").await;
    assert_eq!(
        lines,
        vec![format!("a8 OK [COPYUID {v} 1,3 3:4] COPY completed")]
    );
    assert_eq!(
        messages(&mut c, "Archive").await,
        "* STATUS Archive (MESSAGES 4)"
    );
    // Non-existent UIDs: nothing to copy, no COPYUID.
    assert_eq!(
        c.ok("UID COPY 50:60 Archive").await,
        vec!["a10 OK COPY completed (no messages)"]
    );
    let no = c.no("COPY 1 Nowhere").await;
    assert!(no.contains("[TRYCREATE]"), "{no}");
    assert!(
        c.bad("COPY 4 Archive")
            .await
            .contains("Invalid message sequence number")
    );
    // The copies keep flags and bytes.
    c.ok("STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    c.ok("COPY 1 Trash").await;
    c.ok("SELECT Trash").await;
    let lines = c.ok("FETCH 1 (FLAGS BODY.PEEK[])").await;
    let one = String::from_utf8(message("one")).unwrap();
    assert_eq!(
        lines[0],
        format!(
            "* 1 FETCH (FLAGS (\\Flagged \\Recent) BODY[] {{{}}}\r\n{one})",
            one.len()
        )
    );
}

#[tokio::test]
async fn copy_over_quota_copies_nothing() {
    let size = message("one").len() as u64;
    // Room for the three messages and one more, not for two more.
    let (_srv, mut c) = three(Some(size * 4 + size / 2)).await;
    let no = c.no("COPY 1:2 Archive").await;
    assert!(no.contains("[OVERQUOTA]"), "{no}");
    assert_eq!(
        messages(&mut c, "Archive").await,
        "* STATUS Archive (MESSAGES 0)"
    );
    c.ok("COPY 1 Archive").await;
    assert_eq!(
        messages(&mut c, "Archive").await,
        "* STATUS Archive (MESSAGES 1)"
    );
}

#[tokio::test]
async fn move_announces_copyuid_then_expunges() {
    let (srv, mut c) = three(None).await;
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    let v = uidvalidity(&mut c, "Trash").await;
    let lines = c.ok("MOVE 2 Trash").await;
    assert_eq!(
        lines,
        vec![
            format!("* OK [COPYUID {v} 2 1] Moved"),
            "* 2 EXPUNGE".to_string(),
            "a7 OK MOVE completed".to_string(),
        ]
    );
    // The other session learns at its next command.
    let lines = d.ok("NOOP").await;
    assert_eq!(lines[0], "* 2 EXPUNGE");
    assert_eq!(
        messages(&mut c, "Trash").await,
        "* STATUS Trash (MESSAGES 1)"
    );

    // Under QRESYNC, UID MOVE answers with VANISHED.
    c.ok("UNSELECT").await;
    c.ok("ENABLE QRESYNC").await;
    c.ok("SELECT INBOX").await;
    let lines = c.ok("UID MOVE 1:3 Archive").await;
    let va = uidvalidity(&mut c, "Archive").await;
    assert_eq!(lines[0], format!("* OK [COPYUID {va} 1,3 1:2] Moved"));
    assert_eq!(lines[1], "* VANISHED 1,3");
    assert_eq!(lines.len(), 3, "{lines:#?}");
    // INBOX is empty now.
    let bad = c.bad("MOVE 1 Archive").await;
    assert!(bad.contains("Invalid message sequence number"), "{bad}");

    // EXAMINE: MOVE needs a read-write source.
    let mut e = srv.login(USER, PASS).await;
    e.ok("EXAMINE Archive").await;
    assert!(e.no("MOVE 1 INBOX").await.contains("read-only"));
}

#[tokio::test]
async fn expunge_seen_by_another_session() {
    let (srv, mut c) = three(None).await;
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)").await;
    let lines = c.ok("EXPUNGE").await;
    assert_eq!(
        lines,
        vec!["* 3 EXPUNGE", "* 1 EXPUNGE", "a7 OK EXPUNGE completed"]
    );
    // The watcher is told at its next command; a FETCH by number does not tell it.
    let lines = d.ok("FETCH 1:3 UID").await;
    assert!(!lines.iter().any(|l| l.contains("EXPUNGE")), "{lines:#?}");
    assert_eq!(lines.len(), 4, "still three messages for d: {lines:#?}");
    let lines = d.ok("NOOP").await;
    assert_eq!(&lines[..2], ["* 3 EXPUNGE", "* 1 EXPUNGE"]);
    let lines = d.ok("FETCH 1:* UID").await;
    assert_eq!(lines, vec!["* 1 FETCH (UID 2)", "a5 OK FETCH completed"]);

    // \Deleted set by d is honoured by c's EXPUNGE even before c heard of it.
    d.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let lines = c.ok("EXPUNGE").await;
    assert!(lines.contains(&"* 1 EXPUNGE".to_string()), "{lines:#?}");

    // A read-only session may not expunge.
    let mut e = srv.login(USER, PASS).await;
    e.ok("EXAMINE INBOX").await;
    assert!(e.no("EXPUNGE").await.contains("read-only"));
}

#[tokio::test]
async fn uid_expunge_only_within_the_set_and_idle_watcher() {
    let (srv, mut c) = three(None).await;
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    d.send("i1 IDLE").await;
    d.expect("+ ").await;
    c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)").await;
    let lines = c.ok("UID EXPUNGE 2:3").await;
    assert_eq!(
        lines,
        vec!["* 3 EXPUNGE", "* 2 EXPUNGE", "a7 OK EXPUNGE completed"]
    );
    // The IDLE session hears of it without asking (flag changes, then expunges).
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|l: &&String| l.ends_with("EXPUNGE"))
        .count()
        < 2
    {
        match d.line_within(Duration::from_secs(10)).await {
            Ok(Some(l)) => seen.push(l),
            other => panic!("IDLE got {other:?} after {seen:#?}"),
        }
    }
    assert!(seen.contains(&"* 3 EXPUNGE".to_string()), "{seen:#?}");
    assert!(seen.contains(&"* 2 EXPUNGE".to_string()), "{seen:#?}");
    d.send("DONE").await;
    d.expect("i1 OK").await;
    let lines = c.ok("FETCH 1:* (UID FLAGS)").await;
    assert_eq!(lines[0], "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))");
}

#[tokio::test]
async fn close_expunges_silently_unselect_does_not() {
    let (srv, mut c) = three(None).await;
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    assert_eq!(c.ok("UNSELECT").await, vec!["a7 OK UNSELECT completed"]);
    assert_eq!(
        messages(&mut c, "INBOX").await,
        "* STATUS INBOX (MESSAGES 3)"
    );
    c.ok("SELECT INBOX").await;
    assert_eq!(c.ok("CLOSE").await, vec!["a10 OK CLOSE completed"]);
    assert_eq!(
        messages(&mut c, "INBOX").await,
        "* STATUS INBOX (MESSAGES 2)"
    );
    assert!(c.bad("FETCH 1 FLAGS").await.contains("No mailbox selected"));
    // CLOSE of an EXAMINEd mailbox expunges nothing.
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    d.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    d.ok("EXAMINE INBOX").await;
    d.ok("CLOSE").await;
    assert_eq!(
        messages(&mut d, "INBOX").await,
        "* STATUS INBOX (MESSAGES 2)"
    );
    // CHECK and NOOP just complete.
    d.ok("SELECT INBOX").await;
    assert_eq!(d.ok("CHECK").await, vec!["a8 OK CHECK completed"]);
    assert_eq!(d.ok("NOOP").await, vec!["a9 OK NOOP completed"]);
}

#[tokio::test]
async fn copy_into_a_shared_mailbox_needs_insert_right() {
    let (srv, mut c) = three(None).await;
    srv.add_user("bob@example.test", "pw2").await;
    let mut b = srv.login("bob@example.test", "pw2").await;
    b.ok("CREATE Shared").await;
    b.ok("SETACL Shared alice@example.test lr").await;
    let no = c.no("COPY 1 \"Other Users/bob@example.test/Shared\"").await;
    assert!(no.contains("[NOPERM]"), "{no}");
    b.ok("SETACL Shared alice@example.test lri").await;
    let lines = c
        .ok("COPY 1:2 \"Other Users/bob@example.test/Shared\"")
        .await;
    assert!(
        lines[0].contains("[COPYUID ") && lines[0].contains(" 1:2 1:2]"),
        "{lines:#?}"
    );
    assert_eq!(
        messages(&mut b, "Shared").await,
        "* STATUS Shared (MESSAGES 2)"
    );
}
