//! Real POP3 clients nobody here wrote: Python's poplib (scenarios in `poplib_client.py`)
//! and fetchmail, over STLS and implicit TLS, against a server that refuses plaintext
//! authentication before TLS. A test whose client is not installed prints a notice and
//! passes (as tern-smtp's client tests do); scripts/test.sh installs them.
mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{TestServer, message};
use std::path::{Path, PathBuf};
use std::process::Command;

const ALICE: &str = "alice@example.test";
const PW: &str = "s3cret pass";

fn python() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import poplib, ssl"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn fetchmail() -> Option<PathBuf> {
    ["/usr/bin/fetchmail", "/usr/local/bin/fetchmail"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A server refusing plaintext before TLS, with Alice and `messages` in her INBOX.
async fn server(messages: &[Vec<u8>]) -> TestServer {
    let srv = TestServer::start_with(|_| {}).await;
    srv.add_user(ALICE, PW).await;
    for m in messages {
        srv.deliver(ALICE, m).await;
    }
    srv
}

/// Runs one poplib scenario; returns its JSON output.
async fn poplib(python: &'static str, srv: &TestServer, scenario: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/poplib_client.py");
    let args = [
        script.display().to_string(),
        scenario.to_string(),
        "127.0.0.1".into(),
        srv.addr.port().to_string(),
        srv.tls_addr.port().to_string(),
        ALICE.into(),
        PW.into(),
    ];
    let output = tokio::task::spawn_blocking(move || Command::new(python).args(args).output())
        .await
        .unwrap()
        .expect("run python3");
    assert!(
        output.status.success(),
        "poplib {scenario} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("scenario output is JSON")
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    B64.decode(v.as_str().expect("string")).expect("base64")
}

/// A message with a dot-leading line and a long body, to catch stuffing errors.
fn tricky(subject: &str) -> Vec<u8> {
    let mut m = message(subject);
    m.extend_from_slice(b".a line starting with a dot\r\n..and two\r\n.\r\n");
    for i in 0..2000 {
        m.extend_from_slice(format!("body line {i} of {subject}\r\n").as_bytes());
    }
    m
}

#[tokio::test]
async fn poplib_stls_uidl_top_and_byte_exact_retr() {
    let Some(py) = python() else {
        println!("NOTICE: python3 with poplib not installed, skipping");
        return;
    };
    let msgs = vec![tricky("one"), message("two")];
    let srv = server(&msgs).await;
    let out = poplib(py, &srv, "stls_session").await;

    assert_eq!(out["welcome"], "+OK pop.example.test Tern POP3 ready");
    assert_eq!(
        out["refused"],
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections"
    );
    let total: usize = msgs.iter().map(Vec::len).sum();
    assert_eq!(out["stat"], serde_json::json!([2, total]));
    let retrieved: Vec<Vec<u8>> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    assert_eq!(retrieved, msgs, "RETR through poplib is byte-exact");

    let inbox = srv.inbox(ALICE).await;
    let uids: Vec<u32> = srv
        .inbox_messages(ALICE)
        .await
        .iter()
        .map(|r| r.uid)
        .collect();
    let store_uidls: Vec<String> = srv
        .mail
        .store
        .pop3_uidls(inbox, &uids)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let seen: Vec<String> = out["uidls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, store_uidls);

    let header_end = msgs[0].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(b64(&out["top0"]), &msgs[0][..header_end], "TOP 1 0");
    assert!(out["quit"].as_str().unwrap().starts_with("+OK"));
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 2, "nothing deleted");
}

#[tokio::test]
async fn poplib_dele_quit_removes_and_dele_drop_keeps() {
    let Some(py) = python() else {
        println!("NOTICE: python3 with poplib not installed, skipping");
        return;
    };
    let srv = server(&[message("a"), message("b"), message("c")]).await;
    let before = srv.inbox_messages(ALICE).await;

    let out = poplib(py, &srv, "dele_drop").await;
    assert_eq!(out["marked"], 3);
    assert_eq!(
        srv.inbox_messages(ALICE).await.len(),
        3,
        "a dropped session deletes nothing"
    );

    // The dropped session's lock goes when the server notices the close: wait for it.
    let mut c = srv.login_when_free_tls(ALICE, PW).await;
    c.ok("QUIT").await;

    let out = poplib(py, &srv, "ssl_dele_quit").await;
    assert_eq!(out["before"], 3);
    assert_eq!(out["dele"], "+OK Message 1 deleted");
    assert!(out["quit"].as_str().unwrap().contains("2 messages left"));
    let after = srv.inbox_messages(ALICE).await;
    let uids: Vec<u32> = after.iter().map(|r| r.uid).collect();
    assert_eq!(uids, [before[1].uid, before[2].uid]);
}

#[tokio::test]
async fn poplib_in_use_and_wrong_password() {
    let Some(py) = python() else {
        println!("NOTICE: python3 with poplib not installed, skipping");
        return;
    };
    let srv = server(&[message("a")]).await;
    let out = poplib(py, &srv, "in_use").await;
    assert_eq!(
        out["second"],
        "-ERR [IN-USE] Mailbox is locked by another POP3 session"
    );
    assert!(
        out["after_quit"]
            .as_str()
            .unwrap()
            .starts_with("+OK Mailbox locked")
    );
    let out = poplib(py, &srv, "wrong_password").await;
    assert_eq!(out["reply"], "-ERR [AUTH] Authentication failed");
}

/// Runs fetchmail once with `rc` (written 0600 into `dir`); returns (exit code, log).
async fn run_fetchmail(bin: &Path, dir: &Path, rc: String) -> (i32, String) {
    use std::os::unix::fs::PermissionsExt;
    let rc_path = dir.join("fetchmailrc");
    std::fs::write(&rc_path, rc).unwrap();
    std::fs::set_permissions(&rc_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-f")
        .arg(&rc_path)
        .arg("--pidfile")
        .arg(dir.join("fetchmail.pid"))
        .args(["-N", "-v", "--nosyslog"])
        .env("HOME", dir)
        .env("FETCHMAILHOME", dir);
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run fetchmail");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), log)
}

/// Messages the MDA wrote (each followed by a separator line).
fn delivered(out: &Path) -> Vec<String> {
    let all = std::fs::read_to_string(out).unwrap_or_default();
    all.split("=== fetchmail message end ===\n")
        .filter(|m| !m.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn fetchmail_over_stls_and_implicit_tls_with_uidl_tracking() {
    let Some(bin) = fetchmail() else {
        println!("NOTICE: fetchmail not installed (apt package fetchmail), skipping");
        return;
    };
    let srv = server(&[tricky("first"), message("second")]).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("delivered");
    let (cert, _) = tern_net::tls::generated_paths(srv.dir.path());
    let rc = |port: u16, tls: &str, keep: &str| {
        let uidl = if keep == "keep" { "uidl" } else { "" };
        format!(
            "set no bouncemail\n\
             poll localhost protocol pop3 port {port} timeout 20 {uidl}\n\
             \tuser \"{ALICE}\" there with password \"{PW}\"\n\
             \t{tls} sslcertck sslcertfile \"{cert}\"\n\
             \t{keep}\n\
             \tmda \"cat >> {out}; echo '=== fetchmail message end ===' >> {out}\"\n",
            cert = cert.display(),
            out = out.display(),
        )
    };

    // 1. STLS (plaintext is refused, so TLS is required to log in), keep + UIDL tracking.
    let (code, log) = run_fetchmail(
        &bin,
        work.path(),
        rc(srv.addr.port(), "sslproto 'TLS1.2+'", "keep"),
    )
    .await;
    assert_eq!(code, 0, "fetchmail run 1:\n{log}");
    assert!(
        log.contains("POP3> STLS") && log.contains("upgrade to TLS succeeded"),
        "fetchmail used STLS:\n{log}"
    );
    let got = delivered(&out);
    assert_eq!(got.len(), 2, "{log}");
    assert!(got[0].contains("Subject: first") && got[1].contains("Subject: second"));
    assert!(
        got[0].contains("\n.a line starting with a dot\n..and two\n.\n"),
        "unstuffed"
    );
    assert!(got[0].contains("body line 1999 of first"));
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 2, "kept");

    // 2. New mail arrives; with the same UIDL list only it is fetched.
    srv.deliver(ALICE, &message("third")).await;
    let (code, log) = run_fetchmail(
        &bin,
        work.path(),
        rc(srv.addr.port(), "sslproto 'TLS1.2+'", "keep"),
    )
    .await;
    assert_eq!(code, 0, "fetchmail run 2:\n{log}");
    let got = delivered(&out);
    assert_eq!(got.len(), 3, "only the new message:\n{log}");
    assert!(got[2].contains("Subject: third"));

    // 3. Implicit TLS, fetch everything and delete it from the server.
    let (code, log) = run_fetchmail(
        &bin,
        work.path(),
        rc(srv.tls_addr.port(), "ssl", "fetchall"),
    )
    .await;
    assert_eq!(code, 0, "fetchmail run 3:\n{log}");
    assert_eq!(delivered(&out).len(), 6, "{log}");
    assert!(
        srv.inbox_messages(ALICE).await.is_empty(),
        "fetchmail's DELE + QUIT emptied INBOX:\n{log}"
    );
}
