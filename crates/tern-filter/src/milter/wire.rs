//! The milter protocol's packets (Sendmail's `libmilter/mfdef.h`, protocol version 6):
//! every packet is a 4-octet length in network order (counting the command octet), one
//! command octet, then its data. Strings are NUL-terminated.
//!
//! This module builds the MTA's packets and parses the milter's replies
//! ([`decode_reply`], fuzzed by `fuzz/fuzz_targets/milter_reply.rs`). It does no I/O.

use crate::FilterError;

/// The protocol version this client speaks.
pub const VERSION: u32 = 6;
/// The largest reply packet accepted (milters send short replies; a header value is at
/// most a few KiB; libmilter's own limit on the MTA's packets is 64 KiB + room).
pub const MAX_PACKET: usize = 256 * 1024;
/// Largest body chunk sent (libmilter's `MILTER_CHUNK_SIZE`).
pub const BODY_CHUNK: usize = 65535;

// Commands (MTA → milter).
pub const SMFIC_ABORT: u8 = b'A';
pub const SMFIC_BODY: u8 = b'B';
pub const SMFIC_CONNECT: u8 = b'C';
pub const SMFIC_MACRO: u8 = b'D';
pub const SMFIC_BODYEOB: u8 = b'E';
pub const SMFIC_HELO: u8 = b'H';
pub const SMFIC_HEADER: u8 = b'L';
pub const SMFIC_MAIL: u8 = b'M';
pub const SMFIC_EOH: u8 = b'N';
pub const SMFIC_OPTNEG: u8 = b'O';
pub const SMFIC_QUIT: u8 = b'Q';
pub const SMFIC_RCPT: u8 = b'R';
pub const SMFIC_DATA: u8 = b'T';

// Actions the MTA allows (SMFIF_*): the ones Tern applies.
pub const SMFIF_ADDHDRS: u32 = 0x01;
pub const SMFIF_CHGHDRS: u32 = 0x10;
pub const SMFIF_QUARANTINE: u32 = 0x20;
/// What this client offers in its OPTNEG.
pub const ACTIONS_OFFERED: u32 = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;

// Protocol flags (SMFIP_*): steps the milter may skip, replies it may omit.
pub const SMFIP_NOCONNECT: u32 = 0x01;
pub const SMFIP_NOHELO: u32 = 0x02;
pub const SMFIP_NOMAIL: u32 = 0x04;
pub const SMFIP_NORCPT: u32 = 0x08;
pub const SMFIP_NOBODY: u32 = 0x10;
pub const SMFIP_NOHDRS: u32 = 0x20;
pub const SMFIP_NOEOH: u32 = 0x40;
pub const SMFIP_NR_HDR: u32 = 0x80;
pub const SMFIP_NOUNKNOWN: u32 = 0x100;
pub const SMFIP_NODATA: u32 = 0x200;
pub const SMFIP_SKIP: u32 = 0x400;
pub const SMFIP_RCPT_REJ: u32 = 0x800;
pub const SMFIP_NR_CONN: u32 = 0x1000;
pub const SMFIP_NR_HELO: u32 = 0x2000;
pub const SMFIP_NR_MAIL: u32 = 0x4000;
pub const SMFIP_NR_RCPT: u32 = 0x8000;
pub const SMFIP_NR_DATA: u32 = 0x10000;
pub const SMFIP_NR_UNKN: u32 = 0x20000;
pub const SMFIP_NR_EOH: u32 = 0x40000;
pub const SMFIP_NR_BODY: u32 = 0x80000;
pub const SMFIP_HDR_LEADSPC: u32 = 0x100000;
/// Every protocol flag this client honours (all of version 6's, up to `HDR_LEADSPC`).
pub const PROTOCOL_OFFERED: u32 = 0x1F_FFFF;

/// One reply packet from the milter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `O`: the milter's side of the negotiation.
    OptNeg {
        version: u32,
        actions: u32,
        protocol: u32,
    },
    /// `c`
    Continue,
    /// `a`: accept the message; send nothing more about it.
    Accept,
    /// `r`
    Reject,
    /// `t`
    Tempfail,
    /// `d`: accept and drop the message.
    Discard,
    /// `y`: reject or tempfail with this SMTP reply (`550 5.7.1 text`).
    ReplyCode { code: u16, text: String },
    /// `s`: stop sending body chunks.
    Skip,
    /// `p`: still working (resets the timeout).
    Progress,
    /// `h`: append a header field.
    AddHeader { name: String, value: String },
    /// `i`: insert a header field at `index` (0 = first).
    InsertHeader {
        index: u32,
        name: String,
        value: String,
    },
    /// `m`: change the `index`-th (1-based) field called `name`; an empty value deletes it.
    ChangeHeader {
        index: u32,
        name: String,
        value: String,
    },
    /// `q`: quarantine, with a reason.
    Quarantine(String),
    /// `4` (shutdown) or `f` (connection failure): as tempfail.
    Shutdown,
    /// A modification this client did not offer (body replacement, recipients, sender):
    /// the command octet. The caller treats it as a protocol violation.
    Unsupported(u8),
}

/// A packet: `len`, `cmd`, `data`.
pub fn packet(cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + data.len());
    out.extend_from_slice(&((data.len() + 1) as u32).to_be_bytes());
    out.push(cmd);
    out.extend_from_slice(data);
    out
}

/// NUL-terminated strings, concatenated. An interior NUL is dropped (it would end the
/// string early and shift every later field).
pub fn strings(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend(item.iter().copied().filter(|&b| b != 0));
        out.push(0);
    }
    out
}

/// The MTA's OPTNEG packet.
pub fn optneg() -> Vec<u8> {
    let mut data = Vec::with_capacity(12);
    data.extend_from_slice(&VERSION.to_be_bytes());
    data.extend_from_slice(&ACTIONS_OFFERED.to_be_bytes());
    data.extend_from_slice(&PROTOCOL_OFFERED.to_be_bytes());
    packet(SMFIC_OPTNEG, &data)
}

/// A `D` packet defining macros for the command `for_cmd`.
pub fn macros(for_cmd: u8, pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut data = vec![for_cmd];
    for (name, value) in pairs {
        data.extend(strings(&[name.as_bytes(), value.as_bytes()]));
    }
    packet(SMFIC_MACRO, &data)
}

/// Decodes one reply from the front of `buf`: `Ok(None)` while incomplete, else the reply
/// and the octets it used.
pub fn decode_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, FilterError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len == 0 {
        return Err(bad("empty packet"));
    }
    if len > MAX_PACKET {
        return Err(bad(&format!("packet of {len} octets")));
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let cmd = buf[4];
    let data = &buf[5..4 + len];
    Ok(Some((parse(cmd, data)?, 4 + len)))
}

fn bad(why: &str) -> FilterError {
    FilterError::Protocol(format!("milter: {why}"))
}

fn parse(cmd: u8, data: &[u8]) -> Result<Reply, FilterError> {
    let empty = |r: Reply| {
        if data.is_empty() {
            Ok(r)
        } else {
            Err(bad(&format!("'{}' with data", cmd as char)))
        }
    };
    match cmd {
        b'O' => {
            if data.len() < 12 {
                return Err(bad("short OPTNEG"));
            }
            let word =
                |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            // Version 6 may append macro lists for each stage (SMFIR_SETSYMLIST's data):
            // Tern sends its fixed macros whatever is asked, so they are not needed.
            Ok(Reply::OptNeg {
                version: word(0),
                actions: word(4),
                protocol: word(8),
            })
        }
        b'c' => empty(Reply::Continue),
        b'a' => empty(Reply::Accept),
        b'r' => empty(Reply::Reject),
        b't' => empty(Reply::Tempfail),
        b'd' => empty(Reply::Discard),
        b's' => empty(Reply::Skip),
        b'p' => empty(Reply::Progress),
        b'4' | b'f' => Ok(Reply::Shutdown),
        b'y' => {
            let text = text(data)?;
            let (code, rest) = text
                .split_at_checked(3)
                .ok_or_else(|| bad("short reply code"))?;
            let ok_code = code.bytes().all(|b| b.is_ascii_digit())
                && matches!(code.as_bytes()[0], b'4' | b'5')
                && (rest.is_empty() || rest.starts_with(' ') || rest.starts_with('-'));
            if !ok_code {
                return Err(bad(&format!("bad reply code {text:?}")));
            }
            Ok(Reply::ReplyCode {
                code: code.parse().map_err(|_| bad("reply code"))?,
                text: rest.get(1..).unwrap_or_default().to_string(),
            })
        }
        b'h' => {
            let (name, value) = two(data)?;
            Ok(Reply::AddHeader { name, value })
        }
        b'i' | b'm' => {
            if data.len() < 4 {
                return Err(bad("short header change"));
            }
            let index = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let (name, value) = two(&data[4..])?;
            Ok(if cmd == b'i' {
                Reply::InsertHeader { index, name, value }
            } else {
                Reply::ChangeHeader { index, name, value }
            })
        }
        b'q' => Ok(Reply::Quarantine(text(data)?)),
        b'+' | b'-' | b'2' | b'b' | b'e' | b'l' => Ok(Reply::Unsupported(cmd)),
        other => Err(bad(&format!("unknown reply 0x{other:02x}"))),
    }
}

/// One NUL-terminated string filling `data` (a missing NUL is tolerated).
fn text(data: &[u8]) -> Result<String, FilterError> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    if data[end..].len() > 1 {
        return Err(bad("data after the string"));
    }
    String::from_utf8(data[..end].to_vec()).map_err(|_| bad("string is not UTF-8"))
}

/// A header name and value, both NUL-terminated. The name must be a valid field name
/// (RFC 5322 §3.6.8) and the value must not hold a bare CR or a NUL.
fn two(data: &[u8]) -> Result<(String, String), FilterError> {
    let split = data
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| bad("header name without NUL"))?;
    let name = String::from_utf8(data[..split].to_vec()).map_err(|_| bad("header name"))?;
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(bad(&format!("bad header name {name:?}")));
    }
    let value = text(&data[split + 1..])?;
    if value.contains('\r') {
        return Err(bad("CR in a header value"));
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Reply, FilterError> {
        let (reply, used) = decode_reply(bytes)?.expect("complete");
        assert_eq!(used, bytes.len());
        Ok(reply)
    }

    #[test]
    fn replies() {
        assert_eq!(one(&packet(b'c', b"")).unwrap(), Reply::Continue);
        assert_eq!(one(&packet(b'a', b"")).unwrap(), Reply::Accept);
        assert!(one(&packet(b'a', b"x")).is_err());
        assert_eq!(
            one(&packet(b'y', b"554 5.7.1 Virus found\0")).unwrap(),
            Reply::ReplyCode {
                code: 554,
                text: "5.7.1 Virus found".into()
            }
        );
        assert!(one(&packet(b'y', b"250 ok\0")).is_err());
        assert!(one(&packet(b'y', b"55\0")).is_err());
        assert_eq!(
            one(&packet(b'h', b"X-Virus-Scanned\0ClamAV using ClamSMTP\0")).unwrap(),
            Reply::AddHeader {
                name: "X-Virus-Scanned".into(),
                value: "ClamAV using ClamSMTP".into()
            }
        );
        assert!(one(&packet(b'h', b"Bad Name\0v\0")).is_err());
        assert!(one(&packet(b'h', b"X\0v\rw\0")).is_err());
        let mut ins = 0u32.to_be_bytes().to_vec();
        ins.extend_from_slice(b"X-A\0b\0");
        assert_eq!(
            one(&packet(b'i', &ins)).unwrap(),
            Reply::InsertHeader {
                index: 0,
                name: "X-A".into(),
                value: "b".into()
            }
        );
        assert_eq!(
            one(&packet(b'q', b"infected\0")).unwrap(),
            Reply::Quarantine("infected".into())
        );
        let mut neg = Vec::new();
        for w in [6u32, 0x11, 0x1000] {
            neg.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(
            one(&packet(b'O', &neg)).unwrap(),
            Reply::OptNeg {
                version: 6,
                actions: 0x11,
                protocol: 0x1000
            }
        );
        assert_eq!(
            one(&packet(b'+', b"<x>\0")).unwrap(),
            Reply::Unsupported(b'+')
        );
        assert!(one(&packet(b'Z', b"")).is_err());
        // Incomplete input asks for more; oversized and empty packets are refused.
        assert!(decode_reply(&[0, 0, 0, 5, b'h']).unwrap().is_none());
        assert!(decode_reply(&[0, 0]).unwrap().is_none());
        assert!(decode_reply(&[0, 0, 0, 0]).is_err());
        assert!(decode_reply(&[0x7f, 0, 0, 0, b'c']).is_err());
    }

    #[test]
    fn packets() {
        assert_eq!(packet(b'Q', b""), vec![0, 0, 0, 1, b'Q']);
        assert_eq!(strings(&[b"a\0b", b""]), b"ab\0\0".to_vec());
        assert_eq!(
            macros(b'C', &[("j", "mx")]),
            vec![0, 0, 0, 7, b'D', b'C', b'j', 0, b'm', b'x', 0]
        );
    }
}
