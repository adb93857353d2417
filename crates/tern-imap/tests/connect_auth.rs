//! Connection-level behaviour: greeting, CAPABILITY, STARTTLS, LOGIN and AUTHENTICATE
//! (plaintext policy, SASL-IR, failures), malformed input, timeouts, shutdown, LOGOUT.

mod common;

use common::{Client, TestServer, tls_connect};
use std::time::Duration;

const USER: &str = "alice@example.test";
const PASS: &str = "correct horse";

fn caps_of(line: &str) -> Vec<String> {
    let start = line.find("CAPABILITY ").expect("capability list") + "CAPABILITY ".len();
    let end = line[start..]
        .find(']')
        .map(|i| start + i)
        .unwrap_or(line.len());
    line[start..end].split(' ').map(str::to_string).collect()
}

#[tokio::test]
async fn greeting_and_capability_before_tls_disable_login() {
    let srv = TestServer::start_with(|_| {}).await;
    let mut c = srv.connect_raw().await;
    let greeting = c.line().await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{greeting}"
    );
    assert!(
        greeting.ends_with("] imap.example.test Tern ready"),
        "{greeting}"
    );
    let caps = caps_of(&greeting);
    for want in [
        "STARTTLS",
        "LOGINDISABLED",
        "SASL-IR",
        "LITERAL+",
        "IDLE",
        "NAMESPACE",
    ] {
        assert!(caps.iter().any(|c| c == want), "{want} missing in {caps:?}");
    }
    assert!(!caps.iter().any(|c| c.starts_with("AUTH=")), "{caps:?}");

    let lines = c.ok("CAPABILITY").await;
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 "));
    assert!(lines[0].contains(" LOGINDISABLED"));
    assert_eq!(lines[1], "a1 OK CAPABILITY completed");

    srv.add_user(USER, PASS).await;
    let no = c.no(&format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(no.starts_with("a2 NO [PRIVACYREQUIRED]"), "{no}");
    let no = c
        .no("AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl")
        .await;
    assert!(no.starts_with("a3 NO [PRIVACYREQUIRED]"), "{no}");
}

#[tokio::test]
async fn starttls_then_login() {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect().await;
    // Plaintext pipelined after STARTTLS must be discarded, never executed.
    c.send_raw(b"a1 STARTTLS\r\na2 LOGIN alice@example.test \"correct horse\"\r\n")
        .await;
    assert_eq!(c.line().await, "a1 OK Begin TLS negotiation now");
    let tls = tls_connect(srv.dir.path(), c.into_inner()).await;
    let mut c = Client::new(Box::new(tls));
    // Nothing unsolicited after the handshake; the injected LOGIN did not run.
    assert!(c.line_within(Duration::from_millis(300)).await.is_err());
    let lines = c.ok("CAPABILITY").await;
    assert!(!lines[0].contains("STARTTLS") && !lines[0].contains("LOGINDISABLED"));
    assert!(lines[0].contains(" AUTH=PLAIN AUTH=LOGIN"), "{}", lines[0]);
    c.bad("STARTTLS").await;
    let lines = c.ok(&format!("LOGIN {USER} \"{PASS}\"")).await;
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("a3 OK [CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{last}"
    );
    assert!(last.ends_with("] Logged in"), "{last}");
    assert!(!last.contains("AUTH="));
}

#[tokio::test]
async fn implicit_tls_authenticate_plain_with_sasl_ir() {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect_tls().await;
    // base64("\0alice@example.test\0correct horse")
    let lines = c
        .ok("AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl")
        .await;
    assert!(lines.last().unwrap().ends_with("] Logged in"));
    c.bad("LOGIN a b").await;
}

#[tokio::test]
async fn authenticate_continuations_cancel_and_login_mechanism() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect().await;
    c.send("a1 AUTHENTICATE PLAIN").await;
    assert_eq!(c.line().await, "+ ");
    c.send("*").await;
    assert_eq!(c.line().await, "a1 BAD Authentication cancelled");

    c.send("a2 AUTHENTICATE LOGIN").await;
    assert_eq!(c.line().await, "+ VXNlcm5hbWU6");
    c.send("YWxpY2VAZXhhbXBsZS50ZXN0").await;
    assert_eq!(c.line().await, "+ UGFzc3dvcmQ6");
    c.send("Y29ycmVjdCBob3JzZQ==").await;
    let l = c.line().await;
    assert!(
        l.starts_with("a2 OK [CAPABILITY ") && l.ends_with("Logged in"),
        "{l}"
    );
}

#[tokio::test]
async fn authorization_identity_must_be_the_same_account() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    srv.add_user("bob@example.test", "pw").await;
    let mut c = srv.connect().await;
    // authzid bob, authcid alice: refused.
    let no = c
        .no("AUTHENTICATE PLAIN Ym9iQGV4YW1wbGUudGVzdABhbGljZUBleGFtcGxlLnRlc3QAY29ycmVjdCBob3JzZQ==")
        .await;
    assert!(no.starts_with("a1 NO [AUTHORIZATIONFAILED]"), "{no}");
    // authzid = authcid: fine.
    let lines = c
        .ok("AUTHENTICATE PLAIN YWxpY2VAZXhhbXBsZS50ZXN0AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl")
        .await;
    assert!(lines.last().unwrap().ends_with("Logged in"));
}

#[tokio::test]
async fn failures_say_nothing_and_disconnect_after_five() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.auth_failure_delay = Duration::from_millis(5);
    })
    .await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect().await;
    for i in 1..=4 {
        let no = c.no(&format!("LOGIN {USER} wrong{i}")).await;
        assert_eq!(
            no,
            format!("a{i} NO [AUTHENTICATIONFAILED] Authentication failed")
        );
    }
    let no = c.no("LOGIN nobody@example.test wrong").await;
    assert_eq!(no, "a5 NO [AUTHENTICATIONFAILED] Authentication failed");
    assert_eq!(c.line().await, "* BYE Too many authentication failures");
    assert!(c.try_line().await.is_none());
}

#[tokio::test]
async fn failure_delay_grows() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.auth_failure_delay = Duration::from_millis(200);
    })
    .await;
    let mut c = srv.connect().await;
    let t = std::time::Instant::now();
    c.no("LOGIN x@example.test y").await;
    c.no("LOGIN x@example.test y").await;
    // 200 ms, then 400 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn malformed_input_gets_bad() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    c.send("a1 FROBNICATE").await;
    let l = c.line().await;
    assert!(l.starts_with("a1 BAD "), "{l}");
    c.send("+++").await;
    let l = c.line().await;
    assert!(l.starts_with("* BAD "), "{l}");
    c.send("a2 SELECT INBOX").await;
    assert_eq!(c.line().await, "a2 BAD Not authenticated");
    c.send("a3 LOGIN \"unterminated").await;
    assert!(c.line().await.starts_with("a3 BAD "));
    // A line over the limit is refused and skipped; the connection stays usable.
    let long = format!("a4 NOOP {}", "x".repeat(70 * 1024));
    c.send(&long).await;
    assert_eq!(c.line().await, "a4 BAD Command line too long");
    c.ok("NOOP").await;
    // A literal over the pre-auth limit is refused before the client sends it.
    c.send("a6 LOGIN {100000}").await;
    let l = c.line().await;
    assert!(l.starts_with("a6 BAD [TOOBIG]"), "{l}");
    // Non-synchronizing literal within limits works.
    c.send_raw(b"a7 ID (\"name\" {4+}\r\ntest)\r\n").await;
    assert!(c.line().await.starts_with("* ID (\"name\" \"Tern\""));
    assert_eq!(c.line().await, "a7 OK ID completed");
}

#[tokio::test]
async fn logout_says_bye_then_ok() {
    let srv = TestServer::start().await;
    let mut c = srv.connect().await;
    let lines = c.cmd("LOGOUT").await;
    assert_eq!(lines, vec!["* BYE Logging out", "a1 OK LOGOUT completed"]);
    assert!(c.try_line().await.is_none());
}

#[tokio::test]
async fn preauth_timeout_and_autologout() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.preauth_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_millis(600);
    })
    .await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect().await;
    assert_eq!(c.line().await, "* BYE Autologout; idle for too long");
    assert!(c.try_line().await.is_none());

    let mut c = srv.login(USER, PASS).await;
    c.ok("NOOP").await;
    assert_eq!(c.line().await, "* BYE Autologout; idle for too long");
    assert!(c.try_line().await.is_none());
}

#[tokio::test]
async fn shutdown_says_bye() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    let mut idle = srv.login(USER, PASS).await;
    idle.send("i1 IDLE").await;
    assert_eq!(idle.line().await, "+ idling");
    srv.shutdown();
    assert_eq!(c.line().await, "* BYE Server shutting down");
    assert_eq!(idle.line().await, "* BYE Server shutting down");
    assert!(c.try_line().await.is_none());
}

#[tokio::test]
async fn id_enable_namespace() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    let lines = c.ok("ID (\"name\" \"test-client\")").await;
    assert!(
        lines[0].starts_with("* ID (\"name\" \"Tern\" \"version\" "),
        "{}",
        lines[0]
    );
    let lines = c.ok("ENABLE QRESYNC UTF8=ACCEPT X-UNKNOWN").await;
    assert_eq!(lines[0], "* ENABLED QRESYNC UTF8=ACCEPT");
    let lines = c.ok("ENABLE CONDSTORE").await;
    assert_eq!(lines[0], "* ENABLED", "QRESYNC already enabled CONDSTORE");
    let lines = c.ok("NAMESPACE").await;
    assert_eq!(
        lines[0],
        "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL"
    );
}

#[tokio::test]
async fn compress_deflate() {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.login(USER, PASS).await;
    c.send("z1 COMPRESS DEFLATE").await;
    assert_eq!(c.line().await, "z1 OK DEFLATE active");
    let mut z = Client::new(Box::new(tern_net::deflate::DeflateStream::new(
        c.into_inner(),
    )));
    z.send("z2 COMPRESS DEFLATE").await;
    assert_eq!(
        z.line().await,
        "z2 NO [COMPRESSIONACTIVE] Compression is already active"
    );
    z.send("z3 NOOP").await;
    assert_eq!(z.line().await, "z3 OK NOOP completed");
}
