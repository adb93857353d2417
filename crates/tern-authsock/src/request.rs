//! What an auth client sends: the parser for one line (framing is [`crate::framer`]).
//!
//! Client lines (Dovecot auth protocol v1, client to server):
//!
//! ```text
//! VERSION TAB <major> TAB <minor>
//! CPID TAB <pid>
//! AUTH TAB <id> TAB <mechanism> TAB service=<name> [TAB <parameter>]... [TAB resp=<base64>]
//! CONT TAB <id> TAB <base64>
//! CANCEL TAB <id>
//! ```
//!
//! Optional AUTH parameters are `name=value` or bare flags; unknown ones are ignored, and
//! `resp=` ends the line (whatever follows it is ignored, so a client that pastes user data
//! into the base64 cannot smuggle parameters in). Values are tab-unescaped
//! ([`crate::escape`]); base64 data is taken as sent.
//!
//! Errors say how bad the line is: [`LineError::BadRequest`] names a request id, so the
//! connection answers it with `FAIL`; the others leave nothing to answer and the connection
//! closes.
use crate::escape::{escape, unescape};
use std::net::IpAddr;

/// One parsed client line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientLine {
    /// `VERSION`: the client's protocol version (major 1 is the only one spoken).
    Version { major: u32, minor: u32 },
    /// `CPID`: the client's process id (ends the client's handshake).
    Cpid(u32),
    /// `AUTH`: a new authentication request.
    Auth(AuthRequest),
    /// `CONT`: the client's next response for request `id`, base64 as sent.
    Cont { id: u32, response: String },
    /// `CANCEL`: the client abandons request `id` (no reply).
    Cancel { id: u32 },
}

/// An `AUTH` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthRequest {
    /// The client's id for this request (unique among its requests in progress).
    pub id: u32,
    /// The SASL mechanism as the client spelled it.
    pub mechanism: String,
    /// `service=`: who asks (`smtp` for Postfix).
    pub service: String,
    /// `secured` (or `transport=TLS`/`trusted`): the remote user's connection is protected,
    /// so plaintext mechanisms may be used.
    pub secured: bool,
    /// `lip=`: the address the remote user connected to.
    pub local_ip: Option<IpAddr>,
    /// `rip=`: the remote user's address (failure delays are counted per address).
    pub remote_ip: Option<IpAddr>,
    /// `session=`: the client's session id, for the log.
    pub session: Option<String>,
    /// `resp=`: the initial response, base64 as sent; `Some("")` is an empty one.
    pub initial_response: Option<String>,
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Nothing on the line.
    #[error("empty line")]
    Empty,
    /// A command this server does not know (its name if it looks like one).
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The line names request `id` but is wrong otherwise: answered with `FAIL`.
    #[error("request {id}: {reason}")]
    BadRequest { id: u32, reason: &'static str },
    /// The line cannot be tied to a request (no id, broken handshake): the connection
    /// closes.
    #[error("malformed {command} line: {reason}")]
    Malformed {
        command: &'static str,
        reason: &'static str,
    },
}

/// The reason sent for an AUTH or CONT that is not well-formed.
pub const MALFORMED_REQUEST: &str = "Malformed request";

/// Parses one line (without its line end).
pub fn parse_line(line: &[u8]) -> Result<ClientLine, LineError> {
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let mut fields = line.split(|&b| b == b'\t');
    let command = fields.next().unwrap_or_default();
    match command {
        b"VERSION" => {
            let malformed = LineError::Malformed {
                command: "VERSION",
                reason: "expected VERSION<TAB>major<TAB>minor",
            };
            let major = fields.next().and_then(number).ok_or(malformed)?;
            // The minor version may be ignored (and is, if it is not a number).
            let minor = fields.next().and_then(number).unwrap_or(0);
            Ok(ClientLine::Version { major, minor })
        }
        b"CPID" => {
            fields
                .next()
                .and_then(number)
                .map(ClientLine::Cpid)
                .ok_or(LineError::Malformed {
                    command: "CPID",
                    reason: "expected CPID<TAB>pid",
                })
        }
        b"AUTH" => parse_auth(fields),
        b"CONT" => {
            let id = request_id(fields.next(), "CONT")?;
            let bad = LineError::BadRequest {
                id,
                reason: MALFORMED_REQUEST,
            };
            let response = fields.next().ok_or(bad.clone())?;
            let response = String::from_utf8(response.to_vec()).map_err(|_| bad)?;
            Ok(ClientLine::Cont { id, response })
        }
        b"CANCEL" => Ok(ClientLine::Cancel {
            id: request_id(fields.next(), "CANCEL")?,
        }),
        // Only a command-like word is kept (for the log): anything else may be a
        // client's misplaced credentials.
        other if other.len() <= 16 && other.iter().all(u8::is_ascii_alphabetic) => Err(
            LineError::UnknownCommand(String::from_utf8_lossy(other).into_owned()),
        ),
        _ => Err(LineError::UnknownCommand("(not a command)".into())),
    }
}

fn parse_auth<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> Result<ClientLine, LineError> {
    let id = request_id(fields.next(), "AUTH")?;
    let bad = |reason| LineError::BadRequest { id, reason };
    let mechanism = fields
        .next()
        .map(text)
        .ok_or(bad(MALFORMED_REQUEST))?
        .ok_or(bad(MALFORMED_REQUEST))?;
    if mechanism.is_empty() {
        return Err(bad(MALFORMED_REQUEST));
    }
    let mut request = AuthRequest {
        id,
        mechanism,
        ..AuthRequest::default()
    };
    let mut service = None;
    for field in fields {
        let (name, value) = match field.iter().position(|&b| b == b'=') {
            Some(i) => (&field[..i], Some(&field[i + 1..])),
            None => (field, None),
        };
        match (name, value) {
            (b"resp", Some(v)) => {
                let v = String::from_utf8(v.to_vec()).map_err(|_| bad(MALFORMED_REQUEST))?;
                request.initial_response = Some(v);
                break;
            }
            (b"service", Some(v)) => service = Some(text(v).ok_or(bad(MALFORMED_REQUEST))?),
            (b"secured", _) => request.secured = true,
            (b"transport", Some(v)) => {
                let v = unescape(v);
                request.secured =
                    v.eq_ignore_ascii_case(b"tls") || v.eq_ignore_ascii_case(b"trusted");
            }
            (b"lip", Some(v)) => request.local_ip = ip(v),
            (b"rip", Some(v)) => request.remote_ip = ip(v),
            (b"session", Some(v)) => request.session = text(v),
            // Unknown parameters are ignored (the protocol says so); `nologin`,
            // `no-penalty`, `valid-client-cert`, ports, TLS details among them.
            _ => {}
        }
    }
    match service {
        Some(s) if !s.is_empty() => request.service = s,
        _ => return Err(bad("Missing service")),
    }
    Ok(ClientLine::Auth(request))
}

fn request_id(field: Option<&[u8]>, command: &'static str) -> Result<u32, LineError> {
    field.and_then(number).ok_or(LineError::Malformed {
        command,
        reason: "missing or invalid request id",
    })
}

/// A decimal number without sign or leading junk that fits 32 bits.
fn number(field: &[u8]) -> Option<u32> {
    if field.is_empty() || field.len() > 10 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// An unescaped UTF-8 value.
fn text(field: &[u8]) -> Option<String> {
    String::from_utf8(unescape(field)).ok()
}

fn ip(field: &[u8]) -> Option<IpAddr> {
    let s = String::from_utf8(unescape(field)).ok()?;
    // Some clients write IPv6 in brackets.
    let s = s.trim_start_matches('[').trim_end_matches(']');
    s.parse().ok()
}

impl ClientLine {
    /// The line as a client writes it (without the line end). Parsing it gives back `self`;
    /// used by tests and the fuzz target.
    pub fn to_line(&self) -> String {
        match self {
            ClientLine::Version { major, minor } => format!("VERSION\t{major}\t{minor}"),
            ClientLine::Cpid(pid) => format!("CPID\t{pid}"),
            ClientLine::Cont { id, response } => format!("CONT\t{id}\t{response}"),
            ClientLine::Cancel { id } => format!("CANCEL\t{id}"),
            ClientLine::Auth(r) => {
                let mut line = format!(
                    "AUTH\t{}\t{}\tservice={}",
                    r.id,
                    escape(&r.mechanism),
                    escape(&r.service)
                );
                if r.secured {
                    line.push_str("\tsecured");
                }
                if let Some(ip) = r.local_ip {
                    line.push_str(&format!("\tlip={ip}"));
                }
                if let Some(ip) = r.remote_ip {
                    line.push_str(&format!("\trip={ip}"));
                }
                if let Some(s) = &r.session {
                    line.push_str(&format!("\tsession={}", escape(s)));
                }
                if let Some(resp) = &r.initial_response {
                    line.push_str(&format!("\tresp={resp}"));
                }
                line
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ClientLine, LineError> {
        parse_line(s.as_bytes())
    }

    #[test]
    fn handshake_lines() {
        assert_eq!(
            parse("VERSION\t1\t0"),
            Ok(ClientLine::Version { major: 1, minor: 0 })
        );
        assert_eq!(
            parse("VERSION\t1"),
            Ok(ClientLine::Version { major: 1, minor: 0 })
        );
        assert_eq!(parse("CPID\t4242"), Ok(ClientLine::Cpid(4242)));
        assert!(matches!(
            parse("VERSION\tone\t0"),
            Err(LineError::Malformed { .. })
        ));
        assert!(matches!(parse("CPID"), Err(LineError::Malformed { .. })));
        assert!(matches!(
            parse("CPID\t-1"),
            Err(LineError::Malformed { .. })
        ));
    }

    #[test]
    fn postfix_auth_line() {
        // What Postfix's xsasl_dovecot_server.c writes for AUTH PLAIN with an initial
        // response after STARTTLS.
        let line = "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.2\tsecured\tresp=AGFsaWNlAHB3";
        let ClientLine::Auth(r) = parse(line).unwrap() else {
            panic!("not AUTH")
        };
        assert_eq!(r.id, 1);
        assert_eq!(r.mechanism, "PLAIN");
        assert_eq!(r.service, "smtp");
        assert!(r.secured);
        assert_eq!(r.local_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(r.remote_ip, Some("127.0.0.2".parse().unwrap()));
        assert_eq!(r.initial_response.as_deref(), Some("AGFsaWNlAHB3"));
    }

    #[test]
    fn auth_parameters() {
        let ClientLine::Auth(r) = parse(
            "AUTH\t9\tLOGIN\tservice=do\x01tveadm\trip=[::1]\ttransport=TLS\tunknown=x\tflag",
        )
        .unwrap() else {
            panic!("not AUTH")
        };
        assert_eq!(r.service, "do\tveadm");
        assert_eq!(r.remote_ip, Some("::1".parse().unwrap()));
        assert!(r.secured);
        assert_eq!(r.initial_response, None);
        // resp= ends the line: nothing after it counts.
        let ClientLine::Auth(r) = parse("AUTH\t2\tPLAIN\tservice=smtp\tresp=\tsecured").unwrap()
        else {
            panic!("not AUTH")
        };
        assert_eq!(r.initial_response.as_deref(), Some(""));
        assert!(!r.secured);
        // An address that does not parse is no address.
        let ClientLine::Auth(r) = parse("AUTH\t3\tPLAIN\tservice=smtp\trip=unknown").unwrap()
        else {
            panic!("not AUTH")
        };
        assert_eq!(r.remote_ip, None);
    }

    #[test]
    fn malformed_lines_say_whether_a_request_can_be_answered() {
        for (line, expected) in [
            ("", LineError::Empty),
            ("HELLO\tthere", LineError::UnknownCommand("HELLO".into())),
            ("auth\t1\tPLAIN", LineError::UnknownCommand("auth".into())),
            (
                "AUTH\t1\tPLAIN",
                LineError::BadRequest {
                    id: 1,
                    reason: "Missing service",
                },
            ),
            (
                "AUTH\t1",
                LineError::BadRequest {
                    id: 1,
                    reason: MALFORMED_REQUEST,
                },
            ),
            (
                "AUTH\t1\t\tservice=smtp",
                LineError::BadRequest {
                    id: 1,
                    reason: MALFORMED_REQUEST,
                },
            ),
            (
                "CONT\t5",
                LineError::BadRequest {
                    id: 5,
                    reason: MALFORMED_REQUEST,
                },
            ),
        ] {
            assert_eq!(parse(line), Err(expected), "{line:?}");
        }
        for line in [
            "AUTH",
            "AUTH\tx\tPLAIN\tservice=smtp",
            "AUTH\t99999999999\tPLAIN\tservice=smtp",
            "AUTH\t+1\tPLAIN\tservice=smtp",
            "CONT\t\tAAAA",
            "CANCEL",
        ] {
            assert!(
                matches!(parse(line), Err(LineError::Malformed { .. })),
                "{line:?}"
            );
        }
        assert!(matches!(
            parse_line(b"AUTH\t1\tPLAIN\tservice=\xff"),
            Err(LineError::BadRequest { id: 1, .. })
        ));
    }

    #[test]
    fn lines_round_trip() {
        for line in [
            "VERSION\t1\t2",
            "CPID\t7",
            "CONT\t3\tdGVzdA==",
            "CONT\t3\t",
            "CANCEL\t3",
            "AUTH\t1\tPLAIN\tservice=smtp",
            "AUTH\t1\tSCRAM-SHA-256\tservice=smtp\tsecured\tlip=::1\trip=127.0.0.1\tsession=a\x01tb\tresp=",
        ] {
            let parsed = parse(line).unwrap();
            assert_eq!(parsed.to_line(), line);
            assert_eq!(parse(&parsed.to_line()).unwrap(), parsed);
        }
    }
}
