//! A Sendmail milter client (protocol version 6), run once per message after it is
//! staged: the whole SMTP conversation is replayed to the milter on a new connection
//! (OPTNEG, macros, CONNECT, HELO, MAIL, RCPT..., DATA, one HEADER per field, EOH, BODY
//! chunks, BODYEOB), honouring the steps and replies the milter negotiated away
//! (`SMFIP_NO*`, `SMFIP_NR_*`), then QUIT.
//!
//! ## What comes back
//! [`MilterResult`]: the decision (continue, accept, reject, tempfail, discard, each
//! possibly with the milter's own SMTP reply) and the header modifications it asked for
//! at end of body: add (`h`), insert (`i`), change/delete (`m`), and quarantine (`q`).
//! Only those actions are offered in OPTNEG; a milter that requests another one
//! (recipients, sender, body replacement) is a protocol error, so the gateway applies its
//! failure rule rather than silently ignoring the change.
//!
//! ## Replay semantics
//! A reject at any step rejects the message (a RCPT-level reject too: the client's
//! recipients were already accepted, so the whole message is refused with the milter's
//! reply). `accept` at any step ends the exchange with no modifications.
//!
//! Only `inet` sockets (`host:port`) are supported.

pub mod wire;

use crate::{FilterError, MessageInfo};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::Reply;

/// The milter's decision on the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Deliver (with the modifications).
    Continue,
    /// Reject; `Some` is the milter's own reply (code, `x.y.z text`).
    Reject(Option<(u16, String)>),
    /// Temporary failure, with the milter's own reply if it gave one.
    Tempfail(Option<(u16, String)>),
    /// Accept and drop the message.
    Discard,
}

/// A header modification the milter asked for at the end of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modification {
    Add {
        name: String,
        value: String,
    },
    Insert {
        index: u32,
        name: String,
        value: String,
    },
    /// The `index`-th (1-based) field named `name`; empty `value`: delete it.
    Change {
        index: u32,
        name: String,
        value: String,
    },
}

/// The outcome of one milter on one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilterResult {
    pub decision: Decision,
    pub modifications: Vec<Modification>,
    /// The milter asked for the message to be quarantined, with this reason.
    pub quarantine: Option<String>,
    /// Whether header values must be written with the leading space the milter gave
    /// (`SMFIP_HDR_LEADSPC` negotiated); otherwise one space follows the colon.
    pub leading_space: bool,
}

/// A milter on an `inet` socket.
#[derive(Clone, Debug)]
pub struct Milter {
    pub addr: String,
    /// Deadline for the whole exchange (progress packets do not extend it).
    pub timeout: Duration,
}

impl Milter {
    /// Runs the message past the milter. `message` is the message as delivered (header
    /// section, blank line, body).
    pub async fn check(
        &self,
        info: &MessageInfo,
        message: &[u8],
    ) -> Result<MilterResult, FilterError> {
        crate::deadline(self.timeout, "milter", async {
            let stream = crate::connect(&self.addr).await?;
            let mut conn = Conn {
                stream,
                buf: Vec::new(),
                protocol: 0,
            };
            let result = conn.run(info, message).await;
            // QUIT whatever happened; the milter closes its side.
            let _ = conn
                .stream
                .write_all(&wire::packet(wire::SMFIC_QUIT, b""))
                .await;
            result
        })
        .await
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The milter's protocol flags after negotiation.
    protocol: u32,
}

/// The result of one step: go on, or stop with a decision.
enum Step {
    Next,
    Done(Decision),
}

impl Conn {
    async fn run(
        &mut self,
        info: &MessageInfo,
        message: &[u8],
    ) -> Result<MilterResult, FilterError> {
        self.send(&wire::optneg()).await?;
        let leading_space = match self.read().await? {
            Reply::OptNeg {
                version,
                actions,
                protocol,
            } => {
                if version < 2 {
                    return Err(FilterError::Protocol(format!(
                        "milter protocol version {version}"
                    )));
                }
                if actions & !wire::ACTIONS_OFFERED != 0 {
                    return Err(FilterError::Protocol(format!(
                        "milter wants actions 0x{actions:x}; offered 0x{:x}",
                        wire::ACTIONS_OFFERED
                    )));
                }
                self.protocol = protocol & wire::PROTOCOL_OFFERED;
                self.protocol & wire::SMFIP_HDR_LEADSPC != 0
            }
            other => {
                return Err(FilterError::Protocol(format!(
                    "milter answered OPTNEG with {other:?}"
                )));
            }
        };
        let done = |decision| MilterResult {
            decision,
            modifications: Vec::new(),
            quarantine: None,
            leading_space,
        };
        let accept = |step: Step| match step {
            Step::Done(d) => Some(done(d)),
            Step::Next => None,
        };

        // CONNECT, with the connection macros.
        let (family, port, address) = match info.peer {
            Some(std::net::SocketAddr::V4(a)) => (b'4', a.port(), a.ip().to_string()),
            Some(std::net::SocketAddr::V6(a)) => (b'6', a.port(), a.ip().to_string()),
            None => (b'U', 0, String::new()),
        };
        let client_name = format!("[{address}]");
        self.send(&wire::macros(
            wire::SMFIC_CONNECT,
            &[
                ("j", &info.hostname),
                ("{daemon_name}", "tern"),
                ("_", &format!("{} {client_name}", info.helo)),
                ("{client_addr}", &address),
            ],
        ))
        .await?;
        if self.protocol & wire::SMFIP_NOCONNECT == 0 {
            let mut data = wire::strings(&[client_name.as_bytes()]);
            data.push(family);
            if family != b'U' {
                data.extend_from_slice(&port.to_be_bytes());
                data.extend(wire::strings(&[address.as_bytes()]));
            }
            let step = self
                .command(wire::SMFIC_CONNECT, &data, wire::SMFIP_NR_CONN)
                .await?;
            if let Some(r) = accept(step) {
                return Ok(r);
            }
        }
        if self.protocol & wire::SMFIP_NOHELO == 0 {
            let data = wire::strings(&[info.helo.as_bytes()]);
            let step = self
                .command(wire::SMFIC_HELO, &data, wire::SMFIP_NR_HELO)
                .await?;
            if let Some(r) = accept(step) {
                return Ok(r);
            }
        }
        let mut mail_macros: Vec<(&str, &str)> =
            vec![("i", &info.queue_id), ("{mail_addr}", &info.from)];
        if let Some(user) = &info.user {
            mail_macros.push(("{auth_authen}", user));
        }
        self.send(&wire::macros(wire::SMFIC_MAIL, &mail_macros))
            .await?;
        if self.protocol & wire::SMFIP_NOMAIL == 0 {
            let from = format!("<{}>", info.from);
            let data = wire::strings(&[from.as_bytes()]);
            let step = self
                .command(wire::SMFIC_MAIL, &data, wire::SMFIP_NR_MAIL)
                .await?;
            if let Some(r) = accept(step) {
                return Ok(r);
            }
        }
        for rcpt in &info.recipients {
            self.send(&wire::macros(wire::SMFIC_RCPT, &[("{rcpt_addr}", rcpt)]))
                .await?;
            if self.protocol & wire::SMFIP_NORCPT == 0 {
                let to = format!("<{rcpt}>");
                let data = wire::strings(&[to.as_bytes()]);
                let step = self
                    .command(wire::SMFIC_RCPT, &data, wire::SMFIP_NR_RCPT)
                    .await?;
                if let Some(r) = accept(step) {
                    return Ok(r);
                }
            }
        }
        if self.protocol & wire::SMFIP_NODATA == 0 {
            let step = self
                .command(wire::SMFIC_DATA, b"", wire::SMFIP_NR_DATA)
                .await?;
            if let Some(r) = accept(step) {
                return Ok(r);
            }
        }
        let (fields, body) = split_message(message);
        if self.protocol & wire::SMFIP_NOHDRS == 0 {
            for (name, value) in fields {
                let value = if leading_space {
                    value
                } else {
                    value.trim_ascii_start()
                };
                let value: Vec<u8> = unfold_crlf(value);
                let data = wire::strings(&[name, &value]);
                let step = self
                    .command(wire::SMFIC_HEADER, &data, wire::SMFIP_NR_HDR)
                    .await?;
                if let Some(r) = accept(step) {
                    return Ok(r);
                }
            }
        }
        if self.protocol & wire::SMFIP_NOEOH == 0 {
            let step = self
                .command(wire::SMFIC_EOH, b"", wire::SMFIP_NR_EOH)
                .await?;
            if let Some(r) = accept(step) {
                return Ok(r);
            }
        }
        if self.protocol & wire::SMFIP_NOBODY == 0 {
            for chunk in body.chunks(wire::BODY_CHUNK) {
                self.send(&wire::packet(wire::SMFIC_BODY, chunk)).await?;
                if self.protocol & wire::SMFIP_NR_BODY != 0 {
                    continue;
                }
                match self.read_skipping_progress().await? {
                    Reply::Continue => {}
                    Reply::Skip => break,
                    other => {
                        if let Some(d) = final_decision(other)? {
                            return Ok(done(d));
                        }
                    }
                }
            }
        }
        self.send(&wire::macros(wire::SMFIC_BODYEOB, &[("i", &info.queue_id)]))
            .await?;
        self.send(&wire::packet(wire::SMFIC_BODYEOB, b"")).await?;
        let mut result = done(Decision::Continue);
        loop {
            match self.read_skipping_progress().await? {
                Reply::AddHeader { name, value } => {
                    result.modifications.push(Modification::Add { name, value })
                }
                Reply::InsertHeader { index, name, value } => result
                    .modifications
                    .push(Modification::Insert { index, name, value }),
                Reply::ChangeHeader { index, name, value } => result
                    .modifications
                    .push(Modification::Change { index, name, value }),
                Reply::Quarantine(reason) => result.quarantine = Some(reason),
                other => {
                    result.decision = final_decision(other)?.unwrap_or(Decision::Continue);
                    return Ok(result);
                }
            }
        }
    }

    /// Sends a command; reads its reply unless the milter negotiated it away (`no_reply`).
    async fn command(&mut self, cmd: u8, data: &[u8], no_reply: u32) -> Result<Step, FilterError> {
        self.send(&wire::packet(cmd, data)).await?;
        if self.protocol & no_reply != 0 {
            return Ok(Step::Next);
        }
        match self.read_skipping_progress().await? {
            Reply::Continue => Ok(Step::Next),
            other => Ok(Step::Done(
                final_decision(other)?.unwrap_or(Decision::Continue),
            )),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), FilterError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| FilterError::io("sending to the milter", e))
    }

    async fn read_skipping_progress(&mut self) -> Result<Reply, FilterError> {
        loop {
            match self.read().await? {
                Reply::Progress => continue,
                other => return Ok(other),
            }
        }
    }

    async fn read(&mut self) -> Result<Reply, FilterError> {
        loop {
            if let Some((reply, used)) = wire::decode_reply(&self.buf)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| FilterError::io("reading from the milter", e))?;
            if n == 0 {
                return Err(FilterError::Unavailable(
                    "the milter closed the connection".into(),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// What a reply other than continue means: `Ok(None)` for accept (deliver, unmodified).
fn final_decision(reply: Reply) -> Result<Option<Decision>, FilterError> {
    Ok(Some(match reply {
        Reply::Accept => return Ok(None),
        Reply::Continue => Decision::Continue,
        Reply::Reject => Decision::Reject(None),
        Reply::Tempfail | Reply::Shutdown => Decision::Tempfail(None),
        Reply::Discard => Decision::Discard,
        Reply::ReplyCode { code, text } if code >= 500 => Decision::Reject(Some((code, text))),
        Reply::ReplyCode { code, text } => Decision::Tempfail(Some((code, text))),
        other => {
            return Err(FilterError::Protocol(format!(
                "unexpected milter reply {other:?}"
            )));
        }
    }))
}

/// A header field: its name and its raw value (after the colon, without the final CRLF).
pub type Field<'a> = (&'a [u8], &'a [u8]);

/// Splits a message into its header fields (`name`, raw value after the colon without the
/// final CRLF) and its body (after the blank line). Lines that are not fields end the
/// header section, as a parser of RFC 5322 would.
pub fn split_message(message: &[u8]) -> (Vec<Field<'_>>, &[u8]) {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &message[pos..];
        if rest.is_empty() {
            return (fields, rest);
        }
        if rest.starts_with(b"\r\n") {
            return (fields, &rest[2..]);
        }
        if rest.starts_with(b"\n") {
            return (fields, &rest[1..]);
        }
        // One field: up to a line end not followed by whitespace (folding).
        let mut end = 0;
        let field_end = loop {
            match memchr::memchr(b'\n', &rest[end..]) {
                Some(i) => {
                    let next = end + i + 1;
                    if matches!(rest.get(next), Some(b' ' | b'\t')) {
                        end = next;
                        continue;
                    }
                    break next;
                }
                None => break rest.len(),
            }
        };
        let line = &rest[..field_end];
        let Some(colon) = memchr::memchr(b':', line) else {
            return (fields, rest);
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|b| (33..=126).contains(b)) {
            return (fields, rest);
        }
        let mut value = &line[colon + 1..];
        if let Some(v) = value.strip_suffix(b"\n") {
            value = v.strip_suffix(b"\r").unwrap_or(v);
        }
        fields.push((name, value));
        pos += field_end;
    }
}

/// Folded values go to the milter with LF line ends, as Sendmail and Postfix send them.
fn unfold_crlf(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'\r' && value.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(value[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted milter on loopback: negotiates no HELO and no replies to headers, skips
    /// the body after the first chunk, then asks for changes and tempfails with its own
    /// reply. Returns the commands it received.
    async fn scripted_milter(listener: tokio::net::TcpListener) -> Vec<u8> {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.unwrap();
            if n == 0 {
                return seen;
            }
            buf.extend_from_slice(&chunk[..n]);
            while buf.len() >= 4 {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if buf.len() < 4 + len {
                    break;
                }
                let cmd = buf[4];
                buf.drain(..4 + len);
                seen.push(cmd);
                let reply: Vec<u8> = match cmd {
                    b'O' => {
                        let mut d = Vec::new();
                        d.extend_from_slice(&6u32.to_be_bytes());
                        d.extend_from_slice(&wire::SMFIF_ADDHDRS.to_be_bytes());
                        let p = wire::SMFIP_NOHELO | wire::SMFIP_NR_HDR;
                        d.extend_from_slice(&p.to_be_bytes());
                        wire::packet(b'O', &d)
                    }
                    b'D' | b'L' => Vec::new(),
                    b'B' => [wire::packet(b'p', b""), wire::packet(b's', b"")].concat(),
                    b'E' => [
                        wire::packet(b'h', b"X-Test\0yes\0"),
                        wire::packet(b'q', b"held\0"),
                        wire::packet(b'y', b"451 4.7.1 Later\0"),
                    ]
                    .concat(),
                    b'Q' => return seen,
                    _ => wire::packet(b'c', b""),
                };
                s.write_all(&reply).await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn session_follows_the_negotiated_protocol() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let milter = tokio::spawn(scripted_milter(listener));
        let info = MessageInfo {
            peer: Some("192.0.2.1:4000".parse().unwrap()),
            helo: "client.test".into(),
            from: "a@b.test".into(),
            recipients: vec!["c@d.test".into(), "e@d.test".into()],
            hostname: "mx.test".into(),
            user: None,
            queue_id: "Q1".into(),
        };
        let body = "x".repeat(wire::BODY_CHUNK + 10);
        let message = format!("Subject: s\r\nX-A: 1\r\n\r\n{body}");
        let m = Milter {
            addr,
            timeout: Duration::from_secs(30),
        };
        let r = m.check(&info, message.as_bytes()).await.unwrap();
        assert_eq!(
            r.decision,
            Decision::Tempfail(Some((451, "4.7.1 Later".into())))
        );
        assert_eq!(
            r.modifications,
            vec![Modification::Add {
                name: "X-Test".into(),
                value: "yes".into()
            }]
        );
        assert_eq!(r.quarantine.as_deref(), Some("held"));
        let seen: String = milter.await.unwrap().into_iter().map(char::from).collect();
        // No HELO (negotiated away); two RCPTs; both headers; one body chunk (then skip).
        let commands: String = seen.chars().filter(|c| *c != 'D').collect();
        assert_eq!(commands, "OCMRRTLLNBEQ");
    }

    #[tokio::test]
    async fn unreachable_milter_is_unavailable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let m = Milter {
            addr,
            timeout: Duration::from_secs(5),
        };
        let e = m.check(&MessageInfo::default(), b"A: b\r\n\r\n").await;
        assert!(matches!(e, Err(FilterError::Unavailable(_))), "{e:?}");
    }

    #[test]
    fn splits_header_and_body() {
        let m = b"Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody\r\n";
        let (fields, body) = split_message(m);
        assert_eq!(
            fields,
            vec![
                (&b"Received"[..], &b" from x\r\n\tby y"[..]),
                (&b"Subject"[..], &b" hi"[..])
            ]
        );
        assert_eq!(body, b"body\r\n");
        assert_eq!(unfold_crlf(b" from x\r\n\tby y"), b" from x\n\tby y");
        let (fields, body) = split_message(b"no header line\r\nrest");
        assert!(fields.is_empty());
        assert_eq!(body, b"no header line\r\nrest");
        let (fields, body) = split_message(b"A: 1");
        assert_eq!(fields.len(), 1);
        assert!(body.is_empty());
    }
}
