//! Splitting client input into commands (RFC 5804 §4), sans I/O.
//!
//! A command is a line of space-separated tokens — atoms (the command name), numbers, quoted
//! strings — where a string may instead be a literal: `{N+}` (or `{N}`) at the end of a line,
//! followed by exactly N octets, after which the command goes on on the same logical line.
//! ManageSieve has no continuation request, so both literal forms are read at once
//! (RFC 5804 §4 defines only `{N+}` for clients; `{N}` is accepted for old clients).
//!
//! ## Invariants
//! - [`frame`] never consumes input it has not answered for: a complete command, or a bad
//!   one skipped through the end of its line, or a literal too large to hold (whose octets
//!   the session then skips without buffering them).
//! - A line (without the literals it announces) longer than `max_line` is an error before
//!   it is complete: the buffer never holds more than `max_line` plus literals within
//!   `max_literal`.

/// One token of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A bare word: the command name (or a client's unquoted argument).
    Atom(String),
    /// A non-negative number (HAVESPACE's size).
    Number(u64),
    /// A quoted string (escapes resolved) or a literal.
    Str(Vec<u8>),
}

/// What [`frame`] found at the start of the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete command of `consumed` octets.
    Command { tokens: Vec<Token>, consumed: usize },
    /// Not enough input: call again once the buffer holds at least `need` octets.
    Incomplete { need: usize },
    /// A malformed command, `consumed` octets through the end of its line: answer `NO`.
    Bad { reason: String, consumed: usize },
    /// A line longer than the limit with no end in sight: discard input through the next LF.
    TooLong,
    /// A literal of `literal` octets, larger than allowed, announced by the `consumed`
    /// octets: skip them, then the literal, then the rest of the command's line.
    TooLarge { consumed: usize, literal: u64 },
}

/// Bounds for [`frame`].
#[derive(Clone, Copy, Debug)]
pub struct FrameLimits {
    /// Longest line, CRLF included, literals excluded.
    pub max_line: usize,
    /// Largest literal held in memory.
    pub max_literal: u64,
}

/// Finds the first command in `buf`.
pub fn frame(buf: &[u8], limits: FrameLimits) -> Frame {
    let mut tokens = Vec::new();
    let mut pos = 0;
    // Whether `pos` is just past a literal: the line must go on with SP or end.
    let mut after_literal = false;
    loop {
        let Some(lf) = memchr::memchr(b'\n', &buf[pos..]).map(|i| pos + i) else {
            if buf.len() - pos > limits.max_line {
                return Frame::TooLong;
            }
            return Frame::Incomplete {
                need: buf.len() + 1,
            };
        };
        let consumed = lf + 1;
        let bad = |reason: &str| Frame::Bad {
            reason: reason.to_string(),
            consumed,
        };
        if lf + 1 - pos > limits.max_line {
            return bad("line too long");
        }
        let mut line = &buf[pos..lf];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if after_literal && !line.is_empty() && line[0] != b' ' {
            return bad("expected a space or the end of the line after a literal");
        }
        let mut i = 0;
        let mut literal = None;
        while i < line.len() {
            match line[i] {
                b' ' => i += 1,
                b'"' => match quoted(line, i + 1) {
                    Ok((s, next)) => {
                        tokens.push(Token::Str(s));
                        i = next;
                        if i < line.len() && line[i] != b' ' {
                            return bad("expected a space after a quoted string");
                        }
                    }
                    Err(reason) => return bad(reason),
                },
                b'{' => match literal_header(&line[i..]) {
                    Ok(n) => {
                        literal = Some(n);
                        break;
                    }
                    Err(reason) => return bad(reason),
                },
                _ => {
                    let end = line[i..]
                        .iter()
                        .position(|&c| c == b' ')
                        .map_or(line.len(), |p| i + p);
                    match atom(&line[i..end]) {
                        Ok(t) => tokens.push(t),
                        Err(reason) => return bad(reason),
                    }
                    i = end;
                }
            }
        }
        let Some(n) = literal else {
            if tokens.is_empty() {
                return bad("empty command");
            }
            return Frame::Command { tokens, consumed };
        };
        if n > limits.max_literal {
            return Frame::TooLarge {
                consumed,
                literal: n,
            };
        }
        let start = consumed;
        let end = start.saturating_add(n as usize);
        if buf.len() < end {
            return Frame::Incomplete { need: end + 1 };
        }
        tokens.push(Token::Str(buf[start..end].to_vec()));
        pos = end;
        after_literal = true;
    }
}

/// A quoted string starting after its opening quote at `line[start]`; returns the content
/// and the index after the closing quote.
fn quoted(line: &[u8], start: usize) -> Result<(Vec<u8>, usize), &'static str> {
    let mut out = Vec::new();
    let mut i = start;
    while i < line.len() {
        match line[i] {
            b'"' => return Ok((out, i + 1)),
            b'\\' => match line.get(i + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    out.push(c);
                    i += 2;
                }
                _ => return Err("bad escape in a quoted string"),
            },
            0 => return Err("NUL in a quoted string"),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated quoted string")
}

/// `{N+}` or `{N}`, which must end the line; returns N.
fn literal_header(rest: &[u8]) -> Result<u64, &'static str> {
    let inner = rest
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}"))
        .ok_or("a literal must end the line")?;
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return Err("bad literal length");
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or("bad literal length")
}

/// A bare word: a number if all digits, else an atom of printable ASCII.
fn atom(word: &[u8]) -> Result<Token, &'static str> {
    if word.iter().all(u8::is_ascii_digit) {
        return std::str::from_utf8(word)
            .ok()
            .and_then(|d| d.parse().ok())
            .map(Token::Number)
            .ok_or("number too large");
    }
    if word
        .iter()
        .any(|&c| !c.is_ascii_graphic() || matches!(c, b'"' | b'{' | b'}' | b'(' | b')'))
    {
        return Err("invalid character in a command");
    }
    Ok(Token::Atom(String::from_utf8_lossy(word).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FrameLimits = FrameLimits {
        max_line: 100,
        max_literal: 50,
    };

    fn cmd(input: &[u8]) -> (Vec<Token>, usize) {
        match frame(input, LIMITS) {
            Frame::Command { tokens, consumed } => (tokens, consumed),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    fn s(v: &str) -> Token {
        Token::Str(v.as_bytes().to_vec())
    }

    fn a(v: &str) -> Token {
        Token::Atom(v.into())
    }

    #[test]
    fn commands_with_quoted_strings_and_literals() {
        assert_eq!(cmd(b"CAPABILITY\r\n"), (vec![a("CAPABILITY")], 12));
        assert_eq!(cmd(b"noop\n").0, vec![a("noop")]);
        assert_eq!(
            cmd(b"HAVESPACE \"my script\" 999\r\n").0,
            vec![a("HAVESPACE"), s("my script"), Token::Number(999)]
        );
        assert_eq!(
            cmd(b"PUTSCRIPT \"a\\\"b\\\\\" {6+}\r\nkeep;\n\r\n"),
            (vec![a("PUTSCRIPT"), s("a\"b\\"), s("keep;\n")], 33)
        );
        assert_eq!(
            cmd(b"RENAMESCRIPT {3}\r\nold \"new\"\r\nNOOP\r\n"),
            (vec![a("RENAMESCRIPT"), s("old"), s("new")], 29)
        );
        assert_eq!(
            cmd(b"X {0+}\r\n {1+}\r\n\n\r\n").0,
            vec![a("X"), s(""), s("\n")]
        );
        // Literal octets are not parsed: quotes, braces and CRLF inside are content.
        assert_eq!(
            cmd(b"CHECKSCRIPT {8+}\r\n\"{1+}\r\n\"\r\n").0,
            vec![a("CHECKSCRIPT"), s("\"{1+}\r\n\"")]
        );
    }

    #[test]
    fn incomplete_input_asks_for_more() {
        for (input, need) in [
            (&b"NOOP"[..], 5),
            (b"PUTSCRIPT \"a\" {5+}\r\nke", 26),
            (b"PUTSCRIPT \"a\" {5+}\r\nkeep;", 26),
            (b"PUTSCRIPT \"a\" {5+}\r\nkeep;\r", 27),
        ] {
            assert_eq!(
                frame(input, LIMITS),
                Frame::Incomplete { need },
                "{input:?}"
            );
        }
    }

    #[test]
    fn malformed_commands_are_skipped_to_their_line_end() {
        for input in [
            &b"\r\n"[..],
            b"   \r\n",
            b"X \"unterminated\r\n",
            b"X \"bad \\n escape\"\r\n",
            b"X \"a\"b\r\n",
            b"X {5+} more\r\n",
            b"X {abc}\r\n",
            b"X {}\r\n",
            b"X {99999999999}\r\n",
            b"X a\"b\r\n",
            b"X (x)\r\n",
            b"X \x01\r\n",
            b"X 99999999999999999999999\r\n",
            b"X \"a\0\"\r\n",
        ] {
            let end = input.iter().position(|&c| c == b'\n').unwrap() + 1;
            match frame(input, LIMITS) {
                Frame::Bad { consumed, .. } => assert_eq!(consumed, end, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
        match frame(b"X {2+}\r\nabc\r\n", LIMITS) {
            Frame::Bad { consumed, reason } => {
                assert_eq!(consumed, 13);
                assert!(reason.contains("after a literal"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits() {
        assert_eq!(frame(&[b'a'; 101], LIMITS), Frame::TooLong);
        let mut long = vec![b'a'; 120];
        long.extend_from_slice(b"\r\n");
        assert!(matches!(
            frame(&long, LIMITS),
            Frame::Bad { consumed: 122, .. }
        ));
        assert_eq!(
            frame(b"PUTSCRIPT \"a\" {51+}\r\n", LIMITS),
            Frame::TooLarge {
                consumed: 21,
                literal: 51
            }
        );
        // A literal within bounds does not count toward the line.
        let mut big = b"PUTSCRIPT \"a\" {50+}\r\n".to_vec();
        big.extend_from_slice(&[b'x'; 50]);
        big.extend_from_slice(b"\r\n");
        assert_eq!(cmd(&big).0.len(), 3);
    }
}
