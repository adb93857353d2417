//! `tern serve`: creates the data folder and certificate, binds before `tern: ready`, prints
//! the real ports, serves SMTP, IMAP, POP3 and LMTP, and stops cleanly on SIGTERM.
mod common;
use common::*;

#[test]
fn serve_creates_data_dir_and_certificate_and_reports_ports() {
    let dir = tempfile::tempdir().unwrap();
    // No data_dir in the file: the default ./tern-data, relative to the current directory.
    let config = port0_config(dir.path(), None, "");
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let data = dir.path().join("tern-data");
    assert!(data.join("tls/cert.pem").is_file(), "{:?}", server.banner);
    assert!(data.join("tls/key.pem").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for service in [
        "smtp",
        "submission",
        "submissions",
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "lmtp",
    ] {
        assert!(server.port(service) > 0, "{service} in {:?}", server.banner);
    }
    assert!(
        server.banner.iter().any(|l| l.contains("tern user add")),
        "banner says how to add a user: {:?}",
        server.banner
    );

    let mut imap = LineClient::connect(server.port("imap"));
    let greeting = imap.line();
    assert!(greeting.starts_with("* OK"), "{greeting:?}");

    let mut pop3 = LineClient::connect(server.port("pop3"));
    let greeting = pop3.line();
    assert!(greeting.starts_with("+OK"), "{greeting:?}");
    pop3.send("CAPA\r\n");
    assert!(pop3.until("STLS").starts_with("STLS"), "pop3 offers STLS");

    let mut lmtp = LineClient::connect(server.port("lmtp"));
    let greeting = lmtp.line();
    assert!(greeting.starts_with("220 "), "{greeting:?}");
    lmtp.send("LHLO client.example.test\r\n");
    assert!(lmtp.until("250 ").starts_with("250 "));

    let cert_before = std::fs::read(data.join("tls/cert.pem")).unwrap();
    let status = server.terminate();
    assert!(status.success(), "exit after SIGTERM: {status:?}");

    // A second start reuses the certificate.
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert_eq!(
        cert_before,
        std::fs::read(data.join("tls/cert.pem")).unwrap()
    );
    drop(server);
}

#[test]
fn a_port_in_use_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!("[listen]\nimap = [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["serve", "--config", config.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("listen.imap: cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!stdout(&out).contains("tern: ready"));
}

#[test]
fn a_user_added_while_serving_can_log_in_and_receive_mail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = port0_config(dir.path(), Some(&data), "");
    let cfg = config.to_str().unwrap();
    let server = Server::start(dir.path(), &["--config", cfg]);

    let out = run(
        dir.path(),
        &[
            "--config",
            cfg,
            "user",
            "add",
            "bob@example.test",
            "--password-stdin",
        ],
        "s3cret pass\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let mut lmtp = LineClient::connect(server.port("lmtp"));
    lmtp.line();
    lmtp.send("LHLO client.example.test\r\n");
    lmtp.until("250 ");
    lmtp.send("MAIL FROM:<alice@example.org>\r\n");
    assert!(lmtp.line().starts_with("250"));
    lmtp.send("RCPT TO:<bob@example.test>\r\n");
    assert!(lmtp.line().starts_with("250"));
    lmtp.send("DATA\r\n");
    assert!(lmtp.line().starts_with("354"));
    lmtp.send("Subject: hello\r\n\r\nHello Bob.\r\n.\r\n");
    let reply = lmtp.line();
    assert!(reply.starts_with("250"), "{reply:?}");

    let mut imap = LineClient::connect(server.port("imap"));
    imap.line();
    imap.send("a1 LOGIN bob@example.test \"s3cret pass\"\r\n");
    let ok = imap.until("a1 ");
    assert!(ok.starts_with("a1 OK"), "{ok:?}");
    imap.send("a2 SELECT INBOX\r\n");
    let mut exists = String::new();
    loop {
        let l = imap.line();
        assert!(!l.is_empty());
        if l.ends_with(" EXISTS\r\n") {
            exists = l.clone();
        }
        if l.starts_with("a2 ") {
            assert!(l.starts_with("a2 OK"), "{l:?}");
            break;
        }
    }
    assert_eq!(exists, "* 1 EXISTS\r\n");
    imap.send("a3 LOGOUT\r\n");
    imap.until("a3 OK");

    // Deleting the user removes the mail: a new bob starts with an empty INBOX.
    let out = run(
        dir.path(),
        &["--config", cfg, "user", "del", "bob@example.test"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg,
            "user",
            "add",
            "bob@example.test",
            "--password-stdin",
        ],
        "new bob\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut imap = LineClient::connect(server.port("imap"));
    imap.line();
    imap.send("b1 LOGIN bob@example.test \"new bob\"\r\n");
    assert!(imap.until("b1 ").starts_with("b1 OK"));
    imap.send("b2 STATUS INBOX (MESSAGES)\r\n");
    let status = imap.until("* STATUS");
    assert!(status.contains("MESSAGES 0"), "{status:?}");
    assert!(server.terminate().success());
}
