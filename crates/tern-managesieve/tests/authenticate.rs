//! AUTHENTICATE framing over a real connection (RFC 5804 §2.1): the server's tern-sasl
//! mechanisms, challenges as literals, responses as quoted strings, literals or bare
//! atoms, `"*"` cancel, PLAIN/LOGIN hidden and refused before TLS while GSSAPI is offered.
//! Kerberos itself is replaced by a scripted acceptor here; the real KDC is exercised by
//! tests/test_managesieve.py.
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::internal::{HashParams, InternalDirectory};
use tern_mail::Mail;
use tern_managesieve::{ManageSieveConfig, ManageSieveLimits, ManageSieveServer};
use tern_net::{Listener, Shutdown, TlsMode};
use tern_sasl::{Authenticator, GssAcceptor, GssContext, Mechanism};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(20);

/// Accepts the token `ticket` from `fred@TEST`, answering `mutual`; wraps by prefixing `W`.
struct Acceptor;
struct Context;

impl GssAcceptor for Acceptor {
    fn context(&self) -> Result<Box<dyn GssContext>, String> {
        Ok(Box::new(Context))
    }
    fn login_for(&self, principal: &str) -> Option<String> {
        let user = principal.strip_suffix("@TEST")?;
        Some(format!("{user}@example.test"))
    }
}

#[async_trait]
impl GssContext for Context {
    async fn accept(&mut self, token: Vec<u8>) -> Result<(Vec<u8>, bool), String> {
        match token.as_slice() {
            b"ticket" => Ok((b"mutual".to_vec(), true)),
            _ => Err("not a ticket".into()),
        }
    }
    async fn wrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String> {
        Ok([b"W".as_slice(), &message].concat())
    }
    async fn unwrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String> {
        message
            .strip_prefix(b"W")
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "not wrapped".to_string())
    }
    fn client_principal(&self) -> Result<String, String> {
        Ok("fred@TEST".into())
    }
}

struct Client {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Client {
    async fn line(&mut self) -> String {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, self.r.read_line(&mut line))
            .await
            .expect("response in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        line.trim_end_matches("\r\n").to_string()
    }

    /// A challenge: `{N}` CRLF, N octets of base64, CRLF; decoded.
    async fn challenge(&mut self) -> Vec<u8> {
        let head = self.line().await;
        let n: usize = head
            .strip_prefix('{')
            .and_then(|h| h.strip_suffix('}'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a literal challenge, got {head:?}"));
        let mut data = vec![0; n];
        self.r.read_exact(&mut data).await.unwrap();
        assert_eq!(self.line().await, "", "the literal ends its line");
        B64.decode(data).expect("base64")
    }

    async fn send(&mut self, text: &str) {
        self.w.write_all(text.as_bytes()).await.unwrap();
    }

    /// Lines up to and including the status line.
    async fn response(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let done = ["OK", "NO", "BYE"]
                .iter()
                .any(|s| line == *s || line.starts_with(&format!("{s} ")));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}

/// A server without TLS and without plaintext, offering PLAIN, LOGIN and (scripted) GSSAPI;
/// fred@example.test exists.
async fn connect() -> Client {
    let dir = tempfile::tempdir().unwrap();
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    let directory = Arc::new(
        InternalDirectory::open_in(dir.path())
            .unwrap()
            .with_hash_params(HashParams::insecure_fast())
            .unwrap(),
    );
    directory
        .add_user("fred@example.test", Some("pw"), None)
        .await
        .unwrap();
    let mail = Mail::new(store, blobs, directory.clone());
    let sasl = Authenticator::new(directory)
        .with_mechanisms(&[Mechanism::Plain, Mechanism::Login, Mechanism::Gssapi])
        .with_gssapi(Arc::new(Acceptor));
    let limits = ManageSieveLimits {
        auth_failure_delay: Duration::from_millis(10),
        max_auth_failures: 10,
        ..ManageSieveLimits::default()
    };
    let config = ManageSieveConfig::new("sieve.example.test");
    let server = ManageSieveServer::with_sasl(mail, config, limits, sasl);
    let listener = Listener::bind("127.0.0.1:0", TlsMode::Plain).await.unwrap();
    let addr = listener.local_addr;
    let (stop, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        listener
            .serve(None, 10, shutdown, move |conn, sd| {
                server.clone().handle(conn, sd)
            })
            .await
    });
    let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
    let mut c = Client {
        r: BufReader::new(r),
        w,
        _dir: dir,
        _stop: stop,
    };
    let greeting = c.response().await;
    assert!(
        greeting.contains(&"\"SASL\" \"GSSAPI\"".to_string()),
        "only GSSAPI before TLS: {greeting:?}"
    );
    c
}

#[tokio::test]
async fn gssapi_exchange_as_in_rfc5804() {
    let mut c = connect().await;
    c.send(&format!(
        "AUTHENTICATE \"GSSAPI\" {{8+}}\r\n{}\r\n",
        B64.encode("ticket")
    ))
    .await;
    assert_eq!(c.challenge().await, b"mutual");
    // The empty answer to the last context token, as an empty literal (sieve-connect).
    c.send("{0+}\r\n\r\n").await;
    let offer = c.challenge().await;
    assert_eq!(offer, b"W\x01\x00\x00\x00", "wrapped: no layer, size 0");
    c.send(&format!("\"{}\"\r\n", B64.encode(b"W\x01\x00\x00\x00")))
        .await;
    assert_eq!(
        c.response().await,
        ["OK \"Logged in\""],
        "no SASL code: no final data"
    );
    c.send("CAPABILITY\r\n").await;
    let caps = c.response().await;
    assert!(
        caps.contains(&"\"OWNER\" \"fred@example.test\"".to_string()),
        "{caps:?}"
    );
}

#[tokio::test]
async fn refusals_cancel_and_bare_responses() {
    let mut c = connect().await;
    let plain = B64.encode("\0fred@example.test\0pw");
    for cmd in [
        format!("AUTHENTICATE \"PLAIN\" \"{plain}\""),
        "AUTHENTICATE \"LOGIN\"".to_string(),
    ] {
        c.send(&format!("{cmd}\r\n")).await;
        let reply = c.response().await;
        assert!(
            reply[0].starts_with("NO (ENCRYPT-NEEDED) "),
            "{cmd}: {reply:?}"
        );
    }
    c.send("AUTHENTICATE \"CRAM-MD5\"\r\n").await;
    assert_eq!(
        c.response().await,
        ["NO \"Unsupported authentication mechanism\""]
    );

    // No initial response: an empty challenge first; "*" cancels.
    c.send("AUTHENTICATE \"GSSAPI\"\r\n").await;
    assert_eq!(c.challenge().await, b"");
    c.send("\"*\"\r\n").await;
    assert_eq!(c.response().await, ["NO \"Authentication cancelled\""]);

    // A token the acceptor refuses: a failed login, reason not shown.
    c.send(&format!(
        "AUTHENTICATE \"GSSAPI\" \"{}\"\r\n",
        B64.encode("forged")
    ))
    .await;
    assert_eq!(c.response().await, ["NO \"Authentication failed\""]);
    c.send("LISTSCRIPTS\r\n").await;
    assert_eq!(
        c.response().await,
        ["NO \"Command not valid in this state\""]
    );

    // Bad base64, and a response that is not one string.
    c.send("AUTHENTICATE \"GSSAPI\"\r\n").await;
    c.challenge().await;
    c.send("\"%%%\"\r\n").await;
    assert_eq!(
        c.response().await,
        ["NO \"Invalid base64 in the SASL response\""]
    );
    c.send("AUTHENTICATE \"GSSAPI\"\r\n").await;
    c.challenge().await;
    c.send("\"a\" \"b\"\r\n").await;
    let reply = c.response().await;
    assert!(reply[0].starts_with("NO \"Syntax error"), "{reply:?}");

    // A client that does not quote its base64 is understood.
    c.send("AUTHENTICATE \"GSSAPI\"\r\n").await;
    assert_eq!(c.challenge().await, b"");
    c.send(&format!("{}\r\n", B64.encode("ticket"))).await;
    assert_eq!(c.challenge().await, b"mutual");
    c.send("\"\"\r\n").await;
    c.challenge().await;
    c.send(&format!("{}\r\n", B64.encode(b"W\x01\x00\x00\x00")))
        .await;
    assert_eq!(c.response().await, ["OK \"Logged in\""]);
}
