//! Never an open relay: a battery of relay tricks against the MX (and the submission port
//! without authentication), each on a fresh connection, each asserting the exact reply. The
//! server has a (recording) outbound queue configured, so that a relay would be possible if
//! the rules allowed it; after the battery the queue must be empty. Tricks whose address is
//! genuinely local are delivered to the local mailbox, and only there.
//!
//! The peer is 127.0.0.1 throughout: loopback is not trusted for relaying either.

mod common;

use common::dot_stuff;
use common::smtp::{PASSWORD, SmtpTest};
use tern_smtp::Mode;

/// One trick: a MAIL FROM argument, a RCPT TO argument, and the reply RCPT must get.
struct Trick {
    name: &'static str,
    from: &'static str,
    rcpt: &'static str,
    code: u16,
    status: &'static str,
}

const fn trick(
    name: &'static str,
    from: &'static str,
    rcpt: &'static str,
    code: u16,
    status: &'static str,
) -> Trick {
    Trick {
        name,
        from,
        rcpt,
        code,
        status,
    }
}

/// `user@example.test` exists; `example.test` is the only local domain.
const TRICKS: &[Trick] = &[
    trick(
        "plain remote",
        "<a@other.test>",
        "<user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "remote postmaster",
        "<a@other.test>",
        "<postmaster@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "percent hack",
        "<a@other.test>",
        "<user%other.test@example.test>",
        550,
        "5.1.1",
    ),
    trick(
        "percent hack, no domain",
        "<a@other.test>",
        "<user%other.test>",
        501,
        "5.1.3",
    ),
    trick(
        "percent hack to a local domain",
        "<a@other.test>",
        "<user%example.test@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "bang path",
        "<a@other.test>",
        "<other.test!user@example.test>",
        550,
        "5.1.1",
    ),
    trick(
        "bang path, no domain",
        "<a@other.test>",
        "<other.test!user>",
        501,
        "5.1.3",
    ),
    trick(
        "bang path to a local domain",
        "<a@other.test>",
        "<example.test!user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "source route via us",
        "<a@other.test>",
        "<@example.test:user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "double source route",
        "<a@other.test>",
        "<@example.test,@mx.example.test:user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "quoted local part with @",
        "<a@other.test>",
        "<\"user@other.test\"@example.test>",
        550,
        "5.1.1",
    ),
    trick(
        "quoted address, no domain",
        "<a@other.test>",
        "<\"user@other.test\">",
        501,
        "5.1.3",
    ),
    trick(
        "escaped @",
        "<a@other.test>",
        "<user\\@other.test@example.test>",
        501,
        "5.1.3",
    ),
    trick(
        "two @",
        "<a@other.test>",
        "<user@other.test@example.test>",
        501,
        "5.1.3",
    ),
    trick(
        "IPv4 literal",
        "<a@other.test>",
        "<user@[127.0.0.1]>",
        501,
        "5.1.3",
    ),
    trick(
        "IPv6 literal",
        "<a@other.test>",
        "<user@[IPv6:::1]>",
        501,
        "5.1.3",
    ),
    trick(
        "bare IP as domain",
        "<a@other.test>",
        "<user@127.0.0.1>",
        501,
        "5.1.3",
    ),
    trick(
        "trailing dot, local",
        "<a@other.test>",
        "<user@example.test.>",
        501,
        "5.1.3",
    ),
    trick(
        "trailing dot, remote",
        "<a@other.test>",
        "<user@other.test.>",
        501,
        "5.1.3",
    ),
    trick(
        "subdomain of a local domain",
        "<a@other.test>",
        "<user@sub.example.test>",
        554,
        "5.7.1",
    ),
    trick(
        "local domain as a prefix",
        "<a@other.test>",
        "<user@example.test.other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "localhost",
        "<a@other.test>",
        "<user@localhost>",
        554,
        "5.7.1",
    ),
    trick(
        "=40-encoded @",
        "<a@other.test>",
        "<user=40other.test@example.test>",
        550,
        "5.1.1",
    ),
    trick(
        "URL-encoded @",
        "<a@other.test>",
        "<user%40other.test@example.test>",
        550,
        "5.1.1",
    ),
    trick(
        "URL-encoded domain",
        "<a@other.test>",
        "<user@ex%61mple.test>",
        501,
        "5.1.3",
    ),
    trick(
        "punycode look-alike",
        "<a@other.test>",
        "<user@xn--exmple-cua.test>",
        554,
        "5.7.1",
    ),
    trick(
        "Cyrillic look-alike without SMTPUTF8",
        "<a@other.test>",
        "<user@exаmple.test>",
        553,
        "5.6.7",
    ),
    trick(
        "Cyrillic look-alike with SMTPUTF8",
        "<a@other.test> SMTPUTF8",
        "<user@exаmple.test>",
        554,
        "5.7.1",
    ),
    trick(
        "underscore domain",
        "<a@other.test>",
        "<user@ex_ample.test>",
        501,
        "5.1.3",
    ),
    trick(
        "DSN parameters do not make it local",
        "<a@other.test>",
        "<user@other.test> NOTIFY=NEVER ORCPT=rfc822;user+40example.test",
        554,
        "5.7.1",
    ),
    trick("null sender", "<>", "<user@other.test>", 554, "5.7.1"),
    trick(
        "forged local sender",
        "<user@example.test>",
        "<user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "forged postmaster sender",
        "<postmaster@example.test>",
        "<user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "source-routed local sender",
        "<@example.test:user@example.test>",
        "<user@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "null sender, bare postmaster elsewhere",
        "<>",
        "<postmaster@other.test>",
        554,
        "5.7.1",
    ),
    trick(
        "CR inside the address",
        "<a@other.test>",
        "<user@other.test\r>",
        554,
        "5.7.1",
    ),
    // Genuinely local: delivered locally, never relayed.
    trick(
        "case variant (local)",
        "<a@other.test>",
        "<USER@EXAMPLE.TEST>",
        250,
        "2.1.5",
    ),
    trick(
        "source route to a local user (local)",
        "<a@other.test>",
        "<@other.test:user@example.test>",
        250,
        "2.1.5",
    ),
    trick(
        "subaddress (local)",
        "<a@other.test>",
        "<user+tag@example.test>",
        250,
        "2.1.5",
    ),
    // "+40" is not decoded as xtext: it is a subaddress of user, delivered to user.
    trick(
        "xtext-encoded @ (local subaddress)",
        "<a@other.test>",
        "<user+40other.test@example.test>",
        250,
        "2.1.5",
    ),
];

async fn run_battery(srv: &SmtpTest, submission_unauthenticated: bool) -> usize {
    let mut local_deliveries = 0;
    for t in TRICKS {
        let mut c = srv.ehlo().await;
        let mail = c.cmd(&format!("MAIL FROM:{}", t.from)).await;
        if submission_unauthenticated {
            // The submission port refuses the transaction before any recipient.
            assert_eq!(mail.code, 530, "{}: {mail:?}", t.name);
            continue;
        }
        assert_eq!(mail.code, 250, "{}: MAIL → {mail:?}", t.name);
        let reply = c.cmd(&format!("RCPT TO:{}", t.rcpt)).await;
        assert_eq!(
            reply.code, t.code,
            "{}: RCPT TO:{} → {reply:?}",
            t.name, t.rcpt
        );
        assert!(
            reply.text().starts_with(t.status),
            "{}: RCPT TO:{} → {reply:?}, want {}",
            t.name,
            t.rcpt,
            t.status
        );
        if reply.code == 250 {
            c.expect("DATA", 354, "").await;
            c.send_bytes(&dot_stuff(
                format!("Subject: {}\r\n\r\nx\r\n", t.name).as_bytes(),
            ))
            .await;
            let done = c.reply().await;
            assert_eq!(done.code, 250, "{}: {done:?}", t.name);
            local_deliveries += 1;
        } else {
            // Nothing to send: DATA has no recipient.
            c.expect("DATA", 503, "5.5.1").await;
        }
    }
    local_deliveries
}

#[tokio::test]
async fn relay_battery_on_the_mx() {
    assert!(TRICKS.len() >= 20);
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    srv.add_user("postmaster@example.test").await;
    let delivered = run_battery(&srv, false).await;
    assert_eq!(delivered, 4);
    assert_eq!(srv.inbox("user@example.test").await.len(), 4);
    assert!(srv.queued().is_empty(), "something was relayed");
}

#[tokio::test]
async fn relay_battery_on_submission_without_auth() {
    let srv = SmtpTest::start(Mode::Submission, |s| s.config.allow_plaintext = true).await;
    srv.add_user("user@example.test").await;
    run_battery(&srv, true).await;
    assert!(srv.queued().is_empty());
}

#[tokio::test]
async fn tls_helo_and_failed_auth_grant_nothing() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    // TLS is not authentication.
    let mut c = srv.starttls().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect(
        "RCPT TO:<user@other.test>",
        554,
        "5.7.1 <user@other.test>: relay access denied",
    )
    .await;
    // HELO instead of EHLO.
    let mut c = srv.connect().await;
    c.expect("HELO client.test", 250, "").await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<user@other.test>", 554, "5.7.1").await;
    // AUTH on the MX is refused, even with good credentials; so is XCLIENT.
    let mut c = srv.starttls().await;
    c.auth_plain("user@example.test", PASSWORD, 503).await;
    c.expect(
        "XCLIENT ADDR=127.0.0.1 LOGIN=user@example.test",
        500,
        "5.5.2",
    )
    .await;
    c.expect(
        "MAIL FROM:<user@example.test> AUTH=user@example.test",
        555,
        "5.5.4",
    )
    .await;
    c.expect("MAIL FROM:<user@example.test>", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<user@other.test>", 554, "5.7.1").await;
    // Submission: a failed AUTH leaves the client unauthenticated.
    let sub = SmtpTest::submission().await;
    sub.add_user("user@example.test").await;
    let mut c = sub.starttls().await;
    c.auth_plain("user@example.test", "wrong", 535).await;
    c.expect(
        "MAIL FROM:<user@example.test>",
        530,
        "5.7.0 Authentication required",
    )
    .await;
    assert!(srv.queued().is_empty() && sub.queued().is_empty());
}

#[tokio::test]
async fn smuggled_commands_inside_data_do_not_open_a_transaction() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut c = srv.ehlo().await;
    c.expect("MAIL FROM:<a@other.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
    c.expect("DATA", 354, "").await;
    // Bare-LF "end of data" followed by a second transaction to a remote recipient.
    c.send_bytes(b"Subject: smuggle\r\n\r\nhi\n.\nMAIL FROM:<a@other.test>\nRCPT TO:<victim@other.test>\nDATA\nevil\n.\n\r\n.\r\n")
        .await;
    let done = c.reply().await;
    assert_eq!(done.code, 250, "{done:?}");
    c.expect("NOOP", 250, "2.0.0").await;
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0].1).contains("RCPT TO:<victim@other.test>"));
    assert!(srv.queued().is_empty());
}

#[tokio::test]
async fn a_local_group_with_a_remote_member_is_not_a_relay() {
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    srv.add_group(
        "list@example.test",
        &["user@example.test", "outside@other.test"],
    )
    .await;
    let mut c = srv.ehlo().await;
    let r = c
        .send_mail(
            "a@other.test",
            &["list@example.test"],
            b"Subject: list\r\n\r\nx\r\n",
        )
        .await;
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(srv.inbox("user@example.test").await.len(), 1);
    assert!(
        srv.queued().is_empty(),
        "a group member outside was relayed to"
    );
}

#[tokio::test]
async fn authenticated_relay_without_a_queue_is_refused() {
    let srv = SmtpTest::start(Mode::Submission, |s| s.with_queue = false).await;
    srv.add_user("user@example.test").await;
    let mut c = srv.logged_in("user@example.test").await;
    c.expect("MAIL FROM:<user@example.test>", 250, "2.1.0")
        .await;
    c.expect(
        "RCPT TO:<friend@other.test>",
        550,
        "5.7.1 <friend@other.test>: relaying not configured",
    )
    .await;
    // Local recipients still work.
    c.expect("RCPT TO:<user@example.test>", 250, "2.1.5").await;
}
