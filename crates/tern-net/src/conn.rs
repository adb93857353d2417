//! A client connection: plain, TLS (implicit or after STARTTLS), optionally DEFLATE-compressed
//! (IMAP COMPRESS, RFC 4978).
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Facts about a connection that protocol servers decide on.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// TLS is active (implicit or after STARTTLS).
    pub tls: bool,
}

impl ConnInfo {
    /// The peer is on loopback (127.0.0.0/8 or ::1).
    pub fn is_loopback(&self) -> bool {
        self.peer.ip().is_loopback()
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("info", &self.info)
            .field("compressed", &self.compressed)
            .finish_non_exhaustive()
    }
}

/// A connection. Implements AsyncRead + AsyncWrite whatever layers it has.
pub struct Conn {
    pub info: ConnInfo,
    inner: Box<dyn Stream>,
    compressed: bool,
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

impl Conn {
    pub fn plain(stream: tokio::net::TcpStream, info: ConnInfo) -> Conn {
        Conn::new(stream, info)
    }

    /// A connection over any byte stream (tests use `tokio::io::duplex`).
    pub fn new<S>(stream: S, info: ConnInfo) -> Conn
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Conn {
            info,
            inner: Box::new(stream),
            compressed: false,
        }
    }

    /// Whether [`Conn::start_deflate`] has been applied (RFC 4978 §3: COMPRESS twice is an
    /// error the protocol server reports).
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Performs the server side of a TLS handshake on this connection (implicit TLS or
    /// STARTTLS). Call only with no buffered plaintext pending (the caller discards it:
    /// STARTTLS command injection defense).
    pub async fn start_tls(self, tls: &crate::TlsConfig) -> std::io::Result<Conn> {
        if self.info.tls {
            return Err(std::io::Error::other("TLS is already active"));
        }
        let stream = tls.acceptor.accept(self.inner).await?;
        Ok(Conn {
            info: ConnInfo {
                tls: true,
                ..self.info
            },
            inner: Box::new(stream),
            compressed: self.compressed,
        })
    }

    /// Wraps the connection in raw DEFLATE both ways (RFC 4978), flushing per write: every
    /// `flush` ends with a DEFLATE sync flush, so a response is never held back.
    pub fn start_deflate(self) -> Conn {
        Conn {
            info: self.info,
            inner: Box::new(crate::deflate::DeflateStream::new(self.inner)),
            compressed: true,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
