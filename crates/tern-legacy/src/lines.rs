//! Reading the legacy server's lines during a login: bounded, with a timeout, keeping what
//! arrived after the last line for the relay.
use crate::net::Conn;
use crate::{LegacyError, MAX_LINE, STEP_TIMEOUT};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub(crate) struct Lines<S = Conn> {
    pub(crate) conn: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lines<S> {
    pub(crate) fn new(conn: S) -> Lines<S> {
        Lines {
            conn,
            buf: Vec::with_capacity(1024),
        }
    }

    /// The next line, without its CRLF (or LF); lossy UTF-8.
    pub(crate) async fn line(&mut self) -> Result<String, LegacyError> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(LegacyError::Protocol("line too long".into()));
            }
            let mut chunk = [0u8; 4096];
            let n = match tokio::time::timeout(STEP_TIMEOUT, self.conn.read(&mut chunk)).await {
                Ok(Ok(0)) => return Err(LegacyError::Protocol("connection closed".into())),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(LegacyError::Unreachable(e.to_string())),
                Err(_) => return Err(LegacyError::Protocol("no answer (timed out)".into())),
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub(crate) async fn send(&mut self, line: &[u8]) -> Result<(), LegacyError> {
        let io = async {
            self.conn.write_all(line).await?;
            self.conn.write_all(b"\r\n").await?;
            self.conn.flush().await
        };
        match tokio::time::timeout(STEP_TIMEOUT, io).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LegacyError::Unreachable(e.to_string())),
            Err(_) => Err(LegacyError::Protocol("write timed out".into())),
        }
    }

    /// Nothing may be buffered when TLS starts (RFC 2595 §3.1: a server's plaintext
    /// after its STARTTLS reply would be an injection).
    pub(crate) fn into_conn_for_tls(self) -> Result<S, LegacyError> {
        if self.buf.is_empty() {
            Ok(self.conn)
        } else {
            Err(LegacyError::Protocol(
                "data after the STARTTLS reply".into(),
            ))
        }
    }

    /// The stream and what the server sent past the last line read.
    pub(crate) fn into_parts(self) -> (S, Vec<u8>) {
        (self.conn, self.buf)
    }
}

impl Lines<Conn> {
    pub(crate) fn into_session(self) -> crate::Session {
        let (conn, pending) = self.into_parts();
        crate::Session { conn, pending }
    }
}
