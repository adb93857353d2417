//! LMTP session behaviour (RFC 2033, RFC 5321 sequencing, RFC 2920 pipelining): greeting,
//! LHLO capabilities, command sequence errors, limits, timeouts, error budget.

mod common;

use common::{TestServer, config};
use std::time::Duration;
use tern_smtp::SessionLimits;

#[tokio::test]
async fn lhlo_advertises_capabilities_without_status_codes() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    let reply = c.cmd("LHLO front.example.test").await;
    assert_eq!(reply.code, 250);
    assert_eq!(
        reply.lines,
        [
            "mx.example.test",
            "PIPELINING",
            "SIZE 10485760",
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "BINARYMIME",
            "SMTPUTF8"
        ]
    );
}

#[tokio::test]
async fn ehlo_and_helo_are_not_lmtp() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    c.expect("EHLO front.example.test", 500, "5.5.1").await;
    c.expect("HELO front.example.test", 500, "5.5.1").await;
    // MAIL before LHLO is out of sequence.
    c.expect("MAIL FROM:<s@example.test>", 503, "5.5.1").await;
    c.expect("LHLO front.example.test", 250, "mx.example.test")
        .await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
}

#[tokio::test]
async fn sequence_errors() {
    let srv = TestServer::start().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("RCPT TO:<user@example.test>", 503, "5.5.1").await;
    c.expect("DATA", 503, "5.5.1").await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    c.expect("MAIL FROM:<s@example.test>", 503, "5.5.1 Nested")
        .await;
    // RFC 2033 §4.2: DATA with no accepted recipient is 503.
    c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        .await;
    c.expect("DATA", 503, "5.5.1").await;
    c.expect("RSET", 250, "2.0.0").await;
    c.expect("RCPT TO:<user@example.test>", 503, "5.5.1").await;
    // BINARYMIME needs BDAT (RFC 3030 §3).
    c.expect("MAIL FROM:<s@example.test> BODY=BINARYMIME", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 503, "5.5.1").await;
    // BDAT outside a transaction: its octets are still consumed.
    c.expect("RSET", 250, "2.0.0").await;
    c.send("BDAT 12\r\nNOOP\r\nNOOP\r\n").await;
    let r = c.reply().await;
    assert_eq!(r.code, 503, "{r:?}");
    c.expect("NOOP", 250, "2.0.0").await;
}

#[tokio::test]
async fn misc_commands() {
    let srv = TestServer::start().await;
    let mut c = srv.lhlo().await;
    c.expect("NOOP", 250, "2.0.0").await;
    c.expect("VRFY user@example.test", 252, "2.5.0").await;
    c.expect("HELP", 214, "2.0.0").await;
    c.expect("STARTTLS", 502, "5.5.1").await;
    c.expect("EXPN staff", 502, "5.5.1").await;
    c.expect("FROB", 500, "5.5.2").await;
    c.expect("MAIL FROM:<bad", 501, "5.1.7").await;
    c.expect("MAIL FRM:<s@example.test>", 501, "5.5.4").await;
    c.expect("RCPT TO:<s@example.test> NOTIFY=NEVER", 503, "5.5.1")
        .await;
    c.expect("MAIL FROM:<s@example.test> RET=FULL", 555, "5.5.4")
        .await;
    c.expect("MAIL FROM:<s@example.test> SIZE=99999999999", 552, "5.3.4")
        .await;
    c.expect("QUIT", 221, "2.0.0").await;
    assert!(c.closed().await);
}

#[tokio::test]
async fn too_many_recipients() {
    let mut cfg = config();
    cfg.max_recipients = 2;
    let srv = TestServer::start_with(cfg, SessionLimits::default()).await;
    for u in ["a", "b", "c"] {
        srv.add_user(&format!("{u}@example.test")).await;
    }
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<a@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<b@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<c@example.test>", 452, "4.5.3").await;
}

#[tokio::test]
async fn pipelined_commands_in_one_write() {
    let srv = TestServer::start().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.connect().await;
    // RFC 2920: everything up to DATA in one write, then the body.
    c.send(concat!(
        "LHLO front.example.test\r\n",
        "MAIL FROM:<s@example.test> SIZE=100\r\n",
        "RCPT TO:<user@example.test>\r\n",
        "RCPT TO:<ghost@example.test>\r\n",
        "RCPT TO:<USER@example.test>\r\n",
        "DATA\r\n",
    ))
    .await;
    let replies = c.replies(6).await;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [250, 250, 250, 550, 250, 354], "{replies:?}");
    c.send("Subject: pipelined\r\n\r\nhello\r\n.\r\nNOOP\r\nQUIT\r\n")
        .await;
    // One reply per accepted RCPT (two), then NOOP and QUIT.
    let replies = c.replies(4).await;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [250, 250, 250, 221], "{replies:?}");
    assert!(replies[0].text().starts_with("2.0.0 <user@example.test>"));
    assert!(replies[1].text().starts_with("2.0.0 <USER@example.test>"));
    // Both RCPTs name the same account: it gets the message once.
    assert_eq!(srv.inbox("user@example.test").await.len(), 1);
}

#[tokio::test]
async fn long_line_is_refused_and_session_continues() {
    let srv = TestServer::start().await;
    let mut c = srv.lhlo().await;
    let mut line = "NOOP ".to_string();
    line.push_str(&"x".repeat(20_000));
    line.push_str(" QUIT\r\n");
    c.send(&line).await;
    let r = c.reply().await;
    assert_eq!(r.code, 500, "{r:?}");
    c.expect("NOOP", 250, "2.0.0").await;
}

#[tokio::test]
async fn error_budget_closes_with_421() {
    let limits = SessionLimits {
        max_errors: 3,
        ..SessionLimits::default()
    };
    let srv = TestServer::start_with(config(), limits).await;
    let mut c = srv.lhlo().await;
    c.expect("FROB", 500, "5.5.2").await;
    c.expect("DATA", 503, "5.5.1").await;
    c.send("FROB\r\n").await;
    let replies = c.replies(2).await;
    assert_eq!(replies[0].code, 500);
    assert_eq!(replies[1].code, 421, "{replies:?}");
    assert!(replies[1].text().starts_with("4.7.0"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn idle_timeout_closes_with_421() {
    let limits = SessionLimits {
        idle_timeout: Duration::from_millis(300),
        ..SessionLimits::default()
    };
    let srv = TestServer::start_with(config(), limits).await;
    let mut c = srv.lhlo().await;
    let r = c.reply().await;
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.4.2"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_with_421() {
    let srv = TestServer::start().await;
    let mut c = srv.lhlo().await;
    srv.shutdown();
    let r = c.reply().await;
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.3.2"));
    assert!(c.closed().await);
}

/// A client stalled in the middle of DATA must not hold up a graceful shutdown (found by the
/// lmtp_session fuzz target): the session ends with 421 4.3.2 at once, and nothing is stored.
#[tokio::test]
async fn shutdown_during_data_ends_the_session_with_421() {
    let srv = TestServer::start().await;
    srv.add_user("stall@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<a@example.test>", 250, "").await;
    c.expect("RCPT TO:<stall@example.test>", 250, "").await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(b"Subject: half a message\r\n\r\nand then noth")
        .await;
    srv.shutdown();
    let r = c.reply().await;
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.3.2"), "{r:?}");
    assert!(c.closed().await);
    assert!(srv.inbox("stall@example.test").await.is_empty());
}
