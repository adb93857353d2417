//! RFC 8970 PREVIEW text, generated once at delivery.
//!
//! Source: the first `text/plain` part that is not an attachment (depth-first, not looking
//! inside encapsulated messages), else the first such `text/html` part with its markup
//! stripped. Its transfer encoding and charset are decoded, white space runs become one
//! space, and the result is cut at [`PREVIEW_CHARS`] characters. Only the first few KiB of
//! the part are decoded, so a huge text part costs no more than a small one. No usable
//! part → the empty string, which RFC 8970 §3 asks for when no preview can be made.
use super::params::param;
use mail_parser::decoders::{
    base64::base64_decode, charsets::map::charset_decoder, html::html_to_text,
    quoted_printable::quoted_printable_decode,
};
use std::borrow::Cow;
use tern_store::BodyPart;

/// The longest preview, in characters.
pub const PREVIEW_CHARS: usize = 200;
/// How much of a text/plain part's encoded body is read.
const PLAIN_BYTES: usize = 8 * 1024;
/// How much of a text/html part's encoded body is read (markup takes room).
const HTML_BYTES: usize = 64 * 1024;

/// The preview of a message whose structure is `body`.
pub fn preview(msg: &[u8], body: &BodyPart) -> String {
    let (part, html) = match find(body, "plain") {
        Some(p) => (p, false),
        None => match find(body, "html") {
            Some(p) => (p, true),
            None => return String::new(),
        },
    };
    let start = (part.body_start as usize).min(msg.len());
    let end = (part.end as usize).clamp(start, msg.len());
    let limit = if html { HTML_BYTES } else { PLAIN_BYTES };
    let raw = &msg[start..end];
    let truncated = raw.len() > limit;
    let bytes = decode_transfer(&part.encoding, raw, limit);
    let charset = param(&part.params, "charset").map(str::to_ascii_lowercase);
    let decoder = match charset.as_deref() {
        // 8-bit bytes labelled us-ascii are, in practice, UTF-8.
        None | Some("us-ascii" | "ascii" | "utf-8" | "utf8") => None,
        Some(c) => charset_decoder(c.as_bytes()),
    };
    let mut text: Cow<'_, str> = match decoder {
        Some(decode) => Cow::Owned(decode(&bytes)),
        // Valid UTF-8 is borrowed after the fast check; only invalid input takes the
        // replacing (octet-by-octet) path.
        None => match std::str::from_utf8(&bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        },
    };
    if truncated {
        // A multi-byte character cut in half at the limit.
        while text.ends_with('\u{FFFD}') {
            text.to_mut().pop();
        }
    }
    if html {
        text = Cow::Owned(html_to_text(&text));
    }
    fold(&text)
}

fn find<'a>(part: &'a BodyPart, subtype: &str) -> Option<&'a BodyPart> {
    if part.content_type == "multipart" {
        return part.parts.iter().find_map(|p| find(p, subtype));
    }
    let attachment = part
        .disposition
        .as_ref()
        .is_some_and(|(d, _)| d.eq_ignore_ascii_case("attachment"));
    (part.content_type == "text" && part.subtype == subtype && !attachment).then_some(part)
}

/// Undoes base64 / quoted-printable on at most about `limit` bytes of `raw` (other
/// encodings: borrowed as they are).
fn decode_transfer<'r>(encoding: &str, raw: &'r [u8], limit: usize) -> Cow<'r, [u8]> {
    let enc = encoding.to_ascii_lowercase();
    if enc == "base64" {
        let mut clean: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .take(limit + 1)
            .collect();
        if clean.len() > limit {
            // Cut on a 4-character group so the decoder sees whole groups.
            clean.truncate(limit / 4 * 4);
        }
        Cow::Owned(base64_decode(&clean).unwrap_or_default())
    } else if enc == "quoted-printable" {
        let mut cut = raw.len().min(limit);
        if cut < raw.len() {
            // Cut at a line end so no "=XX" escape or soft break is split.
            cut = memchr::memrchr(b'\n', &raw[..cut]).map_or(cut, |i| i + 1);
        }
        match quoted_printable_decode(&raw[..cut]) {
            Some(decoded) => Cow::Owned(decoded),
            None => Cow::Borrowed(&raw[..cut]),
        }
    } else {
        Cow::Borrowed(&raw[..raw.len().min(limit)])
    }
}

/// White space runs → one space, trimmed, at most [`PREVIEW_CHARS`] characters.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(PREVIEW_CHARS * 4));
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            if count >= PREVIEW_CHARS {
                break;
            }
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= PREVIEW_CHARS {
                break;
            }
            if !c.is_control() {
                out.push(c);
                count += 1;
            }
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_limits_characters() {
        assert_eq!(fold("  a \r\n\t b  "), "a b");
        let long = "é".repeat(500);
        assert_eq!(fold(&long).chars().count(), PREVIEW_CHARS);
        let words = "word ".repeat(100);
        let f = fold(&words);
        assert!(f.chars().count() <= PREVIEW_CHARS && !f.ends_with(' '));
    }

    #[test]
    fn transfer_decoding() {
        assert_eq!(
            &*decode_transfer("BASE64", b"aGVs\r\nbG8=\r\n", 100),
            b"hello"
        );
        assert_eq!(
            &*decode_transfer("quoted-printable", b"caf=C3=A9 =\r\nx", 100),
            "café x".as_bytes()
        );
        assert_eq!(&*decode_transfer("7bit", b"abc", 2), b"ab");
        // Garbage never panics.
        let _ = decode_transfer("base64", b"!!!!====", 100);
        let _ = decode_transfer("quoted-printable", b"=Z=\xff=", 100);
    }
}
