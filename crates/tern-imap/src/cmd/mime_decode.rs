//! Small MIME decoders the selected-state commands need on stored bytes: header fields,
//! Content-Transfer-Encoding (RFC 2045 §6: base64, quoted-printable), charsets, and
//! RFC 2047 encoded words.
//!
//! Everything here is lenient: stored mail is whatever was delivered, so malformed input
//! decodes as far as it can and never fails, except for an unknown transfer encoding
//! (BINARY must then answer `NO [UNKNOWN-CTE]`, RFC 3516 §4.3).
//!
//! Charsets decoded: UTF-8, US-ASCII, ISO-8859-1 (Latin-1) and Windows-1252; any other
//! charset is read as UTF-8 with replacement characters (enough for substring search of
//! the ASCII parts; documented as partial in the report).

use std::borrow::Cow;

/// One header field: its name and the raw bytes of the whole field (name, colon, value and
/// folded continuation lines, with the final CRLF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawField<'a> {
    pub name: &'a [u8],
    pub raw: &'a [u8],
}

impl RawField<'_> {
    /// The value after the colon, unfolded (CRLF + WSP → WSP), trimmed.
    pub fn value(&self) -> Vec<u8> {
        let colon = self
            .raw
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(self.raw.len());
        let v = self.raw.get(colon + 1..).unwrap_or(&[]);
        let mut out = Vec::with_capacity(v.len());
        for &b in v {
            if b != b'\r' && b != b'\n' {
                out.push(b);
            }
        }
        let start = out
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(out.len());
        let end = out
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(start, |e| e + 1);
        out[start..end].to_vec()
    }
}

/// Splits a header block (up to and including the blank line, or the whole slice) into
/// fields. Lines that are neither a field nor a continuation are skipped.
pub fn header_fields(header: &[u8]) -> Vec<RawField<'_>> {
    // At most one field per line: one allocation instead of growing field by field.
    let lines = memchr::memchr_iter(b'\n', header).count() + 1;
    let mut fields: Vec<RawField<'_>> = Vec::with_capacity(lines);
    let mut pos = 0;
    let mut current: Option<(usize, usize)> = None; // (start, name_end)
    while pos < header.len() {
        let line_end = memchr::memchr(b'\n', &header[pos..]).map_or(header.len(), |i| pos + i + 1);
        let line = &header[pos..line_end];
        let blank = line == b"\r\n" || line == b"\n";
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            if let Some((start, name_end)) = current.take() {
                fields.push(RawField {
                    name: &header[start..name_end],
                    raw: &header[start..pos],
                });
            }
            if blank {
                break;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let name = &line[..colon];
                let trimmed = name
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .map_or(0, |e| e + 1);
                if trimmed > 0 {
                    current = Some((pos, pos + trimmed));
                }
            }
        }
        pos = line_end;
    }
    if let Some((start, name_end)) = current {
        fields.push(RawField {
            name: &header[start..name_end],
            raw: &header[start..pos],
        });
    }
    fields
}

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCte(pub String);

/// Decodes a part body by its Content-Transfer-Encoding (as stored in the body structure;
/// empty means 7bit). Identity encodings borrow the input.
pub fn decode_cte<'a>(encoding: &str, body: &'a [u8]) -> Result<Cow<'a, [u8]>, UnknownCte> {
    let enc = encoding.trim();
    if enc.is_empty()
        || enc.eq_ignore_ascii_case("7bit")
        || enc.eq_ignore_ascii_case("8bit")
        || enc.eq_ignore_ascii_case("binary")
    {
        Ok(Cow::Borrowed(body))
    } else if enc.eq_ignore_ascii_case("base64") {
        Ok(Cow::Owned(decode_base64(body)))
    } else if enc.eq_ignore_ascii_case("quoted-printable") {
        Ok(Cow::Owned(decode_qp(body)))
    } else {
        Err(UnknownCte(enc.to_string()))
    }
}

/// Lenient base64: characters outside the alphabet (line breaks, spaces) are skipped,
/// decoding stops at the first `=` pad.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    fn val(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &b in input {
        if b == b'=' {
            break;
        }
        let Some(v) = val(b) else { continue };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` escapes, soft line breaks (`=` at line end),
/// trailing whitespace on a line dropped. A malformed `=` is kept literally.
pub fn decode_qp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for raw_line in input.split_inclusive(|&b| b == b'\n') {
        let (line, eol): (&[u8], &[u8]) = if let Some(l) = raw_line.strip_suffix(b"\r\n") {
            (l, b"\r\n")
        } else if let Some(l) = raw_line.strip_suffix(b"\n") {
            (l, b"\n")
        } else {
            (raw_line, b"")
        };
        let end = line
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(0, |e| e + 1);
        let line = &line[..end];
        let (line, soft) = match line.strip_suffix(b"=") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut i = 0;
        while i < line.len() {
            if line[i] == b'='
                && let (Some(h), Some(l)) = (
                    line.get(i + 1).and_then(|c| hex(*c)),
                    line.get(i + 2).and_then(|c| hex(*c)),
                )
            {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(line[i]);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(eol);
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Bytes in a charset → text.
pub fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    let cs = charset.trim().trim_matches('"');
    if cs.eq_ignore_ascii_case("iso-8859-1")
        || cs.eq_ignore_ascii_case("latin1")
        || cs.eq_ignore_ascii_case("iso_8859-1")
    {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else if cs.eq_ignore_ascii_case("windows-1252") || cs.eq_ignore_ascii_case("cp1252") {
        bytes.iter().map(|&b| cp1252(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    if (0x80..0xa0).contains(&b) {
        HIGH[usize::from(b - 0x80)]
    } else {
        char::from(b)
    }
}

/// An unfolded header value with RFC 2047 encoded words (`=?cs?B?...?=`, `=?cs?Q?...?=`)
/// decoded; whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2).
/// 8-bit octets outside encoded words are read as UTF-8.
pub fn decode_header_value(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            if let Some((decoded, consumed)) = encoded_word(&rest[start..]) {
                let between = &rest[..start];
                if !(last_was_word && between.chars().all(char::is_whitespace)) {
                    out.push_str(between);
                }
                out.push_str(&decoded);
                rest = &rest[start + consumed..];
                last_was_word = true;
                continue;
            }
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
        } else {
            out.push_str(rest);
            break;
        }
    }
    out
}

/// Parses one encoded word at the start of `s`: (decoded text, bytes consumed).
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let charset = &body[..q1];
    let after = &body[q1 + 1..];
    let q2 = after.find('?')?;
    let enc = &after[..q2];
    let data_start = &after[q2 + 1..];
    let end = data_start.find("?=")?;
    let data = &data_start[..end];
    if data.contains(' ') || charset.is_empty() {
        return None;
    }
    // RFC 2231 §5: charset*language.
    let charset = charset.split('*').next().unwrap_or(charset);
    let bytes = if enc.eq_ignore_ascii_case("B") {
        decode_base64(data.as_bytes())
    } else if enc.eq_ignore_ascii_case("Q") {
        let underscores: Vec<u8> = data
            .bytes()
            .map(|b| if b == b'_' { b' ' } else { b })
            .collect();
        decode_qp(&underscores)
    } else {
        return None;
    };
    let consumed = 2 + q1 + 1 + q2 + 1 + end + 2;
    Some((decode_charset(charset, &bytes), consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_fields() {
        let h = b"From: a@b\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody: no\r\n";
        let f = header_fields(h);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, b"From");
        assert_eq!(f[1].raw, b"Subject: one\r\n two\r\n");
        assert_eq!(f[1].value(), b"one two");
        assert_eq!(f[2].value(), b"");
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(decode_base64(b"SGVsbG8s\r\nIHdvcmxk\r\n"), b"Hello, world");
        assert_eq!(decode_base64(b"YQ=="), b"a");
        assert_eq!(decode_base64(b"YWI="), b"ab");
        assert_eq!(
            decode_qp(b"caf=C3=A9 =\r\nau lait  \r\nx=3D1"),
            "café au lait\r\nx=1".as_bytes()
        );
        assert_eq!(decode_qp(b"100=% ok"), b"100=% ok");
        assert!(decode_cte("x-uuencode", b"").is_err());
        assert!(matches!(decode_cte("8BIT", b"a"), Ok(Cow::Borrowed(b"a"))));
    }

    #[test]
    fn encoded_words() {
        let cases: &[(&str, &str)] = &[
            ("=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"),
            ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
            ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
            ("x =?utf-8?q?a_b?= y", "x a b y"),
            ("no =? word", "no =? word"),
            ("=?windows-1252?Q?=80?=", "€"),
        ];
        for (input, want) in cases {
            assert_eq!(decode_header_value(input.as_bytes()), *want, "{input}");
        }
    }
}
