//! Connection-level behaviour: greeting, CAPA, USER/PASS and AUTH, plaintext refusal before
//! TLS, STLS, implicit TLS, authentication failures, the maildrop lock, bad input, timeouts
//! and shutdown. Each test runs a fresh server on 127.0.0.1:0 over the real store.
mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Client, HOST, TestServer, message};
use std::time::{Duration, Instant};

const ALICE: &str = "alice@example.test";
const PW: &str = "correct horse";

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

async fn capa(c: &mut Client) -> Vec<String> {
    let (status, lines) = c.multi("CAPA").await;
    assert_eq!(status, "+OK Capability list follows");
    lines
}

#[tokio::test]
async fn greeting_capa_and_quit_before_login() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    assert_eq!(
        capa(&mut c).await,
        [
            "TOP",
            "UIDL",
            "RESP-CODES",
            "AUTH-RESP-CODE",
            "PIPELINING",
            "EXPIRE NEVER",
            "USER",
            "SASL PLAIN LOGIN",
            "STLS",
            "IMPLEMENTATION Tern"
        ]
    );
    assert_eq!(
        c.cmd("QUIT").await,
        format!("+OK {HOST} Tern POP3 signing off")
    );
    assert!(c.until_closed().await.is_empty());
}

#[tokio::test]
async fn plaintext_refused_before_stls_then_accepted() {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(ALICE, PW).await;
    let mut c = srv.connect().await;
    let caps = capa(&mut c).await;
    assert!(caps.contains(&"STLS".to_string()), "{caps:?}");
    assert!(
        !caps.iter().any(|l| l == "USER" || l.starts_with("SASL")),
        "no plaintext mechanism offered before TLS: {caps:?}"
    );
    let refused =
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections";
    assert_eq!(c.cmd(&format!("USER {ALICE}")).await, refused);
    assert_eq!(
        c.cmd(&format!("PASS {PW}")).await.split(' ').next(),
        Some("-ERR")
    );
    let ir = b64(format!("\0{ALICE}\0{PW}").as_bytes());
    assert_eq!(c.cmd(&format!("AUTH PLAIN {ir}")).await, refused);
    assert_eq!(c.cmd("AUTH LOGIN").await, refused);

    assert_eq!(c.cmd("STLS").await, "+OK Begin TLS negotiation now");
    let tls = common::tls_connect(srv.dir.path(), c.into_inner()).await;
    let mut c = Client::new(Box::new(tls));
    let caps = capa(&mut c).await;
    assert!(caps.contains(&"USER".to_string()), "{caps:?}");
    assert!(caps.contains(&"SASL PLAIN LOGIN".to_string()), "{caps:?}");
    assert!(
        !caps.contains(&"STLS".to_string()),
        "STLS gone after TLS: {caps:?}"
    );
    assert_eq!(
        c.cmd("STLS").await,
        "-ERR Command not permitted when TLS active"
    );
    c.ok(&format!("USER {ALICE}")).await;
    assert_eq!(
        c.cmd(&format!("PASS {PW}")).await,
        "+OK Mailbox locked and ready, 0 messages (0 octets)"
    );
    assert_eq!(c.cmd("STAT").await, "+OK 0 0");
    c.ok("QUIT").await;
}

#[tokio::test]
async fn stls_discards_pipelined_plaintext() {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(ALICE, PW).await;
    let mut c = srv.connect().await;
    // An attacker's injected commands ride in the same packet as STLS (RFC 2595 §4 / the
    // STARTTLS injection class of bugs): they must not run after the handshake.
    c.send_raw(format!("STLS\r\nUSER {ALICE}\r\nPASS {PW}\r\n").as_bytes())
        .await;
    assert_eq!(c.line().await, "+OK Begin TLS negotiation now");
    let tls = common::tls_connect(srv.dir.path(), c.into_inner()).await;
    let mut c = Client::new(Box::new(tls));
    assert_eq!(c.cmd("STAT").await, "-ERR Command not valid in this state");
    assert_eq!(
        c.cmd(&format!("PASS {PW}")).await,
        "-ERR No user name given; send USER first"
    );
}

#[tokio::test]
async fn stls_unavailable_without_tls_config() {
    let srv = TestServer::start_with(|s| {
        s.config.tls = None;
        s.config.allow_plaintext = true;
    })
    .await;
    let mut c = srv.connect().await;
    assert!(!capa(&mut c).await.contains(&"STLS".to_string()));
    assert_eq!(c.cmd("STLS").await, "-ERR STLS is not available");
}

#[tokio::test]
async fn implicit_tls_with_auth_plain_initial_response() {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(ALICE, PW).await;
    srv.deliver(ALICE, &message("one")).await;
    let mut c = srv.connect_tls().await;
    let caps = capa(&mut c).await;
    assert!(!caps.contains(&"STLS".to_string()), "{caps:?}");
    let ir = b64(format!("\0{ALICE}\0{PW}").as_bytes());
    let reply = c.ok(&format!("AUTH PLAIN {ir}")).await;
    assert!(reply.contains("1 messages"), "{reply}");
    let (_, caps) = c.multi("CAPA").await;
    assert!(
        !caps
            .iter()
            .any(|l| l == "USER" || l == "STLS" || l.starts_with("SASL")),
        "AUTHORIZATION-only capabilities are not listed in TRANSACTION: {caps:?}"
    );
    c.ok("QUIT").await;
}

#[tokio::test]
async fn auth_exchanges_plain_login_cancel_and_errors() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    let mut c = srv.connect().await;

    let (_, mechs) = c.multi("AUTH").await;
    assert_eq!(mechs, ["PLAIN", "LOGIN"]);
    assert_eq!(
        c.cmd("AUTH GSSAPI").await,
        "-ERR Unsupported authentication mechanism"
    );
    assert_eq!(c.cmd("AUTH PLAIN !!!").await, "-ERR Invalid base64 data");
    // RFC 5034 §4: "=" is an empty initial response, which PLAIN cannot accept.
    assert_eq!(c.cmd("AUTH PLAIN =").await, "-ERR Malformed PLAIN response");
    // Cancel with "*".
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    assert_eq!(c.cmd("*").await, "-ERR Authentication cancelled");
    // LOGIN: two challenges.
    assert_eq!(
        c.cmd("AUTH LOGIN").await,
        format!("+ {}", b64(b"Username:"))
    );
    assert_eq!(
        c.cmd(&b64(ALICE.as_bytes())).await,
        format!("+ {}", b64(b"Password:"))
    );
    assert_eq!(
        c.cmd(&b64(b"wrong")).await,
        "-ERR [AUTH] Authentication failed"
    );
    // PLAIN without an initial response, naming another account as authzid.
    srv.add_user("bob@example.test", "bobpw").await;
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    let creds = b64(format!("bob@example.test\0{ALICE}\0{PW}").as_bytes());
    assert_eq!(
        c.cmd(&creds).await,
        "-ERR [AUTH] Not authorized to act as that user"
    );
    // Finally, PLAIN with authzid = the same account.
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    let creds = b64(format!("{ALICE}\0{ALICE}\0{PW}").as_bytes());
    assert!(
        c.cmd(&creds)
            .await
            .starts_with("+OK Mailbox locked and ready")
    );
    assert_eq!(c.cmd("STAT").await, "+OK 0 0");
}

#[tokio::test]
async fn failures_say_nothing_grow_slower_and_disconnect() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    srv.add_user("off@example.test", "pw").await;
    srv.directory
        .set_enabled("off@example.test", false)
        .await
        .unwrap();
    let mut c = srv.connect().await;
    let start = Instant::now();
    for (user, pass) in [
        (ALICE, "wrong"),
        ("nobody@example.test", PW),
        ("off@example.test", "pw"),
    ] {
        assert_eq!(
            c.cmd(&format!("USER {user}")).await,
            "+OK Send your password"
        );
        assert_eq!(
            c.cmd(&format!("PASS {pass}")).await,
            "-ERR [AUTH] Authentication failed",
            "{user}"
        );
    }
    // 50 ms, then 100, then 200 (fast_limits: base 50 ms, doubling).
    assert!(
        start.elapsed() >= Duration::from_millis(350),
        "{:?}",
        start.elapsed()
    );
    assert!(c.until_closed().await.is_empty(), "closed after 3 failures");

    // A failed PASS forgets USER.
    let mut c = srv.connect().await;
    c.ok(&format!("USER {ALICE}")).await;
    c.err("PASS wrong").await;
    assert_eq!(
        c.cmd(&format!("PASS {PW}")).await,
        "-ERR No user name given; send USER first"
    );
    // A success resets nothing it should not: login works on the same connection.
    c.ok(&format!("USER {ALICE}")).await;
    c.ok(&format!("PASS {PW}")).await;
}

#[tokio::test]
async fn second_session_gets_in_use_until_the_first_quits() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    srv.deliver(ALICE, &message("one")).await;
    let mut first = srv.login(ALICE, PW).await;
    first.ok("DELE 1").await;

    let mut second = srv.connect().await;
    second.ok(&format!("USER {ALICE}")).await;
    assert_eq!(
        second.cmd(&format!("PASS {PW}")).await,
        "-ERR [IN-USE] Mailbox is locked by another POP3 session"
    );
    // Any spelling of the login is the same account, hence the same lock.
    let ir = b64(format!("\0ALICE@EXAMPLE.TEST\0{PW}").as_bytes());
    assert!(
        second
            .cmd(&format!("AUTH PLAIN {ir}"))
            .await
            .starts_with("-ERR [IN-USE]")
    );
    // IN-USE is not an authentication failure: the connection stays open and usable.
    assert_eq!(
        second.cmd("STAT").await,
        "-ERR Command not valid in this state"
    );

    first.ok("QUIT").await;
    // The lock is released before QUIT's +OK: logging in right away works.
    second.ok(&format!("USER {ALICE}")).await;
    assert_eq!(
        second.cmd(&format!("PASS {PW}")).await,
        "+OK Mailbox locked and ready, 0 messages (0 octets)"
    );
}

#[tokio::test]
async fn unknown_and_misplaced_commands() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    let mut c = srv.connect().await;
    assert_eq!(c.cmd("FOO").await, "-ERR Unknown command");
    assert_eq!(
        c.cmd("APOP alice 0123456789abcdef").await,
        "-ERR Unknown command"
    );
    assert_eq!(c.cmd("STAT").await, "-ERR Command not valid in this state");
    assert_eq!(c.cmd("NOOP").await, "-ERR Command not valid in this state");
    assert_eq!(
        c.cmd("PASS x").await,
        "-ERR No user name given; send USER first"
    );
    c.ok(&format!("USER {ALICE}")).await;
    c.ok(&format!("PASS {PW}")).await;
    assert_eq!(
        c.cmd("USER bob").await,
        "-ERR Command not valid in this state"
    );
    assert_eq!(c.cmd("STLS").await, "-ERR Command not valid in this state");
    // Bad commands are counted in a row: a good one in between starts the count again.
    assert_eq!(c.cmd("NOOP").await, "+OK");
    assert_eq!(c.cmd("RETR x").await, "-ERR Invalid message number");
    assert_eq!(c.cmd("RETR").await, "-ERR Message number required");
    assert_eq!(
        c.cmd("TOP 1").await,
        "-ERR TOP needs a message number and a line count"
    );
    assert_eq!(c.cmd("STAT extra").await, "-ERR Too many arguments");
    assert_eq!(c.cmd("noop").await, "+OK");
}

#[tokio::test]
async fn too_many_bad_commands_close_the_connection() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    for _ in 0..4 {
        assert_eq!(c.cmd("XYZZY").await, "-ERR Unknown command");
    }
    assert_eq!(c.cmd("XYZZY").await, "-ERR Too many bad commands");
    assert!(c.until_closed().await.is_empty());
}

#[tokio::test]
async fn overlong_lines_are_refused_and_the_session_goes_on() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    let mut c = srv.connect().await;
    // fast_limits: max_line 1024. One line of 5000 octets, sent in pieces.
    let long = "A".repeat(5000);
    c.send_raw(&long.as_bytes()[..3000]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send_raw(&long.as_bytes()[3000..]).await;
    c.send_raw(b"\r\n").await;
    assert_eq!(c.line().await, "-ERR line too long");
    // Just over the limit, in one piece.
    assert_eq!(
        c.cmd(&format!("USER {}", "b".repeat(1100))).await,
        "-ERR line too long"
    );
    // The next command is read normally.
    c.ok(&format!("USER {ALICE}")).await;
    c.ok(&format!("PASS {PW}")).await;
    // Bare LF line ends are accepted too.
    c.send_raw(b"STAT\n").await;
    assert_eq!(c.line().await, "+OK 0 0");
}

#[tokio::test]
async fn preauth_timeout_closes_silently() {
    let srv = TestServer::start_with(|s| {
        s.config.allow_plaintext = true;
        s.limits.preauth_timeout = Duration::from_millis(300);
    })
    .await;
    let mut c = srv.connect().await;
    c.ok("CAPA").await;
    let start = Instant::now();
    let rest = c.until_closed().await;
    // The CAPA body, then nothing: RFC 1939 §3 closes without a response.
    assert_eq!(rest.last().map(String::as_str), Some("."), "{rest:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn idle_timeout_closes_silently_and_deletes_nothing() {
    let srv = TestServer::start_with(|s| {
        s.config.allow_plaintext = true;
        s.config.idle_timeout = Duration::from_millis(300);
    })
    .await;
    srv.add_user(ALICE, PW).await;
    srv.deliver(ALICE, &message("keep me")).await;
    let mut c = srv.login(ALICE, PW).await;
    c.ok("DELE 1").await;
    // Activity resets the timer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.ok("NOOP").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.ok("NOOP").await;
    assert!(
        c.until_closed().await.is_empty(),
        "no response on autologout"
    );
    assert_eq!(
        srv.inbox_messages(ALICE).await.len(),
        1,
        "not in UPDATE: kept"
    );
    let mut c = srv.login_when_free(ALICE, PW).await;
    assert!(c.cmd("STAT").await.starts_with("+OK 1 "));
}

#[tokio::test]
async fn shutdown_says_so_and_deletes_nothing() {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    srv.deliver(ALICE, &message("keep me")).await;
    let mut c = srv.login(ALICE, PW).await;
    c.ok("DELE 1").await;
    srv.shutdown();
    assert_eq!(
        c.until_closed().await,
        ["-ERR [SYS/TEMP] Server shutting down"]
    );
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 1);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_releases_the_lock() {
    let srv = TestServer::start_with(|s| {
        s.config.allow_plaintext = true;
        s.config.idle_timeout = Duration::from_millis(500);
    })
    .await;
    srv.add_user(ALICE, PW).await;
    // Larger than what loopback socket buffers absorb, so the server's writes stall.
    let line = format!("{}\r\n", "z".repeat(998));
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    while big.len() < 24 << 20 {
        big.extend_from_slice(line.as_bytes());
    }
    srv.deliver(ALICE, &big).await;
    let mut stalled = srv.login(ALICE, PW).await;
    stalled.send("RETR 1").await;
    // Never read. The server gives up after idle_timeout without progress.
    let start = Instant::now();
    let _c = srv.login_when_free(ALICE, PW).await;
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    drop(stalled);
}
