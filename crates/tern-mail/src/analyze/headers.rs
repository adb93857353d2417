//! Header sections as raw bytes (RFC 5322 §2.2): where a header ends, its fields with their
//! exact bytes, unfolding, and the field subsets IMAP `HEADER.FIELDS` returns.
//!
//! Invariants: nothing here allocates per field except [`unfold`]; offsets are byte offsets
//! into the slice given; both CRLF and bare-LF line endings are accepted, since stored
//! messages keep whatever line endings they arrived with.

/// One header field as it appears in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The field name as written (case kept), without the colon or trailing blanks.
    pub name: &'a str,
    /// The raw value: everything after the colon up to the field's final line ending,
    /// folding kept, nothing decoded.
    pub value: &'a [u8],
    /// The whole field, name to final line ending inclusive (what `HEADER.FIELDS` returns).
    pub raw: &'a [u8],
    /// Offset of the field's first byte in the header slice.
    pub offset: usize,
}

impl HeaderField<'_> {
    /// The value unfolded (RFC 5322 §2.2.3) and trimmed; not decoded.
    pub fn unfolded(&self) -> String {
        unfold(self.value)
    }

    /// Whether the name matches, ignoring ASCII case (field names are case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Where the body starts: just after the first empty line (the empty line belongs to the
/// header, as IMAP `BODY[HEADER]` wants it). Without an empty line the whole input is header
/// and the result is `bytes.len()`.
pub fn body_offset(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        let line_end = match memchr::memchr(b'\n', &bytes[pos..]) {
            Some(i) => pos + i + 1,
            None => return bytes.len(),
        };
        let line = &bytes[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            return line_end;
        }
        pos = line_end;
    }
    bytes.len()
}

/// Iterates the fields of a header section (stops at the empty line that ends it).
/// Lines that are neither a field nor a continuation (no colon, bad name) are skipped.
pub fn fields(header: &[u8]) -> Fields<'_> {
    Fields { header, pos: 0 }
}

/// Every field of a header section, in order.
pub fn header_fields(header: &[u8]) -> Vec<HeaderField<'_>> {
    fields(header).collect()
}

/// The first field with the given name.
pub fn first<'a>(header: &'a [u8], name: &str) -> Option<HeaderField<'a>> {
    fields(header).find(|f| f.is(name))
}

/// The fields named (or, with `exclude`, not named) in `names`, byte for byte, followed by
/// the empty line: the text of RFC 9051 §6.4.5 `BODY[HEADER.FIELDS (...)]` and
/// `HEADER.FIELDS.NOT`. Names compare case-insensitively.
pub fn select_fields(header: &[u8], names: &[&str], exclude: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let listed = names.iter().any(|n| f.is(n));
        if listed != exclude {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                // The last field of a message without a body has no line ending.
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Unfolds a raw value (removes the line breaks of folding, keeps the blanks) and trims
/// surrounding blanks. Invalid UTF-8 is replaced (U+FFFD), never an error.
pub fn unfold(value: &[u8]) -> String {
    // Valid UTF-8 (nearly every header) is checked by the fast validator and borrowed;
    // from_utf8_lossy walks octet by octet even when there is nothing to replace.
    let text = match std::str::from_utf8(value) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value),
    };
    let blank = |c: char| c == ' ' || c == '\t';
    if memchr::memchr2(b'\r', b'\n', text.as_bytes()).is_none() {
        // Not folded: one copy of the trimmed value.
        return text.trim_matches(blank).to_string();
    }
    let unfolded: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    unfolded.trim_matches(blank).to_string()
}

/// Iterator over header fields; see [`fields`].
pub struct Fields<'a> {
    header: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        let h = self.header;
        loop {
            if self.pos >= h.len() {
                return None;
            }
            let start = self.pos;
            let first_end = line_end(h, start);
            let first_line = &h[start..first_end];
            if first_line == b"\n" || first_line == b"\r\n" {
                // The empty line: the header ends here.
                self.pos = h.len();
                return None;
            }
            // Extend over continuation lines (starting with a blank).
            let mut end = first_end;
            while end < h.len() && (h[end] == b' ' || h[end] == b'\t') {
                end = line_end(h, end);
            }
            self.pos = end;
            if first_line[0] == b' ' || first_line[0] == b'\t' {
                // A continuation with no field to belong to (header starts with a blank).
                continue;
            }
            let Some(colon) = memchr::memchr(b':', &h[start..first_end]) else {
                continue;
            };
            let name = trim_end_blanks(&h[start..start + colon]);
            if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let raw = &h[start..end];
            let value = strip_line_ending(&h[start + colon + 1..end]);
            return Some(HeaderField {
                name,
                value,
                raw,
                offset: start,
            });
        }
    }
}

/// The end of the line starting at `pos` (just past its `\n`, or the end of input).
fn line_end(bytes: &[u8], pos: usize) -> usize {
    match memchr::memchr(b'\n', &bytes[pos..]) {
        Some(i) => pos + i + 1,
        None => bytes.len(),
    }
}

fn strip_line_ending(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

fn trim_end_blanks(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && (bytes[end - 1] == b' ' || bytes[end - 1] == b'\t') {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: a@example.test\r\nSubject: hello\r\n  world\r\nX-Empty:\r\nbroken line\r\nTo : b@example.test\r\n\r\nbody\r\n";

    #[test]
    fn body_offset_after_empty_line() {
        let off = body_offset(MSG);
        assert_eq!(&MSG[off..], b"body\r\n");
        assert_eq!(body_offset(b"\r\nbody"), 2);
        assert_eq!(body_offset(b"Subject: x\n\nbody"), 12);
        assert_eq!(body_offset(b"Subject: no body"), 16);
        assert_eq!(body_offset(b""), 0);
    }

    #[test]
    fn fields_with_raw_bytes_and_folding() {
        let header = &MSG[..body_offset(MSG)];
        let f = header_fields(header);
        let names: Vec<&str> = f.iter().map(|f| f.name).collect();
        assert_eq!(names, ["From", "Subject", "X-Empty", "To"]);
        assert_eq!(f[1].value, b" hello\r\n  world");
        assert_eq!(f[1].raw, b"Subject: hello\r\n  world\r\n");
        assert_eq!(f[1].unfolded(), "hello  world");
        assert_eq!(f[2].unfolded(), "");
        assert_eq!(f[3].unfolded(), "b@example.test");
        assert_eq!(&header[f[3].offset..f[3].offset + 2], b"To");
        assert_eq!(first(header, "subject").map(|f| f.name), Some("Subject"));
    }

    #[test]
    fn select_fields_for_imap() {
        let header = &MSG[..body_offset(MSG)];
        assert_eq!(
            select_fields(header, &["subject", "TO"], false),
            b"Subject: hello\r\n  world\r\nTo : b@example.test\r\n\r\n"
        );
        assert_eq!(
            select_fields(header, &["subject", "to", "x-empty"], true),
            b"From: a@example.test\r\n\r\n"
        );
        assert_eq!(select_fields(header, &["nothing"], false), b"\r\n");
        assert_eq!(
            select_fields(b"Subject: x", &["subject"], false),
            b"Subject: x\r\n\r\n"
        );
    }

    #[test]
    fn unfold_matches_its_definition() {
        // The definition the fast paths replace: lossy UTF-8, CR and LF removed, blanks
        // trimmed.
        let reference = |v: &[u8]| -> String {
            let text = String::from_utf8_lossy(v);
            let unfolded: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            unfolded.trim_matches(|c| c == ' ' || c == '\t').to_string()
        };
        let inputs: [&[u8]; 11] = [
            b"",
            b" plain value ",
            b"\t tabbed\t",
            b" folded\r\n  value\r\n\tagain",
            b" \r\n leading fold",
            b"bare\nlf",
            b" trailing fold \r\n ",
            "  Grüße  ".as_bytes(),
            b" bad \xff\xfe utf-8 ",
            b"\xc3",
            b"\r\n",
        ];
        for input in inputs {
            assert_eq!(unfold(input), reference(input), "{input:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 8] = [
            b"",
            b":",
            b" leading continuation\r\nA: b\r\n",
            b"\xff\xfe: x\r\n",
            b"A:\r",
            b"\n\n\n",
            b"A: b\r\n \r\n",
            b"NoColonAtAll",
        ];
        for input in inputs {
            let _ = header_fields(input);
            let _ = body_offset(input);
            let _ = select_fields(input, &["a"], false);
        }
        assert_eq!(
            header_fields(b" leading continuation\r\nA: b\r\n")[0].name,
            "A"
        );
    }
}
