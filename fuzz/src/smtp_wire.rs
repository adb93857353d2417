//! Well-formedness of an SMTP/LMTP server's replies (RFC 5321 §4.2, RFC 2034, RFC 6531).
//!
//! `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF`:
//! every line ends with CRLF and starts with a reply code (first digit 2–5, second 0–5,
//! third 0–9), then `-` (more lines follow, with the same code), SP, or the end of the line.
//! Text is tab or printable ASCII, plus UTF-8 (SMTPUTF8 is offered) — never CR, LF or other
//! control octets. The output ends on a complete reply, never inside a multi-line one.
//! The first reply is the `220` greeting.
//!
//! Enhanced status codes (RFC 2034 §3): when the text of a reply's first line begins with a
//! digit it must be a status code `class.subject.detail` whose class is the reply code's
//! first digit. (Later lines may start with a digit: `250-8BITMIME` in the LHLO reply.)

/// One reply: its code and its lines' texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

/// Checks `output` and returns its replies in order.
pub fn check(output: &[u8]) -> Result<Vec<Reply>, String> {
    let mut replies = Vec::new();
    let mut open: Option<Reply> = None;
    let mut pos = 0;
    while pos < output.len() {
        let Some(eol) = memchr::memmem::find(&output[pos..], b"\r\n").map(|i| pos + i) else {
            return Err(format!("unterminated line at {pos}"));
        };
        let line = &output[pos..eol];
        pos = eol + 2;
        let shown = || String::from_utf8_lossy(line).into_owned();
        let text = std::str::from_utf8(line).map_err(|_| format!("not UTF-8: {:?}", shown()))?;
        if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(format!("control character {c:?} in {:?}", shown()));
        }
        let b = line;
        let valid_code = b.len() >= 3
            && (b'2'..=b'5').contains(&b[0])
            && (b'0'..=b'5').contains(&b[1])
            && b[2].is_ascii_digit();
        if !valid_code {
            return Err(format!("no reply code: {:?}", shown()));
        }
        let code =
            u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0');
        let (more, rest) = match b.get(3) {
            None => (false, ""),
            Some(b' ') => (false, &text[4..]),
            Some(b'-') => (true, &text[4..]),
            Some(_) => return Err(format!("code not followed by SP or '-': {:?}", shown())),
        };
        let reply = open.get_or_insert_with(|| Reply {
            code,
            lines: Vec::new(),
        });
        if reply.code != code {
            return Err(format!(
                "multi-line reply changes code from {} to {code}",
                reply.code
            ));
        }
        if reply.lines.is_empty() {
            check_enhanced(code, rest).map_err(|e| format!("{e}: {:?}", shown()))?;
        }
        reply.lines.push(rest.to_string());
        if !more {
            replies.extend(open.take());
        }
    }
    if open.is_some() {
        return Err("output ends inside a multi-line reply".into());
    }
    if let Some(first) = replies.first()
        && first.code != 220
    {
        return Err(format!("greeting is {} rather than 220", first.code));
    }
    Ok(replies)
}

/// RFC 2034 §3 with ENHANCEDSTATUSCODES offered: every reply but the greeting (the first),
/// the LHLO/EHLO reply (a 250 whose first line is `hostname`) and the 354 go-ahead carries
/// an enhanced status code.
pub fn require_enhanced(replies: &[Reply], hostname: &str) -> Result<(), String> {
    for reply in replies.iter().skip(1) {
        let first = reply.lines.first().map(String::as_str).unwrap_or_default();
        let lhlo = reply.code == 250 && first == hostname;
        if lhlo || reply.code == 354 {
            continue;
        }
        if !first.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "{} reply without an enhanced status code: {first:?}",
                reply.code
            ));
        }
    }
    Ok(())
}

/// A text starting with a digit starts with an enhanced status code of the reply's class.
fn check_enhanced(code: u16, text: &str) -> Result<(), String> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(());
    }
    let status = text.split(' ').next().unwrap_or_default();
    let fields: Vec<&str> = status.split('.').collect();
    let numeric = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let well_formed = fields.len() == 3
        && numeric(fields[0], 1)
        && numeric(fields[1], 3)
        && numeric(fields[2], 3);
    if !well_formed {
        return Err("text starts with a digit but not an enhanced status code".into());
    }
    if fields[0] != (code / 100).to_string() {
        return Err("enhanced status class differs from the reply code's".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_replies() {
        let out = b"220 mx ready\r\n250-mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100\r\n\
250 2.1.0 OK\r\n550 5.1.1 <x@y> unknown\r\n354\r\n221 2.0.0 bye\r\n";
        let replies = check(out).unwrap();
        assert_eq!(replies.len(), 6);
        assert_eq!(
            replies[1].lines,
            vec!["mx", "PIPELINING", "8BITMIME", "SIZE 100"]
        );
        assert_eq!(replies[4].lines, vec![""]);
    }

    #[test]
    fn enhanced_codes_required_after_the_greeting() {
        let replies =
            check(b"220 mx ready\r\n250-mx\r\n250 SIZE 1\r\n354 go\r\n250 2.0.0 ok\r\n").unwrap();
        require_enhanced(&replies, "mx").unwrap();
        let replies = check(b"220 mx ready\r\n500 what\r\n").unwrap();
        assert!(require_enhanced(&replies, "mx").is_err());
    }

    #[test]
    fn rejects_malformed_replies() {
        let bad: &[&[u8]] = &[
            b"250 not a greeting\r\n",
            b"220 a\r\n250-b\r\n",          // ends inside a multi-line reply
            b"220 a\r\n250-b\r\n251 c\r\n", // code changes
            b"220 a\r\n25 short\r\n",
            b"220 a\r\n650 bad class\r\n",
            b"220 a\r\n250x no separator\r\n",
            b"220 a\r\n250 ok", // unterminated
            b"220 a\r\n250 bare\rCR\r\n",
            b"220 a\r\n550 2.1.1 wrong class\r\n",
            b"220 a\r\n550 5.1 short status\r\n",
            b"220 a\r\n250 \xff\r\n",
        ];
        for out in bad {
            assert!(
                check(out).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(out)
            );
        }
    }
}
