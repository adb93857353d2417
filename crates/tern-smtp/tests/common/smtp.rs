//! Shared helpers for the SMTP integration tests: a fresh [`SmtpServer`] on 127.0.0.1:0 over
//! the real embedded store and internal directory, with a self-signed certificate, a plain
//! listener (port 25 or 587 behaviour, by mode) and an implicit-TLS one (465); a recording
//! [`Outbound`]; and a raw client that can switch to TLS after STARTTLS.

use super::{READ_TIMEOUT, Reply};
use async_trait::async_trait;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tern_directory::internal::{InternalDirectory, QuotaSetting};
use tern_mail::Mail;
use tern_net::{Listener, Shutdown, TlsMode};
use tern_smtp::{Mode, Outbound, QueueError, QueuedMessage, SessionLimits, SmtpConfig, SmtpServer};
use tern_store::MessageRecord;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

pub const HOST: &str = "mx.example.test";
pub const PASSWORD: &str = "secret-pw";

/// An [`Outbound`] that keeps what it is given (the queue does not exist yet).
#[derive(Default)]
pub struct RecordingQueue {
    pub messages: Mutex<Vec<QueuedMessage>>,
    /// When set, `enqueue` fails (to test that nothing is acknowledged).
    pub fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Outbound for RecordingQueue {
    async fn enqueue(&self, message: QueuedMessage) -> Result<(), QueueError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(QueueError::Unavailable("test says no".into()));
        }
        self.messages.lock().unwrap().push(message);
        Ok(())
    }
}

/// How to set a server up.
pub struct Setup {
    pub config: SmtpConfig,
    pub limits: SessionLimits,
    /// Configure the recording queue as the server's [`Outbound`].
    pub with_queue: bool,
}

/// A running SMTP server in its own temp dir.
pub struct SmtpTest {
    pub dir: tempfile::TempDir,
    /// The plain listener (STARTTLS available).
    pub addr: SocketAddr,
    /// The implicit-TLS listener.
    pub tls_addr: SocketAddr,
    pub mail: Mail,
    pub directory: Arc<InternalDirectory>,
    pub queue: Arc<RecordingQueue>,
    tls: tern_net::TlsConfig,
    shutdown: Shutdown,
    stop: tokio::sync::watch::Sender<bool>,
}

impl SmtpTest {
    /// An MX (port 25 behaviour) with TLS and the recording queue configured, so that a relay
    /// would be possible if the server allowed it.
    pub async fn mx() -> SmtpTest {
        SmtpTest::start(Mode::Mx, |_| {}).await
    }

    /// A submission server (587 behaviour on `addr`, 465 on `tls_addr`) with the queue.
    pub async fn submission() -> SmtpTest {
        SmtpTest::start(Mode::Submission, |_| {}).await
    }

    pub async fn start(mode: Mode, tune: impl FnOnce(&mut Setup)) -> SmtpTest {
        tern_net::install_default_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, blobs) = tern_store_sqlite::open_embedded(dir.path())
            .await
            .expect("open embedded store");
        let directory = Arc::new(
            InternalDirectory::open_in(dir.path())
                .expect("open internal directory")
                .with_hash_params(tern_directory::internal::HashParams::insecure_fast())
                .expect("hash params"),
        );
        let mail = Mail::new(store, blobs, directory.clone());
        let tls = tern_net::load_or_generate(dir.path(), "localhost", None, None)
            .expect("self-signed TLS");
        let mut config = SmtpConfig::new(HOST, vec![super::DOMAIN.into()], mode);
        config.max_message_size = 10 * 1024 * 1024;
        config.tls = Some(tls.clone());
        config.auth_failure_delay = Duration::from_millis(10);
        let mut setup = Setup {
            config,
            limits: SessionLimits::default(),
            with_queue: true,
        };
        tune(&mut setup);
        let queue = Arc::new(RecordingQueue::default());
        let outbound: Option<Arc<dyn Outbound>> =
            setup.with_queue.then(|| queue.clone() as Arc<dyn Outbound>);
        let server = SmtpServer::with_options(mail.clone(), setup.config, setup.limits, outbound);
        let (stop, shutdown) = Shutdown::new();
        let (addr, tls_addr) = serve(server, &tls, &shutdown).await;
        SmtpTest {
            dir,
            addr,
            tls_addr,
            mail,
            directory,
            queue,
            tls,
            shutdown,
            stop,
        }
    }

    /// Another server over the same store and directory (e.g. submission beside the MX),
    /// with the recording queue; returns its plain and implicit-TLS addresses.
    pub async fn also_serve(&self, mode: Mode) -> (SocketAddr, SocketAddr) {
        let mut config = SmtpConfig::new(HOST, vec![super::DOMAIN.into()], mode);
        config.tls = Some(self.tls.clone());
        config.auth_failure_delay = Duration::from_millis(10);
        let outbound: Arc<dyn Outbound> = self.queue.clone();
        let server = SmtpServer::with_options(
            self.mail.clone(),
            config,
            SessionLimits::default(),
            Some(outbound),
        );
        serve(server, &self.tls, &self.shutdown).await
    }

    /// A directory user with password [`PASSWORD`] and the default quota.
    pub async fn add_user(&self, address: &str) {
        self.directory
            .add_user(address, Some(PASSWORD), None)
            .await
            .expect("add user");
    }

    pub async fn add_alias(&self, alias: &str, address: &str) {
        self.directory
            .add_alias(alias, address)
            .await
            .expect("add alias");
    }

    pub async fn add_group(&self, address: &str, members: &[&str]) {
        self.directory
            .add_group(address, members)
            .await
            .expect("add group");
    }

    pub async fn set_quota(&self, address: &str, quota: u64) {
        self.directory
            .set_quota(address, QuotaSetting::Bytes(quota))
            .await
            .expect("set quota");
    }

    pub async fn disable(&self, address: &str) {
        self.directory
            .set_enabled(address, false)
            .await
            .expect("disable");
    }

    /// Messages the recording queue holds.
    pub fn queued(&self) -> Vec<QueuedMessage> {
        self.queue.messages.lock().unwrap().clone()
    }

    /// The messages of `account`'s INBOX with their bytes, in UID order.
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
            out.push((record, (*blob).as_ref().to_vec()));
        }
        out
    }

    pub async fn blob_bytes(&self, blob: &tern_store::BlobId) -> Vec<u8> {
        let blob = self.mail.blobs.get(blob).await.expect("blob");
        (*blob).as_ref().to_vec()
    }

    /// A plain connection whose greeting was read and checked.
    pub async fn connect(&self) -> SmtpClient {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut client = SmtpClient::new(Box::new(stream));
        let greeting = client.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client
    }

    /// A plain connection after EHLO.
    pub async fn ehlo(&self) -> SmtpClient {
        let mut client = self.connect().await;
        client.expect("EHLO client.test", 250, "").await;
        client
    }

    /// EHLO, STARTTLS, EHLO again.
    pub async fn starttls(&self) -> SmtpClient {
        let mut client = self.ehlo().await;
        client.expect("STARTTLS", 220, "2.0.0").await;
        let mut client = client.into_tls(self.dir.path()).await;
        client.expect("EHLO client.test", 250, "").await;
        client
    }

    /// An implicit-TLS connection (465) after EHLO.
    pub async fn implicit_tls(&self) -> SmtpClient {
        let stream = tokio::net::TcpStream::connect(self.tls_addr)
            .await
            .expect("connect");
        let tls = tls_connect(self.dir.path(), stream).await;
        let mut client = SmtpClient::new(Box::new(tls));
        assert_eq!(client.reply().await.code, 220);
        client.expect("EHLO client.test", 250, "").await;
        client
    }

    /// A submission session authenticated as `user` (after STARTTLS).
    pub async fn logged_in(&self, user: &str) -> SmtpClient {
        let mut client = self.starttls().await;
        client.auth_plain(user, PASSWORD, 235).await;
        client
    }
}

/// Binds a plain and an implicit-TLS listener for `server`.
async fn serve(
    server: Arc<SmtpServer>,
    tls: &tern_net::TlsConfig,
    shutdown: &Shutdown,
) -> (SocketAddr, SocketAddr) {
    let plain = Listener::bind("127.0.0.1:0", TlsMode::Plain)
        .await
        .expect("bind");
    let implicit = Listener::bind("127.0.0.1:0", TlsMode::Implicit)
        .await
        .expect("bind");
    let addrs = (plain.local_addr, implicit.local_addr);
    for (listener, tls_cfg) in [(plain, None), (implicit, Some(tls.clone()))] {
        let srv = server.clone();
        let sd: Shutdown = shutdown.clone();
        tokio::spawn(async move {
            listener
                .serve(tls_cfg, 100, sd, move |conn, sd| {
                    srv.clone().handle(conn, sd)
                })
                .await
        });
    }
    addrs
}

impl Drop for SmtpTest {
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

/// A raw SMTP client.
pub struct SmtpClient {
    io: BufReader<Box<dyn Io>>,
}

impl SmtpClient {
    pub fn new(io: Box<dyn Io>) -> SmtpClient {
        SmtpClient {
            io: BufReader::new(io),
        }
    }

    /// Switches to TLS (after `220` to STARTTLS).
    pub async fn into_tls(self, dir: &Path) -> SmtpClient {
        assert!(self.io.buffer().is_empty(), "unread input before TLS");
        let inner = self.io.into_inner();
        SmtpClient::new(Box::new(tls_connect(dir, inner).await))
    }

    pub async fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes()).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let io = self.io.get_mut();
        io.write_all(bytes).await.expect("write");
        io.flush().await.expect("flush");
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(READ_TIMEOUT, self.io.read_line(&mut line))
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

    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    /// Sends a command and asserts the reply's code and text prefix (the enhanced code).
    pub async fn expect(&mut self, line: &str, code: u16, text_prefix: &str) -> Reply {
        let reply = self.cmd(line).await;
        assert_eq!(reply.code, code, "{line} → {reply:?}");
        assert!(
            reply.text().starts_with(text_prefix),
            "{line} → {reply:?}, want prefix {text_prefix:?}"
        );
        reply
    }

    /// AUTH PLAIN with an initial response; asserts the final code.
    pub async fn auth_plain(&mut self, user: &str, password: &str, code: u16) -> Reply {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        let reply = self.cmd(&format!("AUTH PLAIN {b64}")).await;
        assert_eq!(reply.code, code, "AUTH PLAIN {user} → {reply:?}");
        reply
    }

    /// MAIL, RCPTs (each expected 250), DATA with `message`; returns the final reply.
    pub async fn send_mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> Reply {
        self.expect(&format!("MAIL FROM:<{from}>"), 250, "2.1.0")
            .await;
        for rcpt in to {
            self.expect(&format!("RCPT TO:<{rcpt}>"), 250, "2.1.5")
                .await;
        }
        self.expect("DATA", 354, "").await;
        self.send_bytes(&super::dot_stuff(message)).await;
        self.reply().await
    }

    /// Whether the server closes the connection within the read timeout, whatever it sends
    /// before.
    pub async fn eof(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut sink = Vec::new();
        matches!(
            tokio::time::timeout(READ_TIMEOUT, self.io.read_to_end(&mut sink)).await,
            Ok(Ok(_)) | Ok(Err(_))
        )
    }

    /// Whether the server closed the connection (EOF within the read timeout).
    pub async fn closed(&mut self) -> bool {
        let mut line = String::new();
        matches!(
            tokio::time::timeout(READ_TIMEOUT, self.io.read_line(&mut line)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// A message with the given From and subject.
pub fn message_from(from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: someone@example.test\r\nSubject: {subject}\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@client.test>\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

/// The header section of a stored message (up to the empty line), as text.
pub fn header_of(message: &[u8]) -> String {
    let end = super::find(message, b"\r\n\r\n").map_or(message.len(), |p| p + 2);
    String::from_utf8_lossy(&message[..end]).into_owned()
}
