//! MIME structure from the raw bytes (RFC 2045/2046) with the byte ranges IMAP needs
//! (RFC 9051 §7.5.2 BODYSTRUCTURE, §6.4.5 `BODY[section]`).
//!
//! Invariants:
//! - For every part, `header_start <= body_start <= end` and they lie within the parent's
//!   body; `[body_start, end)` is exactly the part's encoded body as it sits in the message.
//! - Per RFC 2046 §5.1.1 the line break before a boundary delimiter belongs to the
//!   delimiter, not to the part before it.
//! - Defaults (RFC 2045 §5.2): no or invalid Content-Type → `text/plain; charset=us-ascii`
//!   (`message/rfc822` inside `multipart/digest`); no Content-Transfer-Encoding → `7BIT`.
//! - A multipart that cannot be split (no boundary parameter, no delimiter line found, or
//!   nesting past [`MAX_DEPTH`]) is reported as `text/plain`, so BODYSTRUCTURE stays
//!   encodable and the bytes stay reachable as one part.
//! - `message/rfc822` (and `message/global`) is parsed into `message` only with an identity
//!   encoding (7bit/8bit/binary, RFC 2046 §5.2.1); an encoded one stays a basic part.
//! - At most [`MAX_PARTS`] multipart children per message: past that further parts are not
//!   listed (their bytes stay inside the parent's body), so hostile input cannot make the
//!   metadata explode.
use super::headers;
use super::params::{param, parse_content_type, parse_disposition, parse_language};
use tern_store::{BodyPart, Envelope};

/// Deepest nesting of multiparts and encapsulated messages that is parsed.
pub const MAX_DEPTH: usize = 50;
/// Most parts parsed in one message.
pub const MAX_PARTS: usize = 10_000;

/// Parses a message (or an encapsulated one) spanning `[start, end)` of `msg`.
pub(crate) struct Structure<'m> {
    msg: &'m [u8],
    parts_left: usize,
}

impl<'m> Structure<'m> {
    pub(crate) fn new(msg: &'m [u8]) -> Structure<'m> {
        Structure {
            msg,
            parts_left: MAX_PARTS,
        }
    }

    /// The whole message: its body structure (the root part's header is the message header).
    pub(crate) fn message(&mut self, start: usize, end: usize, depth: usize) -> BodyPart {
        self.part(start, end, false, depth)
    }

    fn part(&mut self, start: usize, end: usize, in_digest: bool, depth: usize) -> BodyPart {
        let msg = self.msg;
        let body_start = start + headers::body_offset(&msg[start..end]);
        let header = &msg[start..body_start];

        let mut part = BodyPart {
            header_start: start as u64,
            body_start: body_start as u64,
            end: end as u64,
            ..BodyPart::default()
        };
        let mut content_type = None;
        let mut encoding = None;
        for field in headers::fields(header) {
            let name = field.name;
            let eq = |n: &str| name.eq_ignore_ascii_case(n);
            if eq("Content-Type") && content_type.is_none() {
                content_type = Some(field.unfolded());
            } else if eq("Content-Transfer-Encoding") && encoding.is_none() {
                encoding = Some(field.unfolded());
            } else if eq("Content-ID") && part.id.is_none() {
                part.id = Some(field.unfolded());
            } else if eq("Content-Description") && part.description.is_none() {
                part.description = Some(field.unfolded());
            } else if eq("Content-MD5") && part.md5.is_none() {
                part.md5 = Some(field.unfolded());
            } else if eq("Content-Disposition") && part.disposition.is_none() {
                part.disposition = parse_disposition(&field.unfolded());
            } else if eq("Content-Language") && part.language.is_empty() {
                part.language = parse_language(&field.unfolded());
            } else if eq("Content-Location") && part.location.is_none() {
                part.location = Some(field.unfolded());
            }
        }
        part.encoding = match encoding {
            Some(e) if !e.is_empty() => e,
            _ => "7BIT".to_string(),
        };
        match content_type.as_deref().and_then(parse_content_type) {
            Some((ty, sub, params)) => {
                part.content_type = ty;
                part.subtype = sub;
                part.params = params;
            }
            None if in_digest => {
                part.content_type = "message".into();
                part.subtype = "rfc822".into();
            }
            None => set_default_text(&mut part),
        }

        if part.content_type == "multipart" {
            let boundary = param(&part.params, "boundary")
                .filter(|b| !b.is_empty())
                .map(str::to_string);
            let children = match boundary {
                Some(b) if depth < MAX_DEPTH => self.split(body_start, end, b.as_bytes()),
                _ => Vec::new(),
            };
            if children.is_empty() {
                set_default_text(&mut part);
            } else {
                let digest = part.subtype == "digest";
                part.parts = children
                    .into_iter()
                    .map(|(s, e)| self.part(s, e, digest, depth + 1))
                    .collect();
                return part;
            }
        }

        if part.content_type == "text" {
            part.lines = count_lines(&msg[body_start..end]);
        } else if part.content_type == "message"
            && (part.subtype == "rfc822" || part.subtype == "global")
        {
            part.lines = count_lines(&msg[body_start..end]);
            let identity = matches!(
                part.encoding.to_ascii_lowercase().as_str(),
                "7bit" | "8bit" | "binary"
            );
            if identity && depth < MAX_DEPTH {
                let inner = self.message(body_start, end, depth + 1);
                let inner_header = &msg[body_start..inner.body_start as usize];
                let envelope: Envelope = super::envelope::envelope(inner_header);
                part.message = Some(Box::new((envelope, inner)));
            }
        }
        part
    }

    /// Splits a multipart body into its parts' `[start, end)` ranges (RFC 2046 §5.1.1).
    fn split(&mut self, start: usize, end: usize, boundary: &[u8]) -> Vec<(usize, usize)> {
        let msg = self.msg;
        let mut delim = Vec::with_capacity(boundary.len() + 2);
        delim.extend_from_slice(b"--");
        delim.extend_from_slice(boundary);
        let finder = memchr::memmem::Finder::new(&delim);

        let mut parts = Vec::new();
        let mut open: Option<usize> = None;
        let mut search = start;
        while search < end {
            let Some(found) = finder.find(&msg[search..end]) else {
                break;
            };
            let p = search + found;
            search = p + 1;
            if p != start && msg[p - 1] != b'\n' {
                continue; // not at the start of a line
            }
            let line_end = match memchr::memchr(b'\n', &msg[p..end]) {
                Some(i) => p + i + 1,
                None => end,
            };
            let rest = &msg[p + delim.len()..line_end];
            let close = rest.starts_with(b"--");
            if !close
                && !rest
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                continue; // "--boundaryX": another boundary that starts with ours
            }
            if let Some(part_start) = open {
                // The line break before the delimiter belongs to the delimiter.
                let mut part_end = p;
                if part_end > part_start && msg[part_end - 1] == b'\n' {
                    part_end -= 1;
                    if part_end > part_start && msg[part_end - 1] == b'\r' {
                        part_end -= 1;
                    }
                }
                parts.push((part_start, part_end));
            }
            if close || self.parts_left == 0 {
                // After the close delimiter comes the epilogue; past the part budget the
                // rest stays in the parent's body only.
                open = None;
                break;
            }
            self.parts_left -= 1;
            open = Some(line_end);
            search = line_end;
        }
        if let Some(part_start) = open {
            parts.push((part_start, end));
        }
        parts
    }
}

fn set_default_text(part: &mut BodyPart) {
    part.content_type = "text".into();
    part.subtype = "plain".into();
    part.params = vec![("charset".into(), "us-ascii".into())];
}

/// Text lines in a body: line breaks, plus a last line without one.
pub fn count_lines(body: &[u8]) -> u32 {
    let breaks = memchr::memchr_iter(b'\n', body).count();
    let partial = usize::from(!body.is_empty() && !body.ends_with(b"\n"));
    u32::try_from(breaks + partial).unwrap_or(u32::MAX)
}
