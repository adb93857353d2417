//! POP3 through the real binary: `tern serve` with pop3 (STLS) and pop3s (implicit TLS) on
//! port 0, mail delivered over LMTP, retrieved with Python's poplib (`pop3_client.py`) and
//! compared byte for byte with what was sent and with what IMAP (imaplib) reads; POP3
//! deletions reach IMAP at QUIT and not before.
mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const USER: &str = "bob@example.test";
const PASSWORD: &str = "pop pass";

/// A message exercising what the POP3 encoder must get right: a line that is a lone dot, a
/// line starting with dots, 8-bit text, trailing white space.
fn first_message() -> Vec<u8> {
    "From: Alice <alice@example.org>\r\nTo: bob@example.test\r\nSubject: first\r\n\r\n\
     Hello Bob.\r\n.\r\n..two dots\r\n.\r\nGr\u{fc}\u{df}e, trailing space \r\nlast line\r\n"
        .as_bytes()
        .to_vec()
}

/// A message larger than any single read or write buffer.
fn second_message() -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.org>\r\nSubject: second\r\n\r\n".to_vec();
    for i in 0..2000 {
        m.extend_from_slice(
            format!("line {i:05} of the second message, padded to be longer\r\n").as_bytes(),
        );
    }
    m
}

/// Delivers `message` to `rcpt` over LMTP (dot-stuffed on the wire, RFC 5321 §4.5.2).
fn deliver(port: u16, rcpt: &str, message: &[u8]) {
    let mut lmtp = LineClient::connect(port);
    assert!(lmtp.line().starts_with("220 "));
    lmtp.send("LHLO client.example.test\r\n");
    lmtp.until("250 ");
    lmtp.send("MAIL FROM:<alice@example.org>\r\n");
    assert!(lmtp.line().starts_with("250"));
    lmtp.send(&format!("RCPT TO:<{rcpt}>\r\n"));
    assert!(lmtp.line().starts_with("250"));
    lmtp.send("DATA\r\n");
    assert!(lmtp.line().starts_with("354"));
    let text = std::str::from_utf8(message).unwrap();
    let mut wire = String::new();
    for line in text.split_inclusive("\r\n") {
        if line.starts_with('.') {
            wire.push('.');
        }
        wire.push_str(line);
    }
    wire.push_str(".\r\n");
    lmtp.send(&wire);
    let reply = lmtp.line();
    assert!(reply.starts_with("250"), "{reply:?}");
    lmtp.send("QUIT\r\n");
}

/// A python3 that has poplib and imaplib (the standard library; scripts/test.sh installs
/// python3 on a fresh machine).
fn python() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import poplib, imaplib, ssl"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("python3 with poplib is required for the POP3 client tests")
}

/// Runs one `pop3_client.py` scenario against `server`; returns its JSON observations.
fn scenario(name: &str, server: &Server, data: &Path) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pop3_client.py");
    let cafile = data.join("tls/cert.pem");
    let out = Command::new(python())
        .arg(script)
        .arg(name)
        .arg("127.0.0.1")
        .arg(server.port("pop3").to_string())
        .arg(server.port("pop3s").to_string())
        .arg(server.port("imap").to_string())
        .arg(&cafile)
        .args([USER, PASSWORD])
        .output()
        .expect("run pop3_client.py");
    assert!(
        out.status.success(),
        "scenario {name} failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {}", stdout(&out)))
}

fn unhex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `v` for a failure message, with message bytes shortened to their length.
fn brief(v: &Value) -> String {
    fn shorten(v: &Value) -> Value {
        match v {
            Value::String(s) if s.len() > 120 => Value::String(format!("<{} octets>", s.len() / 2)),
            Value::Array(a) => Value::Array(a.iter().map(shorten).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), shorten(v))).collect())
            }
            other => other.clone(),
        }
    }
    shorten(v).to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A server with bob and the two messages delivered to him over LMTP.
fn server_with_mail(dir: &Path) -> (Server, std::path::PathBuf) {
    let data = dir.join("data");
    let config = port0_config(dir, Some(&data), "");
    let cfg = config.to_str().unwrap();
    let server = Server::start(dir, &["--config", cfg]);
    for service in ["pop3", "pop3s"] {
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
    deliver(server.port("lmtp"), USER, &first_message());
    deliver(server.port("lmtp"), USER, &second_message());
    (server, data)
}

/// The stored message is the delivered one behind the trace fields LMTP prepends.
fn assert_delivered(retrieved: &[u8], sent: &[u8]) {
    assert!(
        retrieved.starts_with(b"Return-Path: <alice@example.org>\r\n"),
        "{:?}",
        String::from_utf8_lossy(&retrieved[..retrieved.len().min(200)])
    );
    assert!(
        retrieved.ends_with(sent),
        "retrieved message ({} octets) does not end with the {} sent octets; it ends with:\n{}",
        retrieved.len(),
        sent.len(),
        String::from_utf8_lossy(&retrieved[retrieved.len().saturating_sub(300)..])
    );
}

#[test]
fn poplib_retrieves_lmtp_mail_byte_exact_over_stls_and_implicit_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_mail(dir.path());
    let r = scenario("retrieve", &server, &data);

    let sent = [first_message(), second_message()];
    let messages: Vec<Vec<u8>> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(unhex)
        .collect();
    assert_eq!(messages.len(), 2, "{}", brief(&r));
    for (got, want) in messages.iter().zip(&sent) {
        assert_delivered(got, want);
    }
    // STAT and LIST count the octets RETR sends (the stored bytes, CRLF line ends).
    let sizes: Vec<u64> = r["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let lengths: Vec<u64> = messages.iter().map(|m| m.len() as u64).collect();
    assert_eq!(sizes, lengths);
    assert_eq!(r["stat"][0], 2);
    assert_eq!(r["stat"][1].as_u64().unwrap(), lengths.iter().sum::<u64>());
    assert!(
        r["quit"].as_str().unwrap().starts_with("+OK"),
        "{}",
        brief(&r)
    );

    // The same maildrop over implicit TLS: same UIDLs, same bytes.
    let uidls = strings(&r["uidls"]);
    assert_eq!(uidls.len(), 2);
    assert_ne!(uidls[0], uidls[1]);
    assert_eq!(strings(&r["ssl_uidls"]), uidls);
    assert_eq!(r["ssl_stat"], r["stat"]);
    assert_eq!(unhex(&r["ssl_first"]), messages[0]);

    // IMAP reads the very same bytes, and RETR did not set \Seen.
    let imap = &r["imap"];
    assert_eq!(imap["count"], 2, "{}", brief(imap));
    let imap_messages: Vec<Vec<u8>> = imap["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(unhex)
        .collect();
    assert_eq!(imap_messages, messages);
    for flags in imap["flags"].as_array().unwrap() {
        assert!(
            !strings(flags).iter().any(|f| f == "\\Seen"),
            "{}",
            brief(imap)
        );
    }
    assert!(server.terminate().success());
}

#[test]
fn pop3_deletions_reach_imap_at_quit_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_mail(dir.path());

    // Marked for deletion, then the connection drops: RFC 1939 §6 deletes only in UPDATE.
    let r = scenario("dele_drop", &server, &data);
    assert_eq!(r["marked"], 2, "{}", brief(&r));
    assert_eq!(r["imap"]["count"], 2, "{}", brief(&r));

    // DELE 1 and QUIT over pop3s: IMAP sees one message left, the second one.
    let r = scenario("dele_quit", &server, &data);
    assert!(
        r["dele"].as_str().unwrap().starts_with("+OK"),
        "{}",
        brief(&r)
    );
    assert!(
        r["quit"].as_str().unwrap().starts_with("+OK"),
        "{}",
        brief(&r)
    );
    let imap = &r["imap"];
    assert_eq!(imap["count"], 1, "{}", brief(imap));
    assert_delivered(&unhex(&imap["messages"][0]), &second_message());

    // The next POP3 session: one message, the survivor keeps its UIDL.
    let before = strings(&r["before_uidls"]);
    assert_eq!(before.len(), 2);
    assert_eq!(r["after_stat"][0], 1, "{}", brief(&r));
    assert_eq!(strings(&r["after_uidls"]), [before[1].clone()]);
    assert_eq!(unhex(&r["after_first"]), unhex(&imap["messages"][0]));
    assert!(server.terminate().success());
}
