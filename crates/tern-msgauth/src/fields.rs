//! The header section as fields with their exact byte ranges, and the RFC 8601 §5 rule built
//! on it: an `Authentication-Results:` field that arrives carrying *our* authserv-id was not
//! written by us (we add ours after this scan) and must not be believed by anything
//! downstream (a Sieve script, a MUA), so it is removed.
//!
//! Hand-written because the removal needs byte ranges of whole fields (name, value and every
//! continuation line up to the CRLF) that mail-parser and mail-auth do not expose; it is a
//! line scanner of a few dozen lines, fuzzed (`fuzz/fuzz_targets/msgauth_fields.rs`).
//!
//! ## Invariants
//! - Every range returned ends just after a CRLF, starts a line, and lies inside the header
//!   section (before the empty line); ranges are in order and disjoint.
//! - The scan stops at the empty line, at the end of input, or at the first line that is
//!   neither a field (`name:`) nor a continuation: what follows is not header. A field whose
//!   last line has no CRLF (truncated message) is not returned.
//! - Lines end only at CRLF: a bare LF inside a field is part of its line (SMTP content
//!   uses CRLF, RFC 5322 §2.3). A forged field hidden behind a bare LF is therefore not
//!   removed; receivers that split at bare LF see a field without our authserv-id at the
//!   top, ours, first (documented in docs/rfc-status.md).

use std::ops::Range;

/// One header field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The whole field, including its final CRLF.
    pub range: Range<usize>,
    /// The field name (without white space before the colon).
    pub name: Range<usize>,
    /// The value: after the colon, up to (not including) the final CRLF.
    pub value: Range<usize>,
}

/// The fields of `content`'s header section, in order.
pub fn header_fields(content: &[u8]) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    let mut at = 0;
    while at < content.len() {
        let Some(eol) = memchr::memmem::find(&content[at..], b"\r\n") else {
            break;
        };
        let line = &content[at..at + eol];
        let next = at + eol + 2;
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            match out.last_mut() {
                Some(field) if field.range.end == at => {
                    field.range.end = next;
                    field.value.end = at + eol;
                }
                _ => break,
            }
        } else {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                break;
            };
            let name = &line[..colon];
            let name_len = name
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(0, |p| p + 1);
            if name_len == 0 || !name[..name_len].iter().all(|b| (33..=126).contains(b)) {
                break;
            }
            out.push(Field {
                range: at..next,
                name: at..at + name_len,
                value: at + colon + 1..at + eol,
            });
        }
        at = next;
    }
    out
}

/// The authserv-id of an `Authentication-Results:` value (RFC 8601 §2.2:
/// `[CFWS] authserv-id [CFWS [version]] ";" ...`): the first token after comments and white
/// space, up to white space, `;` or `(`.
pub fn authserv_id(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    let mut depth = 0usize;
    while i < value.len() {
        match value[i] {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\\' if depth > 0 => i += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if depth > 0 => {}
            _ => break,
        }
        i += 1;
    }
    let start = i.min(value.len());
    let len = value[start..]
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'('))
        .unwrap_or(value.len() - start);
    (len > 0).then(|| &value[start..start + len])
}

/// The `Authentication-Results:` fields of `content` that claim `authserv_id` (compared
/// case-insensitively, RFC 8601 §2.5).
pub fn forged_results(content: &[u8], authserv_id_ours: &str) -> Vec<Range<usize>> {
    header_fields(content)
        .into_iter()
        .filter(|f| {
            content[f.name.clone()].eq_ignore_ascii_case(b"Authentication-Results")
                && authserv_id(&content[f.value.clone()])
                    .is_some_and(|id| id.eq_ignore_ascii_case(authserv_id_ours.as_bytes()))
        })
        .map(|f| f.range)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_continuations() {
        let m = b"A: 1\r\nB : 2\r\n\tmore\r\nC:3\r\n\r\nD: 4\r\n";
        let f = header_fields(m);
        assert_eq!(f.len(), 3);
        assert_eq!(&m[f[1].range.clone()], b"B : 2\r\n\tmore\r\n");
        assert_eq!(&m[f[1].name.clone()], b"B");
        assert_eq!(&m[f[1].value.clone()], b" 2\r\n\tmore");
        assert_eq!(&m[f[2].value.clone()], b"3");
    }

    #[test]
    fn scan_stops_at_garbage_and_truncation() {
        assert_eq!(header_fields(b"A: 1\r\nnot a field\r\nB: 2\r\n").len(), 1);
        assert_eq!(header_fields(b" leading continuation\r\nA: 1\r\n").len(), 0);
        assert_eq!(header_fields(b"A: 1\r\nB: 2").len(), 1);
        assert_eq!(header_fields(b": empty name\r\n").len(), 0);
        assert_eq!(header_fields(b"").len(), 0);
        assert_eq!(header_fields(b"A: x\ny\r\n")[0].range, 0..8);
    }

    #[test]
    fn authserv_id_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b" mx.test; spf=pass", Some(b"mx.test")),
            (b"mx.test 1; none", Some(b"mx.test")),
            (b" (comment (nested) \\) x) mx.test;", Some(b"mx.test")),
            (b"\r\n\tmx.test(c);", Some(b"mx.test")),
            (b"  ", None),
            (b" ;", None),
            (b"(unclosed", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                authserv_id(value),
                *want,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn forged_results_match_our_id_only() {
        let m = b"Authentication-Results: MX.Example.Test; spf=pass\r\n\
            Authentication-Results: other.test; dkim=pass\r\n\
            Subject: x\r\n\
            authentication-results: (c) mx.example.test;\r\n\tdkim=pass\r\n\r\n\
            Authentication-Results: mx.example.test; in the body\r\n";
        let r = forged_results(m, "mx.example.test");
        assert_eq!(r.len(), 2);
        assert_eq!(
            &m[r[0].clone()],
            b"Authentication-Results: MX.Example.Test; spf=pass\r\n"
        );
        assert_eq!(
            &m[r[1].clone()],
            b"authentication-results: (c) mx.example.test;\r\n\tdkim=pass\r\n"
        );
    }
}
