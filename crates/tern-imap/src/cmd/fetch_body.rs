//! BODY[section] and BINARY[part] content, cut from the stored message by the byte offsets
//! that delivery recorded in the body structure (no re-parse of the MIME tree).
//!
//! Part numbering (RFC 9051 §6.4.5): the parts of a multipart are numbered from 1; a
//! non-multipart message (or encapsulated message) has one part, numbered 1, which is its
//! body; the parts of a `message/rfc822` part are those of the message it encapsulates.
//! `HEADER`, `HEADER.FIELDS[.NOT]` and `TEXT` apply to the whole message or to a
//! `message/rfc822` part (its encapsulated message); `MIME` applies to a numbered part (its
//! own MIME header). A section that names no existing part yields `None` (sent as NIL).
//!
//! Invariant: offsets are clamped to the blob, so a stale or inconsistent body structure
//! can yield short content but never a panic.

use super::mime_decode::{UnknownCte, decode_cte, header_fields};
use crate::proto::command::{Section, SectionText};
use std::borrow::Cow;
use tern_store::BodyPart;

/// Whether a part is a multipart container.
pub fn is_multipart(p: &BodyPart) -> bool {
    p.content_type.eq_ignore_ascii_case("multipart") && !p.parts.is_empty()
}

/// The encapsulated message of a `message/rfc822` (or `message/global`) part.
pub fn encapsulated(p: &BodyPart) -> Option<&BodyPart> {
    p.message.as_deref().map(|(_, body)| body)
}

/// The numbered children of a node: a multipart's parts; for an encapsulated message,
/// its root when that is not a multipart.
fn children(p: &BodyPart) -> Option<ChildList<'_>> {
    if is_multipart(p) {
        Some(ChildList::Many(&p.parts))
    } else {
        encapsulated(p).map(|inner| {
            if is_multipart(inner) {
                ChildList::Many(&inner.parts)
            } else {
                ChildList::One(inner)
            }
        })
    }
}

enum ChildList<'a> {
    Many(&'a [BodyPart]),
    One(&'a BodyPart),
}

impl<'a> ChildList<'a> {
    fn get(&self, n: u32) -> Option<&'a BodyPart> {
        match self {
            ChildList::Many(parts) => parts.get((n as usize).checked_sub(1)?),
            ChildList::One(p) => (n == 1).then_some(*p),
        }
    }
}

/// The part a non-empty part path names, starting from the message's root part.
pub fn locate<'a>(root: &'a BodyPart, path: &[u32]) -> Option<&'a BodyPart> {
    let (first, rest) = path.split_first()?;
    let mut cur = if is_multipart(root) {
        root.parts.get((*first as usize).checked_sub(1)?)?
    } else if *first == 1 {
        root
    } else {
        return None;
    };
    for &n in rest {
        cur = children(cur)?.get(n)?;
    }
    Some(cur)
}

fn slice(msg: &[u8], start: u64, end: u64) -> &[u8] {
    let len = msg.len() as u64;
    let end = end.min(len);
    let start = start.min(end);
    &msg[start as usize..end as usize]
}

/// The header block (with its blank line) and the body of a message node: the root, or an
/// encapsulated message's root part.
fn header_of<'m>(msg: &'m [u8], m: &BodyPart) -> &'m [u8] {
    slice(msg, m.header_start, m.body_start)
}

fn body_of<'m>(msg: &'m [u8], p: &BodyPart) -> &'m [u8] {
    slice(msg, p.body_start, p.end)
}

/// The content of `BODY[section]`, before any partial range is applied.
pub fn section_content<'m>(
    msg: &'m [u8],
    root: &BodyPart,
    section: &Section,
) -> Option<Cow<'m, [u8]>> {
    // The message node the HEADER/TEXT forms apply to, and the part MIME/no-text apply to.
    let (message_node, part) = if section.part.is_empty() {
        (Some(root), None)
    } else {
        let p = locate(root, &section.part)?;
        (encapsulated(p), Some(p))
    };
    let bytes: Cow<'m, [u8]> = match (&section.text, part) {
        (None, None) => Cow::Borrowed(msg),
        (None, Some(p)) => Cow::Borrowed(body_of(msg, p)),
        (Some(SectionText::Mime), Some(p)) => Cow::Borrowed(header_of(msg, p)),
        (Some(SectionText::Mime), None) => return None,
        (Some(SectionText::Header), _) => Cow::Borrowed(header_of(msg, message_node?)),
        (Some(SectionText::Text), _) => Cow::Borrowed(body_of(msg, message_node?)),
        (Some(SectionText::HeaderFields { not, fields }), _) => {
            Cow::Owned(filter_header(header_of(msg, message_node?), fields, *not))
        }
    };
    Some(bytes)
}

/// HEADER.FIELDS / HEADER.FIELDS.NOT: the matching fields as stored, in their order, then
/// the blank line (RFC 9051 §6.4.5: "the delimiting blank line ... is included").
pub fn filter_header(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    // At most the whole header, a line ending for a last field without one, and the blank
    // line: one allocation instead of a growing buffer.
    let mut out = Vec::with_capacity(header.len() + 4);
    for f in header_fields(header) {
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(f.name));
        if listed != not {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Applies `<origin.count>` (RFC 9051 §6.4.5): octets from `origin`, at most `count`;
/// empty when `origin` is past the end.
pub fn apply_partial(content: &[u8], partial: Option<(u64, u64)>) -> &[u8] {
    match partial {
        None => content,
        Some((origin, count)) => {
            let len = content.len() as u64;
            let start = origin.min(len);
            let end = origin.saturating_add(count).min(len);
            &content[start as usize..end as usize]
        }
    }
}

/// The content of `BINARY[part]` (RFC 3516 §4.2): the part body with its transfer encoding
/// removed; the whole message for an empty part path. `Ok(None)` for a part that does not
/// exist.
pub fn binary_content<'m>(
    msg: &'m [u8],
    root: &BodyPart,
    part: &[u32],
) -> Result<Option<Cow<'m, [u8]>>, UnknownCte> {
    if part.is_empty() {
        return Ok(Some(Cow::Borrowed(msg)));
    }
    let Some(p) = locate(root, part) else {
        return Ok(None);
    };
    let body = body_of(msg, p);
    if is_multipart(p) || p.message.is_some() {
        // Containers carry no transfer encoding of their own beyond 7bit/8bit/binary.
        return Ok(Some(Cow::Borrowed(body)));
    }
    decode_cte(&p.encoding, body).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::Envelope;

    /// A multipart/mixed message: 1 text/plain, 2 message/rfc822 (itself multipart with
    /// 2.1 text/plain and 2.2 base64 application/octet-stream), 3 base64 image.
    pub(crate) const MSG: &str = "From: a@example.test\r\n\
Subject: outer\r\n\
Content-Type: multipart/mixed; boundary=\"o\"\r\n\
\r\n\
preamble\r\n\
--o\r\n\
Content-Type: text/plain\r\n\
\r\n\
Hello part one.\r\n\
--o\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: b@example.test\r\n\
Subject: inner\r\n\
Content-Type: multipart/alternative; boundary=\"i\"\r\n\
\r\n\
--i\r\n\
Content-Type: text/plain\r\n\
\r\n\
inner text\r\n\
--i\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAw==\r\n\
--i--\r\n\
--o\r\n\
Content-Type: image/png\r\n\
Content-Transfer-Encoding: x-weird\r\n\
\r\n\
abc\r\n\
--o--\r\n";

    fn part(msg: &str, header_marker: &str, ty: &str, sub: &str, enc: &str) -> BodyPart {
        let hs = msg.find(header_marker).unwrap();
        let bs = hs + msg[hs..].find("\r\n\r\n").unwrap() + 4;
        let end = bs + msg[bs..].find("\r\n--").unwrap();
        BodyPart {
            content_type: ty.into(),
            subtype: sub.into(),
            encoding: enc.into(),
            header_start: hs as u64,
            body_start: bs as u64,
            end: end as u64,
            ..BodyPart::default()
        }
    }

    /// The body structure delivery would record for [`MSG`].
    pub(crate) fn structure() -> BodyPart {
        let m = MSG;
        let p1 = part(
            m,
            "Content-Type: text/plain\r\n\r\nHello",
            "text",
            "plain",
            "7bit",
        );
        let mut p2 = part(
            m,
            "Content-Type: message/rfc822",
            "message",
            "rfc822",
            "7bit",
        );
        let inner_start = p2.body_start as usize;
        let inner_body = inner_start + m[inner_start..].find("\r\n\r\n").unwrap() + 4;
        let inner_end = m.find("--i--\r\n").unwrap() + "--i--".len();
        p2.end = inner_end as u64;
        let i1 = part(
            m,
            "Content-Type: text/plain\r\n\r\ninner",
            "text",
            "plain",
            "7bit",
        );
        let i2 = part(
            m,
            "Content-Type: application/octet",
            "application",
            "octet-stream",
            "base64",
        );
        let inner = BodyPart {
            content_type: "multipart".into(),
            subtype: "alternative".into(),
            header_start: inner_start as u64,
            body_start: inner_body as u64,
            end: p2.end,
            parts: vec![i1, i2],
            ..BodyPart::default()
        };
        p2.message = Some(Box::new((Envelope::default(), inner)));
        let p3 = part(m, "Content-Type: image/png", "image", "png", "x-weird");
        BodyPart {
            content_type: "multipart".into(),
            subtype: "mixed".into(),
            header_start: 0,
            body_start: (m.find("\r\n\r\n").unwrap() + 4) as u64,
            end: m.len() as u64,
            parts: vec![p1, p2, p3],
            ..BodyPart::default()
        }
    }

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    fn get(part: &[u32], text: Option<SectionText>) -> Option<String> {
        let root = structure();
        section_content(MSG.as_bytes(), &root, &sec(part, text))
            .map(|c| String::from_utf8(c.into_owned()).unwrap())
    }

    #[test]
    fn sections_by_offset() {
        use SectionText::*;
        assert_eq!(get(&[], None).unwrap(), MSG);
        assert!(get(&[], Some(Header)).unwrap().starts_with("From: a@"));
        assert!(
            get(&[], Some(Header))
                .unwrap()
                .ends_with("boundary=\"o\"\r\n\r\n")
        );
        assert!(get(&[], Some(Text)).unwrap().starts_with("preamble\r\n--o"));
        assert_eq!(get(&[1], None).unwrap(), "Hello part one.");
        assert_eq!(
            get(&[1], Some(Mime)).unwrap(),
            "Content-Type: text/plain\r\n\r\n"
        );
        assert!(get(&[2], None).unwrap().starts_with("From: b@example.test"));
        assert_eq!(
            get(&[2], Some(Header)).unwrap(),
            "From: b@example.test\r\nSubject: inner\r\n\
             Content-Type: multipart/alternative; boundary=\"i\"\r\n\r\n"
        );
        assert!(get(&[2], Some(Text)).unwrap().starts_with("--i\r\n"));
        assert_eq!(get(&[2, 1], None).unwrap(), "inner text");
        assert_eq!(get(&[2, 2], None).unwrap(), "AAECAw==");
        assert_eq!(
            get(&[2, 2], Some(Mime)).unwrap(),
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        );
        assert_eq!(get(&[4], None), None);
        assert_eq!(get(&[1, 1], None), None);
        assert_eq!(get(&[1], Some(Header)), None);
        assert_eq!(get(&[], Some(Mime)), None);
    }

    #[test]
    fn header_fields_filter() {
        let fields = |names: &[&str], not| {
            let f = SectionText::HeaderFields {
                not,
                fields: names.iter().map(|s| s.to_string()).collect(),
            };
            get(&[], Some(f)).unwrap()
        };
        assert_eq!(
            fields(&["subject", "X-None"], false),
            "Subject: outer\r\n\r\n"
        );
        assert_eq!(
            fields(&["SUBJECT", "content-type"], true),
            "From: a@example.test\r\n\r\n"
        );
        assert_eq!(fields(&["x-none"], false), "\r\n");
        let inner = SectionText::HeaderFields {
            not: false,
            fields: vec!["Subject".into()],
        };
        assert_eq!(get(&[2], Some(inner)).unwrap(), "Subject: inner\r\n\r\n");
    }

    #[test]
    fn single_part_message_is_part_one() {
        let msg = b"Subject: x\r\n\r\nbody\r\n";
        let root = BodyPart {
            content_type: "text".into(),
            subtype: "plain".into(),
            body_start: 14,
            end: msg.len() as u64,
            ..BodyPart::default()
        };
        let c = section_content(msg, &root, &sec(&[1], None)).unwrap();
        assert_eq!(&*c, b"body\r\n");
        let mime = section_content(msg, &root, &sec(&[1], Some(SectionText::Mime))).unwrap();
        assert_eq!(&*mime, b"Subject: x\r\n\r\n");
        assert!(section_content(msg, &root, &sec(&[2], None)).is_none());
    }

    #[test]
    fn partials() {
        let c = b"0123456789";
        assert_eq!(apply_partial(c, None), c);
        assert_eq!(apply_partial(c, Some((2, 3))), b"234");
        assert_eq!(apply_partial(c, Some((8, 100))), b"89");
        assert_eq!(apply_partial(c, Some((10, 1))), b"");
        assert_eq!(apply_partial(c, Some((50, 1))), b"");
        assert_eq!(apply_partial(c, Some((0, u64::MAX))), c);
    }

    #[test]
    fn binary_decodes_parts() {
        let root = structure();
        let msg = MSG.as_bytes();
        assert_eq!(
            binary_content(msg, &root, &[2, 2])
                .unwrap()
                .unwrap()
                .as_ref(),
            &[0u8, 1, 2, 3]
        );
        assert_eq!(
            binary_content(msg, &root, &[1]).unwrap().unwrap().as_ref(),
            b"Hello part one."
        );
        assert_eq!(
            binary_content(msg, &root, &[]).unwrap().unwrap().len(),
            msg.len()
        );
        assert_eq!(binary_content(msg, &root, &[9]).unwrap(), None);
        assert_eq!(
            binary_content(msg, &root, &[3]),
            Err(UnknownCte("x-weird".into()))
        );
    }
}
