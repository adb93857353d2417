//! SEARCH (rev1 and ESEARCH responses, SAVE and `$`, BADCHARSET, MODSEQ), SORT and THREAD.

mod common;

use common::{Client, TestServer};

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

/// A message with the given headers and body.
fn msg(from: &str, subject: &str, date: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Team <team@example.test>\r\nSubject: {subject}\r\nDate: {date}\r\n{extra}\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn append_dated(c: &mut Client, date: &str, flags: &str, m: &[u8]) {
    let tag = c.tag();
    c.send(&format!(
        "{tag} APPEND INBOX ({flags}) \"{date}\" {{{}+}}",
        m.len()
    ))
    .await;
    c.send_raw(m).await;
    c.send_raw(b"\r\n").await;
    let lines = c.until(&format!("{tag} ")).await;
    assert!(lines.last().unwrap().contains(" OK "), "{lines:#?}");
}

/// Five messages: (1) Carol "Budget 2027" 1 Dec; (2) Bob "Lunch" seen+flagged 2 Dec;
/// (3) Dave "Re: Budget 2027" replying to 1, 3 Dec, body "the numbers"; (4) Eve "Other"
/// 30 Nov; (5) =?UTF-8?B?...?= "Grüße" 4 Dec, base64 body.
async fn mailbox() -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    let msgs = [
        (
            "01-Dec-2026 09:00:00 +0000",
            "",
            msg(
                "Carol <carol@example.test>",
                "Budget 2027",
                "Tue, 01 Dec 2026 09:00:00 +0000",
                "Message-ID: <b1@example.test>\r\n",
                "Draft attached.",
            ),
        ),
        (
            "02-Dec-2026 09:00:00 +0000",
            "\\Seen \\Flagged",
            msg(
                "Bob <bob@example.test>",
                "Lunch",
                "Wed, 02 Dec 2026 09:00:00 +0000",
                "Message-ID: <l1@example.test>\r\n",
                "Noon?",
            ),
        ),
        (
            "03-Dec-2026 09:00:00 +0000",
            "",
            msg(
                "Dave <dave@example.test>",
                "Re: Budget 2027",
                "Thu, 03 Dec 2026 09:00:00 +0000",
                "Message-ID: <b2@example.test>\r\nIn-Reply-To: <b1@example.test>\r\nReferences: <b1@example.test>\r\n",
                "Here are the NUMBERS.",
            ),
        ),
        (
            "30-Nov-2026 09:00:00 +0000",
            "",
            msg(
                "Eve <eve@example.test>",
                "Other",
                "Mon, 30 Nov 2026 23:30:00 -0500",
                "Message-ID: <o1@example.test>\r\n",
                "Unrelated.",
            ),
        ),
        (
            "04-Dec-2026 09:00:00 +0000",
            "",
            msg(
                "=?UTF-8?Q?J=C3=BCrgen?= <j@example.test>",
                "=?UTF-8?B?R3LDvMOfZQ==?=",
                "Fri, 04 Dec 2026 09:00:00 +0000",
                "Message-ID: <g1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
                "U2Now7ZuZW4gR3LDvMOfZQ==",
            ),
        ),
    ];
    for (date, flags, m) in msgs {
        append_dated(&mut c, date, flags, &m).await;
    }
    c.ok("SELECT INBOX").await;
    (srv, c)
}

/// Sends a search and returns its single untagged result line.
async fn one(c: &mut Client, cmd: &str) -> String {
    let lines = c.ok(cmd).await;
    assert_eq!(lines.len(), 2, "{cmd}: {lines:#?}");
    lines[0].clone()
}

#[tokio::test]
async fn search_keys() {
    let (_srv, mut c) = mailbox().await;
    let cases: &[(&str, &str)] = &[
        ("SEARCH ALL", "* SEARCH 1 2 3 4 5"),
        ("SEARCH SEEN", "* SEARCH 2"),
        ("SEARCH UNSEEN UNFLAGGED", "* SEARCH 1 3 4 5"),
        ("SEARCH SUBJECT budget", "* SEARCH 1 3"),
        ("SEARCH NOT SUBJECT budget", "* SEARCH 2 4 5"),
        ("SEARCH OR SEEN FROM carol", "* SEARCH 1 2"),
        // 8-bit strings are taken as UTF-8 even without CHARSET (IMAP4rev2's default).
        ("SEARCH FROM \"jürgen\"", "* SEARCH 5"),
        ("SEARCH CHARSET UTF-8 FROM \"J\u{fc}rgen\"", "* SEARCH 5"),
        ("SEARCH SUBJECT \"GRÜ\"", "* SEARCH 5"),
        ("SEARCH TO team@example", "* SEARCH 1 2 3 4 5"),
        ("SEARCH HEADER In-Reply-To b1@example.test", "* SEARCH 3"),
        ("SEARCH HEADER References \"\"", "* SEARCH 3"),
        ("SEARCH BODY numbers", "* SEARCH 3"),
        ("SEARCH BODY budget", "* SEARCH"),
        ("SEARCH TEXT budget", "* SEARCH 1 3"),
        ("SEARCH BODY \"schönen\"", "* SEARCH 5"),
        ("SEARCH SINCE 2-Dec-2026", "* SEARCH 2 3 5"),
        ("SEARCH BEFORE 1-Dec-2026", "* SEARCH 4"),
        ("SEARCH ON 3-Dec-2026", "* SEARCH 3"),
        // Eve's Date is 30 Nov in its own zone (1 Dec UTC).
        ("SEARCH SENTON 30-Nov-2026", "* SEARCH 4"),
        ("SEARCH SENTSINCE 3-Dec-2026", "* SEARCH 3 5"),
        ("SEARCH SENTBEFORE 2-Dec-2026", "* SEARCH 1 4"),
        ("SEARCH LARGER 200 SMALLER 100000", "* SEARCH 3 5"),
        ("SEARCH 2:4 UNSEEN", "* SEARCH 3 4"),
        ("SEARCH UID 3:4", "* SEARCH 3 4"),
        ("UID SEARCH OR SEEN KEYWORD $None", "* SEARCH 2"),
        ("SEARCH NEW", "* SEARCH 1 3 4 5"),
        ("SEARCH OLD", "* SEARCH"),
        ("SEARCH YOUNGER 315360000", "* SEARCH 1 2 3 4 5"),
        ("SEARCH OLDER 315360000", "* SEARCH"),
        ("SEARCH (SEEN FLAGGED) ANSWERED", "* SEARCH"),
    ];
    for (cmd, want) in cases {
        assert_eq!(one(&mut c, cmd).await, *want, "{cmd}");
    }
    // A UTF-8 literal criterion.
    let tag = c.tag();
    let needle = "Grüße";
    c.send(&format!(
        "{tag} SEARCH CHARSET UTF-8 SUBJECT {{{}+}}",
        needle.len()
    ))
    .await;
    c.send_raw(needle.as_bytes()).await;
    c.send_raw(b" BODY ").await;
    let body = "schönen";
    c.send(&format!("{{{}+}}", body.len())).await;
    c.send_raw(body.as_bytes()).await;
    c.send_raw(b"\r\n").await;
    let lines = c.until(&format!("{tag} ")).await;
    assert_eq!(lines[0], "* SEARCH 5", "{lines:#?}");

    let no = c.no("SEARCH CHARSET ISO-8859-2 ALL").await;
    assert!(no.contains("[BADCHARSET (UTF-8 US-ASCII)]"), "{no}");
    let lines = c.ok("SEARCH MODSEQ 1").await;
    assert!(lines[0].starts_with("* OK [HIGHESTMODSEQ "), "{lines:#?}");
    assert!(
        lines[1].starts_with("* SEARCH 1 2 3 4 5 (MODSEQ "),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn esearch_and_saved_results() {
    let (_srv, mut c) = mailbox().await;
    let tag = "a8";
    let lines = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN").await;
    assert_eq!(
        lines[0],
        format!("* ESEARCH (TAG \"{tag}\") MIN 1 MAX 5 ALL 1,3:5 COUNT 4")
    );
    let lines = c.ok("UID SEARCH RETURN (COUNT) SEEN").await;
    assert_eq!(lines[0], "* ESEARCH (TAG \"a9\") UID COUNT 1");
    let lines = c.ok("SEARCH RETURN () SUBJECT budget").await;
    assert_eq!(lines[0], "* ESEARCH (TAG \"a10\") ALL 1,3");
    let lines = c
        .ok("SEARCH RETURN (MIN MAX) SUBJECT nothing-matches")
        .await;
    assert_eq!(lines[0], "* ESEARCH (TAG \"a11\")");

    // SAVE alone: no ESEARCH; `$` then names those messages.
    let lines = c.ok("SEARCH RETURN (SAVE) SUBJECT budget").await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(one(&mut c, "SEARCH $").await, "* SEARCH 1 3");
    let lines = c.ok("FETCH $ (UID)").await;
    assert_eq!(&lines[..2], ["* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)"]);
    assert_eq!(one(&mut c, "UID SEARCH UID $ NOT 1").await, "* SEARCH 3");
    c.ok("STORE $ +FLAGS.SILENT (\\Answered)").await;
    assert_eq!(one(&mut c, "SEARCH ANSWERED").await, "* SEARCH 1 3");
    // SAVE with MIN keeps only the minimum.
    c.ok("SEARCH RETURN (SAVE MIN) UNSEEN").await;
    assert_eq!(one(&mut c, "SEARCH $").await, "* SEARCH 1");
    // A failed SEARCH with SAVE empties `$`.
    c.no("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL").await;
    assert_eq!(one(&mut c, "SEARCH $").await, "* SEARCH");

    // IMAP4rev2: always ESEARCH.
    let (_srv2, mut d) = mailbox().await;
    d.ok("UNSELECT").await;
    d.ok("ENABLE IMAP4rev2").await;
    d.ok("SELECT INBOX").await;
    let lines = d.ok("UID SEARCH SUBJECT budget").await;
    assert!(lines[0].starts_with("* ESEARCH (TAG \"a"), "{lines:#?}");
    assert!(lines[0].ends_with("\") UID ALL 1,3"), "{lines:#?}");
}

#[tokio::test]
async fn sort() {
    let (_srv, mut c) = mailbox().await;
    // Base subjects: BUDGET 2027 (1, 3), GRÜSSE/GRÜßE (5), LUNCH (2), OTHER (4).
    let cases: &[(&str, &str)] = &[
        ("SORT (DATE) UTF-8 ALL", "* SORT 4 1 2 3 5"),
        ("SORT (REVERSE DATE) UTF-8 ALL", "* SORT 5 3 2 1 4"),
        ("SORT (ARRIVAL) US-ASCII ALL", "* SORT 4 1 2 3 5"),
        ("SORT (SUBJECT) UTF-8 ALL", "* SORT 1 3 5 2 4"),
        ("SORT (FROM) UTF-8 UNSEEN", "* SORT 1 3 4 5"),
        ("SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 2 1 3 4 5"),
        (
            "SORT (SIZE REVERSE ARRIVAL) UTF-8 SUBJECT budget",
            "* SORT 1 3",
        ),
        (
            "UID SORT (REVERSE SUBJECT DATE) UTF-8 ALL",
            "* SORT 4 2 5 1 3",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(one(&mut c, cmd).await, *want, "{cmd}");
    }
    assert!(c.no("SORT (DATE) KOI8-R ALL").await.contains("BADCHARSET"));
}

#[tokio::test]
async fn thread() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    // 1 Plan; 2 Re: Plan (refs 1); 3 Other; 4 Re: Plan (refs 1 2); 5 Re: Plan (In-Reply-To
    // 1 only); 6 Lost (refs a missing message); 7 Fwd: Other without references.
    let set: &[(&str, &str, &str)] = &[
        ("Plan", "<p1@x>", ""),
        ("Re: Plan", "<p2@x>", "References: <p1@x>\r\n"),
        ("Other", "<o1@x>", ""),
        ("Re: Plan", "<p4@x>", "References: <p1@x> <p2@x>\r\n"),
        ("Re: Plan", "<p5@x>", "In-Reply-To: <p1@x>\r\n"),
        ("Lost", "<l1@x>", "References: <gone@x>\r\n"),
        ("Fwd: Other", "<o2@x>", ""),
    ];
    for (i, (subject, id, extra)) in set.iter().enumerate() {
        let m = msg(
            "a@example.test",
            subject,
            &format!("Tue, 0{} Dec 2026 09:00:00 +0000", i + 1),
            &format!("Message-ID: {id}\r\n{extra}"),
            "x",
        );
        c.append("INBOX", "", &m).await;
    }
    c.ok("SELECT INBOX").await;
    assert_eq!(
        one(&mut c, "THREAD REFERENCES UTF-8 ALL").await,
        "* THREAD (1 (2 4)(5))(3 7)(6)"
    );
    assert_eq!(
        one(&mut c, "THREAD ORDEREDSUBJECT UTF-8 ALL").await,
        "* THREAD (1 (2)(4)(5))(3 7)(6)"
    );
    assert_eq!(
        one(&mut c, "UID THREAD REFERENCES US-ASCII SUBJECT plan").await,
        "* THREAD (1 (2 4)(5))"
    );
    assert_eq!(
        one(&mut c, "THREAD REFERENCES UTF-8 SUBJECT nothing").await,
        "* THREAD"
    );
}
