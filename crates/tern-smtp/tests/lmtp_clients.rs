//! LMTP driven by clients nobody here wrote: Python's `smtplib.LMTP` and Postfix's
//! `smtp-source -L`. A test whose client is not installed prints a notice and passes.

mod common;

use common::{TestServer, strip_trace};
use std::path::Path;
use std::process::Command;

/// Runs a command off the async runtime (the server runs on it meanwhile).
async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("spawn client"))
        .await
        .expect("join")
}

const PYTHON_CLIENT: &str = r#"
import json, smtplib, sys
port = int(sys.argv[1])
client = smtplib.LMTP("127.0.0.1", port)
client.ehlo("python.example.test")  # LMTP.ehlo sends LHLO (ehlo_msg = "lhlo")
assert client.has_extn("pipelining") and client.has_extn("chunking"), client.esmtp_features
message = b"Subject: from python\r\n\r\n.leading dot\r\n..two dots\r\nbody\r\n"
refused = client.sendmail("sender@example.test", ["py@example.test", "nobody@example.test"], message)
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
client.quit()
"#;

#[tokio::test]
async fn python_smtplib_lmtp() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("NOTICE: python3 not installed, skipping the smtplib.LMTP test");
        return;
    }
    let srv = TestServer::start().await;
    srv.add_user("py@example.test").await;
    let mut command = Command::new("python3");
    command
        .arg("-c")
        .arg(PYTHON_CLIENT)
        .arg(srv.addr.port().to_string());
    let out = run(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        r#"{"nobody@example.test": [550, "5.1.1 <nobody@example.test>: user unknown"]}"#
    );
    let inbox = srv.inbox("py@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        strip_trace(&inbox[0].1),
        b"Subject: from python\r\n\r\n.leading dot\r\n..two dots\r\nbody\r\n"
    );
}

#[tokio::test]
async fn postfix_smtp_source() {
    let binary = Path::new("/usr/sbin/smtp-source");
    if !binary.exists() {
        println!("NOTICE: /usr/sbin/smtp-source not installed (apt package postfix), skipping");
        return;
    }
    let srv = TestServer::start().await;
    srv.add_user("user@example.test").await;
    let mut command = Command::new(binary);
    command.args([
        "-L",
        "-s",
        "5",
        "-m",
        "50",
        "-f",
        "sender@example.test",
        "-t",
        "user@example.test",
        &format!("127.0.0.1:{}", srv.addr.port()),
    ]);
    let out = run(command).await;
    assert!(
        out.status.success(),
        "smtp-source failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 50, "messages delivered");
    for (record, bytes) in &inbox {
        assert_eq!(record.size, bytes.len() as u64);
        assert!(bytes.starts_with(b"Return-Path: <sender@example.test>\r\n"));
    }
}
