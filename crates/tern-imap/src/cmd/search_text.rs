//! Text matching for SEARCH header and body keys on stored bytes.
//!
//! - Header keys look at the top-level header only, unfolded and RFC 2047-decoded. FROM,
//!   TO, CC, BCC and SUBJECT are answered from the cached envelope (each address as
//!   `name <mailbox@host>`), so they need no blob read; other fields read the header.
//! - BODY looks at the text parts (`text/*`, and parts without a type), each decoded from
//!   its transfer encoding and charset, and at the headers of encapsulated messages (which
//!   are body text of the outer message). Attachments of other types are not searched.
//! - Needles arrive lower-cased; haystacks are lower-cased here (Unicode simple case
//!   folding via `to_lowercase`, close to RFC 9051's "case-insensitive" for UTF-8).

use super::fetch_body::{encapsulated, is_multipart};
use super::mime_decode::{decode_charset, decode_cte, decode_header_value, header_fields};
use tern_store::{Address, BodyPart, Envelope, SharedMeta};

/// FROM/TO/CC/BCC/SUBJECT from the envelope: `Some(matches)`, or `None` for other fields.
pub fn envelope_contains(env: &Envelope, field: &str, needle: &str) -> Option<bool> {
    let list = match field {
        "subject" => {
            return Some(env.subject.as_deref().is_some_and(|s| {
                needle.is_empty()
                    || decode_header_value(s.as_bytes())
                        .to_lowercase()
                        .contains(needle)
            }));
        }
        "from" => &env.from,
        "to" => &env.to,
        "cc" => &env.cc,
        "bcc" => &env.bcc,
        _ => return None,
    };
    if list.is_empty() {
        return Some(false);
    }
    if needle.is_empty() {
        return Some(true);
    }
    Some(
        list.iter()
            .any(|a| address_text(a).to_lowercase().contains(needle)),
    )
}

/// An envelope address as header text: `name <mailbox@host>`, a group's name, or the
/// parts that exist.
fn address_text(a: &Address) -> String {
    let name = a
        .name
        .as_deref()
        .map(|n| decode_header_value(n.as_bytes()))
        .unwrap_or_default();
    match (&a.mailbox, &a.host) {
        (Some(m), Some(h)) if name.is_empty() => format!("{m}@{h}"),
        (Some(m), Some(h)) => format!("{name} <{m}@{h}>"),
        (Some(group), None) => group.clone(),
        _ => name,
    }
}

/// The top-level header block: up to the body start the metadata records, or up to the
/// first blank line when there is no metadata.
pub fn header_block<'m>(blob: &'m [u8], meta: Option<&SharedMeta>) -> &'m [u8] {
    let end = match meta {
        Some(m) if m.body.body_start > 0 => m.body.body_start as usize,
        _ => memchr::memmem::find(blob, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| memchr::memmem::find(blob, b"\n\n").map(|i| i + 2))
            .unwrap_or(blob.len()),
    };
    &blob[..end.min(blob.len())]
}

/// Whether a field named `field` (lower-case) has a decoded value containing `needle`
/// (lower-case); with an empty needle, whether the field exists at all.
pub fn header_contains(header: &[u8], field: &str, needle: &str) -> bool {
    header_fields(header).iter().any(|f| {
        f.name.eq_ignore_ascii_case(field.as_bytes())
            && (needle.is_empty()
                || decode_header_value(&f.value())
                    .to_lowercase()
                    .contains(needle))
    })
}

/// Whether any header field (name or decoded value) contains `needle` (TEXT).
pub fn any_header_contains(header: &[u8], needle: &str) -> bool {
    header_fields(header).iter().any(|f| {
        let text = format!(
            "{}: {}",
            String::from_utf8_lossy(f.name),
            decode_header_value(&f.value())
        );
        text.to_lowercase().contains(needle)
    })
}

/// Whether the body text of a message (the part tree under `root`) contains `needle`.
pub fn body_contains(msg: &[u8], root: &BodyPart, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    part_contains(msg, root, needle, 0)
}

/// Deeper nesting than this is not searched (a hostile message cannot recurse forever).
const MAX_DEPTH: usize = 32;

fn part_contains(msg: &[u8], p: &BodyPart, needle: &str, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if is_multipart(p) {
        return p
            .parts
            .iter()
            .any(|c| part_contains(msg, c, needle, depth + 1));
    }
    if let Some(inner) = encapsulated(p) {
        let head = slice(msg, inner.header_start, inner.body_start);
        return any_header_contains(head, needle) || part_contains(msg, inner, needle, depth + 1);
    }
    let is_text = p.content_type.is_empty() || p.content_type.eq_ignore_ascii_case("text");
    if !is_text {
        return false;
    }
    let raw = slice(msg, p.body_start, p.end);
    let decoded = decode_cte(&p.encoding, raw).unwrap_or(std::borrow::Cow::Borrowed(raw));
    let charset = p
        .params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("charset"))
        .map_or("utf-8", |(_, v)| v.as_str());
    decode_charset(charset, &decoded)
        .to_lowercase()
        .contains(needle)
}

fn slice(msg: &[u8], start: u64, end: u64) -> &[u8] {
    let end = (end as usize).min(msg.len());
    let start = (start as usize).min(end);
    &msg[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matching_decodes() {
        let h = b"From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.test>\r\nSubject: Re: Budget\r\n  2027\r\n\r\n";
        assert!(header_contains(h, "from", "jürgen"));
        assert!(header_contains(h, "from", "j@example"));
        assert!(
            header_contains(h, "subject", "budget 2027")
                || header_contains(h, "subject", "budget  2027")
        );
        assert!(!header_contains(h, "to", ""));
        assert!(header_contains(h, "subject", ""));
        assert!(any_header_contains(h, "subject: re:"));
        assert_eq!(header_block(b"A: b\r\n\r\nbody", None), b"A: b\r\n\r\n");
        assert_eq!(header_block(b"A: b\n\nbody", None), b"A: b\n\n");
    }

    #[test]
    fn body_matching_decodes_parts() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
caf=E9 cr=E8me\r\n--b\r\nContent-Type: application/pdf\r\n\r\nsecret pdf words\r\n--b--\r\n";
        let m = std::str::from_utf8(msg).unwrap();
        let mk = |marker: &str, ty: &str, enc: &str, params: Vec<(String, String)>| {
            let hs = m.find(marker).unwrap();
            let bs = hs + m[hs..].find("\r\n\r\n").unwrap() + 4;
            let end = bs + m[bs..].find("\r\n--").unwrap();
            BodyPart {
                content_type: ty.into(),
                encoding: enc.into(),
                params,
                header_start: hs as u64,
                body_start: bs as u64,
                end: end as u64,
                ..BodyPart::default()
            }
        };
        let text = mk(
            "Content-Type: text/plain",
            "text",
            "quoted-printable",
            vec![("charset".into(), "iso-8859-1".into())],
        );
        let pdf = mk(
            "Content-Type: application/pdf",
            "application",
            "7bit",
            vec![],
        );
        let root = BodyPart {
            content_type: "multipart".into(),
            subtype: "mixed".into(),
            parts: vec![text, pdf],
            ..BodyPart::default()
        };
        assert!(body_contains(msg, &root, "café crème"));
        assert!(body_contains(msg, &root, "CAFÉ".to_lowercase().as_str()));
        assert!(!body_contains(msg, &root, "secret pdf"));
        assert!(!body_contains(msg, &root, "caf=e9"));
    }
}
