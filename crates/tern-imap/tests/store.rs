//! STORE and UID STORE: replace/add/remove, .SILENT, keywords, read-only, and RFC 7162
//! UNCHANGEDSINCE with `OK [MODIFIED ...]`.

mod common;

use common::{Client, TestServer, message};

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

/// Alice with three messages in INBOX, selected (all three are \Recent to her).
async fn three() -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    for s in ["one", "two", "three"] {
        c.append("INBOX", "", &message(s)).await;
    }
    c.ok("SELECT INBOX").await;
    (srv, c)
}

fn untagged(lines: &[String]) -> Vec<&str> {
    lines[..lines.len() - 1]
        .iter()
        .map(String::as_str)
        .collect()
}

/// The MODSEQ value in a FETCH line.
fn modseq(line: &str) -> u64 {
    line.split("MODSEQ (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no MODSEQ in {line}"))
}

#[tokio::test]
async fn store_forms() {
    let (_srv, mut c) = three().await;
    let lines = c.ok("STORE 1 FLAGS (\\Seen $Work)").await;
    assert_eq!(
        untagged(&lines),
        ["* 1 FETCH (FLAGS (\\Seen $Work \\Recent))"]
    );
    assert_eq!(lines[1], "a6 OK STORE completed");
    assert_eq!(
        untagged(&c.ok("STORE 1 +FLAGS.SILENT (\\Flagged)").await),
        Vec::<&str>::new()
    );
    // Every addressed message is reported, changed or not.
    let lines = c.ok("STORE 1:2 -FLAGS (\\Seen)").await;
    assert_eq!(
        untagged(&lines),
        [
            "* 1 FETCH (FLAGS (\\Flagged $Work \\Recent))",
            "* 2 FETCH (FLAGS (\\Recent))"
        ]
    );
    let lines = c
        .ok("UID STORE 2 +FLAGS (\\Answered NonJunk $Label1)")
        .await;
    assert_eq!(
        untagged(&lines),
        ["* 2 FETCH (FLAGS (\\Answered $Label1 NonJunk \\Recent) UID 2)"]
    );
    // \Recent cannot be stored; unknown UIDs are ignored.
    let lines = c.ok("UID STORE 3,40 FLAGS (\\Recent \\Draft)").await;
    assert_eq!(
        untagged(&lines),
        ["* 3 FETCH (FLAGS (\\Draft \\Recent) UID 3)"]
    );
    let lines = c.ok("FETCH 1:3 FLAGS").await;
    assert_eq!(
        untagged(&lines),
        [
            "* 1 FETCH (FLAGS (\\Flagged $Work \\Recent))",
            "* 2 FETCH (FLAGS (\\Answered $Label1 NonJunk \\Recent))",
            "* 3 FETCH (FLAGS (\\Draft \\Recent))"
        ]
    );
    assert!(
        c.bad("STORE 4 +FLAGS (\\Seen)")
            .await
            .contains("Invalid message sequence number")
    );
}

#[tokio::test]
async fn read_only_mailbox_refuses_store() {
    let (srv, _c) = three().await;
    let mut d = srv.login(USER, PASS).await;
    d.ok("EXAMINE INBOX").await;
    let no = d.no("STORE 1 +FLAGS (\\Seen)").await;
    assert!(no.contains("read-only"), "{no}");
    let lines = d.ok("FETCH 1 FLAGS").await;
    assert_eq!(lines[0], "* 1 FETCH (FLAGS ())");
}

#[tokio::test]
async fn unchangedsince_reports_modified() {
    let (srv, mut c) = three().await;
    let lines = c.ok("FETCH 1:3 (MODSEQ)").await;
    assert!(lines[0].starts_with("* OK [HIGHESTMODSEQ "), "{lines:#?}");
    let since = lines[1..4].iter().map(|l| modseq(l)).max().unwrap();

    // Another session changes message 2 after `since`.
    let mut d = srv.login(USER, PASS).await;
    d.ok("SELECT INBOX").await;
    d.ok("STORE 2 +FLAGS (\\Flagged)").await;

    let lines = c
        .ok(&format!(
            "STORE 1:3 (UNCHANGEDSINCE {since}) +FLAGS (\\Deleted)"
        ))
        .await;
    let tagged = lines.last().unwrap();
    assert!(
        tagged.starts_with("a") && tagged.contains(" OK [MODIFIED 2] "),
        "{lines:#?}"
    );
    let f1 = lines
        .iter()
        .find(|l| l.starts_with("* 1 FETCH"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let f3 = lines.iter().find(|l| l.starts_with("* 3 FETCH")).unwrap();
    // CONDSTORE is on: UID and MODSEQ ride along (RFC 7162 §3.1).
    assert_eq!(
        *f1,
        format!(
            "* 1 FETCH (FLAGS (\\Deleted \\Recent) UID 1 MODSEQ ({}))",
            modseq(f1)
        )
    );
    assert_eq!(
        *f3,
        format!(
            "* 3 FETCH (FLAGS (\\Deleted \\Recent) UID 3 MODSEQ ({}))",
            modseq(f3)
        )
    );
    assert!(modseq(f1) > since && modseq(f3) > since);
    // Message 2 was not changed by this STORE; its other change is announced.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* 2 FETCH (") && l.contains("FLAGS (\\Flagged \\Recent)")),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("* 2 FETCH") && l.contains("Deleted"))
    );

    // UID STORE reports UIDs in MODIFIED; .SILENT still sends MODSEQ under CONDSTORE.
    let lines = c
        .ok("UID STORE 1:3 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Seen)")
        .await;
    assert!(
        lines.last().unwrap().contains("[MODIFIED 1:3]"),
        "{lines:#?}"
    );
    let lines = c.ok("STORE 1 +FLAGS.SILENT (\\Seen)").await;
    let m = modseq(&lines[0]);
    assert_eq!(lines[0], format!("* 1 FETCH (UID 1 MODSEQ ({m}))"));
}
