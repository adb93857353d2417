//! Tokenizer for RFC 5228 §2 / §8.1: identifiers, tags, numbers with K/M/G, quoted and
//! multi-line strings, punctuation, with `#` and `/* */` comments skipped.
//!
//! Every token carries its 1-based line and column so later stages report positions.
//! Quoted strings have `\"` and `\\` unescaped (any other `\x` is `x`, §2.4.2);
//! multi-line strings have the leading dot of dot-stuffed lines removed (§2.4.2).

use crate::CompileError;

/// A 1-based source position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn error(self, message: impl Into<String>) -> CompileError {
        CompileError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Identifier(String),
    Tag(String),
    Number(u64),
    /// A string literal's value (after unescaping / dot-unstuffing).
    Str(String),
    LBracket,
    RBracket,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Semicolon,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

struct Lexer<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    column: u32,
}

/// Splits `source` into tokens.
pub fn tokenize(source: &str) -> Result<Vec<Token>, CompileError> {
    let mut lx = Lexer {
        src: source.as_bytes(),
        at: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_space_and_comments()?;
        let pos = lx.pos();
        let Some(c) = lx.peek() else { break };
        let tok = match c {
            b'[' => lx.single(Tok::LBracket),
            b']' => lx.single(Tok::RBracket),
            b'(' => lx.single(Tok::LParen),
            b')' => lx.single(Tok::RParen),
            b'{' => lx.single(Tok::LBrace),
            b'}' => lx.single(Tok::RBrace),
            b',' => lx.single(Tok::Comma),
            b';' => lx.single(Tok::Semicolon),
            b'"' => lx.quoted(pos)?,
            b':' => {
                lx.bump();
                match lx.peek() {
                    Some(c) if is_ident_start(c) => Tok::Tag(lx.word().to_ascii_lowercase()),
                    _ => return Err(pos.error("expected a tag name after ':'")),
                }
            }
            b'0'..=b'9' => lx.number(pos)?,
            c if is_ident_start(c) => {
                let word = lx.word();
                if word.eq_ignore_ascii_case("text") && lx.peek() == Some(b':') {
                    lx.bump();
                    lx.multiline(pos)?
                } else {
                    Tok::Identifier(word.to_ascii_lowercase())
                }
            }
            _ => {
                let ch = source[lx.at..].chars().next().unwrap_or('?');
                return Err(pos.error(format!("unexpected character {ch:?}")));
            }
        };
        out.push(Token { tok, pos });
    }
    Ok(out)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

impl Lexer<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        if c == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if c & 0xC0 != 0x80 {
            // Columns count characters, not UTF-8 continuation bytes.
            self.column += 1;
        }
        Some(c)
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.bump();
        tok
    }

    fn skip_space_and_comments(&mut self) -> Result<(), CompileError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    self.bump();
                }
                Some(b'#') => {
                    while let Some(c) = self.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                Some(b'/') if self.src.get(self.at + 1) == Some(&b'*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(start.error("unterminated comment")),
                            Some(b'*') if self.peek() == Some(b'/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.bump();
        }
        String::from_utf8_lossy(&self.src[start..self.at]).into_owned()
    }

    fn number(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            self.bump();
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
                .ok_or_else(|| pos.error("number too large"))?;
        }
        let mult: u64 = match self.peek() {
            Some(b'K' | b'k') => 1 << 10,
            Some(b'M' | b'm') => 1 << 20,
            Some(b'G' | b'g') => 1 << 30,
            _ => 1,
        };
        if mult != 1 {
            self.bump();
        }
        if matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            return Err(self.pos().error("unexpected character after number"));
        }
        n.checked_mul(mult)
            .map(Tok::Number)
            .ok_or_else(|| pos.error("number too large"))
    }

    fn quoted(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        self.bump();
        let mut buf = Vec::new();
        loop {
            match self.bump() {
                None => return Err(pos.error("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    None => return Err(pos.error("unterminated string")),
                    Some(c) => buf.push(c),
                },
                Some(c) => buf.push(c),
            }
        }
        Ok(Tok::Str(String::from_utf8_lossy(&buf).into_owned()))
    }

    /// After `text:`: optional whitespace and a comment, CRLF, then lines up to a lone ".".
    fn multiline(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
        if self.peek() == Some(b'#') {
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.bump();
            }
        }
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        if self.bump() != Some(b'\n') {
            return Err(pos.error("expected end of line after 'text:'"));
        }
        let mut out = Vec::new();
        loop {
            if self.peek().is_none() {
                return Err(pos.error("unterminated multi-line string"));
            }
            let start = self.at;
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.bump();
            }
            let mut line = &self.src[start..self.at];
            let had_newline = self.bump().is_some();
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line == b"." {
                break;
            }
            if !had_newline {
                return Err(pos.error("unterminated multi-line string"));
            }
            if line.first() == Some(&b'.') {
                line = &line[1..];
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        Ok(Tok::Str(String::from_utf8_lossy(&out).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            toks("if size :over 100K { discard; } # c\n/* x */"),
            vec![
                Tok::Identifier("if".into()),
                Tok::Identifier("size".into()),
                Tok::Tag("over".into()),
                Tok::Number(102_400),
                Tok::LBrace,
                Tok::Identifier("discard".into()),
                Tok::Semicolon,
                Tok::RBrace,
            ]
        );
    }

    #[test]
    fn strings() {
        assert_eq!(toks(r#""a\"b\\c\d""#), vec![Tok::Str("a\"b\\cd".into())]);
        assert_eq!(
            toks("text: # comment\r\nline1\r\n..dot\r\n.\r\n"),
            vec![Tok::Str("line1\r\n.dot\r\n".into())]
        );
        assert_eq!(toks("text:\n.\n"), vec![Tok::Str(String::new())]);
    }

    #[test]
    fn positions() {
        let t = tokenize("keep;\n  \"x").unwrap_err();
        assert_eq!((t.line, t.column), (2, 3));
        let t = tokenize("keep;\n /* x").unwrap_err();
        assert_eq!((t.line, t.column), (2, 2));
        let t = tokenize("a\n  b").unwrap();
        assert_eq!(t[1].pos, Pos { line: 2, column: 3 });
    }
}
