//! The token layer of the parser: a cursor over one frame's bytes with the basic RFC 9051
//! productions (SP, atom, number, quoted, literal, string, astring, nstring, flags, dates).

use super::{ParseError, ParseOptions};
use crate::proto::chars::{is_astring_char, is_atom_char, is_list_char};
use crate::proto::datetime::{days_from_civil, days_in_month, month_from_name};
use crate::proto::framing::StreamedLiteral;

pub(crate) type PResult<T> = Result<T, ParseError>;

/// A parse failure with no tag yet (the top level adds it).
pub(crate) fn fail<T>(reason: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        tag: None,
        reason: reason.into(),
    })
}

/// Octets as text, invalid UTF-8 replaced by U+FFFD exactly as `String::from_utf8_lossy`
/// does, but checked by std's fast validator first: tags, atoms, keywords and header names
/// are ASCII by the grammar, and the lossy walk goes octet by octet.
pub(crate) fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// [`text`] of an owned buffer: no copy when it is valid UTF-8.
pub(crate) fn text_from_vec(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`text`] upper-cased (ASCII letters only), for keyword dispatch.
pub(crate) fn upper_text(bytes: &[u8]) -> String {
    let mut s = text(bytes);
    s.make_ascii_uppercase();
    s
}

/// A literal's content as the cursor found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lit<'a> {
    /// The octets are in the frame.
    Data(&'a [u8]),
    /// The framer streamed the octets to the session ([`StreamedLiteral`]).
    Streamed(u64),
    /// Partial input ended at the announcement (APPEND head).
    Pending(u64),
}

#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    streamed: &'a [StreamedLiteral],
    pub(crate) opts: ParseOptions,
    /// The input may end right after a literal announcement (see [`Lit::Pending`]).
    partial: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(
        buf: &'a [u8],
        streamed: &'a [StreamedLiteral],
        opts: ParseOptions,
        partial: bool,
    ) -> Self {
        Cursor {
            buf,
            pos: 0,
            streamed,
            opts,
            partial,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The octet `n` positions ahead.
    pub(crate) fn peek_at(&self, n: usize) -> Option<u8> {
        self.buf.get(self.pos + n).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Fails unless the whole input has been consumed.
    pub(crate) fn end(&self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            let rest = &self.buf[self.pos..];
            let shown = String::from_utf8_lossy(&rest[..rest.len().min(20)]).into_owned();
            fail(format!(
                "Unexpected text at end of command: {}",
                printable(&shown)
            ))
        }
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            fail(format!("Expected {what}"))
        }
    }

    /// Exactly one SP.
    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "a space")
    }

    /// Consumes `word` (case-insensitively) if the input continues with it followed by a
    /// character that cannot continue an atom. `word` is ASCII upper case.
    pub(crate) fn keyword(&mut self, word: &str) -> bool {
        let w = word.as_bytes();
        let end = self.pos + w.len();
        if end > self.buf.len() || !self.buf[self.pos..end].eq_ignore_ascii_case(w) {
            return false;
        }
        if self.buf.get(end).is_some_and(|&b| is_atom_char(b)) {
            return false;
        }
        self.pos = end;
        true
    }

    /// 1*ATOM-CHAR.
    pub(crate) fn atom(&mut self) -> PResult<&'a [u8]> {
        self.take_while1(is_atom_char, "an atom")
    }

    /// An atom upper-cased, for keyword dispatch.
    pub(crate) fn atom_upper(&mut self) -> PResult<String> {
        Ok(upper_text(self.atom()?))
    }

    pub(crate) fn take_while1(&mut self, f: impl Fn(u8) -> bool, what: &str) -> PResult<&'a [u8]> {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        if self.pos == start {
            return fail(format!("Expected {what}"));
        }
        Ok(&self.buf[start..self.pos])
    }

    /// `number64` (RFC 9051): 1*DIGIT fitting in 63 bits.
    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while1(|b| b.is_ascii_digit(), "a number")?;
        digits
            .iter()
            .try_fold(0u64, |acc, &d| {
                acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .filter(|&n| n <= i64::MAX as u64)
            .map_or_else(|| fail("Number too large"), Ok)
    }

    /// `number` (RFC 9051): 1*DIGIT fitting in 32 bits.
    pub(crate) fn number(&mut self) -> PResult<u32> {
        let n = self.number64()?;
        u32::try_from(n).map_or_else(|_| fail("Number too large"), Ok)
    }

    /// `nz-number`.
    pub(crate) fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => fail("Zero is not allowed here"),
            n => Ok(n),
        }
    }

    /// `nz-number64` (MODSEQ values, RFC 7162 `mod-sequence-value`).
    pub(crate) fn nz_number64(&mut self) -> PResult<u64> {
        match self.number64()? {
            0 => fail("Zero is not allowed here"),
            n => Ok(n),
        }
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`; `\` escapes only `"` and `\`. 8-bit octets
    /// are accepted (RFC 9051 allows UTF-8 in quoted strings).
    pub(crate) fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return fail("Unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return fail("Invalid escape in quoted string"),
                    }
                }
                Some(b'\r' | b'\n' | 0) => return fail("Invalid character in quoted string"),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Whether a literal starts here (`{`, or `~{` when literal8 is allowed).
    pub(crate) fn at_literal(&self, allow_literal8: bool) -> bool {
        match self.peek() {
            Some(b'{') => true,
            Some(b'~') => allow_literal8 && self.buf.get(self.pos + 1) == Some(&b'{'),
            _ => false,
        }
    }

    /// `literal` / `literal8`: `[~]{n[+]}` CRLF and n octets. Returns the content and
    /// whether it was a literal8.
    pub(crate) fn literal(&mut self, allow_literal8: bool) -> PResult<(Lit<'a>, bool)> {
        let binary = allow_literal8 && self.eat(b'~');
        self.expect(b'{', "a literal")?;
        let len = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "'}' closing a literal length")?;
        if self.partial && self.at_end() {
            return Ok((Lit::Pending(len), binary));
        }
        if !self.buf[self.pos..].starts_with(b"\r\n") {
            return fail("Expected CRLF after literal length");
        }
        self.pos += 2;
        if self.streamed.iter().any(|s| s.at == self.pos) {
            return Ok((Lit::Streamed(len), binary));
        }
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if self.buf.len() - self.pos < len_usize {
            return fail("Literal shorter than announced");
        }
        let data = &self.buf[self.pos..self.pos + len_usize];
        self.pos += len_usize;
        Ok((Lit::Data(data), binary))
    }

    /// A literal whose octets must be in the frame.
    fn buffered_literal(&mut self, allow_literal8: bool) -> PResult<&'a [u8]> {
        match self.literal(allow_literal8)?.0 {
            Lit::Data(d) => Ok(d),
            Lit::Streamed(_) | Lit::Pending(_) => fail("A literal was not buffered"),
        }
    }

    /// `string = quoted / literal`.
    pub(crate) fn string(&mut self) -> PResult<Vec<u8>> {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else if self.at_literal(false) {
            Ok(self.buffered_literal(false)?.to_vec())
        } else {
            fail("Expected a string")
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub(crate) fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => Ok(self.take_while1(is_astring_char, "a string")?.to_vec()),
        }
    }

    /// An astring named `what` in errors when it is missing altogether; errors inside a
    /// started string (unterminated quote, short literal) keep their own reason.
    pub(crate) fn astring_named(&mut self, what: &str) -> PResult<Vec<u8>> {
        match self.peek() {
            None | Some(b' ' | b'(' | b')') => fail(format!("Expected {what}")),
            _ => self.astring(),
        }
    }

    /// An astring that must be UTF-8 (identifiers, entry names, charsets).
    pub(crate) fn astring_utf8(&mut self, what: &str) -> PResult<String> {
        String::from_utf8(self.astring()?).map_or_else(|_| fail(format!("{what} is not UTF-8")), Ok)
    }

    /// `nstring = string / nil`.
    pub(crate) fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `nstring` that may also be a `literal8` (RFC 5464 metadata values).
    pub(crate) fn nstring8(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.at_literal(true) {
            Ok(Some(self.buffered_literal(true)?.to_vec()))
        } else {
            self.nstring()
        }
    }

    /// `list-mailbox = 1*list-char / string`.
    pub(crate) fn list_mailbox(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => Ok(self
                .take_while1(is_list_char, "a mailbox pattern")?
                .to_vec()),
        }
    }

    /// Parses `"(" item *(SP item) ")"`; with `allow_empty`, `()` too.
    pub(crate) fn paren_list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', "'('")?;
        let mut out = Vec::new();
        if self.eat(b')') {
            return if allow_empty {
                Ok(out)
            } else {
                fail("Empty list")
            };
        }
        loop {
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }

    /// `flag = "\" atom / keyword` (system flags, `\*` where PERMANENTFLAGS would allow it is
    /// not accepted here).
    pub(crate) fn flag(&mut self) -> PResult<String> {
        let backslash = self.eat(b'\\');
        let name = self.atom().or_else(|_| fail("Invalid flag"))?;
        let mut flag = String::with_capacity(name.len() + 1);
        if backslash {
            flag.push('\\');
        }
        flag.push_str(&String::from_utf8_lossy(name));
        Ok(flag)
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    pub(crate) fn flag_list(&mut self) -> PResult<Vec<String>> {
        self.paren_list(true, Self::flag)
    }

    /// Search `date = date-text / DQUOTE date-text DQUOTE` → days since the epoch.
    pub(crate) fn date(&mut self) -> PResult<i64> {
        let quoted = self.eat(b'"');
        let day = self.take_while1(|b| b.is_ascii_digit(), "a date")?;
        if day.len() > 2 {
            return fail("Invalid date");
        }
        let day = day.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        let (year, month) = self.month_year()?;
        if quoted {
            self.expect(b'"', "'\"' closing a date")?;
        }
        civil_days(year, month, day)
    }

    /// `"-" date-month "-" date-year`.
    fn month_year(&mut self) -> PResult<(i64, u32)> {
        self.expect(b'-', "'-' in a date")?;
        let name = self.take_while1(|b| b.is_ascii_alphabetic(), "a month name")?;
        let month = month_from_name(name).map_or_else(|| fail("Invalid month in date"), Ok)?;
        self.expect(b'-', "'-' in a date")?;
        let year = self.take_while1(|b| b.is_ascii_digit(), "a year")?;
        if year.len() != 4 {
            return fail("Invalid year in date");
        }
        let year = year.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
        Ok((year, month))
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone
    /// DQUOTE` → (Unix seconds, zone offset in minutes).
    pub(crate) fn date_time(&mut self) -> PResult<(i64, i16)> {
        self.expect(b'"', "a quoted date-time")?;
        // date-day-fixed = (SP DIGIT) / 2DIGIT; one digit alone is tolerated.
        self.eat(b' ');
        let day = self.take_while1(|b| b.is_ascii_digit(), "a day")?;
        if day.len() > 2 {
            return fail("Invalid day in date-time");
        }
        let day = day.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        let (year, month) = self.month_year()?;
        self.sp()?;
        let h = self.two_digits()?;
        self.expect(b':', "':' in a time")?;
        let m = self.two_digits()?;
        self.expect(b':', "':' in a time")?;
        let s = self.two_digits()?;
        self.sp()?;
        let sign: i64 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return fail("Expected a zone (+hhmm or -hhmm)"),
        };
        self.pos += 1;
        let zh = self.two_digits()?;
        let zm = self.two_digits()?;
        self.expect(b'"', "'\"' closing a date-time")?;
        if h > 23 || m > 59 || s > 60 || zm > 59 {
            return fail("Invalid time in date-time");
        }
        let days = civil_days(year, month, day)?;
        let offset = sign * (zh * 60 + zm);
        let local = days * 86_400 + h * 3600 + m * 60 + s;
        Ok((local - offset * 60, offset as i16))
    }

    fn two_digits(&mut self) -> PResult<i64> {
        let (Some(a), Some(b)) = (self.buf.get(self.pos), self.buf.get(self.pos + 1)) else {
            return fail("Expected two digits");
        };
        if !a.is_ascii_digit() || !b.is_ascii_digit() {
            return fail("Expected two digits");
        }
        self.pos += 2;
        Ok(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
    }
}

fn civil_days(year: i64, month: u32, day: u32) -> PResult<i64> {
    if day == 0 || day > days_in_month(year, month) {
        return fail("Invalid day of month");
    }
    Ok(days_from_civil(year, month, day))
}

/// Control characters replaced, for echoing input in an error reason.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
