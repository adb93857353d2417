//! Whole connections over an in-memory pipe, against a real internal directory.
use crate::{AuthSocketConfig, AuthSocketServer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::internal::{HashParams, InternalDirectory};
use tern_sasl::{Authenticator, Mechanism};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;

struct Fixture {
    _tmp: tempfile::TempDir,
    server: Arc<AuthSocketServer>,
    stop: tokio::sync::watch::Sender<bool>,
    shutdown: tern_net::Shutdown,
}

async fn fixture(config: AuthSocketConfig) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let d = InternalDirectory::open_in(tmp.path())
        .unwrap()
        .with_hash_params(HashParams::insecure_fast())
        .unwrap();
    d.add_user("fred@example.test", Some("secret"), None)
        .await
        .unwrap();
    let d = Arc::new(d);
    let sasl = Authenticator::new(d.clone())
        .with_mechanisms(&Mechanism::ALL)
        .with_scram(d);
    let (stop, shutdown) = tern_net::Shutdown::new();
    Fixture {
        _tmp: tmp,
        server: AuthSocketServer::new(sasl, config),
        stop,
        shutdown,
    }
}

/// Fast failures for tests that are not about delays.
fn quick() -> AuthSocketConfig {
    AuthSocketConfig {
        failure_delay: Duration::ZERO,
        ..AuthSocketConfig::default()
    }
}

struct Client {
    io: BufReader<DuplexStream>,
    server: JoinHandle<()>,
}

impl Client {
    async fn connect(f: &Fixture) -> Client {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(f.server.clone().handle(
            theirs,
            "test".into(),
            f.shutdown.clone(),
        ));
        Client {
            io: BufReader::new(ours),
            server,
        }
    }

    /// Connects and completes the handshake; returns the server's handshake lines.
    async fn ready(f: &Fixture) -> (Client, Vec<String>) {
        let mut c = Client::connect(f).await;
        let mut handshake = Vec::new();
        loop {
            let line = c.line().await.expect("handshake");
            let done = line == "DONE";
            handshake.push(line);
            if done {
                break;
            }
        }
        c.send("VERSION\t1\t0\nCPID\t4242\n").await;
        (c, handshake)
    }

    async fn send(&mut self, s: &str) {
        self.io.get_mut().write_all(s.as_bytes()).await.unwrap();
    }

    /// The next line, or `None` once the server closed.
    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(60), self.io.read_line(&mut line))
            .await
            .expect("the server answers")
            .unwrap();
        if n == 0 {
            return None;
        }
        assert!(line.ends_with('\n'), "{line:?}");
        line.pop();
        Some(line)
    }

    async fn closed(mut self) {
        assert_eq!(self.line().await, None);
        tokio::time::timeout(Duration::from_secs(60), self.server)
            .await
            .expect("the connection task ends")
            .unwrap();
    }
}

fn plain(authz: &str, user: &str, password: &str) -> String {
    B64.encode(format!("{authz}\0{user}\0{password}"))
}

#[tokio::test]
async fn handshake_announces_mechanisms_before_spid() {
    let f = fixture(quick()).await;
    let (_c, hs) = Client::ready(&f).await;
    assert_eq!(hs[0], "VERSION\t1\t2");
    assert_eq!(hs[1], "MECH\tPLAIN\tplaintext");
    assert_eq!(hs[2], "MECH\tLOGIN\tplaintext");
    assert_eq!(hs[3], "MECH\tSCRAM-SHA-256\tmutual-auth");
    // GSSAPI is not offered without a Kerberos acceptor.
    assert!(hs[4].starts_with("SPID\t"), "{hs:?}");
    assert!(hs[5].starts_with("CUID\t"));
    let cookie = hs[6].strip_prefix("COOKIE\t").unwrap();
    assert_eq!(cookie.len(), 32);
    assert!(cookie.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(hs[7], "DONE");
    assert_eq!(hs.len(), 8);
}

#[tokio::test]
async fn plain_success_and_failures_look_alike() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    let ok = plain("", "fred", "secret");
    c.send(&format!(
        "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.2\tsecured\tresp={ok}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "OK\t1\tuser=fred@example.test");
    // Wrong password and unknown user: the same bare FAIL.
    let wrong = plain("", "fred", "wrong");
    c.send(&format!(
        "AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp={wrong}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "FAIL\t2");
    let nobody = plain("", "nobody@example.test", "secret");
    c.send(&format!(
        "AUTH\t3\tPLAIN\tservice=smtp\tsecured\tresp={nobody}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "FAIL\t3");
    // An authorization identity naming someone else is a failure too.
    let other = plain("admin@example.test", "fred", "secret");
    c.send(&format!(
        "AUTH\t4\tPLAIN\tservice=smtp\tsecured\tresp={other}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "FAIL\t4");
    // Without an initial response PLAIN asks with an empty challenge.
    c.send("AUTH\t5\tPLAIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t5\t");
    c.send(&format!("CONT\t5\t{ok}\n")).await;
    assert_eq!(c.line().await.unwrap(), "OK\t5\tuser=fred@example.test");
}

#[tokio::test]
async fn plaintext_needs_secured_unless_allowed() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    let ok = plain("", "fred", "secret");
    c.send(&format!("AUTH\t1\tPLAIN\tservice=smtp\tresp={ok}\n"))
        .await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t1\treason=Plaintext authentication disabled"
    );
    c.send("AUTH\t2\tLOGIN\tservice=smtp\ttransport=insecure\n")
        .await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t2\treason=Plaintext authentication disabled"
    );
    let f = fixture(AuthSocketConfig {
        allow_plaintext: true,
        ..quick()
    })
    .await;
    let (mut c, _) = Client::ready(&f).await;
    c.send(&format!("AUTH\t1\tPLAIN\tservice=smtp\tresp={ok}\n"))
        .await;
    assert_eq!(c.line().await.unwrap(), "OK\t1\tuser=fred@example.test");
}

#[tokio::test]
async fn login_round_trip_with_cont() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    c.send("AUTH\t7\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t7\tVXNlcm5hbWU6");
    c.send(&format!("CONT\t7\t{}\n", B64.encode("fred@example.test")))
        .await;
    assert_eq!(c.line().await.unwrap(), "CONT\t7\tUGFzc3dvcmQ6");
    c.send(&format!("CONT\t7\t{}\n", B64.encode("secret")))
        .await;
    assert_eq!(c.line().await.unwrap(), "OK\t7\tuser=fred@example.test");
    // The request is over: a further CONT names nothing.
    c.send("CONT\t7\tAAAA\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t7\treason=Unknown authentication request"
    );
}

#[tokio::test]
async fn requests_run_side_by_side() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t1\tVXNlcm5hbWU6");
    let ok = plain("", "fred", "secret");
    c.send(&format!(
        "AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp={ok}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "OK\t2\tuser=fred@example.test");
    c.send(&format!("CONT\t1\t{}\n", B64.encode("fred"))).await;
    assert_eq!(c.line().await.unwrap(), "CONT\t1\tUGFzc3dvcmQ6");
    c.send(&format!("CONT\t1\t{}\n", B64.encode("secret")))
        .await;
    assert_eq!(c.line().await.unwrap(), "OK\t1\tuser=fred@example.test");
    // A cancelled request is forgotten without a reply.
    c.send("AUTH\t3\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t3\tVXNlcm5hbWU6");
    c.send("CANCEL\t3\nCONT\t3\tAAAA\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t3\treason=Unknown authentication request"
    );
}

#[tokio::test]
async fn a_delayed_failure_holds_up_only_its_own_request() {
    let f = fixture(AuthSocketConfig {
        failure_delay: Duration::from_secs(3600),
        ..AuthSocketConfig::default()
    })
    .await;
    let (mut c, _) = Client::ready(&f).await;
    let wrong = plain("", "fred", "wrong");
    let ok = plain("", "fred", "secret");
    c.send(&format!(
        "AUTH\t1\tPLAIN\tservice=smtp\tsecured\trip=192.0.2.1\tresp={wrong}\n"
    ))
    .await;
    c.send(&format!(
        "AUTH\t2\tPLAIN\tservice=smtp\tsecured\trip=192.0.2.2\tresp={ok}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "OK\t2\tuser=fred@example.test");
    // The failure was counted (the check may still be running when OK 2 arrives).
    let first = "192.0.2.1".parse().unwrap();
    for _ in 0..6000 {
        if f.server.failures_from(first) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(f.server.failures_from(first), 1);
    assert_eq!(f.server.failures_from("192.0.2.2".parse().unwrap()), 0);
}

#[tokio::test]
async fn malformed_requests_get_fail() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    for (line, reply) in [
        (
            "AUTH\t1\tCRAM-MD5\tservice=smtp\tsecured\n",
            "FAIL\t1\treason=Unsupported authentication mechanism",
        ),
        (
            "AUTH\t2\tPLAIN\tsecured\n",
            "FAIL\t2\treason=Missing service",
        ),
        (
            "AUTH\t3\tPLAIN\tservice=smtp\tsecured\tresp=%%%\n",
            "FAIL\t3\treason=Invalid base64 data in initial response",
        ),
        (
            "AUTH\t4\tPLAIN\tservice=smtp\tsecured\tresp=AGZyZWQ=\n",
            "FAIL\t4\treason=Malformed PLAIN response",
        ),
        ("CONT\t5\n", "FAIL\t5\treason=Malformed request"),
        (
            "CONT\t6\tAAAA\n",
            "FAIL\t6\treason=Unknown authentication request",
        ),
    ] {
        c.send(line).await;
        assert_eq!(c.line().await.unwrap(), reply, "{line:?}");
    }
    c.send("AUTH\t8\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t8\tVXNlcm5hbWU6");
    c.send("CONT\t8\t!!\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t8\treason=Invalid base64 data in continued response"
    );
    // The connection still works.
    let ok = plain("", "fred", "secret");
    c.send(&format!(
        "AUTH\t9\tPLAIN\tservice=smtp\tsecured\tresp={ok}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "OK\t9\tuser=fred@example.test");
}

#[tokio::test]
async fn lines_naming_no_request_close_the_connection() {
    let f = fixture(quick()).await;
    for bad in [
        "HELLO\n",
        "\n",
        "AUTH\tx\tPLAIN\tservice=smtp\n",
        "CPID\t5\n",
        "VERSION\t1\t0\n",
    ] {
        let (mut c, _) = Client::ready(&f).await;
        c.send(bad).await;
        c.closed().await;
    }
    // An id reused while its request is in progress is ambiguous.
    let (mut c, _) = Client::ready(&f).await;
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t1\tVXNlcm5hbWU6");
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n").await;
    c.closed().await;
}

#[tokio::test]
async fn a_broken_handshake_closes_the_connection() {
    let f = fixture(quick()).await;
    for bad in [
        "VERSION\t2\t0\n",
        "AUTH\t1\tPLAIN\tservice=smtp\n",
        "VERSION\t1\t0\nAUTH\t1\tPLAIN\tservice=smtp\n",
    ] {
        let mut c = Client::connect(&f).await;
        c.send(bad).await;
        while c.line().await.is_some() {}
        c.closed().await;
    }
}

#[tokio::test]
async fn over_long_lines() {
    let f = fixture(AuthSocketConfig {
        max_line: 1000,
        ..quick()
    })
    .await;
    let (mut c, _) = Client::ready(&f).await;
    let long = "A".repeat(5000);
    c.send(&format!(
        "AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp={long}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "FAIL\t1\treason=Line too long");
    let ok = plain("", "fred", "secret");
    c.send(&format!(
        "AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp={ok}\n"
    ))
    .await;
    assert_eq!(c.line().await.unwrap(), "OK\t2\tuser=fred@example.test");
    // A long line that names no request closes the connection.
    c.send(&format!("{long}\n")).await;
    c.closed().await;
}

#[tokio::test]
async fn the_request_limit_drops_the_oldest_waiting_request() {
    let f = fixture(AuthSocketConfig {
        max_requests: 2,
        ..quick()
    })
    .await;
    let (mut c, _) = Client::ready(&f).await;
    for id in 1..=2 {
        c.send(&format!("AUTH\t{id}\tLOGIN\tservice=smtp\tsecured\n"))
            .await;
        assert_eq!(c.line().await.unwrap(), format!("CONT\t{id}\tVXNlcm5hbWU6"));
    }
    c.send("AUTH\t3\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "FAIL\t1\treason=Too many requests in progress"
    );
    assert_eq!(c.line().await.unwrap(), "CONT\t3\tVXNlcm5hbWU6");
    c.send(&format!("CONT\t2\t{}\n", B64.encode("fred"))).await;
    assert_eq!(c.line().await.unwrap(), "CONT\t2\tUGFzc3dvcmQ6");
}

#[tokio::test]
async fn a_client_leaving_mid_exchange_ends_the_connection() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t1\tVXNlcm5hbWU6");
    c.send("CONT\t1\tZnJl").await; // half a line
    let Client { io, server } = c;
    drop(io);
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the connection task ends")
        .unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_connections() {
    let f = fixture(quick()).await;
    let (mut c, _) = Client::ready(&f).await;
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n").await;
    assert_eq!(c.line().await.unwrap(), "CONT\t1\tVXNlcm5hbWU6");
    f.stop.send(true).unwrap();
    c.closed().await;
}

#[tokio::test]
async fn unix_socket_with_mode_and_stale_file() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let f = fixture(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth");
    let options = crate::UnixSocketOptions {
        path: path.clone(),
        mode: 0o660,
        owner: None,
        group: None,
    };
    // A regular file in the way is not replaced.
    std::fs::write(&path, b"keep me").unwrap();
    let e = crate::UnixListener::bind(&options).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    std::fs::remove_file(&path).unwrap();
    // A stale socket is.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let listener = crate::UnixListener::bind(&options).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    // A live one is not.
    assert_eq!(
        crate::UnixListener::bind(&options).unwrap_err().kind(),
        std::io::ErrorKind::AddrInUse
    );
    let served = tokio::spawn(listener.serve(f.server.clone(), 10, f.shutdown.clone()));
    let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut io = BufReader::new(stream);
    let mut line = String::new();
    io.read_line(&mut line).await.unwrap();
    assert_eq!(line, "VERSION\t1\t2\n");
    drop(io);
    f.stop.send(true).unwrap();
    served.await.unwrap();
    assert!(!path.exists(), "the socket file is removed at shutdown");
}
