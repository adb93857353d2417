//! SELECT/EXAMINE (CONDSTORE, QRESYNC, IMAP4rev2), APPEND (synchronizing and LITERAL+
//! literals, MULTIAPPEND, APPENDUID, TRYCREATE, TOOBIG, quota, broken APPENDs) and IDLE.

mod common;

use common::{Client, TestServer, message};
use std::time::Duration;

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

async fn alice() -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let c = srv.login(USER, PASS).await;
    (srv, c)
}

/// The number in `[CODE n]` of the line that has it.
fn code_num(lines: &[String], code: &str) -> u64 {
    let l = lines
        .iter()
        .find(|l| l.contains(&format!("[{code} ")))
        .unwrap_or_else(|| panic!("no {code} in {lines:#?}"));
    let start = l.find(&format!("[{code} ")).unwrap() + code.len() + 2;
    l[start..].split(']').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn select_empty_then_with_messages() {
    let (srv, mut c) = alice().await;
    let lines = c.ok("SELECT INBOX").await;
    let uidv = code_num(&lines, "UIDVALIDITY");
    let hms = code_num(&lines, "HIGHESTMODSEQ");
    assert_eq!(
        lines[0],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    );
    assert_eq!(
        lines[1],
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted"
    );
    assert_eq!(lines[2], "* 0 EXISTS");
    assert_eq!(lines[3], "* 0 RECENT");
    assert_eq!(lines[4], format!("* OK [UIDVALIDITY {uidv}] UIDs valid"));
    assert_eq!(lines[5], "* OK [UIDNEXT 1] Predicted next UID");
    assert_eq!(
        lines[6],
        format!("* OK [HIGHESTMODSEQ {hms}] Highest modification sequence")
    );
    assert!(lines[7].starts_with("* OK [MAILBOXID (F"), "{}", lines[7]);
    assert_eq!(lines[8], "a2 OK [READ-WRITE] SELECT completed");

    // APPEND into the selected mailbox: EXISTS before the tagged OK.
    let lines = c.append("INBOX", "\\Seen", &message("one")).await;
    assert_eq!(lines[0], "* 1 EXISTS");
    assert_eq!(lines[1], "* 1 RECENT");
    assert_eq!(
        lines[2],
        format!("a3 OK [APPENDUID {uidv} 1] APPEND completed")
    );
    c.append("INBOX", "$Work", &message("two")).await;

    let mut d = srv.login(USER, PASS).await;
    let lines = d.ok("SELECT INBOX").await;
    assert_eq!(
        lines[0],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)"
    );
    assert!(lines[1].contains("\\Draft $Work \\*)]"), "{}", lines[1]);
    assert!(lines.contains(&"* 2 EXISTS".to_string()));
    assert!(
        lines.contains(&"* 0 RECENT".to_string()),
        "c claimed them: {lines:#?}"
    );
    assert!(lines.contains(&"* OK [UNSEEN 2] First unseen message".to_string()));

    // Switching mailboxes closes the first one; EXAMINE is read-only.
    let lines = d.ok("EXAMINE Sent").await;
    assert_eq!(lines[0], "* OK [CLOSED] Previous mailbox closed");
    assert!(lines.contains(&"* OK [PERMANENTFLAGS ()] Flags permitted".to_string()));
    assert_eq!(lines.last().unwrap(), "a3 OK [READ-ONLY] EXAMINE completed");
    let no = d.no("SELECT Nope").await;
    assert!(no.contains("[NONEXISTENT]"), "{no}");
    // A failed SELECT leaves no mailbox selected.
    assert_eq!(d.bad("CHECK").await, "a5 BAD No mailbox selected");
}

#[tokio::test]
async fn imap4rev2_select() {
    let (_srv, mut c) = alice().await;
    c.append("INBOX", "", &message("one")).await;
    c.ok("ENABLE IMAP4rev2").await;
    let lines = c.ok("SELECT inbox").await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("RECENT") || l.contains("[UNSEEN"))
    );
    assert!(
        lines.contains(&"* LIST () \"/\" INBOX".to_string()),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn qresync_select_reports_vanished_and_changed() {
    let (srv, mut c) = alice().await;
    for i in 0..4 {
        c.append("INBOX", "", &message(&format!("m{i}"))).await;
    }
    c.ok("ENABLE QRESYNC").await;
    let lines = c.ok("SELECT INBOX").await;
    let uidv = code_num(&lines, "UIDVALIDITY");
    let hms = code_num(&lines, "HIGHESTMODSEQ");
    c.ok("LOGOUT").await;

    // Another client changes things: flags on UID 2, expunges UID 1 and 3.
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    d.ok("UID STORE 2 +FLAGS (\\Flagged)").await;
    d.ok("UID STORE 1,3 +FLAGS (\\Deleted)").await;
    d.ok("EXPUNGE").await;

    let mut c = srv.login(USER, PASS).await;
    c.ok("ENABLE QRESYNC").await;
    let lines = c
        .ok(&format!("SELECT INBOX (QRESYNC ({uidv} {hms}))"))
        .await;
    assert!(lines.contains(&"* 2 EXISTS".to_string()), "{lines:#?}");
    assert!(
        lines.contains(&"* VANISHED (EARLIER) 1,3".to_string()),
        "{lines:#?}"
    );
    let fetch = lines
        .iter()
        .find(|l| l.contains(" FETCH "))
        .expect("FETCH of the changed message");
    assert!(
        fetch.starts_with("* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ ("),
        "{fetch}"
    );
    // Known UIDs restrict what is reported.
    let lines = c
        .ok(&format!("SELECT INBOX (QRESYNC ({uidv} {hms} 3:4))"))
        .await;
    assert_eq!(lines[0], "* OK [CLOSED] Previous mailbox closed");
    assert!(
        lines.contains(&"* VANISHED (EARLIER) 3".to_string()),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains(" FETCH ")), "{lines:#?}");
    // A different UIDVALIDITY: a plain SELECT.
    let lines = c.ok("SELECT INBOX (QRESYNC (1 1))").await;
    assert!(!lines.iter().any(|l| l.contains("VANISHED")));

    let mut e = srv.login(USER, PASS).await;
    e.bad("SELECT INBOX (QRESYNC (1 1))").await;
}

#[tokio::test]
async fn append_literal_plus_multiappend_and_trycreate() {
    let (_srv, mut c) = alice().await;
    let m1 = message("plus");
    let mut cmd = format!("p1 APPEND Drafts (\\Draft) {{{}+}}\r\n", m1.len()).into_bytes();
    cmd.extend_from_slice(&m1);
    cmd.extend_from_slice(b"\r\n");
    c.send_raw(&cmd).await;
    let l = c.line().await;
    assert!(
        l.starts_with("p1 OK [APPENDUID ") && l.ends_with(" 1] APPEND completed"),
        "{l}"
    );

    // MULTIAPPEND (RFC 3502) with a date and LITERAL+.
    let (m2, m3) = (message("two"), message("three"));
    let mut cmd = format!(
        "p2 APPEND Drafts (\\Seen) \"04-Dec-2026 10:00:00 +0100\" {{{}+}}\r\n",
        m2.len()
    )
    .into_bytes();
    cmd.extend_from_slice(&m2);
    cmd.extend_from_slice(format!(" {{{}+}}\r\n", m3.len()).as_bytes());
    cmd.extend_from_slice(&m3);
    cmd.extend_from_slice(b"\r\n");
    c.send_raw(&cmd).await;
    let l = c.line().await;
    assert!(l.ends_with(" 2:3] APPEND completed"), "{l}");

    // A missing mailbox: refused before the synchronizing literal is sent.
    c.send("p3 APPEND Nope {10}").await;
    assert_eq!(c.line().await, "p3 NO [TRYCREATE] No such mailbox");
    // ... and a non-synchronizing one is skipped.
    c.send_raw(b"p4 APPEND Nope {5+}\r\nhello\r\n").await;
    assert_eq!(c.line().await, "p4 NO [TRYCREATE] No such mailbox");
    c.ok("NOOP").await;
    let st = c.ok("STATUS Drafts (MESSAGES UNSEEN)").await;
    assert_eq!(st[0], "* STATUS Drafts (MESSAGES 3 UNSEEN 2)");
}

#[tokio::test]
async fn broken_appends_store_nothing() {
    let (srv, mut c) = alice().await;
    let m = message("broken");
    // Syntax error after the literal.
    c.send(&format!("b1 APPEND INBOX {{{}}}", m.len())).await;
    assert_eq!(c.line().await, "+ Ready for literal data");
    c.send_raw(&m).await;
    c.send_raw(b" (garbage\r\n").await;
    assert!(c.line().await.starts_with("b1 BAD "));
    // Connection dropped in the middle of the literal.
    let mut d = srv.login(USER, PASS).await;
    d.send(&format!("b2 APPEND INBOX {{{}}}", m.len() * 10))
        .await;
    assert_eq!(d.line().await, "+ Ready for literal data");
    d.send_raw(&m).await;
    drop(d);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let st = c.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(st[0], "* STATUS INBOX (MESSAGES 0)");
}

#[tokio::test]
async fn appendlimit_and_quota() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.max_message_size = 3000;
    })
    .await;
    srv.add_user_with_quota(USER, PASS, Some(4000)).await;
    let mut c = srv.login(USER, PASS).await;
    let caps = c.ok("CAPABILITY").await;
    assert!(caps[0].contains(" APPENDLIMIT=3000"), "{}", caps[0]);

    c.send("q1 APPEND INBOX {3001}").await;
    assert_eq!(
        c.line().await,
        "q1 NO [TOOBIG] Message exceeds the size limit of 3000 octets"
    );
    let big = vec![b'x'; 2500];
    let lines = c.append("INBOX", "", &big).await;
    assert!(lines.last().unwrap().contains("OK [APPENDUID"), "{lines:?}");
    // 2500 + 2500 > 4000: refused, nothing stored.
    c.send("q3 APPEND INBOX {2500}").await;
    assert_eq!(c.line().await, "q3 NO [OVERQUOTA] Quota exceeded");
    // MULTIAPPEND whose sum is over quota stores none of its messages.
    let mut cmd = b"q4 APPEND INBOX {1000+}\r\n".to_vec();
    cmd.extend_from_slice(&[b'y'; 1000]);
    cmd.extend_from_slice(b" {1000+}\r\n");
    cmd.extend_from_slice(&[b'z'; 1000]);
    cmd.extend_from_slice(b"\r\n");
    c.send_raw(&cmd).await;
    assert_eq!(c.line().await, "q4 NO [OVERQUOTA] Quota exceeded");
    c.ok("NOOP").await;
    let st = c.ok("STATUS INBOX (MESSAGES SIZE)").await;
    assert_eq!(st[0], "* STATUS INBOX (MESSAGES 1 SIZE 2500)");
}

#[tokio::test]
async fn large_append_streams() {
    let (_srv, mut c) = alice().await;
    let mut m = message("large").to_vec();
    let line = [b'a'; 998];
    while m.len() < 5_000_000 {
        m.extend_from_slice(&line);
        m.extend_from_slice(b"\r\n");
    }
    let lines = c.append("Archive", "", &m).await;
    assert!(lines.last().unwrap().contains("OK [APPENDUID"), "{lines:?}");
    let st = c.ok("STATUS Archive (MESSAGES SIZE)").await;
    assert_eq!(
        st[0],
        format!("* STATUS Archive (MESSAGES 1 SIZE {})", m.len())
    );
}

#[tokio::test]
async fn idle_sees_other_sessions_changes() {
    let (srv, mut c) = alice().await;
    c.ok("SELECT INBOX").await;
    c.send("i1 IDLE").await;
    assert_eq!(c.line().await, "+ idling");

    let mut d = srv.login(USER, PASS).await;
    d.append("INBOX", "", &message("new")).await;
    assert_eq!(c.line().await, "* 1 EXISTS");
    assert_eq!(c.line().await, "* 1 RECENT");

    d.ok("SELECT INBOX").await;
    d.ok("STORE 1 +FLAGS (\\Flagged)").await;
    assert_eq!(c.line().await, "* 1 FETCH (FLAGS (\\Flagged \\Recent))");
    d.ok("STORE 1 +FLAGS (\\Deleted)").await;
    assert_eq!(
        c.line().await,
        "* 1 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))"
    );
    d.ok("EXPUNGE").await;
    assert_eq!(c.line().await, "* 1 EXPUNGE");

    c.send("DONE").await;
    assert_eq!(c.line().await, "i1 OK IDLE terminated");
    c.send("i2 IDLE").await;
    assert_eq!(c.line().await, "+ idling");
    c.send("NOT-DONE").await;
    assert_eq!(c.line().await, "i2 BAD Expected DONE");
}

#[tokio::test]
async fn idle_autologout() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.idle_timeout = Duration::from_millis(500);
    })
    .await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    c.send("i1 IDLE").await;
    assert_eq!(c.line().await, "+ idling");
    assert_eq!(c.line().await, "* BYE Autologout; idle for too long");
    assert!(c.try_line().await.is_none());
}

#[tokio::test]
async fn other_session_changes_reported_after_commands() {
    let (srv, mut c) = alice().await;
    c.ok("SELECT INBOX").await;
    let mut d = srv.login(USER, PASS).await;
    d.append("INBOX", "", &message("a")).await;
    d.append("INBOX", "", &message("b")).await;
    let lines = c.ok("NOOP").await;
    assert_eq!(lines[0], "* 2 EXISTS");
    d.ok("SELECT INBOX").await;
    d.ok("STORE 1 +FLAGS (\\Deleted)").await;
    d.ok("EXPUNGE").await;
    // No EXPUNGE during FETCH by sequence number (RFC 9051 §7.5.1)...
    let lines = c.ok("FETCH 1:* (UID)").await;
    assert!(!lines.iter().any(|l| l.contains("EXPUNGE")), "{lines:#?}");
    // ... but after the next command that allows it.
    let lines = c.ok("NOOP").await;
    assert_eq!(lines[0], "* 1 EXPUNGE");
}
