//! Shared helpers for tern-smtp's integration tests: a fresh [`LmtpServer`] on 127.0.0.1:0
//! over the real embedded store and the internal directory, each in its own temp dir, and a
//! raw LMTP client that reads replies line by line.
#![allow(dead_code)]

pub mod smtp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::internal::{InternalDirectory, QuotaSetting};
use tern_mail::Mail;
use tern_net::{Conn, ConnInfo, Shutdown};
use tern_smtp::{LmtpConfig, LmtpServer, SessionLimits};
use tern_store::{BlobId, MessageRecord};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// How long any expected reply may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

pub const DOMAIN: &str = "example.test";

/// A running LMTP server in its own temp dir.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub mail: Mail,
    pub directory: Arc<InternalDirectory>,
    pub config: LmtpConfig,
    stop: tokio::sync::watch::Sender<bool>,
}

/// The configuration tests start from.
pub fn config() -> LmtpConfig {
    LmtpConfig {
        hostname: "mx.example.test".into(),
        max_message_size: 10 * 1024 * 1024,
        local_domains: vec![DOMAIN.into()],
        max_recipients: 100,
        sieve: Default::default(),
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(config(), SessionLimits::default()).await
    }

    pub async fn start_with(config: LmtpConfig, limits: SessionLimits) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, blobs) = tern_store_sqlite::open_embedded(dir.path())
            .await
            .expect("open embedded store");
        let directory =
            Arc::new(InternalDirectory::open_in(dir.path()).expect("open internal directory"));
        let mail = Mail::new(store, blobs, directory.clone());
        let server = LmtpServer::with_limits(mail.clone(), config.clone(), limits);
        let (stop, shutdown) = Shutdown::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(accept_loop(listener, server, shutdown));
        TestServer {
            dir,
            addr,
            mail,
            directory,
            config,
            stop,
        }
    }

    /// Adds a directory user with the default quota (no password: LMTP never asks).
    pub async fn add_user(&self, address: &str) {
        self.directory
            .add_user(address, None, None)
            .await
            .expect("add user");
    }

    pub async fn add_group(&self, address: &str, members: &[&str]) {
        self.directory
            .add_group(address, members)
            .await
            .expect("add group");
    }

    pub async fn disable(&self, address: &str) {
        self.directory
            .set_enabled(address, false)
            .await
            .expect("disable user");
    }

    pub async fn set_quota(&self, address: &str, quota: u64) {
        self.directory
            .set_quota(address, QuotaSetting::Bytes(quota))
            .await
            .expect("set quota");
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// A connection whose greeting has been read and checked.
    pub async fn connect(&self) -> Client {
        let mut client = Client::connect(self.addr).await;
        let greeting = client.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client
    }

    /// A connection after a successful LHLO.
    pub async fn lhlo(&self) -> Client {
        let mut client = self.connect().await;
        client.send("LHLO front.example.test\r\n").await;
        assert_eq!(client.reply().await.code, 250);
        client
    }

    /// The messages of `account`'s INBOX with their bytes, in UID order (empty if the
    /// account was never opened).
    pub async fn inbox(&self, account: &str) -> Vec<(MessageRecord, Vec<u8>)> {
        let store = &self.mail.store;
        let Some(id) = store.account(account, false).await.expect("account") else {
            return Vec::new();
        };
        let mailboxes = store.mailboxes(id).await.expect("mailboxes");
        let Some(inbox) = mailboxes.iter().find(|m| m.name == "INBOX") else {
            return Vec::new();
        };
        let (_, records) = store.messages(inbox.id).await.expect("messages");
        let mut out = Vec::new();
        for record in records {
            let blob = self.mail.blobs.get(&record.blob).await.expect("blob");
            let bytes = (*blob).as_ref().to_vec();
            out.push((record, bytes));
        }
        out
    }

    /// Bytes the account uses, as the store counts them for quota.
    pub async fn usage(&self, account: &str) -> u64 {
        let store = &self.mail.store;
        match store.account(account, false).await.expect("account") {
            Some(id) => store.usage(id).await.expect("usage").bytes,
            None => 0,
        }
    }

    pub async fn blob_count(&self) -> usize {
        let blobs: Vec<BlobId> = self.mail.blobs.list().await.expect("list blobs");
        blobs.len()
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    server: Arc<LmtpServer>,
    mut shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let local = stream.local_addr().expect("local addr");
        let conn = Conn::plain(
            stream,
            ConnInfo {
                peer,
                local,
                tls: false,
            },
        );
        tokio::spawn(server.clone().handle(conn, shutdown.clone()));
    }
}

/// One reply: its code and lines (without the code and separator).
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line's text (with the enhanced status code, if any).
    pub fn text(&self) -> &str {
        &self.lines[0]
    }
}

/// A raw LMTP client.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (read, write) = stream.into_split();
        Client {
            reader: BufReader::new(read),
            writer: write,
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes()).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
        self.writer.flush().await.expect("flush");
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(READ_TIMEOUT, self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read");
            assert!(n > 0, "connection closed; lines so far: {lines:?}");
            assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
            let line = line.trim_end_matches("\r\n");
            assert!(line.len() >= 4, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("reply code");
            lines.push(line[4..].to_string());
            if line.as_bytes()[3] == b' ' {
                return Reply { code, lines };
            }
            assert_eq!(line.as_bytes()[3], b'-', "bad separator in {line:?}");
        }
    }

    /// Sends a command and returns its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    /// Sends a command and asserts the reply's code and enhanced status code prefix.
    pub async fn expect(&mut self, line: &str, code: u16, text_prefix: &str) -> Reply {
        let reply = self.cmd(line).await;
        assert_eq!(reply.code, code, "{line} → {reply:?}");
        assert!(
            reply.text().starts_with(text_prefix),
            "{line} → {reply:?}, want prefix {text_prefix:?}"
        );
        reply
    }

    /// Reads `n` replies.
    pub async fn replies(&mut self, n: usize) -> Vec<Reply> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.reply().await);
        }
        out
    }

    /// Whether the server closed the connection (EOF within the read timeout).
    pub async fn closed(&mut self) -> bool {
        let mut line = String::new();
        matches!(
            tokio::time::timeout(READ_TIMEOUT, self.reader.read_line(&mut line)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// Dot-stuffs a message for DATA and appends the terminator (RFC 5321 §4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    // A line starts after CRLF only: the server unstuffs nothing after a bare LF.
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n' && prev == b'\r';
        prev = b;
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The stored message without the trace fields this server prepends (asserting they are
/// exactly a `Return-Path:` and a `Received:` field).
pub fn strip_trace(stored: &[u8]) -> &[u8] {
    assert!(
        stored.starts_with(b"Return-Path: <"),
        "no Return-Path: {:?}",
        String::from_utf8_lossy(&stored[..stored.len().min(200)])
    );
    let rp_end = find(stored, b"\r\n").expect("Return-Path line end") + 2;
    let rest = &stored[rp_end..];
    assert!(rest.starts_with(b"Received: from "), "no Received field");
    // The Received field ends at the first CRLF not followed by a tab (folded lines).
    let mut pos = 0;
    loop {
        let end = pos + find(&rest[pos..], b"\r\n").expect("Received line end");
        if rest.get(end + 2) != Some(&b'\t') {
            return &rest[end + 2..];
        }
        pos = end + 2;
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A simple message of about `size` octets.
pub fn message(subject: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender@example.test\r\nTo: user@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\r\n"
    )
    .into_bytes();
    let mut i = 0;
    while m.len() < size {
        m.extend_from_slice(
            format!("line {i} of the body, filler text filler text\r\n").as_bytes(),
        );
        i += 1;
    }
    m
}
