//! SMTP through the real binary: `tern serve` with smtp (MX), submission (STARTTLS) and
//! submissions (implicit TLS) on port 0. Mail sent with swaks and with Python's smtplib
//! (`smtp_client.py`) lands in the user's INBOX as IMAP sees it; relaying is refused on MX
//! (`554 5.7.1`, not authenticated) and on submission (`550 5.7.1`, no outbound queue yet).
mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const USER: &str = "bob@example.test";
const PASSWORD: &str = "smtp pass";

/// A server with bob; returns it and its data folder.
fn server_with_user(dir: &Path) -> (Server, PathBuf) {
    let data = dir.join("data");
    let config = port0_config(dir, Some(&data), "");
    let cfg = config.to_str().unwrap();
    let server = Server::start(dir, &["--config", cfg]);
    for service in ["smtp", "submission", "submissions"] {
        assert!(
            server.banner.iter().any(|l| l
                == &format!("{service} listening on 127.0.0.1:{}", server.port(service))),
            "{service} in {:?}",
            server.banner
        );
    }
    let out = run(
        dir,
        &["--config", cfg, "user", "add", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (server, data)
}

/// `tern queue list --json` names `rcpt` among the waiting recipients.
fn assert_queued(data: &Path, dir: &Path, rcpt: &str) {
    let cfg = dir.join("test.toml");
    let out = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "queue", "list", "--json"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(list.contains(rcpt), "{rcpt} not queued in {data:?}: {list}");
}

/// The swaks binary, or `None` (with a notice) when it is not installed.
fn swaks() -> Option<&'static str> {
    let found = ["/usr/bin/swaks", "swaks"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        eprintln!("NOTICE: swaks is not installed: skipping the swaks SMTP checks");
    }
    found
}

/// Runs swaks against 127.0.0.1:`port` with `args`; returns its output (the transcript).
fn run_swaks(bin: &str, port: u16, args: &[&str]) -> Output {
    Command::new(bin)
        .args(["--server", "127.0.0.1", "--port", &port.to_string()])
        .args(["--helo", "client.example.test", "--timeout", "20"])
        .args(args)
        .output()
        .expect("run swaks")
}

fn transcript(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// Logs in over IMAP and returns every header block in the INBOX, in order.
fn imap_headers(port: u16) -> Vec<String> {
    let mut imap = LineClient::connect(port);
    imap.line();
    imap.send(&format!("a1 LOGIN {USER} \"{PASSWORD}\"\r\n"));
    let ok = imap.until("a1 ");
    assert!(ok.starts_with("a1 OK"), "{ok:?}");
    imap.send("a2 SELECT INBOX\r\n");
    let ok = imap.until("a2 ");
    assert!(ok.starts_with("a2 OK"), "{ok:?}");
    imap.send("a3 FETCH 1:* (BODY.PEEK[HEADER])\r\n");
    let mut headers = Vec::new();
    let mut current: Option<String> = None;
    loop {
        let l = imap.line();
        assert!(!l.is_empty(), "connection closed during FETCH");
        if l.starts_with("a3 ") {
            assert!(l.starts_with("a3 OK"), "{l:?}");
            break;
        }
        if l.starts_with("* ") && l.contains(" FETCH ") {
            headers.extend(current.take());
            current = Some(String::new());
        } else if let Some(h) = current.as_mut() {
            h.push_str(&l);
        }
    }
    headers.extend(current);
    imap.send("a4 LOGOUT\r\n");
    headers
}

#[test]
fn swaks_delivers_over_mx_and_submission_and_relaying_is_refused() {
    let Some(bin) = swaks() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_user(dir.path());

    // MX: anyone may deliver to a local user; no AUTH on port 25.
    let out = run_swaks(
        bin,
        server.port("smtp"),
        &[
            "--from",
            "alice@example.org",
            "--to",
            USER,
            "--header",
            "Subject: swaks mx",
            "--body",
            "Hello Bob, over MX.",
        ],
    );
    let t = transcript(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("<-  250 "), "{t}");
    assert!(!t.contains("AUTH"), "MX offers no AUTH:\n{t}");

    // MX: an unauthenticated relay attempt is refused at RCPT.
    let out = run_swaks(
        bin,
        server.port("smtp"),
        &["--from", "alice@example.org", "--to", "carol@other.test"],
    );
    let t = transcript(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("<** 554 5.7.1"), "{t}");

    // Submission: STARTTLS, then AUTH PLAIN, then local delivery.
    let auth = [
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        USER,
        "--auth-password",
        PASSWORD,
        "--from",
        USER,
    ];
    let mut args = auth.to_vec();
    args.extend([
        "--to",
        USER,
        "--header",
        "Subject: swaks submission",
        "--body",
        "Hello me, submitted.",
    ]);
    let out = run_swaks(bin, server.port("submission"), &args);
    let t = transcript(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("TLS started"), "{t}");
    assert!(t.contains("<~  235 "), "AUTH over TLS succeeded:\n{t}");

    // Submission, authenticated: a remote recipient goes to the outbound queue (whose
    // resolver, 127.0.0.1:9, answers nothing, so the message waits there).
    let mut args = auth.to_vec();
    args.extend(["--to", "carol@other.test"]);
    let out = run_swaks(bin, server.port("submission"), &args);
    let t = transcript(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("<~  250 "), "{t}");
    assert_queued(&data, dir.path(), "carol@other.test");

    // IMAP sees exactly the two local deliveries, each with its trace fields.
    let headers = imap_headers(server.port("imap"));
    assert_eq!(headers.len(), 2, "{headers:?}");
    assert!(headers[0].contains("Subject: swaks mx"), "{}", headers[0]);
    assert!(
        headers[1].contains("Subject: swaks submission"),
        "{}",
        headers[1]
    );
    for h in &headers {
        assert!(h.starts_with("Return-Path: <"), "{h}");
        assert!(h.contains("Received: from client.example.test"), "{h}");
        assert!(h.contains("by mail.example.test"), "{h}");
    }
    assert!(headers[0].contains("Return-Path: <alice@example.org>"));
    assert!(server.terminate().success());
}

/// A python3 with smtplib, imaplib and ssl (the standard library).
fn python() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import smtplib, imaplib, ssl"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("python3 with smtplib is required for the SMTP client tests")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn smtplib_sends_over_mx_starttls_submission_and_implicit_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_user(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_client.py");
    let out = Command::new(python())
        .arg(script)
        .arg("127.0.0.1")
        .arg(server.port("smtp").to_string())
        .arg(server.port("submission").to_string())
        .arg(server.port("submissions").to_string())
        .arg(server.port("imap").to_string())
        .arg(data.join("tls/cert.pem"))
        .args([USER, PASSWORD])
        .output()
        .expect("run smtp_client.py");
    assert!(
        out.status.success(),
        "smtp_client.py failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    let r: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));

    let mx = strings(&r["mx_extensions"]);
    for ext in ["8bitmime", "pipelining", "size", "starttls"] {
        assert!(mx.iter().any(|e| e == ext), "MX lacks {ext}: {mx:?}");
    }
    assert!(!mx.iter().any(|e| e == "auth"), "MX offers AUTH: {mx:?}");
    assert_eq!(r["mx_relay"][0], 554, "{r}");
    assert!(
        r["mx_relay"][1].as_str().unwrap().starts_with("5.7.1"),
        "{r}"
    );

    // RFC 4954 §6: 530 5.7.0 before AUTH on submission.
    assert_eq!(r["sub_mail_before_auth"][0], 530, "{r}");
    let sub = strings(&r["sub_extensions_after_tls"]);
    assert!(sub.iter().any(|e| e == "auth"), "{sub:?}");
    assert!(
        !sub.iter().any(|e| e == "starttls"),
        "STARTTLS twice: {sub:?}"
    );
    // Every recipient accepted (smtplib's map of refusals is empty), into the queue.
    assert_eq!(r["sub_relay"], serde_json::json!({}), "{r}");
    assert_queued(&data, dir.path(), "carol@other.test");

    let headers = strings(&r["headers"]);
    assert_eq!(headers.len(), 3, "{headers:?}");
    for (h, subject) in
        headers
            .iter()
            .zip(["smtplib mx", "smtplib submission", "smtplib submissions"])
    {
        assert!(h.contains(&format!("Subject: {subject}\r\n")), "{h}");
        assert!(h.contains("by mail.example.test"), "{h}");
    }
    // RFC 3848: the Received field says how the message came in.
    assert!(headers[0].contains("with ESMTP"), "{}", headers[0]);
    assert!(headers[1].contains("with ESMTPSA"), "{}", headers[1]);
    assert!(headers[2].contains("with ESMTPSA"), "{}", headers[2]);
    assert!(server.terminate().success());
}
