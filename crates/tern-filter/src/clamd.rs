//! ClamAV's clamd over TCP: `zINSTREAM\0`, then the message in chunks each prefixed by its
//! length (4 octets, network order), then a zero length; clamd answers one NUL-terminated
//! line: `stream: OK`, `stream: NAME FOUND`, or `... ERROR` (for instance
//! `INSTREAM size limit exceeded. ERROR` past its `StreamMaxLength`).

use crate::FilterError;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest reply read.
const MAX_REPLY: usize = 4096;
/// Octets per INSTREAM chunk.
const CHUNK: usize = 64 * 1024;

/// What clamd found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanResult {
    Clean,
    /// The signature name clamd reported.
    Infected(String),
}

/// Parses clamd's reply line (with or without its NUL / newline terminator).
pub fn parse_reply(reply: &[u8]) -> Result<ScanResult, FilterError> {
    let end = reply
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(reply.len());
    let line = std::str::from_utf8(&reply[..end])
        .map_err(|_| FilterError::Protocol("clamd reply is not UTF-8".into()))?
        .trim();
    // "stream: " is absent when clamd answers an error about the command itself.
    let text = line.strip_prefix("stream:").map_or(line, str::trim);
    if text == "OK" {
        return Ok(ScanResult::Clean);
    }
    if let Some(name) = text.strip_suffix(" FOUND") {
        let name = name.trim();
        if !name.is_empty() {
            return Ok(ScanResult::Infected(name.to_owned()));
        }
    }
    if text.ends_with("ERROR") {
        return Err(FilterError::Protocol(format!("clamd: {text}")));
    }
    Err(FilterError::Protocol(format!(
        "unexpected clamd reply {line:?}"
    )))
}

/// A clamd TCP socket (`host:port`).
#[derive(Clone, Debug)]
pub struct Clamd {
    pub addr: String,
    pub timeout: Duration,
}

impl Clamd {
    /// Scans one message.
    pub async fn scan(&self, message: &[u8]) -> Result<ScanResult, FilterError> {
        crate::deadline(self.timeout, "clamd", async {
            let mut stream = crate::connect(&self.addr).await?;
            let send = |e| FilterError::io("sending to clamd", e);
            stream.write_all(b"zINSTREAM\0").await.map_err(send)?;
            for chunk in message.chunks(CHUNK) {
                stream
                    .write_all(&(chunk.len() as u32).to_be_bytes())
                    .await
                    .map_err(send)?;
                if let Err(e) = stream.write_all(chunk).await {
                    // clamd closes early past StreamMaxLength; its reason may be readable.
                    return Err(read_reply(&mut stream).await.err().unwrap_or(send(e)));
                }
            }
            stream.write_all(&[0, 0, 0, 0]).await.map_err(send)?;
            stream.flush().await.map_err(send)?;
            parse_reply(&read_reply(&mut stream).await?)
        })
        .await
    }
}

async fn read_reply(stream: &mut tokio::net::TcpStream) -> Result<Vec<u8>, FilterError> {
    let mut reply = Vec::with_capacity(64);
    let mut buf = [0u8; 512];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| FilterError::io("reading from clamd", e))?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if reply.contains(&0) || reply.len() > MAX_REPLY {
            break;
        }
    }
    if reply.is_empty() {
        return Err(FilterError::Unavailable(
            "clamd closed without a reply".into(),
        ));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0").unwrap(), ScanResult::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Signature FOUND\0").unwrap(),
            ScanResult::Infected("Eicar-Signature".into())
        );
        assert_eq!(
            parse_reply(b"stream: Win.Test.EICAR_HDB-1 FOUND\n").unwrap(),
            ScanResult::Infected("Win.Test.EICAR_HDB-1".into())
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_reply(b"stream:  FOUND\0").is_err());
        assert!(parse_reply(b"\xff\0").is_err());
        assert!(parse_reply(b"").is_err());
    }
}
