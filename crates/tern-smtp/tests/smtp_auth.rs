//! Submission AUTH (RFC 4954, RFC 6409 §4.3, RFC 8314): STARTTLS before AUTH and MAIL on
//! 587, implicit TLS on 465, PLAIN and LOGIN, failures with a growing delay, the limit, and
//! every refusal code. Real store and internal directory; raw client.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::smtp::{PASSWORD, SmtpTest};
use std::time::{Duration, Instant};
use tern_smtp::Mode;

#[tokio::test]
async fn starttls_is_required_before_auth_and_mail_on_587() {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.ehlo().await;
    let plain = B64.encode(format!("\0alice@example.test\0{PASSWORD}"));
    c.expect(
        &format!("AUTH PLAIN {plain}"),
        530,
        "5.7.0 Must issue a STARTTLS command first",
    )
    .await;
    c.expect(
        "AUTH LOGIN",
        530,
        "5.7.0 Must issue a STARTTLS command first",
    )
    .await;
    c.expect(
        "MAIL FROM:<alice@example.test>",
        530,
        "5.7.0 Must issue a STARTTLS command first",
    )
    .await;
    c.expect("STARTTLS", 220, "2.0.0").await;
    let mut c = c.into_tls(srv.dir.path()).await;
    c.expect("EHLO client.test", 250, "").await;
    // After TLS, MAIL still needs AUTH.
    c.expect(
        "MAIL FROM:<alice@example.test>",
        530,
        "5.7.0 Authentication required",
    )
    .await;
    c.expect(&format!("AUTH PLAIN {plain}"), 235, "2.7.0").await;
    c.expect("MAIL FROM:<alice@example.test>", 250, "2.1.0")
        .await;
}

#[tokio::test]
async fn plain_with_and_without_initial_response_and_login() {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    srv.add_alias("al@example.test", "alice@example.test").await;

    // PLAIN, challenge first (RFC 4616: the challenge is empty).
    let mut c = srv.starttls().await;
    let r = c.cmd("AUTH PLAIN").await;
    assert_eq!((r.code, r.lines[0].as_str()), (334, ""));
    let b64 = B64.encode(format!("\0alice@example.test\0{PASSWORD}"));
    c.expect(&b64, 235, "2.7.0 Authentication successful").await;
    c.expect(
        "AUTH PLAIN AGFsaWNlAHB3",
        503,
        "5.5.1 Already authenticated",
    )
    .await;

    // LOGIN with an alias as the user name: one login = one account.
    let mut c = srv.starttls().await;
    let r = c.cmd("AUTH LOGIN").await;
    assert_eq!((r.code, r.lines[0].as_str()), (334, "VXNlcm5hbWU6"));
    let r = c.cmd(&B64.encode("al@example.test")).await;
    assert_eq!((r.code, r.lines[0].as_str()), (334, "UGFzc3dvcmQ6"));
    c.expect(&B64.encode(PASSWORD), 235, "2.7.0").await;

    // An authorization identity naming the same account is fine; another is refused.
    let mut c = srv.implicit_tls().await;
    let b64 = B64.encode(format!("al@example.test\0alice@example.test\0{PASSWORD}"));
    c.expect(&format!("AUTH PLAIN {b64}"), 235, "2.7.0").await;
    srv.add_user("bob@example.test").await;
    let mut c = srv.implicit_tls().await;
    let b64 = B64.encode(format!("bob@example.test\0alice@example.test\0{PASSWORD}"));
    c.expect(&format!("AUTH PLAIN {b64}"), 535, "5.7.8").await;
}

#[tokio::test]
async fn failures_are_delayed_more_each_time_then_the_session_ends() {
    let srv = SmtpTest::start(Mode::Submission, |s| {
        s.config.auth_failure_delay = Duration::from_millis(200);
        s.config.max_auth_failures = 3;
    })
    .await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.starttls().await;
    let mut took = Vec::new();
    for attempt in 0..3 {
        let start = Instant::now();
        let b64 = B64.encode(format!("\0alice@example.test\0wrong{attempt}"));
        c.expect(
            &format!("AUTH PLAIN {b64}"),
            535,
            "5.7.8 Authentication credentials invalid",
        )
        .await;
        took.push(start.elapsed());
    }
    assert!(took[0] >= Duration::from_millis(200), "{took:?}");
    assert!(took[1] >= Duration::from_millis(400), "{took:?}");
    assert!(took[2] >= Duration::from_millis(800), "{took:?}");
    let bye = c.reply().await;
    assert_eq!(bye.code, 421, "{bye:?}");
    assert!(bye.text().starts_with("4.7.0"), "{bye:?}");
    assert!(c.closed().await);
    // A fresh connection may log in.
    let mut c = srv.starttls().await;
    c.auth_plain("alice@example.test", PASSWORD, 235).await;
}

#[tokio::test]
async fn unknown_users_and_disabled_accounts_fail_alike() {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("off@example.test").await;
    srv.disable("off@example.test").await;
    let mut c = srv.starttls().await;
    let nobody = c.auth_plain("nobody@example.test", PASSWORD, 535).await;
    let disabled = c.auth_plain("off@example.test", PASSWORD, 535).await;
    assert_eq!(nobody.lines, disabled.lines);
}

#[tokio::test]
async fn exchange_errors() {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.starttls().await;
    c.expect("AUTH CRAM-MD5", 504, "5.5.4").await;
    c.expect("AUTH XYZZY", 504, "5.5.4").await;
    c.expect("AUTH PLAIN !!!notbase64", 501, "5.5.2").await;
    c.expect("AUTH PLAIN", 334, "").await;
    c.expect("*", 501, "5.0.0 Authentication cancelled").await;
    c.expect("AUTH LOGIN", 334, "").await;
    c.expect("%%%", 501, "5.5.2").await;
    // "=" is an empty initial response: a malformed PLAIN message.
    c.expect("AUTH PLAIN =", 501, "5.5.2").await;
    // An over-long response line is consumed whole and refused.
    c.expect("AUTH PLAIN", 334, "").await;
    c.expect(&"A".repeat(20_000), 500, "5.5.6").await;
    // None of these counted as failed logins: the account still works.
    c.auth_plain("alice@example.test", PASSWORD, 235).await;
}

#[tokio::test]
async fn auth_needs_ehlo_and_no_open_transaction() {
    let srv = SmtpTest::start(Mode::Submission, |s| s.config.allow_plaintext = true).await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.connect().await;
    c.expect("AUTH PLAIN AGFsaWNlAHB3", 503, "5.5.1 Send EHLO first")
        .await;
    c.expect("HELO client.test", 250, "").await;
    c.expect("AUTH PLAIN AGFsaWNlAHB3", 503, "5.5.1 Send EHLO first")
        .await;
    c.expect("EHLO client.test", 250, "").await;
    c.auth_plain("alice@example.test", PASSWORD, 235).await;
    c.expect("MAIL FROM:<alice@example.test>", 250, "2.1.0")
        .await;
}

#[tokio::test]
async fn allow_plaintext_permits_auth_in_the_clear() {
    let srv = SmtpTest::start(Mode::Submission, |s| s.config.allow_plaintext = true).await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.connect().await;
    let ehlo = c.expect("EHLO client.test", 250, "").await;
    assert!(
        ehlo.lines.iter().any(|l| l == "AUTH PLAIN LOGIN"),
        "{ehlo:?}"
    );
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    c.auth_plain("alice@example.test", PASSWORD, 235).await;
    let to = ["alice@example.test"];
    let m = common::smtp::message_from("alice@example.test", "clear");
    let r = c.send_mail("alice@example.test", &to, &m).await;
    assert_eq!(r.code, 250, "{r:?}");
    let stored = &srv.inbox("alice@example.test").await[0].1;
    assert!(String::from_utf8_lossy(stored).contains("with ESMTPA id"));
}

#[tokio::test]
async fn without_a_certificate_plaintext_mechanisms_need_encryption_538() {
    let srv = SmtpTest::start(Mode::Submission, |s| s.config.tls = None).await;
    srv.add_user("alice@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect("AUTH PLAIN AGFsaWNlAHB3", 538, "5.7.11").await;
    c.expect(
        "MAIL FROM:<alice@example.test>",
        530,
        "5.7.0 Authentication required",
    )
    .await;
}

#[tokio::test]
async fn implicit_tls_465_authenticates_and_submits() {
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("bob@example.test").await;
    let mut c = srv.implicit_tls().await;
    c.auth_plain("alice@example.test", PASSWORD, 235).await;
    let m = common::smtp::message_from("alice@example.test", "implicit");
    let r = c
        .send_mail("alice@example.test", &["bob@example.test"], &m)
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    let inbox = srv.inbox("bob@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0].1).contains("with ESMTPSA id"));
}
