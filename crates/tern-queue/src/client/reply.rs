//! SMTP replies as a client reads them (RFC 5321 §4.2): `CODE SP text` or, for all lines
//! but the last, `CODE - text`.
//!
//! Hand-written and small: a reply is a code plus text lines, and the client needs exactly
//! three things from it: the code, the RFC 3463 enhanced status if present, and a printable
//! text for logs and DSNs. Anything else a server sends is a protocol error for the session
//! (the message is retried), never a panic. Fuzzed by `fuzz/fuzz_targets/smtp_client_reply.rs`.

/// The longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512 with the code; servers
/// send longer EHLO lines, so this is generous).
pub const MAX_LINE: usize = 4096;
/// The most lines one reply may have.
pub const MAX_LINES: usize = 256;

/// A complete reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of each line (after the code and separator), printable ASCII/UTF-8 only.
    pub lines: Vec<String>,
}

/// Why a server's reply was not understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("malformed reply line")]
    Malformed,
    #[error("reply line too long")]
    TooLong,
    #[error("reply has too many lines")]
    TooManyLines,
    #[error("reply lines disagree on the code")]
    MixedCodes,
}

impl Reply {
    /// `2`, `3`, `4` or `5`.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }

    /// The RFC 3463 status at the start of the first line (`5.1.1`), if it agrees with the
    /// reply's class.
    pub fn enhanced(&self) -> Option<String> {
        let first = self.lines.first()?;
        let word = first.split(' ').next()?;
        let mut parts = word.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        let ok = parts.next().is_none()
            && digits(class, 1)
            && digits(subject, 3)
            && digits(detail, 3)
            && class.parse::<u16>().ok() == Some(self.class());
        ok.then(|| word.to_string())
    }

    /// One line for logs, `tern queue show` and Diagnostic-Code: `550 5.1.1 text text2`.
    pub fn one_line(&self) -> String {
        let mut out = self.code.to_string();
        for line in &self.lines {
            out.push(' ');
            out.push_str(line.trim());
        }
        out
    }
}

/// Assembles replies from lines.
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    pub fn new() -> ReplyParser {
        ReplyParser::default()
    }

    /// Takes one line without its line ending; returns the reply when this was its last
    /// line. After an error the parser is reset.
    pub fn feed(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let result = self.feed_inner(line);
        if result.is_err() {
            *self = ReplyParser::default();
        }
        result
    }

    fn feed_inner(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE {
            return Err(ReplyError::TooLong);
        }
        if line.len() < 3 {
            return Err(ReplyError::Malformed);
        }
        let code = parse_code(&line[..3]).ok_or(ReplyError::Malformed)?;
        let (last, text) = match line.get(3) {
            None => (true, &[][..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return Err(ReplyError::Malformed),
        };
        if self.code.is_some_and(|c| c != code) {
            return Err(ReplyError::MixedCodes);
        }
        if self.lines.len() >= MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
        self.code = Some(code);
        self.lines.push(printable(text));
        if !last {
            return Ok(None);
        }
        let reply = Reply {
            code,
            lines: std::mem::take(&mut self.lines),
        };
        self.code = None;
        Ok(Some(reply))
    }
}

/// RFC 5321 §4.2: `%x32-35 %x30-35 %x30-39`.
fn parse_code(digits: &[u8]) -> Option<u16> {
    match digits {
        [a @ b'2'..=b'5', b @ b'0'..=b'5', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// The text with control characters replaced (it ends up in logs and DSN fields).
fn printable(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Parses a whole buffer of reply lines (the fuzz target's entry point): every complete
/// reply or error, in order.
pub fn parse_all(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    let mut parser = ReplyParser::new();
    let mut out = Vec::new();
    for line in input.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        match parser.feed(line) {
            Ok(Some(reply)) => out.push(Ok(reply)),
            Ok(None) => {}
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_from_rfc_5321_transcripts() {
        let all = parse_all(
            b"220 foo.com Simple Mail Transfer Service Ready\r\n\
              250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n\
              550 5.1.1 No such user here\r\n354\r\n",
        );
        assert_eq!(all.len(), 4);
        let ehlo = all[1].as_ref().unwrap();
        assert_eq!(ehlo.code, 250);
        assert_eq!(
            ehlo.lines,
            ["foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"]
        );
        let no = all[2].as_ref().unwrap();
        assert_eq!(no.enhanced().as_deref(), Some("5.1.1"));
        assert_eq!(no.one_line(), "550 5.1.1 No such user here");
        assert_eq!(all[3].as_ref().unwrap().code, 354);
    }

    #[test]
    fn malformed_lines_are_errors() {
        let table: &[(&[u8], ReplyError)] = &[
            (b"25", ReplyError::Malformed),
            (b"abc hello", ReplyError::Malformed),
            (b"199 too low", ReplyError::Malformed),
            (b"600 too high", ReplyError::Malformed),
            (b"2501 no separator", ReplyError::Malformed),
            (b"260 bad second digit", ReplyError::Malformed),
        ];
        for (line, want) in table {
            assert_eq!(ReplyParser::new().feed(line), Err(want.clone()), "{line:?}");
        }
        let mut p = ReplyParser::new();
        assert_eq!(p.feed(b"250-a"), Ok(None));
        assert_eq!(p.feed(b"251 b"), Err(ReplyError::MixedCodes));
        let long = vec![b'a'; MAX_LINE + 10];
        assert_eq!(p.feed(&long), Err(ReplyError::TooLong));
    }

    #[test]
    fn enhanced_status_must_match_the_class() {
        let r = |code, text: &str| Reply {
            code,
            lines: vec![text.into()],
        };
        assert_eq!(r(450, "4.2.0 busy").enhanced().as_deref(), Some("4.2.0"));
        assert_eq!(r(450, "5.2.0 busy").enhanced(), None);
        assert_eq!(r(250, "ok").enhanced(), None);
        assert_eq!(r(250, "2.1.5.1 x").enhanced(), None);
    }

    #[test]
    fn control_characters_do_not_survive() {
        let reply = ReplyParser::new()
            .feed(b"550 bad\x1b[2Jtext\x00")
            .unwrap()
            .unwrap();
        assert_eq!(reply.lines[0], "bad [2Jtext ");
    }
}
