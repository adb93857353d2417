//! Shared helpers for tern-pop3's integration tests: a fresh [`Pop3Server`] on 127.0.0.1:0
//! over the real embedded store and the internal directory, in its own temp dir, with a
//! plain (STLS-capable) and an implicit-TLS listener; and a raw line-oriented POP3 client.
//!
//! Every test gets its own server (parallel-safe).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::Directory;
use tern_directory::internal::{HashParams, InternalDirectory};
use tern_mail::{Mail, Recipient};
use tern_net::{Listener, Shutdown, TlsConfig, TlsMode};
use tern_pop3::{Pop3Config, Pop3Limits, Pop3Server};
use tern_store::{Flags, MailboxId, MessageRecord, Timestamp};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// How long any single expected response may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

pub const HOST: &str = "pop.example.test";

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

/// Test limits: short delays so failure paths run fast.
pub fn fast_limits() -> Pop3Limits {
    Pop3Limits {
        preauth_timeout: Duration::from_secs(30),
        auth_failure_delay: Duration::from_millis(50),
        max_auth_failures: 3,
        max_line: 1024,
        max_bad_commands: 5,
    }
}

/// What a test may change before the server starts.
pub struct Setup {
    pub config: Pop3Config,
    pub limits: Pop3Limits,
}

/// A running server with a plain (STLS-capable) and an implicit-TLS listener.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub tls_addr: SocketAddr,
    pub mail: Mail,
    pub directory: Arc<InternalDirectory>,
    pub tls: TlsConfig,
    stop: tokio::sync::watch::Sender<bool>,
}

impl TestServer {
    /// A server with `allow_plaintext = true` (most tests log in over plain TCP).
    pub async fn start() -> TestServer {
        TestServer::start_with(|s| s.config.allow_plaintext = true).await
    }

    /// A server whose setup `tune` adjusts (TLS configured, plaintext refused by default).
    pub async fn start_with(tune: impl FnOnce(&mut Setup)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mail, directory) = open_backends(dir.path()).await;
        let tls = tern_net::load_or_generate(dir.path(), "localhost", None, None)
            .expect("self-signed TLS");
        let mut setup = Setup {
            config: Pop3Config {
                hostname: HOST.into(),
                allow_plaintext: false,
                tls: Some(tls.clone()),
                idle_timeout: Duration::from_secs(600),
            },
            limits: fast_limits(),
        };
        tune(&mut setup);
        let server = Pop3Server::with_limits(mail.clone(), setup.config, setup.limits);
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
                    .serve(tls_cfg, 100, sd, move |conn, sd| {
                        srv.clone().handle(conn, sd)
                    })
                    .await
            });
        }
        TestServer {
            dir,
            addr,
            tls_addr,
            mail,
            directory,
            tls,
            stop,
        }
    }

    /// Creates a directory user with the default quota.
    pub async fn add_user(&self, address: &str, password: &str) {
        self.directory
            .add_user(address, Some(password), None)
            .await
            .expect("add user");
    }

    /// Delivers a message to the user's INBOX through the mail core (as LMTP would).
    pub async fn deliver(&self, address: &str, message: &[u8]) {
        let account = self
            .directory
            .lookup(address)
            .await
            .expect("lookup")
            .expect("user exists");
        let staged = self
            .mail
            .stage_bytes(message, 64 << 20)
            .await
            .expect("stage");
        let recipient = Recipient {
            account,
            mailbox: None,
            flags: Flags::default(),
        };
        let now = Timestamp {
            unix: 1_796_000_000,
            offset_minutes: 0,
        };
        let results = self.mail.deliver(&staged, &[recipient], now).await;
        assert!(
            results.iter().all(|r| r.is_ok()),
            "delivery failed: {results:?}"
        );
    }

    /// The user's INBOX id (provisioning the account if needed).
    pub async fn inbox(&self, address: &str) -> MailboxId {
        let account = self.directory.lookup(address).await.unwrap().unwrap();
        let id = self
            .mail
            .open_account(&account)
            .await
            .expect("open account");
        self.mail
            .store
            .mailboxes(id)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.name == "INBOX")
            .expect("INBOX")
            .id
    }

    /// The user's INBOX messages as the store has them now.
    pub async fn inbox_messages(&self, address: &str) -> Vec<MessageRecord> {
        let inbox = self.inbox(address).await;
        self.mail.store.messages(inbox).await.unwrap().1
    }

    /// Asks every connection to end.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// A plain TCP connection; the greeting has been read and checked.
    pub async fn connect(&self) -> Client {
        let mut c = self.connect_raw().await;
        let greeting = c.line().await;
        assert_eq!(greeting, format!("+OK {HOST} Tern POP3 ready"));
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
        assert!(greeting.starts_with("+OK "), "greeting: {greeting}");
        c
    }

    /// Connects over plain TCP and logs in with USER/PASS (needs `allow_plaintext`).
    pub async fn login(&self, user: &str, password: &str) -> Client {
        let mut c = self.connect().await;
        c.ok(&format!("USER {user}")).await;
        c.ok(&format!("PASS {password}")).await;
        c
    }

    /// Like [`TestServer::login`], retrying while the previous session of the account is
    /// still releasing its lock (a dropped connection is noticed asynchronously).
    pub async fn login_when_free(&self, user: &str, password: &str) -> Client {
        for _ in 0..100 {
            let mut c = self.connect().await;
            c.ok(&format!("USER {user}")).await;
            let reply = c.cmd(&format!("PASS {password}")).await;
            if reply.starts_with("+OK") {
                return c;
            }
            assert!(reply.starts_with("-ERR [IN-USE]"), "PASS: {reply}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the maildrop lock was never released");
    }

    /// [`TestServer::login_when_free`] over implicit TLS (for servers refusing plaintext).
    pub async fn login_when_free_tls(&self, user: &str, password: &str) -> Client {
        for _ in 0..100 {
            let mut c = self.connect_tls().await;
            c.ok(&format!("USER {user}")).await;
            let reply = c.cmd(&format!("PASS {password}")).await;
            if reply.starts_with("+OK") {
                return c;
            }
            assert!(reply.starts_with("-ERR [IN-USE]"), "PASS: {reply}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the maildrop lock was never released");
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

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A raw POP3 client. Lines come back without CRLF.
pub struct Client {
    io: BufReader<Box<dyn Io>>,
}

impl Client {
    pub fn new(io: Box<dyn Io>) -> Client {
        Client {
            io: BufReader::new(io),
        }
    }

    /// Gives the stream back (to start TLS after STLS). The test must have read everything.
    pub fn into_inner(self) -> Box<dyn Io> {
        assert!(self.io.buffer().is_empty(), "unread server output");
        self.io.into_inner()
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.expect("write");
        self.io.get_mut().flush().await.expect("flush");
    }

    /// Sends one line, CRLF added.
    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Reads one line (CRLF removed). Panics on EOF or timeout.
    pub async fn line(&mut self) -> String {
        self.try_line()
            .await
            .unwrap_or_else(|| panic!("connection closed while waiting for a response"))
    }

    /// Reads one line, `None` at EOF or reset. Panics on timeout.
    pub async fn try_line(&mut self) -> Option<String> {
        let raw = self.raw_line().await?;
        Some(String::from_utf8_lossy(&raw).into_owned())
    }

    /// One line as bytes, without CRLF; asserts the line did end in CRLF.
    async fn raw_line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        let n = tokio::time::timeout(READ_TIMEOUT, self.io.read_until(b'\n', &mut line))
            .await
            .expect("timed out waiting for a response")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        assert!(line.ends_with(b"\r\n"), "line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        Some(line)
    }

    /// Reads one line within `t`; `Err(())` on timeout (for asserting that nothing comes).
    pub async fn line_within(&mut self, t: Duration) -> Result<Option<String>, ()> {
        let mut line = Vec::new();
        match tokio::time::timeout(t, self.io.read_until(b'\n', &mut line)).await {
            Err(_) => Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => Ok(None),
            Ok(Ok(_)) => Ok(Some(String::from_utf8_lossy(&line).trim_end().to_string())),
        }
    }

    /// Sends a command and returns its one-line reply.
    pub async fn cmd(&mut self, command: &str) -> String {
        self.send(command).await;
        self.line().await
    }

    /// Like [`Client::cmd`], asserting `+OK`.
    pub async fn ok(&mut self, command: &str) -> String {
        let reply = self.cmd(command).await;
        assert!(reply.starts_with("+OK"), "{command:?}: {reply}");
        reply
    }

    /// Like [`Client::cmd`], asserting `-ERR`.
    pub async fn err(&mut self, command: &str) -> String {
        let reply = self.cmd(command).await;
        assert!(reply.starts_with("-ERR"), "{command:?}: {reply}");
        reply
    }

    /// Sends a command expecting a multi-line `+OK`; returns the status line and the lines
    /// (dot-unstuffed, without the final `.`).
    pub async fn multi(&mut self, command: &str) -> (String, Vec<String>) {
        let status = self.ok(command).await;
        let body = self.body().await;
        let lines = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
            .collect();
        (status, lines)
    }

    /// Reads a multi-line body up to `.` CRLF and returns it dot-unstuffed, each line with
    /// its CRLF: the message exactly as a client reassembles it.
    pub async fn body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line = self.raw_line().await.expect("connection closed in a body");
            if line == b"." {
                return out;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The raw bytes of a multi-line body including the terminating `.` CRLF (no unstuffing).
    pub async fn raw_body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line = self.raw_line().await.expect("connection closed in a body");
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\r\n");
            if line == b"." {
                return out;
            }
        }
    }

    /// Waits until the server closes the connection (panics on timeout); returns what came.
    pub async fn until_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = Vec::new();
        tokio::time::timeout(READ_TIMEOUT, self.io.read_to_end(&mut rest))
            .await
            .expect("server did not close the connection")
            .ok();
        for l in String::from_utf8_lossy(&rest).split("\r\n") {
            if !l.is_empty() {
                lines.push(l.to_string());
            }
        }
        lines
    }
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
