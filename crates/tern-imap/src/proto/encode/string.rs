//! Strings on the wire (RFC 9051 §4.3): atoms, quoted strings, literals, NIL, mailbox names.
//!
//! The encoders pick the most compact form the grammar allows for the content: an atom
//! where `astring` is allowed and the content is all `ASTRING-CHAR`, a quoted string when
//! the content has no CR, LF or NUL (and no 8-bit octets unless UTF8=ACCEPT is enabled),
//! a literal otherwise.

use super::EncodeOptions;
use crate::proto::utf7;

/// Longest content written as a quoted string; longer content goes in a literal.
pub const MAX_QUOTED: usize = 1024;

pub use crate::proto::chars::{is_astring_char, is_atom_char};

/// Octet classes for the quoted-string checks, OR-ed over a string in one pass
/// ([`classes`]): every string of every FETCH response goes through them, so they cost a
/// table load per octet rather than several comparisons and a push.
const CTL: u8 = 1; // NUL, CR, LF: never inside a quoted string
const ESC: u8 = 2; // `"` and `\`: escaped inside a quoted string
const HIGH: u8 = 4; // 8-bit: only with UTF8=ACCEPT, and only as valid UTF-8

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = CTL;
    t[b'\r' as usize] = CTL;
    t[b'\n' as usize] = CTL;
    t[b'"' as usize] = ESC;
    t[b'\\' as usize] = ESC;
    let mut b = 0x80;
    while b < 256 {
        t[b] = HIGH;
        b += 1;
    }
    t
};

fn classes(s: &[u8]) -> u8 {
    s.iter().fold(0, |acc, &b| acc | CLASS[b as usize])
}

/// [`can_quote`] given the string's [`classes`].
fn quotable(s: &[u8], class: u8, opts: EncodeOptions) -> bool {
    s.len() <= MAX_QUOTED
        && class & CTL == 0
        && (class & HIGH == 0 || (opts.utf8 && std::str::from_utf8(s).is_ok()))
}

/// Whether `s` can be sent as a quoted string: at most [`MAX_QUOTED`] octets, no NUL, CR or
/// LF, and ASCII (or, with UTF8=ACCEPT, valid UTF-8).
pub fn can_quote(s: &[u8], opts: EncodeOptions) -> bool {
    s.len() <= MAX_QUOTED && quotable(s, classes(s), opts)
}

/// Writes `s` as a quoted string, escaping `"` and `\`. The caller must have checked
/// [`can_quote`]; otherwise use [`string`].
pub fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    write_quoted(out, s, classes(s));
}

fn write_quoted(out: &mut Vec<u8>, s: &[u8], class: u8) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    if class & ESC == 0 {
        out.extend_from_slice(s);
    } else {
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
    }
    out.push(b'"');
}

/// Writes `{n}CRLF` followed by `s` (a synchronizing-form literal: servers never wait).
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    literal_prefix(out, s.len() as u64, LiteralKind::Text);
    out.extend_from_slice(s);
}

/// Writes `~{n}CRLF` followed by `s`: a literal8 (RFC 3516), for BINARY[] content that may
/// hold NUL.
pub fn literal8(out: &mut Vec<u8>, s: &[u8]) {
    literal_prefix(out, s.len() as u64, LiteralKind::Binary);
    out.extend_from_slice(s);
}

/// Which literal syntax to announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    /// `{n}`
    Text,
    /// `~{n}` (RFC 3516 literal8)
    Binary,
}

/// Writes only the announcement `{n}CRLF` / `~{n}CRLF`, so that the session can stream the
/// `len` octets (a large BODY[]) straight from the blob store after it.
pub fn literal_prefix(out: &mut Vec<u8>, len: u64, kind: LiteralKind) {
    if kind == LiteralKind::Binary {
        out.push(b'~');
    }
    out.push(b'{');
    super::number(out, len);
    out.extend_from_slice(b"}\r\n");
}

/// RFC 9051 `string`: quoted when [`can_quote`], otherwise a literal.
pub fn string(out: &mut Vec<u8>, s: &[u8], opts: EncodeOptions) {
    if s.len() <= MAX_QUOTED {
        let class = classes(s);
        if quotable(s, class, opts) {
            return write_quoted(out, s, class);
        }
    }
    literal(out, s);
}

/// RFC 9051 `nstring`: `NIL` for `None`, else [`string`].
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>, opts: EncodeOptions) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => string(out, s, opts),
    }
}

/// RFC 9051 `astring`: an atom when every octet is `ASTRING-CHAR` (and it is not `NIL`,
/// which a reader might take for nil), otherwise [`string`].
pub fn astring(out: &mut Vec<u8>, s: &[u8], opts: EncodeOptions) {
    if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        string(out, s, opts);
    }
}

/// Writes a mailbox name (stored form: UTF-8, `/` delimiter) as RFC 9051 `mailbox`:
/// modified UTF-7 (RFC 3501 §5.1.3) unless UTF8=ACCEPT is enabled (RFC 6855 §3), then as
/// an [`astring`]. `INBOX` is written as the atom `INBOX`.
pub fn mailbox(out: &mut Vec<u8>, name: &str, opts: EncodeOptions) {
    if opts.utf8 {
        astring(out, name.as_bytes(), opts);
    } else {
        astring(out, utf7::encode(name).as_bytes(), opts);
    }
}

/// The wire form of a mailbox name as a `String` (see [`mailbox`]).
pub fn mailbox_string(name: &str, opts: EncodeOptions) -> String {
    let mut out = Vec::new();
    mailbox(&mut out, name, opts);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASCII: EncodeOptions = EncodeOptions { utf8: false };
    const UTF8: EncodeOptions = EncodeOptions { utf8: true };

    fn run(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn string_forms() {
        let cases: &[(&[u8], EncodeOptions, &str)] = &[
            (b"hello", ASCII, "\"hello\""),
            (b"", ASCII, "\"\""),
            (b"a \"b\" \\c", ASCII, "\"a \\\"b\\\" \\\\c\""),
            (b"line\r\nbreak", ASCII, "{11}\r\nline\r\nbreak"),
            (b"nul\0", ASCII, "{4}\r\nnul\0"),
            ("café".as_bytes(), ASCII, "{5}\r\ncafé"),
            ("café".as_bytes(), UTF8, "\"café\""),
            (b"\xff\xfe", UTF8, "{2}\r\n\u{fffd}\u{fffd}"),
        ];
        for (input, opts, want) in cases {
            assert_eq!(run(|o| string(o, input, *opts)), *want, "{input:?}");
        }
        let long = vec![b'x'; MAX_QUOTED + 1];
        assert!(run(|o| string(o, &long, ASCII)).starts_with("{1025}\r\n"));
    }

    /// The octet-by-octet definitions the fast paths replace.
    fn can_quote_reference(s: &[u8], opts: EncodeOptions) -> bool {
        s.len() <= MAX_QUOTED
            && s.iter()
                .all(|&b| b != 0 && b != b'\r' && b != b'\n' && (b < 0x80 || opts.utf8))
            && (s.is_ascii() || std::str::from_utf8(s).is_ok())
    }

    fn quoted_reference(s: &[u8]) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
        out
    }

    #[test]
    fn fast_paths_match_the_definitions() {
        let long_ascii = "word \\ \"q\" ".repeat(100);
        let inputs: &[&[u8]] = &[
            b"",
            b"\"",
            b"\\",
            b"\"\\\"",
            b"a\"",
            b"\\b",
            b"x\"\"y\\\\z",
            b"tab\there",
            b"cr\r",
            b"lf\n",
            b"nul\0",
            "Grüße \"x\"".as_bytes(),
            b"\xc3",
            b"\xff\xfe",
            "日本語".as_bytes(),
            long_ascii.as_bytes(),
        ];
        for input in inputs {
            for opts in [ASCII, UTF8] {
                assert_eq!(
                    can_quote(input, opts),
                    can_quote_reference(input, opts),
                    "{input:?} {opts:?}"
                );
            }
            let mut out = b"prefix".to_vec();
            quoted(&mut out, input);
            assert_eq!(&out[6..], quoted_reference(input), "{input:?}");
        }
    }

    #[test]
    fn astring_and_nstring() {
        let cases: &[(&[u8], &str)] = &[
            (b"INBOX", "INBOX"),
            (b"a]b", "a]b"),
            (b"a b", "\"a b\""),
            (b"a*", "\"a*\""),
            (b"nil", "\"nil\""),
            (b"", "\"\""),
            (b"{5}", "\"{5}\""),
        ];
        for (input, want) in cases {
            assert_eq!(run(|o| astring(o, input, ASCII)), *want);
        }
        assert_eq!(run(|o| nstring(o, None, ASCII)), "NIL");
        assert_eq!(run(|o| nstring(o, Some(b"NIL"), ASCII)), "\"NIL\"");
    }

    #[test]
    fn literals() {
        assert_eq!(run(|o| literal8(o, b"a\0b")), "~{3}\r\na\0b");
        assert_eq!(
            run(|o| literal_prefix(o, 52428800, LiteralKind::Text)),
            "{52428800}\r\n"
        );
    }

    #[test]
    fn mailbox_names() {
        let cases: &[(&str, EncodeOptions, &str)] = &[
            ("INBOX", ASCII, "INBOX"),
            ("Sent Items", ASCII, "\"Sent Items\""),
            ("Entwürfe", ASCII, "Entw&APw-rfe"),
            ("Entwürfe", UTF8, "\"Entwürfe\""),
            ("A&B", ASCII, "A&-B"),
            ("A&B", UTF8, "A&B"),
            ("INBOX/Sub", ASCII, "INBOX/Sub"),
        ];
        for (name, opts, want) in cases {
            assert_eq!(mailbox_string(name, *opts), *want);
        }
    }
}
