//! The client's transport: a TCP stream, optionally upgraded to TLS, with a read buffer and
//! a timeout on every read and write.

use super::reply::{MAX_LINE, Reply, ReplyError, ReplyParser};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Why a session ended early. Every variant but [`ClientError::Reply`] is temporary.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(String),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server refused a command that ends the session (greeting, EHLO, MAIL...).
    #[error("{}", .0.one_line())]
    Reply(Reply),
}

impl From<ReplyError> for ClientError {
    fn from(e: ReplyError) -> Self {
        ClientError::Protocol(e.to_string())
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while a TLS handshake holds the TCP stream.
    Gone,
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// One connection to a server.
pub struct Connection {
    stream: Stream,
    buf: Vec<u8>,
    timeout: Duration,
    parser: ReplyParser,
}

impl Connection {
    /// Connects within `connect_timeout`; later reads and writes each get `timeout`.
    pub async fn connect(
        addr: std::net::SocketAddr,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout("connecting"))?
            .map_err(|e| ClientError::Io(format!("connect to {addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        Ok(Connection {
            stream: Stream::Plain(tcp),
            buf: Vec::with_capacity(1024),
            timeout,
            parser: ReplyParser::new(),
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Runs the TLS handshake on the connection (implicit TLS, or after `220` to STARTTLS).
    /// Refuses if the server already sent more (RFC 3207 §4: nothing may be buffered).
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> Result<(), ClientError> {
        if !self.buf.is_empty() {
            return Err(ClientError::Protocol(
                "data after the STARTTLS reply".into(),
            ));
        }
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(ClientError::Protocol("TLS already active".into()));
        };
        let connector = TlsConnector::from(config);
        let tls = tokio::time::timeout(self.timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| ClientError::Timeout("in the TLS handshake"))?
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        tokio::time::timeout(self.timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| ClientError::Timeout("sending"))?
            .map_err(|e| ClientError::Io(format!("write: {e}")))
    }

    pub async fn flush(&mut self) -> Result<(), ClientError> {
        tokio::time::timeout(self.timeout, self.stream.flush())
            .await
            .map_err(|_| ClientError::Timeout("sending"))?
            .map_err(|e| ClientError::Io(format!("write: {e}")))
    }

    /// Reads one complete reply.
    pub async fn read_reply(&mut self) -> Result<Reply, ClientError> {
        loop {
            let line = self.read_line().await?;
            if let Some(reply) = self.parser.feed(&line)? {
                return Ok(reply);
            }
        }
    }

    async fn read_line(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).take(end).collect();
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE + 2 {
                return Err(ReplyError::TooLong.into());
            }
            let mut chunk = [0u8; 2048];
            let n = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk))
                .await
                .map_err(|_| ClientError::Timeout("waiting for a reply"))?
                .map_err(|e| ClientError::Io(format!("read: {e}")))?;
            if n == 0 {
                return Err(ClientError::Io("connection closed by the server".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.stream.shutdown()).await;
    }
}
