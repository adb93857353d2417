//! Shared helpers for tern-imap's integration tests: a fresh [`ImapServer`] on 127.0.0.1:0
//! over the real embedded store and the internal directory, in its own temp dir, and a raw
//! line-oriented IMAP client with send/expect helpers.
//!
//! Every test gets its own server (parallel-safe). The two lines that name concrete backends
//! are in [`open_backends`] and [`TestServer::add_user_with_quota`].
//!
//! Usage:
//! ```ignore
//! mod common;
//! let srv = common::TestServer::start().await;            // allow_plaintext = true
//! srv.add_user("alice@example.test", "pw").await;
//! let mut c = srv.login("alice@example.test", "pw").await;
//! let lines = c.ok("LIST \"\" *").await;                 // tagged OK asserted
//! assert!(lines.iter().any(|l| l.starts_with("* LIST")));
//! ```
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::internal::{HashParams, InternalDirectory, QuotaSetting};
use tern_imap::{ImapConfig, ImapServer};
use tern_mail::Mail;
use tern_net::{Listener, Shutdown, TlsConfig, TlsMode};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// How long any single expected response may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Opens the embedded store and the internal directory in `dir`.
pub async fn open_backends(dir: &Path) -> (Mail, Arc<InternalDirectory>) {
    let (store, blobs) = tern_store_sqlite::open_embedded(dir)
        .await
        .expect("open embedded store");
    let directory = Arc::new(
        InternalDirectory::open_in(dir)
            .expect("open internal directory")
            .with_hash_params(HashParams::insecure_fast())
            .expect("hash params"),
    );
    (Mail::new(store, blobs, directory.clone()), directory)
}

/// A running server with a plain (STARTTLS-capable) and an implicit-TLS listener.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub tls_addr: SocketAddr,
    pub server: Arc<ImapServer>,
    pub mail: Mail,
    pub directory: Arc<InternalDirectory>,
    pub tls: TlsConfig,
    stop: tokio::sync::watch::Sender<bool>,
}

impl TestServer {
    /// A server with `allow_plaintext = true` (most tests log in over plain TCP).
    pub async fn start() -> TestServer {
        TestServer::start_with(|c| c.allow_plaintext = true).await
    }

    /// A server whose config `tune` adjusts (it starts from [`ImapConfig::new`] with TLS set).
    pub async fn start_with(tune: impl FnOnce(&mut ImapConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mail, directory) = open_backends(dir.path()).await;
        let tls = tern_net::load_or_generate(dir.path(), "localhost", None, None)
            .expect("self-signed TLS");
        let mut config = ImapConfig::new("imap.example.test");
        config.tls = Some(tls.clone());
        tune(&mut config);
        let server = ImapServer::new(mail.clone(), config);
        let (stop, shutdown) = Shutdown::new();
        let plain = Listener::bind("127.0.0.1:0", TlsMode::Plain)
            .await
            .expect("bind");
        let implicit = Listener::bind("127.0.0.1:0", TlsMode::Implicit)
            .await
            .expect("bind");
        let (addr, tls_addr) = (plain.local_addr, implicit.local_addr);
        for (listener, tls_cfg) in [(plain, None), (implicit, Some(tls.clone()))] {
            let srv = server.clone();
            let sd = shutdown.clone();
            tokio::spawn(async move {
                listener
                    .serve(tls_cfg, 1000, sd, move |conn, sd| {
                        srv.clone().handle(conn, sd)
                    })
                    .await
            });
        }
        TestServer {
            dir,
            addr,
            tls_addr,
            server,
            mail,
            directory,
            tls,
            stop,
        }
    }

    /// Creates a directory user with the default quota (200 MB).
    pub async fn add_user(&self, address: &str, password: &str) {
        self.directory
            .add_user(address, Some(password), None)
            .await
            .expect("add user");
    }

    /// Creates a directory user with a quota in bytes (`None`: unlimited).
    pub async fn add_user_with_quota(&self, address: &str, password: &str, quota: Option<u64>) {
        self.directory
            .add_user(address, Some(password), quota)
            .await
            .expect("add user");
        if quota.is_none() {
            self.directory
                .set_quota(address, QuotaSetting::Unlimited)
                .await
                .expect("set quota");
        }
    }

    /// Asks every connection to end (`* BYE Server shutting down`).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// A plain TCP connection; the greeting has been read and checked.
    pub async fn connect(&self) -> Client {
        let mut c = self.connect_raw().await;
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c
    }

    /// A plain TCP connection, greeting not read.
    pub async fn connect_raw(&self) -> Client {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        Client::new(Box::new(tcp))
    }

    /// An implicit-TLS connection; the greeting has been read and checked.
    pub async fn connect_tls(&self) -> Client {
        let tcp = tokio::net::TcpStream::connect(self.tls_addr)
            .await
            .expect("connect");
        let tls = tls_connect(self.dir.path(), tcp).await;
        let mut c = Client::new(Box::new(tls));
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c
    }

    /// Connects and logs in with LOGIN (plain TCP; needs `allow_plaintext`).
    pub async fn login(&self, user: &str, password: &str) -> Client {
        let mut c = self.connect().await;
        c.ok(&format!("LOGIN {} {}", quote(user), quote(password)))
            .await;
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A TLS client handshake trusting the server's self-signed certificate in `dir`.
pub async fn tls_connect<S>(dir: &Path, stream: S) -> tokio_rustls::client::TlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use rustls::pki_types::pem::PemObject;
    tern_net::install_default_provider();
    let (cert_path, _) = tern_net::tls::generated_paths(dir);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(&cert_path).expect("cert") {
        roots.add(cert.expect("cert")).expect("add root");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    connector
        .connect(name, stream)
        .await
        .expect("TLS handshake")
}

/// `"..."` with `\` and `"` escaped.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A raw IMAP client. Responses come back as lines without CRLF; a literal inside a response
/// is inlined (its announcement `{n}` kept, then CRLF, then its octets), like imaplib does.
pub struct Client {
    io: BufReader<Box<dyn Io>>,
    next_tag: u32,
}

impl Client {
    pub fn new(io: Box<dyn Io>) -> Client {
        Client {
            io: BufReader::new(io),
            next_tag: 1,
        }
    }

    /// Gives the stream back (e.g. to start TLS on it after STARTTLS). Buffered unread
    /// input is dropped; the test must have read everything the server sent.
    pub fn into_inner(self) -> Box<dyn Io> {
        assert!(self.io.buffer().is_empty(), "unread server output");
        self.io.into_inner()
    }

    /// Sends raw bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.expect("write");
        self.io.get_mut().flush().await.expect("flush");
    }

    /// Sends one line, CRLF added.
    pub async fn send(&mut self, line: &str) {
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.send_raw(&b).await;
    }

    /// The next tag this client will use (`a1`, `a2`, ...), consumed.
    pub fn tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Reads one response line (literals inlined). Panics on EOF or timeout.
    pub async fn line(&mut self) -> String {
        self.try_line()
            .await
            .unwrap_or_else(|| panic!("connection closed while waiting for a response"))
    }

    /// Reads one response line, `None` at EOF (or a connection reset). Panics on timeout.
    pub async fn try_line(&mut self) -> Option<String> {
        tokio::time::timeout(READ_TIMEOUT, self.read_line_inner())
            .await
            .expect("timed out waiting for a response")
    }

    /// Reads one line within `t`; `Err(())` on timeout (for asserting that nothing comes).
    pub async fn line_within(&mut self, t: Duration) -> Result<Option<String>, ()> {
        tokio::time::timeout(t, self.read_line_inner())
            .await
            .map_err(|_| ())
    }

    async fn read_line_inner(&mut self) -> Option<String> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            match self.io.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => {
                    return (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned());
                }
                Ok(_) => {}
            }
            if line.ends_with(b"\r\n") {
                line.truncate(line.len() - 2);
            } else if line.ends_with(b"\n") {
                line.pop();
            }
            let lit = literal_len(&line);
            out.extend_from_slice(&line);
            match lit {
                Some(n) => {
                    out.extend_from_slice(b"\r\n");
                    let mut buf = vec![0u8; n];
                    self.io.read_exact(&mut buf).await.ok()?;
                    out.extend_from_slice(&buf);
                }
                None => return Some(String::from_utf8_lossy(&out).into_owned()),
            }
        }
    }

    /// Reads lines until one starts with `prefix`; returns all of them (the match last).
    pub async fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Reads one line and asserts it starts with `prefix`.
    pub async fn expect(&mut self, prefix: &str) -> String {
        let l = self.line().await;
        assert!(l.starts_with(prefix), "expected {prefix:?}, got {l:?}");
        l
    }

    /// Sends `<tag> <command>` and reads up to and including the tagged response.
    /// Returns every line; the last is the tagged one.
    pub async fn cmd(&mut self, command: &str) -> Vec<String> {
        let tag = self.tag();
        self.send(&format!("{tag} {command}")).await;
        self.until(&format!("{tag} ")).await
    }

    /// Like [`Client::cmd`], asserting the tagged response is OK.
    pub async fn ok(&mut self, command: &str) -> Vec<String> {
        let lines = self.cmd(command).await;
        let last = lines.last().expect("tagged line");
        assert!(
            last.split(' ').nth(1) == Some("OK"),
            "{command:?} failed: {lines:#?}"
        );
        lines
    }

    /// Like [`Client::cmd`], asserting the tagged response is NO; returns the tagged line.
    pub async fn no(&mut self, command: &str) -> String {
        self.status_of(command, "NO").await
    }

    /// Like [`Client::cmd`], asserting the tagged response is BAD; returns the tagged line.
    pub async fn bad(&mut self, command: &str) -> String {
        self.status_of(command, "BAD").await
    }

    async fn status_of(&mut self, command: &str, status: &str) -> String {
        let lines = self.cmd(command).await;
        let last = lines.last().expect("tagged line").clone();
        assert!(
            last.split(' ').nth(1) == Some(status),
            "{command:?}: expected {status}, got {lines:#?}"
        );
        last
    }

    /// APPENDs `message` to `mailbox` with a synchronizing literal; returns every line.
    pub async fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> Vec<String> {
        let tag = self.tag();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("({flags}) ")
        };
        self.send(&format!(
            "{tag} APPEND {} {flags}{{{}}}",
            quote(mailbox),
            message.len()
        ))
        .await;
        let cont = self.line().await;
        if !cont.starts_with('+') {
            return vec![cont];
        }
        self.send_raw(message).await;
        self.send_raw(b"\r\n").await;
        self.until(&format!("{tag} ")).await
    }

    /// Waits until the server closes the connection (panics on timeout); returns what came.
    pub async fn until_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(l) = self.try_line().await {
            lines.push(l);
        }
        lines
    }
}

/// `{n}` or `~{n}` or `{n+}` at the end of a response line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = body[open + 1..]
        .strip_suffix(b"+")
        .unwrap_or(&body[open + 1..]);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A small RFC 5322 message with a subject.
pub fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{}@example.test>\r\n\r\nHello, {subject}.\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes()
}
