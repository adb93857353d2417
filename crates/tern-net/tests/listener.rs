//! The listener against real sockets and a real rustls client: implicit TLS, STARTTLS-style
//! upgrade, the connection cap, DEFLATE over TLS, and shutdown.
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tern_net::{Conn, Listener, Shutdown, TlsMode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn client_config(data_dir: &std::path::Path) -> tokio_rustls::TlsConnector {
    let (cert, _) = tern_net::tls::generated_paths(data_dir);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Greets with whether TLS is on, then echoes lines until EOF or shutdown.
async fn echo(conn: Conn, mut shutdown: Shutdown) {
    let greeting = format!("hello tls={}\r\n", conn.info.tls);
    let (r, mut w) = tokio::io::split(conn);
    w.write_all(greeting.as_bytes()).await.unwrap();
    w.flush().await.unwrap();
    let mut lines = BufReader::new(r).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(l)) => {
                    w.write_all(format!("{l}\r\n").as_bytes()).await.unwrap();
                    w.flush().await.unwrap();
                }
                _ => return,
            },
            _ = shutdown.wait() => {
                let _ = w.write_all(b"bye\r\n").await;
                let _ = w.flush().await;
                return;
            }
        }
    }
}

#[tokio::test]
async fn implicit_tls_handshake_with_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let tls = tern_net::load_or_generate(dir.path(), "mail.example.test", None, None).unwrap();
    let listener = Listener::bind("127.0.0.1:0", TlsMode::Implicit)
        .await
        .unwrap();
    let addr = listener.local_addr;
    let (tx, shutdown) = Shutdown::new();
    let server = tokio::spawn(listener.serve(Some(tls), 10, shutdown, echo));

    let connector = client_config(dir.path());
    for name in ["mail.example.test", "localhost", "127.0.0.1", "::1"] {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let server_name = ServerName::try_from(name.to_string()).unwrap();
        let tls = connector.connect(server_name, tcp).await.unwrap();
        let mut s = BufReader::new(tls);
        let mut line = String::new();
        s.read_line(&mut line).await.unwrap();
        assert_eq!(line, "hello tls=true\r\n", "via {name}");
        s.get_mut().write_all(b"ping\r\n").await.unwrap();
        line.clear();
        s.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ping\r\n");
    }
    // A name the certificate does not carry is refused by the client.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let wrong = ServerName::try_from("other.example.test").unwrap();
    assert!(connector.connect(wrong, tcp).await.is_err());

    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
}

#[tokio::test]
async fn plain_then_upgrade_then_deflate() {
    let dir = tempfile::tempdir().unwrap();
    let tls = tern_net::load_or_generate(dir.path(), "localhost", None, None).unwrap();
    let listener = Listener::bind("127.0.0.1:0", TlsMode::Plain).await.unwrap();
    let addr = listener.local_addr;
    let (_tx, shutdown) = Shutdown::new();
    let server_tls = tls.clone();
    tokio::spawn(
        listener.serve(None, 10, shutdown, move |mut conn: Conn, shutdown| {
            let tls = server_tls.clone();
            async move {
                assert!(!conn.info.tls);
                conn.write_all(b"go tls\r\n").await.unwrap();
                conn.flush().await.unwrap();
                let conn = conn.start_tls(&tls).await.unwrap();
                assert!(!conn.is_compressed());
                let conn = conn.start_deflate();
                assert!(conn.is_compressed());
                echo(conn, shutdown).await;
            }
        }),
    );

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut first = [0u8; 8];
    tcp.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"go tls\r\n");
    let tls = client_config(dir.path())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut s = BufReader::new(tern_net::deflate::DeflateStream::new(tls));
    let mut line = String::new();
    s.read_line(&mut line).await.unwrap();
    assert_eq!(line, "hello tls=true\r\n");
    s.get_mut().write_all(b"compressed ping\r\n").await.unwrap();
    s.get_mut().flush().await.unwrap();
    line.clear();
    s.read_line(&mut line).await.unwrap();
    assert_eq!(line, "compressed ping\r\n");
}

#[tokio::test]
async fn connection_cap_holds_extra_clients_back() {
    let listener = Listener::bind("127.0.0.1:0", TlsMode::Plain).await.unwrap();
    let addr = listener.local_addr;
    let (tx, shutdown) = Shutdown::new();
    let server = tokio::spawn(listener.serve(None, 1, shutdown, echo));

    let mut first = BufReader::new(TcpStream::connect(addr).await.unwrap());
    let mut line = String::new();
    first.read_line(&mut line).await.unwrap();
    assert_eq!(line, "hello tls=false\r\n");

    let mut second = BufReader::new(TcpStream::connect(addr).await.unwrap());
    let mut line2 = String::new();
    let early =
        tokio::time::timeout(Duration::from_millis(300), second.read_line(&mut line2)).await;
    assert!(
        early.is_err(),
        "second client served while the cap is reached"
    );

    drop(first);
    tokio::time::timeout(Duration::from_secs(5), second.read_line(&mut line2))
        .await
        .expect("second client served once the first left")
        .unwrap();
    assert_eq!(line2, "hello tls=false\r\n");

    // Shutdown: the handler says bye, serve returns, and the port stops accepting.
    tx.send(true).unwrap();
    line2.clear();
    second.read_line(&mut line2).await.unwrap();
    assert_eq!(line2, "bye\r\n");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn stalled_tls_handshake_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let tls = tern_net::load_or_generate(dir.path(), "localhost", None, None).unwrap();
    let listener = Listener::bind("127.0.0.1:0", TlsMode::Implicit)
        .await
        .unwrap()
        .with_handshake_timeout(Duration::from_millis(200));
    let addr = listener.local_addr;
    let (_tx, shutdown) = Shutdown::new();
    tokio::spawn(listener.serve(Some(tls), 10, shutdown, echo));
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // Send nothing: the server must hang up on its own.
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("server closed the stalled connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
}
