//! Inbound SMTP on the MX: recipient checks at RCPT against the directory (unknown, disabled,
//! quota with and without SIZE, size, recipient limit), aliases and groups, one blob for all
//! local recipients, DATA and BDAT, the trace fields, DSN parameters, pipelining, and that a
//! `250` means the message is in the mailboxes. Real store and internal directory.

mod common;

use common::smtp::SmtpTest;
use common::{dot_stuff, message, strip_trace};
use tern_smtp::Mode;

#[tokio::test]
async fn delivers_with_trace_fields() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    let body = b"Subject: hello\r\n\r\n.leading dot\r\nbody\r\n";
    let r = c
        .send_mail("sender@other.test", &["user@example.test"], body)
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    assert!(r.text().starts_with("2.0.0 Message accepted"), "{r:?}");
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 1);
    let stored = &inbox[0].1;
    assert_eq!(strip_trace(stored), body);
    let text = String::from_utf8_lossy(stored);
    assert!(text.starts_with("Return-Path: <sender@other.test>\r\nReceived: from client.test ([127.0.0.1])\r\n\tby mx.example.test (Tern) with ESMTP id "), "{text}");
    assert!(text.contains("\tfor <user@example.test>; "), "{text}");
    // Nothing went to the queue.
    assert!(srv.queued().is_empty());
}

#[tokio::test]
async fn recipient_checks_at_rcpt() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    srv.add_user("full@example.test").await;
    srv.add_user("small@example.test").await;
    srv.add_user("off@example.test").await;
    srv.set_quota("full@example.test", 1).await;
    srv.set_quota("small@example.test", 5000).await;
    srv.disable("off@example.test").await;
    // Fill "full" past its 1-octet quota.
    {
        let mut c = srv.ehlo().await;
        srv.set_quota("full@example.test", 100_000).await;
        let r = c
            .send_mail(
                "a@other.test",
                &["full@example.test"],
                &message("fill", 2000),
            )
            .await;
        assert_eq!(r.code, 250);
        srv.set_quota("full@example.test", 100).await;
    }
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect(
        "RCPT TO:<nobody@example.test>",
        550,
        "5.1.1 <nobody@example.test>: user unknown",
    )
    .await;
    c.expect(
        "RCPT TO:<full@example.test>",
        452,
        "4.2.2 <full@example.test> mailbox full",
    )
    .await;
    c.expect("RCPT TO:<off@example.test>", 450, "4.2.1").await;
    c.expect("RCPT TO:<small@example.test>", 250, "2.1.5").await;
    c.expect("RSET", 250, "2.0.0").await;
    // The declared SIZE counts against the quota (452), and against the size limit (552).
    c.expect("MAIL FROM:<a@other.test> SIZE=6000", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<small@example.test>", 452, "4.2.2").await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("RSET", 250, "2.0.0").await;
    c.expect("MAIL FROM:<a@other.test> SIZE=10485761", 552, "5.3.4")
        .await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused_and_not_stored() {
    let srv = SmtpTest::start(Mode::Mx, |s| s.config.max_message_size = 10_000).await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    let r = c
        .send_mail(
            "a@other.test",
            &["user@example.test"],
            &message("big", 20_000),
        )
        .await;
    assert_eq!(r.code, 552, "{r:?}");
    assert!(r.text().starts_with("5.3.4"), "{r:?}");
    // The session is in sync and a message at the limit passes (the trace fields added by the
    // server do not count).
    let sized = |n: usize| {
        let head = "Subject: exact\r\n\r\n";
        format!("{head}{}\r\n", "x".repeat(n - head.len() - 2)).into_bytes()
    };
    let r = c
        .send_mail("a@other.test", &["user@example.test"], &sized(10_001))
        .await;
    assert_eq!(r.code, 552, "{r:?}");
    let r = c
        .send_mail("a@other.test", &["user@example.test"], &sized(10_000))
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(strip_trace(&inbox[0].1).len(), 10_000);
    // The refused messages left no blob behind.
    assert_eq!(srv.mail.blobs.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn recipients_per_message_limit() {
    let srv = SmtpTest::start(Mode::Mx, |s| s.config.max_recipients = 3).await;
    for i in 0..4 {
        srv.add_user(&format!("u{i}@example.test")).await;
    }
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    for i in 0..3 {
        c.expect(&format!("RCPT TO:<u{i}@example.test>"), 250, "2.1.5")
            .await;
    }
    c.expect("RCPT TO:<u3@example.test>", 452, "4.5.3").await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(b"Subject: limit\r\n\r\nx\r\n"))
        .await;
    assert_eq!(c.reply().await.code, 250);
    assert_eq!(srv.inbox("u2@example.test").await.len(), 1);
    assert!(srv.inbox("u3@example.test").await.is_empty());
}

#[tokio::test]
async fn aliases_and_groups_expand_into_one_blob() {
    let srv = SmtpTest::mx().await;
    for u in ["a", "b", "c"] {
        srv.add_user(&format!("{u}@example.test")).await;
    }
    srv.add_alias("alias-a@example.test", "a@example.test")
        .await;
    srv.add_group("team@example.test", &["a@example.test", "b@example.test"])
        .await;
    srv.add_group(
        "all@example.test",
        &["team@example.test", "c@example.test", "ghost@example.test"],
    )
    .await;
    let blobs_before = srv.mail.blobs.list().await.unwrap().len();
    let mut c = srv.ehlo().await;
    let to = [
        "alias-a@example.test",
        "team@example.test",
        "all@example.test",
        "A@Example.Test",
        "b+tag@example.test",
    ];
    let r = c
        .send_mail("s@other.test", &to, &message("fanout", 3000))
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    let mut blob = None;
    for u in ["a", "b", "c"] {
        let inbox = srv.inbox(&format!("{u}@example.test")).await;
        assert_eq!(inbox.len(), 1, "{u} got the message once");
        let this = inbox[0].0.blob;
        assert_eq!(
            *blob.get_or_insert(this),
            this,
            "one blob for every recipient"
        );
        // Several recipients: the Received field names none of them.
        assert!(!String::from_utf8_lossy(&inbox[0].1).contains("\tfor <"));
    }
    assert_eq!(srv.mail.blobs.list().await.unwrap().len(), blobs_before + 1);
}

#[tokio::test]
async fn bdat_chunks_binarymime_and_pipelining() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let mut part1 = b"Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    part1.extend_from_slice(&binary[..1000]);
    let part2 = &binary[1000..];
    // Everything pipelined in one write (RFC 2920 + RFC 3030).
    let mut wire =
        b"MAIL FROM:<s@other.test> BODY=BINARYMIME\r\nRCPT TO:<user@example.test>\r\n".to_vec();
    wire.extend_from_slice(format!("BDAT {}\r\n", part1.len()).as_bytes());
    wire.extend_from_slice(&part1);
    wire.extend_from_slice(format!("BDAT {} LAST\r\n", part2.len()).as_bytes());
    wire.extend_from_slice(part2);
    c.send_bytes(&wire).await;
    let codes: Vec<u16> = [
        c.reply().await,
        c.reply().await,
        c.reply().await,
        c.reply().await,
    ]
    .iter()
    .map(|r| r.code)
    .collect();
    assert_eq!(codes, [250, 250, 250, 250]);
    let inbox = srv.inbox("user@example.test").await;
    let mut want = part1.clone();
    want.extend_from_slice(part2);
    assert_eq!(strip_trace(&inbox[0].1), want.as_slice());
    // DATA may not carry BINARYMIME.
    c.expect("MAIL FROM:<s@other.test> BODY=BINARYMIME", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 503, "5.5.1").await;
}

#[tokio::test]
async fn eightbit_and_smtputf8() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect(
        "MAIL FROM:<δοκιμή@παράδειγμα.test> SMTPUTF8 BODY=8BITMIME",
        250,
        "2.1.0",
    )
    .await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff("Subject: Grüße\r\n\r\nÄÖÜ\r\n".as_bytes()))
        .await;
    assert_eq!(c.reply().await.code, 250);
    let stored = &srv.inbox("user@example.test").await[0].1;
    let text = String::from_utf8_lossy(stored);
    assert!(text.contains("with UTF8SMTP id"), "{text}");
    assert!(text.contains("ÄÖÜ"));
    // Without SMTPUTF8 a non-ASCII address is refused.
    c.expect("MAIL FROM:<δοκιμή@παράδειγμα.test>", 553, "5.6.7")
        .await;
}

#[tokio::test]
async fn dsn_parameters_are_accepted() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect(
        "MAIL FROM:<s@other.test> RET=HDRS ENVID=abc+2Bdef",
        250,
        "2.1.0",
    )
    .await;
    c.expect(
        "RCPT TO:<user@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user+40example.test",
        250,
        "2.1.5",
    )
    .await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(b"Subject: dsn\r\n\r\nx\r\n")).await;
    assert_eq!(c.reply().await.code, 250);
    // Parameters nobody advertised are still refused.
    c.expect("MAIL FROM:<s@other.test> REQUIRETLS", 555, "5.5.4")
        .await;
    c.expect("MAIL FROM:<s@other.test> AUTH=<>", 555, "5.5.4")
        .await;
    c.expect("MAIL FROM:<s@other.test>", 250, "2.1.0").await;
    c.expect(
        "RCPT TO:<user@example.test> RRVS=2030-01-01T00:00:00Z",
        555,
        "5.5.4",
    )
    .await;
}

#[tokio::test]
async fn bare_postmaster_is_accepted() {
    let srv = SmtpTest::mx().await;
    srv.add_user("postmaster@example.test").await;
    let mut c = srv.ehlo().await;
    let r = c
        .send_mail("", &["Postmaster"], b"Subject: to postmaster\r\n\r\nx\r\n")
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    let stored = &srv.inbox("postmaster@example.test").await[0].1;
    assert!(stored.starts_with(b"Return-Path: <>\r\n"));
}

#[tokio::test]
async fn a_full_mailbox_at_commit_fails_the_message_with_a_4xx() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    srv.set_quota("user@example.test", 4000).await;
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<s@other.test>", 250, "2.1.0").await;
    // Accepted at RCPT (the mailbox is empty), refused at commit: the message is bigger.
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(&message("big", 8000))).await;
    let r = c.reply().await;
    assert_eq!(r.code, 452, "{r:?}");
    assert!(r.text().starts_with("4.2.2"), "{r:?}");
    assert!(srv.inbox("user@example.test").await.is_empty());
}
