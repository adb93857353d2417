//! Submission (RFC 6409): the envelope sender and the From header must belong to the
//! authenticated account or its aliases; Date and Message-ID are added when missing (§8);
//! local recipients are delivered; remote ones go to the outbound queue, with the envelope,
//! DSN parameters and a blob whose local Return-Path is skipped; a queue failure is never
//! acknowledged.

mod common;

use common::smtp::{SmtpTest, header_of, message_from};
use common::{dot_stuff, strip_trace};
use std::sync::atomic::Ordering;
use tern_smtp::envelope::{DsnRet, Notify};

async fn server() -> SmtpTest {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("bob@example.test").await;
    srv.add_alias("a.lice@example.test", "alice@example.test")
        .await;
    srv.add_group(
        "staff@example.test",
        &["alice@example.test", "bob@example.test"],
    )
    .await;
    srv
}

#[tokio::test]
async fn envelope_sender_must_be_owned() {
    let srv = server().await;
    let mut c = srv.logged_in("alice@example.test").await;
    for (from, code, status) in [
        ("bob@example.test", 553, "5.7.1"),
        ("alice@other.test", 553, "5.7.1"),
        ("staff@example.test", 553, "5.7.1"),
        ("nobody@example.test", 553, "5.7.1"),
        ("alice@example.test.", 501, "5.1.7"),
        ("ALICE@EXAMPLE.TEST", 250, "2.1.0"),
        ("a.lice@example.test", 250, "2.1.0"),
        ("alice+lists@example.test", 250, "2.1.0"),
        ("", 250, "2.1.0"),
    ] {
        let r = c.cmd(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(r.code, code, "MAIL FROM:<{from}> → {r:?}");
        assert!(r.text().starts_with(status), "MAIL FROM:<{from}> → {r:?}");
        if code == 250 {
            c.expect("RSET", 250, "2.0.0").await;
        }
    }
}

#[tokio::test]
async fn from_header_must_be_owned() {
    let srv = server().await;
    let mut c = srv.logged_in("alice@example.test").await;
    let cases: &[(&str, u16, &str)] = &[
        ("From: Bob <bob@example.test>\r\n", 550, "5.7.1"),
        (
            "From: Alice <alice@example.test>, Bob <bob@example.test>\r\n",
            550,
            "5.7.1",
        ),
        (
            "From: alice@example.test\r\nFrom: bob@example.test\r\n",
            550,
            "5.6.0",
        ),
        ("", 550, "5.6.0"),
        ("From: undisclosed:;\r\n", 550, "5.6.0"),
        ("From: \"Alice\" <a.lice@example.test>\r\n", 250, "2.0.0"),
        ("from : Alice <ALICE@example.test>\r\n", 250, "2.0.0"),
    ];
    for (from_field, code, status) in cases {
        let message = format!("{from_field}To: bob@example.test\r\nSubject: t\r\n\r\nx\r\n");
        let r = c
            .send_mail(
                "alice@example.test",
                &["bob@example.test"],
                message.as_bytes(),
            )
            .await;
        assert_eq!(r.code, *code, "{from_field:?} → {r:?}");
        assert!(r.text().starts_with(status), "{from_field:?} → {r:?}");
    }
    // Only the two owned ones were delivered.
    assert_eq!(srv.inbox("bob@example.test").await.len(), 2);
}

#[tokio::test]
async fn date_and_message_id_are_added_when_missing() {
    let srv = server().await;
    let mut c = srv.logged_in("alice@example.test").await;
    let bare = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\n\r\nbody\r\n";
    assert_eq!(
        c.send_mail("alice@example.test", &["bob@example.test"], bare)
            .await
            .code,
        250
    );
    let full = message_from("alice@example.test", "full");
    assert_eq!(
        c.send_mail("alice@example.test", &["bob@example.test"], &full)
            .await
            .code,
        250
    );
    let inbox = srv.inbox("bob@example.test").await;
    let first = strip_trace(&inbox[0].1);
    let header = header_of(first);
    assert!(
        header.starts_with(
            "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\nDate: "
        ),
        "{header}"
    );
    let mid = header
        .lines()
        .find(|l| l.starts_with("Message-ID: <"))
        .expect("Message-ID added");
    assert!(mid.ends_with("@mx.example.test>"), "{mid}");
    assert!(first.ends_with(b"\r\n\r\nbody\r\n"));
    // A parser sees them as the message's own fields.
    let parsed = tern_mail::analyze(&inbox[0].1);
    assert!(parsed.envelope.date.is_some());
    let cached = parsed.envelope.message_id.unwrap_or_default();
    assert!(cached.contains("@mx.example.test"), "{cached}");
    // A message that has both is stored exactly as sent.
    assert_eq!(strip_trace(&inbox[1].1), full.as_slice());
    // Over BDAT too.
    c.expect("MAIL FROM:<alice@example.test>", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<bob@example.test>", 250, "2.1.5").await;
    let m = b"From: alice@example.test\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\nx";
    c.send_bytes(format!("BDAT {} LAST\r\n", m.len()).as_bytes())
        .await;
    c.send_bytes(m).await;
    assert_eq!(c.reply().await.code, 250);
    let third = srv.inbox("bob@example.test").await.remove(2).1;
    let header = header_of(strip_trace(&third));
    assert!(
        header.contains("\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <"),
        "{header}"
    );
    assert_eq!(header.matches("Date:").count(), 1);
}

#[tokio::test]
async fn local_and_remote_recipients() {
    let srv = server().await;
    let mut c = srv.logged_in("alice@example.test").await;
    c.expect(
        "MAIL FROM:<a.lice@example.test> RET=HDRS ENVID=env+2B1 AUTH=alice@example.test",
        250,
        "2.1.0",
    )
    .await;
    c.expect("RCPT TO:<staff@example.test>", 250, "2.1.5").await;
    c.expect(
        "RCPT TO:<friend@other.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;friend+40other.test",
        250,
        "2.1.5",
    )
    .await;
    c.expect("RCPT TO:<\"odd user\"@other.test>", 250, "2.1.5")
        .await;
    c.expect("RCPT TO:<friend@other.test>", 250, "2.1.5").await;
    c.expect("DATA", 354, "").await;
    let message = message_from("Alice <a.lice@example.test>", "mixed");
    c.send_bytes(&dot_stuff(&message)).await;
    let r = c.reply().await;
    assert_eq!(r.code, 250, "{r:?}");
    // Local: both group members, one blob.
    let a = srv.inbox("alice@example.test").await;
    let b = srv.inbox("bob@example.test").await;
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0].0.blob, b[0].0.blob);
    // Remote: one queue entry, recipients deduplicated and in wire form, DSN recorded.
    let queued = srv.queued();
    assert_eq!(queued.len(), 1);
    let q = &queued[0];
    assert_eq!(q.staged.blob, a[0].0.blob);
    let env = &q.envelope;
    assert_eq!(env.from, "a.lice@example.test");
    assert_eq!(env.authenticated.as_deref(), Some("alice@example.test"));
    assert_eq!(env.ret, Some(DsnRet::Headers));
    assert_eq!(env.envid.as_deref(), Some("env+1"));
    let addresses: Vec<&str> = env.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(addresses, ["friend@other.test", "\"odd user\"@other.test"]);
    assert_eq!(
        env.recipients[0].notify,
        Some(Notify {
            never: false,
            success: false,
            failure: true,
            delay: true
        })
    );
    assert_eq!(
        env.recipients[0].orcpt.as_deref(),
        Some("friend@other.test")
    );
    // What the queue transmits: the blob without the local Return-Path, from Received on.
    let blob = srv.blob_bytes(&q.staged.blob).await;
    let sent = &blob[q.skip as usize..];
    assert!(blob.starts_with(b"Return-Path: <a.lice@example.test>\r\n"));
    assert!(sent.starts_with(b"Received: from client.test ([127.0.0.1])\r\n\tby mx.example.test (Tern) with ESMTPSA id "), "{}", String::from_utf8_lossy(&sent[..120]));
    assert_eq!(strip_trace(&blob), message.as_slice());
}

#[tokio::test]
async fn a_queue_failure_is_not_acknowledged() {
    let srv = server().await;
    srv.queue.fail.store(true, Ordering::SeqCst);
    let mut c = srv.logged_in("alice@example.test").await;
    let m = message_from("alice@example.test", "queue-down");
    let r = c
        .send_mail("alice@example.test", &["friend@other.test"], &m)
        .await;
    assert_eq!(r.code, 451, "{r:?}");
    assert!(r.text().starts_with("4.3.0"), "{r:?}");
    assert!(srv.queued().is_empty());
    srv.queue.fail.store(false, Ordering::SeqCst);
    let r = c
        .send_mail("alice@example.test", &["friend@other.test"], &m)
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(srv.queued().len(), 1);
}

#[tokio::test]
async fn local_recipient_checks_apply_to_submission_too() {
    let srv = server().await;
    srv.set_quota("bob@example.test", 10).await;
    let mut c = srv.logged_in("alice@example.test").await;
    c.expect("MAIL FROM:<alice@example.test> SIZE=100", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<bob@example.test>", 452, "4.2.2").await;
    c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        .await;
    c.expect("RCPT TO:<user@other.test.>", 501, "5.1.3").await;
}
