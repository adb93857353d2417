//! FETCH and UID FETCH: every item on a multipart message with an attached message/rfc822,
//! section forms, partials, BINARY, the \Seen side effect, CHANGEDSINCE/VANISHED.

mod common;

use common::{Client, TestServer, message};

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

/// multipart/mixed: 1 multipart/mixed (1.1 text/plain, 1.2 message/rfc822), 2 base64.
pub const REPORT: &str = "From: Alice <alice@example.test>\r\n\
To: Bob <bob@example.test>\r\n\
Subject: Report\r\n\
Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <outer@example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/mixed; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
See the forwarded note.\r\n\
--inner\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: Carol <carol@example.test>\r\n\
Subject: Original note\r\n\
Message-ID: <note@example.test>\r\n\
\r\n\
The original text.\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/octet-stream; name=\"data.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAwQ=\r\n\
--outer--\r\n";

async fn alice() -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let c = srv.login(USER, PASS).await;
    (srv, c)
}

/// APPENDs with a fixed INTERNALDATE; asserts OK.
pub async fn append_dated(c: &mut Client, mailbox: &str, date: &str, msg: &[u8]) {
    let tag = c.tag();
    c.send(&format!(
        "{tag} APPEND {mailbox} \"{date}\" {{{}+}}",
        msg.len()
    ))
    .await;
    c.send_raw(msg).await;
    c.send_raw(b"\r\n").await;
    let lines = c.until(&format!("{tag} ")).await;
    assert!(
        lines.last().unwrap().starts_with(&format!("{tag} OK")),
        "{lines:#?}"
    );
}

/// Alice with REPORT as message 1 and a small message as 2 in INBOX, selected.
async fn with_report() -> (TestServer, Client) {
    let (srv, mut c) = alice().await;
    append_dated(
        &mut c,
        "INBOX",
        "04-Dec-2026 11:00:00 +0100",
        REPORT.as_bytes(),
    )
    .await;
    append_dated(
        &mut c,
        "INBOX",
        "05-Dec-2026 09:30:00 -0500",
        &message("two"),
    )
    .await;
    c.ok("SELECT INBOX").await;
    (srv, c)
}

const ENVELOPE: &str = "ENVELOPE (\"Fri, 04 Dec 2026 10:00:00 +0000\" \"Report\" \
((\"Alice\" NIL \"alice\" \"example.test\")) ((\"Alice\" NIL \"alice\" \"example.test\")) \
((\"Alice\" NIL \"alice\" \"example.test\")) ((\"Bob\" NIL \"bob\" \"example.test\")) NIL NIL NIL \
\"<outer@example.test>\")";

const INNER_ENVELOPE: &str = "(NIL \"Original note\" ((\"Carol\" NIL \"carol\" \"example.test\")) \
((\"Carol\" NIL \"carol\" \"example.test\")) ((\"Carol\" NIL \"carol\" \"example.test\")) \
NIL NIL NIL NIL \"<note@example.test>\")";

#[tokio::test]
async fn fetch_every_item() {
    let (_srv, mut c) = with_report().await;
    let lines = c
        .ok("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID)")
        .await;
    let body = format!(
        "BODY (((\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 23 1)\
(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 111 {INNER_ENVELOPE} \
(\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 18 1) 5) \"mixed\")\
(\"application\" \"octet-stream\" (\"NAME\" \"data.bin\") NIL NIL \"base64\" 8) \"mixed\")"
    );
    let bodystructure = format!(
        "BODYSTRUCTURE (((\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 23 1 NIL NIL NIL NIL)\
(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 111 {INNER_ENVELOPE} \
(\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 18 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) \
\"mixed\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)\
(\"application\" \"octet-stream\" (\"NAME\" \"data.bin\") NIL NIL \"base64\" 8 NIL NIL NIL NIL) \
\"mixed\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)"
    );
    assert_eq!(
        lines[0],
        format!(
            "* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \"04-Dec-2026 11:00:00 +0100\" RFC822.SIZE {} \
             {ENVELOPE} {body} {bodystructure} UID 1)",
            REPORT.len()
        )
    );
    assert_eq!(lines.len(), 2);

    // OBJECTID, PREVIEW, SAVEDATE; MODSEQ turns CONDSTORE on (and says so once).
    let lines = c
        .ok("FETCH 1 (EMAILID THREADID PREVIEW SAVEDATE MODSEQ)")
        .await;
    assert!(lines[0].starts_with("* OK [HIGHESTMODSEQ "), "{lines:#?}");
    let l = &lines[1];
    let emailid = l
        .strip_prefix("* 1 FETCH (EMAILID (M")
        .and_then(|r| r.get(..24))
        .unwrap_or_else(|| panic!("{l}"));
    assert!(emailid.bytes().all(|b| b.is_ascii_hexdigit()), "{l}");
    assert!(l.contains(" THREADID (T"), "{l}");
    assert!(
        l.contains(" PREVIEW \"See the forwarded note.\" SAVEDATE NIL MODSEQ ("),
        "{l}"
    );
    // The same bytes in another mailbox have the same EMAILID (RFC 8474 §5.1).
    c.ok("COPY 1 Archive").await;
    c.ok("SELECT Archive").await;
    let again = c.ok("FETCH 1 EMAILID").await;
    assert!(
        again[0].contains(&format!("EMAILID (M{emailid})")),
        "{again:#?}"
    );
}

#[tokio::test]
async fn sections_partials_and_binary() {
    let (_srv, mut c) = with_report().await;
    let lines = c
        .ok("FETCH 1 (BODY.PEEK[1.2.HEADER] BODY.PEEK[1.1] BODY.PEEK[1.2.TEXT] BODY.PEEK[2] \
             BODY.PEEK[1.MIME] BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[HEADER.FIELDS.NOT (From To Date Message-ID MIME-Version Content-Type)])")
        .await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BODY[1.2.HEADER] {93}\r\nFrom: Carol <carol@example.test>\r\nSubject: Original note\r\n\
         Message-ID: <note@example.test>\r\n\r\n BODY[1.1] {23}\r\nSee the forwarded note. \
         BODY[1.2.TEXT] {18}\r\nThe original text. BODY[2] {8}\r\nAAECAwQ= \
         BODY[1.MIME] {51}\r\nContent-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n \
         BODY[HEADER.FIELDS (Subject)] {19}\r\nSubject: Report\r\n\r\n \
         BODY[HEADER.FIELDS.NOT (From To Date Message-ID MIME-Version Content-Type)] {19}\r\nSubject: Report\r\n\r\n)"
    );
    // The whole encapsulated message, its header, a missing part, a missing section form.
    let lines = c
        .ok("FETCH 1 (BODY.PEEK[1.2] BODY.PEEK[9] BODY.PEEK[1.1.HEADER] BODY.PEEK[HEADER])")
        .await;
    let inner = "From: Carol <carol@example.test>\r\nSubject: Original note\r\n\
                 Message-ID: <note@example.test>\r\n\r\nThe original text.";
    let header_len = REPORT.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(
        lines[0],
        format!(
            "* 1 FETCH (BODY[1.2] {{{}}}\r\n{inner} BODY[9] NIL BODY[1.1.HEADER] NIL BODY[HEADER] {{{header_len}}}\r\n{})",
            inner.len(),
            &REPORT[..header_len]
        )
    );
    // Partials: the origin is echoed, the count is not.
    let lines = c
        .ok("FETCH 1 (BODY.PEEK[]<0.4> BODY.PEEK[1.1]<4.3> BODY.PEEK[TEXT]<100000.5>)")
        .await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BODY[]<0> {4}\r\nFrom BODY[1.1]<4> {3}\r\nthe BODY[TEXT]<100000> {0}\r\n)"
    );
    // BINARY decodes base64; NUL octets need literal8 (RFC 3516).
    let lines = c
        .ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1.1]<0.3> BINARY.SIZE[1.2])")
        .await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BINARY[2] ~{5}\r\n\0\u{1}\u{2}\u{3}\u{4} BINARY.SIZE[2] 5 BINARY[1.1]<0> {3}\r\nSee \
         BINARY.SIZE[1.2] 111)"
    );
    // RFC822 forms.
    let lines = c.ok("FETCH 2 (RFC822.HEADER RFC822.SIZE)").await;
    let two = message("two");
    let two = String::from_utf8(two).unwrap();
    let h = two.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(
        lines[0],
        format!(
            "* 2 FETCH (RFC822.HEADER {{{h}}}\r\n{} RFC822.SIZE {})",
            &two[..h],
            two.len()
        )
    );
}

#[tokio::test]
async fn unknown_transfer_encoding_fails_binary() {
    let (_srv, mut c) = alice().await;
    let msg = "Subject: odd\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n";
    c.append("INBOX", "", msg.as_bytes()).await;
    c.ok("SELECT INBOX").await;
    let no = c.no("FETCH 1 BINARY.PEEK[1]").await;
    assert!(no.contains("[UNKNOWN-CTE]"), "{no}");
    // BODY[] still works: only BINARY decodes.
    let lines = c.ok("FETCH 1 BODY.PEEK[1]").await;
    assert_eq!(lines[0], "* 1 FETCH (BODY[1] {7}\r\nbegin\r\n)");
}

#[tokio::test]
async fn body_fetch_sets_seen_unless_peek_or_read_only() {
    let (srv, mut c) = with_report().await;
    let lines = c.ok("FETCH 1 BODY.PEEK[1.1]").await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BODY[1.1] {23}\r\nSee the forwarded note.)"
    );
    let lines = c.ok("FETCH 1 BODY[1.1]").await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BODY[1.1] {23}\r\nSee the forwarded note. FLAGS (\\Seen \\Recent))"
    );
    // Already seen: no FLAGS the second time.
    let lines = c.ok("FETCH 1 BODY[1.1]").await;
    assert_eq!(
        lines[0],
        "* 1 FETCH (BODY[1.1] {23}\r\nSee the forwarded note.)"
    );
    // RFC822.TEXT sets \Seen too; asked-for FLAGS show the new value.
    let lines = c.ok("FETCH 2 (FLAGS RFC822.TEXT)").await;
    assert!(
        lines[0].starts_with("* 2 FETCH (FLAGS (\\Seen \\Recent) RFC822.TEXT {"),
        "{lines:#?}"
    );
    assert!(!lines[0].contains("FLAGS (\\Seen \\Recent))"));

    // EXAMINE: nothing changes.
    c.ok("STORE 1:2 -FLAGS (\\Seen)").await;
    let mut d = srv.login(USER, PASS).await;
    d.ok("EXAMINE INBOX").await;
    let lines = d.ok("FETCH 1 (BODY[1.1] BINARY[2])").await;
    assert!(!lines[0].contains("FLAGS"), "{lines:#?}");
    let lines = d.ok("FETCH 1 FLAGS").await;
    assert_eq!(lines[0], "* 1 FETCH (FLAGS ())");
}

#[tokio::test]
async fn uid_fetch_and_sequence_errors() {
    let (_srv, mut c) = with_report().await;
    let lines = c.ok("UID FETCH 2 FLAGS").await;
    assert_eq!(
        lines,
        vec![
            "* 2 FETCH (UID 2 FLAGS (\\Recent))",
            "a5 OK FETCH completed"
        ]
    );
    let lines = c.ok("UID FETCH 1:* (UID RFC822.SIZE)").await;
    assert_eq!(
        lines[0],
        format!("* 1 FETCH (UID 1 RFC822.SIZE {})", REPORT.len())
    );
    assert_eq!(
        lines[1],
        format!("* 2 FETCH (UID 2 RFC822.SIZE {})", message("two").len())
    );
    // RFC822 is BODY[] under its old name, and sets \Seen.
    let two = String::from_utf8(message("two")).unwrap();
    let lines = c.ok("UID FETCH 2 RFC822").await;
    assert_eq!(
        lines[0],
        format!(
            "* 2 FETCH (UID 2 RFC822 {{{}}}\r\n{two} FLAGS (\\Seen \\Recent))",
            two.len()
        )
    );
    // Non-existent UIDs are ignored; "n:*" includes the last message.
    assert_eq!(c.ok("UID FETCH 50:60 FLAGS").await.len(), 1);
    let lines = c.ok("UID FETCH 50:* UID").await;
    assert_eq!(lines[0], "* 2 FETCH (UID 2)");
    // Sequence numbers beyond EXISTS are an error.
    let bad = c.bad("FETCH 3 FLAGS").await;
    assert!(bad.contains("Invalid message sequence number"), "{bad}");
    let lines = c.ok("FETCH 2:1 (UID)").await;
    assert_eq!(&lines[..2], ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"]);
    // An empty mailbox: "1:*" addresses nothing.
    c.ok("SELECT Drafts").await;
    assert_eq!(c.ok("FETCH 1:* FLAGS").await.len(), 1);
    assert!(
        c.bad("FETCH 1 FLAGS")
            .await
            .contains("Invalid message sequence number")
    );
}

/// The number after `[CODE ` in the lines.
fn code_num(lines: &[String], code: &str) -> u64 {
    let l = lines
        .iter()
        .find(|l| l.contains(&format!("[{code} ")))
        .unwrap_or_else(|| panic!("no {code} in {lines:#?}"));
    let start = l.find(&format!("[{code} ")).unwrap() + code.len() + 2;
    l[start..].split(']').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn changedsince_and_vanished() {
    let (_srv, mut c) = alice().await;
    for s in ["one", "two", "three"] {
        c.append("INBOX", "", &message(s)).await;
    }
    let bad = c.bad("UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)").await;
    assert!(bad.contains("No mailbox selected"), "{bad}");
    c.ok("ENABLE QRESYNC").await;
    let lines = c.ok("SELECT INBOX").await;
    let base = code_num(&lines, "HIGHESTMODSEQ");
    let lines = c.ok("STORE 2 +FLAGS.SILENT (\\Flagged)").await;
    let changed = lines[0]
        .split("MODSEQ (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(changed > base);
    let lines = c
        .ok(&format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {base})"))
        .await;
    assert_eq!(
        untagged(&lines),
        vec![format!(
            "* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ ({changed}))"
        )]
    );
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let lines = c.ok("EXPUNGE").await;
    assert_eq!(lines[0], "* VANISHED 1");
    let lines = c
        .ok(&format!(
            "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {base} VANISHED)"
        ))
        .await;
    assert_eq!(lines[0], "* VANISHED (EARLIER) 1");
    assert_eq!(
        lines[1],
        format!("* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ ({changed}))")
    );
    assert_eq!(lines.len(), 3);
    // VANISHED needs UID FETCH with CHANGEDSINCE.
    c.bad("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").await;
}

/// The untagged lines of a command (all but the tagged one).
fn untagged(lines: &[String]) -> Vec<String> {
    lines[..lines.len() - 1].to_vec()
}
