//! A minimal LMTP client (RFC 2033) for timed single deliveries: one transaction, one
//! recipient, every reply checked. The clock of a delivery starts right before the final
//! `.` of DATA is written (the message itself already sent), as in bench/lib/lmtpc.py.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result};
use tokio::net::TcpStream;

use crate::wire::Wire;

pub struct Lmtp {
    wire: Wire,
}

impl Lmtp {
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.context("LMTP connect")?;
        stream.set_nodelay(true)?;
        let mut wire = Wire::new(stream);
        wire.reply(b"220").await.context("LMTP greeting")?;
        wire.send(b"LHLO bench.example.test\r\n").await?;
        wire.reply(b"250").await.context("LHLO")?;
        Ok(Lmtp { wire })
    }

    /// Delivers `message` (CRLF lines). Returns (the instant before the final dot was sent,
    /// the instant the recipient's 250 was read).
    pub async fn deliver(
        &mut self,
        from: &str,
        rcpt: &str,
        message: &[u8],
    ) -> Result<(Instant, Instant)> {
        let w = &mut self.wire;
        w.send(format!("MAIL FROM:<{from}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes())
            .await?;
        w.reply(b"250").await.context("MAIL FROM")?;
        w.reply(b"250").await.context("RCPT TO")?;
        w.reply(b"354").await.context("DATA")?;
        w.send(&dot_stuff(message)).await?;
        let t0 = Instant::now();
        w.send(b".\r\n").await?;
        w.reply(b"250").await.context("end of DATA")?;
        Ok((t0, Instant::now()))
    }

    pub async fn quit(mut self) -> Result<()> {
        self.wire.send(b"QUIT\r\n").await?;
        self.wire.reply(b"221").await.context("QUIT")?;
        Ok(())
    }
}

/// `message` with a leading `.` doubled on every line (RFC 5321 §4.5.2) and a final CRLF.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for &c in message {
        if at_line_start && c == b'.' {
            out.push(b'.');
        }
        out.push(c);
        at_line_start = c == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dot_stuff;

    #[test]
    fn dots_at_line_start_are_doubled() {
        assert_eq!(dot_stuff(b".a\r\nb.\r\n..c"), b"..a\r\nb.\r\n...c\r\n");
        assert_eq!(dot_stuff(b"x\r\n"), b"x\r\n");
    }
}
