//! SMTP session behaviour: greeting, EHLO/HELO and the capability lists, STARTTLS (state
//! reset, injection, not twice), command sequence, the error budget, long lines, misc
//! commands, timeouts and shutdown. Fresh server per test, raw client.

mod common;

use common::smtp::{SmtpTest, tls_connect};
use std::time::Duration;
use tern_smtp::{Mode, SessionLimits};

fn has(reply: &common::Reply, keyword: &str) -> bool {
    reply.lines.iter().any(|l| l == keyword)
}

#[tokio::test]
async fn greeting_and_ehlo_on_the_mx() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.connect().await;
    let ehlo = c
        .expect(
            "EHLO client.test",
            250,
            "mx.example.test Hello client.test [127.0.0.1]",
        )
        .await;
    for keyword in [
        "PIPELINING",
        "SIZE 10485760",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "DSN",
        "CHUNKING",
        "BINARYMIME",
    ] {
        assert!(has(&ehlo, keyword), "{keyword} missing from {ehlo:?}");
    }
    // The MX never offers AUTH, in the clear or after TLS.
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "{ehlo:?}"
    );
    c.expect("STARTTLS", 220, "2.0.0 Ready to start TLS").await;
    let mut c = c.into_tls(srv.dir.path()).await;
    let ehlo = c.expect("EHLO client.test", 250, "").await;
    assert!(
        !has(&ehlo, "STARTTLS"),
        "STARTTLS offered after TLS: {ehlo:?}"
    );
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "{ehlo:?}"
    );
    c.expect("STARTTLS", 503, "5.5.1").await;
    c.expect("AUTH PLAIN AHVzZXIAcHc=", 503, "5.5.1").await;
    c.expect("QUIT", 221, "2.0.0").await;
}

#[tokio::test]
async fn submission_offers_auth_only_after_tls() {
    let srv = SmtpTest::submission().await;
    let mut c = srv.connect().await;
    let ehlo = c.expect("EHLO client.test", 250, "").await;
    assert!(has(&ehlo, "STARTTLS"));
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "{ehlo:?}"
    );
    c.expect("STARTTLS", 220, "2.0.0").await;
    let mut c = c.into_tls(srv.dir.path()).await;
    let ehlo = c.expect("EHLO client.test", 250, "").await;
    assert!(has(&ehlo, "AUTH PLAIN LOGIN"), "{ehlo:?}");
    assert!(!has(&ehlo, "STARTTLS"));
    // 465: TLS from the start, so no STARTTLS and AUTH at once.
    let mut c = srv.implicit_tls().await;
    let ehlo = c.expect("EHLO again.test", 250, "").await;
    assert!(has(&ehlo, "AUTH PLAIN LOGIN"), "{ehlo:?}");
    assert!(!has(&ehlo, "STARTTLS"), "{ehlo:?}");
}

#[tokio::test]
async fn helo_has_no_extensions_and_lhlo_is_refused() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.connect().await;
    let helo = c
        .expect("HELO client.test", 250, "mx.example.test Hello client.test")
        .await;
    assert_eq!(helo.lines.len(), 1);
    c.expect("LHLO client.test", 500, "5.5.1").await;
    c.expect("EHLO", 501, "5.5.4").await;
}

#[tokio::test]
async fn starttls_forgets_the_session_and_drops_injected_commands() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    // Plaintext pipelined behind STARTTLS (CVE-2011-0411 style): must never run.
    c.send("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.test>\r\n")
        .await;
    let reply = c.reply().await;
    assert_eq!(reply.code, 220, "{reply:?}");
    let mut c = c.into_tls(srv.dir.path()).await;
    // The EHLO and the transaction from before TLS are forgotten (RFC 3207 §4.2).
    c.expect("MAIL FROM:<a@other.test>", 503, "5.5.1").await;
    c.expect("EHLO client.test", 250, "").await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 354, "").await;
    c.send("Subject: over TLS\r\n\r\nhi\r\n.\r\n").await;
    assert_eq!(c.reply().await.code, 250);
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert!(text.contains("with ESMTPS id"), "{text}");
}

#[tokio::test]
async fn starttls_without_a_certificate_is_not_offered() {
    let srv = SmtpTest::start(Mode::Mx, |s| s.config.tls = None).await;
    let mut c = srv.connect().await;
    let ehlo = c.expect("EHLO client.test", 250, "").await;
    assert!(!has(&ehlo, "STARTTLS"));
    c.expect("STARTTLS", 502, "5.5.1").await;
}

#[tokio::test]
async fn a_failed_handshake_closes_only_that_connection() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.ehlo().await;
    c.expect("STARTTLS", 220, "2.0.0").await;
    c.send("this is not a TLS ClientHello\r\n").await;
    // The server may send a TLS alert; then it closes.
    assert!(
        c.eof().await,
        "connection still open after a failed handshake"
    );
    // The server still serves others, and TLS works for them.
    let stream = tokio::net::TcpStream::connect(srv.tls_addr).await.unwrap();
    let tls = tls_connect(srv.dir.path(), stream).await;
    let mut c = common::smtp::SmtpClient::new(Box::new(tls));
    assert_eq!(c.reply().await.code, 220);
}

#[tokio::test]
async fn sequence_errors() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.connect().await;
    c.expect("MAIL FROM:<a@other.test>", 503, "5.5.1").await;
    c.expect("EHLO client.test", 250, "").await;
    c.expect("RCPT TO:<user@example.test>", 503, "5.5.1").await;
    c.expect("DATA", 503, "5.5.1").await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect("MAIL FROM:<a@other.test>", 503, "5.5.1").await;
    c.expect("DATA", 503, "5.5.1").await;
    // BDAT octets are read even when refused: "abc" must not be taken for a command.
    c.send("BDAT 3 LAST\r\nabc").await;
    let reply = c.reply().await;
    assert_eq!(
        (reply.code, reply.text()),
        (503, "5.5.1 No valid transaction for BDAT")
    );
    c.expect("RSET", 250, "2.0.0").await;
    c.expect("RCPT TO:<user@example.test>", 503, "5.5.1").await;
    c.expect("QUIT", 221, "2.0.0").await;
    assert!(c.closed().await);
}

#[tokio::test]
async fn misc_commands() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.ehlo().await;
    c.expect("NOOP", 250, "2.0.0").await;
    c.expect("VRFY user@example.test", 252, "2.5.0").await;
    c.expect("EXPN staff@example.test", 502, "5.5.1").await;
    c.expect("HELP", 214, "2.0.0").await;
    c.expect("ETRN example.test", 502, "5.5.1").await;
    c.expect("XCLIENT ADDR=192.0.2.1", 500, "5.5.2").await;
    c.expect("RSET", 250, "2.0.0").await;
}

#[tokio::test]
async fn errors_per_session_end_it_with_421() {
    let srv = SmtpTest::start(Mode::Mx, |s| {
        s.limits = SessionLimits {
            max_errors: 5,
            ..SessionLimits::default()
        }
    })
    .await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    // Unknown recipients count like protocol errors; 4xx answers do not.
    c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        .await;
    c.expect("RCPT TO:<x@other.test>", 554, "5.7.1").await;
    c.expect("BOGUS", 500, "5.5.2").await;
    c.expect("RCPT TO:<nobody2@example.test>", 550, "5.1.1")
        .await;
    let last = c.cmd("RCPT TO:<nobody3@example.test>").await;
    assert_eq!(last.code, 550);
    let bye = c.reply().await;
    assert_eq!(bye.code, 421, "{bye:?}");
    assert!(bye.text().starts_with("4.7.0"), "{bye:?}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn a_delivered_message_resets_the_error_count() {
    let srv = SmtpTest::start(Mode::Mx, |s| {
        s.limits = SessionLimits {
            max_errors: 3,
            ..SessionLimits::default()
        }
    })
    .await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    for round in 0..3 {
        c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
        c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
            .await;
        c.expect("RCPT TO:<nobody2@example.test>", 550, "5.1.1")
            .await;
        c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
        c.expect("DATA", 354, "").await;
        c.send(&format!("Subject: {round}\r\n\r\nx\r\n.\r\n")).await;
        assert_eq!(c.reply().await.code, 250);
    }
    assert_eq!(srv.inbox("user@example.test").await.len(), 3);
}

#[tokio::test]
async fn long_command_lines_are_refused() {
    let srv = SmtpTest::mx().await;
    let mut c = srv.ehlo().await;
    let long = format!("NOOP {}", "a".repeat(10_000));
    c.expect(&long, 500, "5.5.2").await;
    c.expect("NOOP", 250, "2.0.0").await;
}

#[tokio::test]
async fn idle_timeout_and_shutdown_say_421() {
    let srv = SmtpTest::start(Mode::Mx, |s| {
        s.limits = SessionLimits {
            idle_timeout: Duration::from_millis(300),
            ..SessionLimits::default()
        }
    })
    .await;
    let mut c = srv.ehlo().await;
    let reply = c.reply().await;
    assert_eq!(reply.code, 421);
    assert!(reply.text().starts_with("4.4.2"), "{reply:?}");
    assert!(c.closed().await);

    let srv = SmtpTest::mx().await;
    let mut c = srv.ehlo().await;
    drop(srv);
    let reply = c.reply().await;
    assert_eq!(reply.code, 421);
    assert!(reply.text().starts_with("4.3.2"), "{reply:?}");
}
