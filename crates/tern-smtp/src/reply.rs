//! Replies: a three-digit code (RFC 5321 §4.2), an enhanced status code (RFC 3463, announced
//! by ENHANCEDSTATUSCODES, RFC 2034) and text.
//!
//! Every reply the SMTP family sends is built here, and every wire error of `smtp-proto`'s
//! parser is mapped to a reply in one place ([`Reply::for_parse_error`]).
//!
//! Invariant: reply text never contains CR or LF (it may echo client input such as
//! addresses), so a reply is always exactly one line per text line.

use smtp_proto::Error as ParseError;

/// One reply, possibly multi-line (LHLO's capability list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// RFC 3463 `class.subject.detail`; `None` for the greeting and the LHLO/EHLO reply,
    /// which RFC 2034 §3 exempts (clients read capability keywords right after the code).
    pub status: Option<[u8; 3]>,
    /// One entry per line; never empty.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply. CR, LF and other control characters in `text` become spaces.
    pub fn new(code: u16, status: [u8; 3], text: impl AsRef<str>) -> Reply {
        Reply {
            code,
            status: Some(status),
            lines: vec![sanitize(text.as_ref())],
        }
    }

    /// A reply without an enhanced status code (greeting, LHLO).
    pub fn plain(code: u16, text: impl AsRef<str>) -> Reply {
        Reply {
            code,
            status: None,
            lines: vec![sanitize(text.as_ref())],
        }
    }

    /// A multi-line reply (RFC 5321 §4.2.1: `250-first`, ..., `250 last`).
    pub fn multiline(code: u16, status: Option<[u8; 3]>, lines: Vec<String>) -> Reply {
        let mut lines: Vec<String> = lines.iter().map(|l| sanitize(l)).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply {
            code,
            status,
            lines,
        }
    }

    /// 2xx and 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// 4xx: the client may retry later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The reply as wire bytes, appended to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            // Writing into a Vec cannot fail.
            let _ = match self.status {
                Some([class, subject, detail]) => write!(
                    out,
                    "{}{sep}{class}.{subject}.{detail} {line}\r\n",
                    self.code
                ),
                None => write!(out, "{}{sep}{line}\r\n", self.code),
            };
        }
    }

    /// The reply as a string (tests, logs).
    pub fn to_wire(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    // --- replies shared by every front end -------------------------------------------------

    /// `250 2.0.0 OK` (NOOP, RSET).
    pub fn ok() -> Reply {
        Reply::new(250, [2, 0, 0], "OK")
    }

    /// `221 2.0.0` to QUIT (RFC 5321 §4.1.1.10).
    pub fn bye(hostname: &str) -> Reply {
        Reply::new(221, [2, 0, 0], format!("{hostname} closing connection"))
    }

    /// `503 5.5.1`: a command out of sequence (RFC 5321 §4.3.2).
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, [5, 5, 1], text)
    }

    /// `502 5.5.1`: a known command this server does not implement.
    pub fn not_implemented(command: &str) -> Reply {
        Reply::new(502, [5, 5, 1], format!("{command} not implemented"))
    }

    /// `500 5.5.2`: a command line too long (RFC 5321 §4.5.3.1.4).
    pub fn line_too_long() -> Reply {
        Reply::new(500, [5, 5, 2], "Line too long")
    }

    /// `421 4.4.2`: the session timed out waiting for the client.
    pub fn timeout(hostname: &str) -> Reply {
        Reply::new(
            421,
            [4, 4, 2],
            format!("{hostname} timeout, closing connection"),
        )
    }

    /// `421 4.3.2`: the server is shutting down.
    pub fn shutting_down(hostname: &str) -> Reply {
        Reply::new(421, [4, 3, 2], format!("{hostname} shutting down"))
    }

    /// `421 4.7.0`: too many protocol errors in this session.
    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::new(
            421,
            [4, 7, 0],
            format!("{hostname} too many errors, closing connection"),
        )
    }

    /// `552 5.3.4`: the message is larger than the server accepts (RFC 1870 §6).
    pub fn too_large(limit: u64) -> Reply {
        Reply::new(
            552,
            [5, 3, 4],
            format!("message exceeds the size limit of {limit} octets"),
        )
    }

    /// `451 4.3.0`: a temporary local failure (store unavailable...).
    pub fn local_error(what: &str) -> Reply {
        Reply::new(
            451,
            [4, 3, 0],
            format!("{what}: temporary failure, try again later"),
        )
    }

    /// The reply to a command that `smtp-proto` could not parse.
    pub fn for_parse_error(error: &ParseError) -> Reply {
        match error {
            ParseError::UnknownCommand => Reply::new(500, [5, 5, 2], "Command not recognized"),
            ParseError::InvalidSenderAddress => {
                Reply::new(501, [5, 1, 7], "Bad sender address syntax")
            }
            ParseError::InvalidRecipientAddress => {
                Reply::new(501, [5, 1, 3], "Bad recipient address syntax")
            }
            ParseError::SyntaxError { syntax } => {
                Reply::new(501, [5, 5, 4], format!("Syntax: {syntax}"))
            }
            ParseError::InvalidParameter { param } => {
                Reply::new(501, [5, 5, 4], format!("Invalid {param} parameter"))
            }
            // RFC 5321 §4.5.3.1 / §3.3: 555 for MAIL/RCPT parameters not recognized.
            ParseError::UnsupportedParameter { param } => {
                Reply::new(555, [5, 5, 4], format!("Unsupported parameter {param}"))
            }
            // The receiver reports an over-long command line this way.
            ParseError::ResponseTooLong => Reply::line_too_long(),
            ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => {
                Reply::new(500, [5, 5, 2], "Syntax error")
            }
        }
    }
}

/// Replaces control characters (CR and LF above all) so that client input echoed in a reply
/// cannot forge extra reply lines.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        let cases: &[(Reply, &str)] = &[
            (Reply::ok(), "250 2.0.0 OK\r\n"),
            (
                Reply::new(550, [5, 1, 1], "<a@b>: user unknown"),
                "550 5.1.1 <a@b>: user unknown\r\n",
            ),
            (
                Reply::multiline(
                    250,
                    None,
                    vec!["mx".into(), "PIPELINING".into(), "SIZE 10".into()],
                ),
                "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n",
            ),
            (
                Reply::new(250, [2, 1, 5], "<evil\r\n250 x>"),
                "250 2.1.5 <evil  250 x>\r\n",
            ),
            (
                Reply::multiline(250, Some([2, 0, 0]), vec!["a".into(), "b".into()]),
                "250-2.0.0 a\r\n250 2.0.0 b\r\n",
            ),
            (Reply::multiline(250, None, vec![]), "250 \r\n"),
            (Reply::plain(220, "mx LMTP"), "220 mx LMTP\r\n"),
        ];
        for (reply, wire) in cases {
            assert_eq!(&reply.to_wire(), wire);
        }
    }

    #[test]
    fn parse_errors_map_to_codes() {
        let cases = [
            (ParseError::UnknownCommand, 500, [5, 5, 2]),
            (ParseError::InvalidSenderAddress, 501, [5, 1, 7]),
            (ParseError::InvalidRecipientAddress, 501, [5, 1, 3]),
            (ParseError::SyntaxError { syntax: "x" }, 501, [5, 5, 4]),
            (
                ParseError::InvalidParameter { param: "SIZE" },
                501,
                [5, 5, 4],
            ),
            (
                ParseError::UnsupportedParameter {
                    param: "FOO".into(),
                },
                555,
                [5, 5, 4],
            ),
            (ParseError::ResponseTooLong, 500, [5, 5, 2]),
        ];
        for (error, code, status) in cases {
            let reply = Reply::for_parse_error(&error);
            assert_eq!(
                (reply.code, reply.status),
                (code, Some(status)),
                "{error:?}"
            );
        }
    }

    #[test]
    fn classes() {
        assert!(Reply::ok().is_positive());
        assert!(Reply::local_error("x").is_transient());
        assert!(!Reply::too_large(1).is_transient());
        assert!(!Reply::too_large(1).is_positive());
    }
}
