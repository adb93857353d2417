//! One SMTP client session (RFC 5321 §3, §4): greeting, EHLO (HELO when EHLO is refused),
//! STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), then transactions with MAIL, RCPT and
//! DATA (or BDAT for BINARYMIME, RFC 3030), pipelined when the server offers PIPELINING
//! (RFC 2920), with SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and the DSN
//! parameters (RFC 3461) when the server supports them. With [`SessionOptions::lmtp`] the
//! same session speaks LMTP (RFC 2033: LHLO, one reply per accepted recipient after the
//! content), for handing mail to a legacy mail store during a migration.

use super::conn::{ClientError, Connection};
use super::reply::Reply;
use base64::Engine;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The service extensions a server announced in its EHLO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub esmtp: bool,
    pub pipelining: bool,
    /// `SIZE n`; `Some(0)`: announced without a limit.
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    pub dsn: bool,
    pub starttls: bool,
    pub chunking: bool,
    pub binarymime: bool,
    /// SASL mechanisms, upper-case.
    pub auth: Vec<String>,
}

impl Extensions {
    /// Reads the keywords of an EHLO reply (its first line is the greeting).
    pub fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            esmtp: true,
            ..Extensions::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => ext.pipelining = true,
                "SIZE" => ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => ext.eightbitmime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "DSN" => ext.dsn = true,
                "STARTTLS" => ext.starttls = true,
                "CHUNKING" => ext.chunking = true,
                "BINARYMIME" => ext.binarymime = true,
                "AUTH" => ext.auth = words.map(|w| w.to_ascii_uppercase()).collect(),
                _ => {}
            }
        }
        ext
    }
}

/// What the session does about TLS.
#[derive(Clone)]
pub enum TlsPolicy {
    /// Plain text only.
    Never,
    /// STARTTLS when offered, certificate not verified (MX delivery).
    Opportunistic(Arc<ClientConfig>),
    /// As `Opportunistic`, with the MX host's name for SNI and for a config that checks the
    /// certificate without refusing it (MTA-STS `testing`, see `tls::audited`).
    Audited(Arc<ClientConfig>, ServerName<'static>),
    /// STARTTLS must be offered and succeed, certificate verified for the name.
    Required(Arc<ClientConfig>, ServerName<'static>),
    /// TLS from the first octet, verified.
    Implicit(Arc<ClientConfig>, ServerName<'static>),
}

/// How to open a session.
#[derive(Clone)]
pub struct SessionOptions {
    /// The name sent in EHLO.
    pub helo: String,
    pub tls: TlsPolicy,
    /// AUTH credentials (user, password).
    pub auth: Option<(String, String)>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// Speak LMTP instead of SMTP.
    pub lmtp: bool,
}

/// An open session, ready for a transaction.
pub struct Session {
    conn: Connection,
    pub ext: Extensions,
    lmtp: bool,
}

/// The body of a message to send: `prepend`, then the file from octet `skip`.
pub struct Content<'a> {
    pub prepend: &'a [u8],
    pub path: &'a Path,
    pub skip: u64,
    /// Octets sent: `prepend.len()` + the file's length − `skip`.
    pub size: u64,
}

/// The envelope of one transaction.
pub struct Transaction<'a> {
    pub from: &'a str,
    /// `BODY=` value to send (`8BITMIME`, `BINARYMIME`), if any.
    pub body: Option<&'static str>,
    pub smtputf8: bool,
    /// `FULL` or `HDRS`, sent only when the server supports DSN.
    pub ret: Option<&'a str>,
    pub envid: Option<&'a str>,
    pub rcpts: Vec<TxRcpt<'a>>,
}

/// One RCPT of a transaction.
pub struct TxRcpt<'a> {
    pub address: &'a str,
    pub notify: Option<&'a str>,
    pub orcpt: Option<&'a str>,
}

/// What happened to one recipient: the reply that decided it (the RCPT refusal, or the
/// reply to the message content).
pub type RcptResult = Reply;

impl Session {
    /// Connects, reads the greeting, says EHLO, upgrades to TLS and authenticates as the
    /// options say.
    pub async fn open(
        addr: std::net::SocketAddr,
        opts: &SessionOptions,
    ) -> Result<Session, ClientError> {
        let mut conn =
            Connection::connect(addr, opts.connect_timeout, opts.command_timeout).await?;
        if let TlsPolicy::Implicit(config, name) = &opts.tls {
            conn.start_tls(config.clone(), name.clone()).await?;
        }
        let greeting = conn.read_reply().await?;
        if greeting.code != 220 {
            return Err(ClientError::Reply(greeting));
        }
        let mut session = Session {
            conn,
            ext: Extensions::default(),
            lmtp: opts.lmtp,
        };
        session.hello(&opts.helo).await?;
        let upgrade = match &opts.tls {
            TlsPolicy::Opportunistic(config) if session.ext.starttls => {
                let name = ServerName::try_from("mx.invalid").expect("a valid name");
                Some((config.clone(), name))
            }
            TlsPolicy::Audited(config, name) if session.ext.starttls => {
                Some((config.clone(), name.clone()))
            }
            TlsPolicy::Required(config, name) => {
                if !session.ext.starttls {
                    return Err(ClientError::Tls(
                        "the server does not offer STARTTLS".into(),
                    ));
                }
                Some((config.clone(), name.clone()))
            }
            _ => None,
        };
        if let Some((config, name)) = upgrade {
            let reply = session.command("STARTTLS\r\n").await?;
            if reply.code == 220 {
                session.conn.start_tls(config, name).await?;
                session.hello(&opts.helo).await?;
            } else if matches!(opts.tls, TlsPolicy::Required(..)) {
                return Err(ClientError::Reply(reply));
            }
        }
        if let Some((user, password)) = &opts.auth {
            session.authenticate(user, password).await?;
        }
        Ok(session)
    }

    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    async fn hello(&mut self, helo: &str) -> Result<(), ClientError> {
        let verb = if self.lmtp { "LHLO" } else { "EHLO" };
        let reply = self.command(&format!("{verb} {helo}\r\n")).await?;
        if reply.is_positive() {
            self.ext = Extensions::parse(&reply);
            return Ok(());
        }
        if reply.code == 421 || self.lmtp {
            return Err(ClientError::Reply(reply));
        }
        // RFC 5321 §3.2: a server that does not know EHLO gets HELO.
        let reply = self.command(&format!("HELO {helo}\r\n")).await?;
        if !reply.is_positive() {
            return Err(ClientError::Reply(reply));
        }
        self.ext = Extensions::default();
        Ok(())
    }

    /// AUTH PLAIN (RFC 4616) if offered, else LOGIN.
    async fn authenticate(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let reply = if self.ext.auth.iter().any(|m| m == "PLAIN") {
            let token = b64.encode(format!("\0{user}\0{password}"));
            self.command(&format!("AUTH PLAIN {token}\r\n")).await?
        } else if self.ext.auth.iter().any(|m| m == "LOGIN") {
            let first = self.command("AUTH LOGIN\r\n").await?;
            if first.code != 334 {
                return Err(ClientError::Reply(first));
            }
            let second = self.command(&format!("{}\r\n", b64.encode(user))).await?;
            if second.code != 334 {
                return Err(ClientError::Reply(second));
            }
            self.command(&format!("{}\r\n", b64.encode(password)))
                .await?
        } else {
            return Err(ClientError::Protocol(
                "the relay offers neither AUTH PLAIN nor AUTH LOGIN".into(),
            ));
        };
        if reply.code != 235 {
            return Err(ClientError::Reply(reply));
        }
        Ok(())
    }

    async fn command(&mut self, line: &str) -> Result<Reply, ClientError> {
        self.conn.write_all(line.as_bytes()).await?;
        self.conn.flush().await?;
        self.conn.read_reply().await
    }

    /// Runs one transaction. `Err` for what ends it for every recipient (MAIL refused, the
    /// connection lost); otherwise one reply per recipient, in order.
    pub async fn send(
        &mut self,
        tx: &Transaction<'_>,
        content: &Content<'_>,
    ) -> Result<Vec<RcptResult>, ClientError> {
        let mut mail = format!("MAIL FROM:<{}>", tx.from);
        if self.ext.size.is_some() {
            mail.push_str(&format!(" SIZE={}", content.size));
        }
        if let Some(body) = tx.body {
            mail.push_str(&format!(" BODY={body}"));
        }
        if tx.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.ext.dsn {
            if let Some(ret) = tx.ret {
                mail.push_str(&format!(" RET={ret}"));
            }
            if let Some(envid) = tx.envid {
                mail.push_str(&format!(" ENVID={}", xtext(envid)));
            }
        }
        mail.push_str("\r\n");
        let mut rcpt_lines = Vec::with_capacity(tx.rcpts.len());
        for r in &tx.rcpts {
            let mut line = format!("RCPT TO:<{}>", r.address);
            if self.ext.dsn {
                if let Some(notify) = r.notify {
                    line.push_str(&format!(" NOTIFY={notify}"));
                }
                if let Some(orcpt) = r.orcpt {
                    line.push_str(&format!(" ORCPT=rfc822;{}", xtext(orcpt)));
                }
            }
            line.push_str("\r\n");
            rcpt_lines.push(line);
        }
        let bdat = tx.body == Some("BINARYMIME");
        let (mail_reply, rcpt_replies) = if self.ext.pipelining {
            // RFC 2920: the whole envelope in one write; DATA waits for the replies (so
            // the content is never sent when no recipient was accepted).
            let mut batch = mail.clone();
            for line in &rcpt_lines {
                batch.push_str(line);
            }
            self.conn.write_all(batch.as_bytes()).await?;
            self.conn.flush().await?;
            let mail_reply = self.conn.read_reply().await?;
            let mut replies = Vec::with_capacity(rcpt_lines.len());
            for _ in &rcpt_lines {
                replies.push(self.conn.read_reply().await?);
            }
            (mail_reply, replies)
        } else {
            let mail_reply = self.command(&mail).await?;
            let mut replies = Vec::with_capacity(rcpt_lines.len());
            if mail_reply.is_positive() {
                for line in &rcpt_lines {
                    replies.push(self.command(line).await?);
                }
            }
            (mail_reply, replies)
        };
        if !mail_reply.is_positive() {
            return Err(ClientError::Reply(mail_reply));
        }
        if !rcpt_replies.iter().any(Reply::is_positive) {
            let _ = self.command("RSET\r\n").await;
            return Ok(rcpt_replies);
        }
        let sent = if bdat {
            self.conn
                .write_all(format!("BDAT {} LAST\r\n", content.size).as_bytes())
                .await?;
            write_content(&mut self.conn, content, false).await?;
            self.conn.flush().await?;
            Ok(())
        } else {
            let go = self.command("DATA\r\n").await?;
            if go.code != 354 {
                Err(go)
            } else {
                write_content(&mut self.conn, content, true).await?;
                self.conn.write_all(b".\r\n").await?;
                self.conn.flush().await?;
                Ok(())
            }
        };
        // SMTP: one reply for the content; LMTP (RFC 2033 §4.2): one per accepted RCPT.
        let accepted = rcpt_replies.iter().filter(|r| r.is_positive()).count();
        let mut finals = Vec::with_capacity(accepted);
        match sent {
            Err(refused) => finals.resize(accepted, refused),
            Ok(()) if self.lmtp => {
                for _ in 0..accepted {
                    finals.push(self.conn.read_reply().await?);
                }
            }
            Ok(()) => finals.resize(accepted, self.conn.read_reply().await?),
        }
        let mut finals = finals.into_iter();
        Ok(rcpt_replies
            .into_iter()
            .map(|r| {
                if r.is_positive() {
                    finals.next().unwrap_or(r)
                } else {
                    r
                }
            })
            .collect())
    }

    /// Says QUIT and closes (errors ignored: the transaction's outcome is already known).
    pub async fn quit(mut self) {
        let _ = self.command("QUIT\r\n").await;
        self.conn.shutdown().await;
    }
}

/// Streams the content: dot-stuffed and CRLF-terminated for DATA, raw for BDAT.
async fn write_content(
    conn: &mut Connection,
    content: &Content<'_>,
    dot_stuff: bool,
) -> Result<(), ClientError> {
    let io = |e: std::io::Error| ClientError::Io(format!("spool {}: {e}", content.path.display()));
    let mut file = tokio::fs::File::open(content.path).await.map_err(io)?;
    file.seek(std::io::SeekFrom::Start(content.skip))
        .await
        .map_err(io)?;
    let mut stuffer = DotStuffer::new();
    let mut out = Vec::with_capacity(70 * 1024);
    if dot_stuff {
        stuffer.push(content.prepend, &mut out);
    } else {
        out.extend_from_slice(content.prepend);
    }
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        if dot_stuff {
            stuffer.push(&chunk[..n], &mut out);
        } else {
            out.extend_from_slice(&chunk[..n]);
        }
        conn.write_all(&out).await?;
        out.clear();
    }
    if dot_stuff {
        stuffer.finish(&mut out);
    }
    conn.write_all(&out).await
}

/// RFC 5321 §4.5.2 transparency: a line starting with `.` gets another; the content ends
/// with CRLF before the terminating `.`.
struct DotStuffer {
    at_line_start: bool,
    last: Option<u8>,
}

impl DotStuffer {
    fn new() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            last: None,
        }
    }

    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if self.at_line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            self.at_line_start = b == b'\n';
            self.last = Some(b);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        match self.last {
            None | Some(b'\n') => {}
            Some(b'\r') => out.push(b'\n'),
            Some(_) => out.extend_from_slice(b"\r\n"),
        }
    }
}

/// RFC 3461 §4: xtext.
pub fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_keywords() {
        let reply = Reply {
            code: 250,
            lines: vec![
                "mx.test hello".into(),
                "PIPELINING".into(),
                "SIZE 10240000".into(),
                "8BITMIME".into(),
                "dsn".into(),
                "AUTH PLAIN login".into(),
                "STARTTLS".into(),
            ],
        };
        let ext = Extensions::parse(&reply);
        assert!(ext.pipelining && ext.eightbitmime && ext.dsn && ext.starttls);
        assert!(!ext.smtputf8 && !ext.chunking);
        assert_eq!(ext.size, Some(10_240_000));
        assert_eq!(ext.auth, ["PLAIN", "LOGIN"]);
    }

    #[test]
    fn dot_stuffing_and_final_crlf() {
        let mut out = Vec::new();
        let mut s = DotStuffer::new();
        s.push(b".start\r\nmid.dle\r\n.", &mut out);
        s.push(b".two\r\nend", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"..start\r\nmid.dle\r\n...two\r\nend\r\n");
    }

    #[test]
    fn xtext_encodes_plus_equals_and_controls() {
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("user@example.test"), "user@example.test");
    }
}
