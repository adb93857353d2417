//! SMTP driven by clients nobody here wrote: Python's smtplib (EHLO, STARTTLS, AUTH PLAIN
//! and LOGIN, sendmail, SMTP_SSL), swaks (MX delivery, relay refusal, STARTTLS + AUTH PLAIN
//! and LOGIN on 587, implicit TLS on 465, pipelining), and Postfix's `smtp-source`
//! (N messages over several sessions, all delivered). A test whose client is not installed
//! prints a notice and passes.

mod common;

use common::smtp::{PASSWORD, SmtpTest};
use common::strip_trace;
use std::path::Path;
use std::process::Command;
use tern_smtp::Mode;

/// Runs a command off the async runtime (the server runs on it meanwhile).
async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("spawn client"))
        .await
        .expect("join")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether `binary --version`-like probing finds the program.
fn installed(binary: &str) -> bool {
    Command::new(binary).arg("--version").output().is_ok()
}

#[tokio::test]
async fn python_smtplib() {
    if !installed("python3") {
        println!("NOTICE: python3 not installed, skipping the smtplib test");
        return;
    }
    let srv = SmtpTest::mx().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("bob@example.test").await;
    let (sub, ssl) = srv.also_serve(Mode::Submission).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtplib_client.py");
    let mut command = Command::new("python3");
    command.arg(script).args([
        srv.addr.port().to_string(),
        sub.port().to_string(),
        ssl.port().to_string(),
        PASSWORD.to_string(),
    ]);
    let out = run(command).await;
    assert!(out.status.success(), "python failed: {}", text(&out));
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let want = serde_json::json!({
        "mx_ehlo": 250,
        "mx_extensions": ["8bitmime", "binarymime", "chunking", "dsn", "enhancedstatuscodes",
                          "pipelining", "size", "smtputf8", "starttls"],
        "mx_refused": {"nobody@example.test": [550, "5.1.1 <nobody@example.test>: user unknown"]},
        "mx_relay": {"victim@other.test": [554, "5.7.1 <victim@other.test>: relay access denied"]},
        "sub_auth_before_tls": false,
        "sub_login_before_tls": "not offered",
        "sub_auth_after_tls": "PLAIN LOGIN",
        "sub_bad_login": [535, "5.7.8 Authentication credentials invalid"],
        "sub_login": 235,
        "sub_send": {},
        "sub_forged": [553, "5.7.1 <bob@example.test>: sender address not owned by alice@example.test"],
        "ssl_login": 235,
        "ssl_refused": {},
    });
    assert_eq!(got, want);
    // Bob: one from the MX (leading dot intact), one submitted, one over 465.
    let inbox = srv.inbox("bob@example.test").await;
    assert_eq!(inbox.len(), 3);
    assert_eq!(
        strip_trace(&inbox[0].1),
        b"Subject: from smtplib\r\n\r\n.leading dot\r\nbody\r\n"
    );
    let submitted = String::from_utf8_lossy(&inbox[1].1).into_owned();
    assert!(
        submitted.contains("Subject: submitted with smtplib"),
        "{submitted}"
    );
    assert!(submitted.contains("with ESMTPSA id"), "{submitted}");
    let over_465 = String::from_utf8_lossy(&inbox[2].1).into_owned();
    assert!(over_465.contains("\r\nDate: ") && over_465.contains("\r\nMessage-ID: <"));
    // The remote recipient went to the queue, once, with the same blob.
    let queued = srv.queued();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0].envelope.recipients[0].address,
        "friend@other.test"
    );
    assert_eq!(queued[0].staged.blob, inbox[1].0.blob);
}

fn swaks() -> Option<Command> {
    if !Path::new("/usr/bin/swaks").exists() {
        println!("NOTICE: /usr/bin/swaks not installed (apt package swaks), skipping");
        return None;
    }
    let mut command = Command::new("/usr/bin/swaks");
    command.args(["--helo", "swaks.client.test", "--timeout", "20"]);
    Some(command)
}

/// Whether swaks can do TLS (it needs Net::SSLeay, apt package libnet-ssleay-perl).
fn swaks_has_tls() -> bool {
    let out = Command::new("/usr/bin/swaks").arg("--support").output();
    let ok = out.is_ok_and(|o| text(&o).contains("TLS supported"));
    if !ok {
        println!(
            "NOTICE: swaks lacks TLS (apt package libnet-ssleay-perl), skipping its TLS cases"
        );
    }
    ok
}

#[tokio::test]
async fn swaks_mx_delivery_and_relay_refusal() {
    let Some(mut deliver) = swaks() else { return };
    let srv = SmtpTest::mx().await;
    srv.add_user("bob@example.test").await;
    let server = format!("127.0.0.1:{}", srv.addr.port());
    deliver.args([
        "--server",
        &server,
        "--from",
        "sender@other.test",
        "--to",
        "bob@example.test",
        "--header",
        "Subject: swaks plain",
        "--body",
        "hello from swaks",
        "--pipeline",
    ]);
    let out = run(deliver).await;
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    // Pipelined: MAIL, RCPT and DATA went in one write, the replies came back together.
    assert!(
        log.contains(
            " -> MAIL FROM:<sender@other.test>\n -> RCPT TO:<bob@example.test>\n -> DATA\n"
        ),
        "{log}"
    );
    assert!(log.contains("<-  250 2.0.0 Message accepted, id "), "{log}");
    // Relay: refused at RCPT with the exact reply; swaks exits non-zero.
    let Some(mut relay) = swaks() else { return };
    relay.args([
        "--server",
        &server,
        "--from",
        "bob@example.test",
        "--to",
        "victim@other.test",
    ]);
    let out = run(relay).await;
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("<** 554 5.7.1 <victim@other.test>: relay access denied"),
        "{log}"
    );
    let inbox = srv.inbox("bob@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0].1).contains("hello from swaks"));
    assert!(srv.queued().is_empty());
}

#[tokio::test]
async fn swaks_submission_starttls_and_implicit_tls() {
    let Some(_) = swaks() else { return };
    if !swaks_has_tls() {
        return;
    }
    let srv = SmtpTest::submission().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("bob@example.test").await;
    let plain = format!("127.0.0.1:{}", srv.addr.port());
    let implicit = format!("127.0.0.1:{}", srv.tls_addr.port());
    let cases: &[(&str, &str, &str)] = &[
        (&plain, "--tls", "PLAIN"),
        (&plain, "--tls", "LOGIN"),
        (&implicit, "--tlsc", "PLAIN"),
    ];
    for (server, tls, mechanism) in cases {
        let Some(mut c) = swaks() else { return };
        c.args([
            "--server",
            server,
            tls,
            "--auth",
            mechanism,
            "--auth-user",
            "alice@example.test",
            "--auth-password",
            PASSWORD,
            "--from",
            "alice@example.test",
            "--to",
            "bob@example.test",
            "--header",
            &format!("Subject: swaks {mechanism} {tls}"),
        ]);
        let out = run(c).await;
        let log = text(&out);
        assert!(out.status.success(), "{server} {tls} {mechanism}: {log}");
        assert!(log.contains("235 2.7.0 Authentication successful"), "{log}");
        assert!(log.contains("250 2.0.0 Message accepted"), "{log}");
    }
    // Without TLS on 587 AUTH is not offered, and swaks gives up.
    let Some(mut c) = swaks() else { return };
    c.args([
        "--server",
        &plain,
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        PASSWORD,
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
    ]);
    let out = run(c).await;
    assert!(!out.status.success(), "{}", text(&out));
    // A wrong password: 535 after the delay.
    let Some(mut c) = swaks() else { return };
    c.args([
        "--server",
        &plain,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        "wrong",
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
    ]);
    let out = run(c).await;
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("535 5.7.8"), "{log}");
    let inbox = srv.inbox("bob@example.test").await;
    assert_eq!(inbox.len(), 3);
    for (_, bytes) in &inbox {
        let m = String::from_utf8_lossy(bytes);
        assert!(m.contains("with ESMTPSA id"), "{m}");
    }
}

#[tokio::test]
async fn postfix_smtp_source_delivers_every_message() {
    let binary = Path::new("/usr/sbin/smtp-source");
    if !binary.exists() {
        println!("NOTICE: /usr/sbin/smtp-source not installed (apt package postfix), skipping");
        return;
    }
    let srv = SmtpTest::mx().await;
    srv.add_user("user@example.test").await;
    let mut command = Command::new(binary);
    command.args([
        "-s",
        "5",
        "-m",
        "100",
        "-l",
        "2000",
        "-f",
        "sender@other.test",
        "-t",
        "user@example.test",
        "-M",
        "source.client.test",
        &format!("127.0.0.1:{}", srv.addr.port()),
    ]);
    let out = run(command).await;
    assert!(out.status.success(), "smtp-source failed: {}", text(&out));
    let inbox = srv.inbox("user@example.test").await;
    assert_eq!(inbox.len(), 100, "messages delivered");
    for (record, bytes) in &inbox {
        assert_eq!(record.size, bytes.len() as u64);
        assert!(bytes.starts_with(b"Return-Path: <sender@other.test>\r\nReceived: from "));
    }
}
