//! Fuzz target `mime_analyze`: [`tern_mail::analyze`] on arbitrary bytes (the whole input is
//! the message), then the IMAP encoders of its results.
//!
//! Asserts, besides "never panics":
//! - the root part spans the message: `header_start = 0`, `end = len`;
//! - every part has `header_start <= body_start <= end <= len`, lies within its parent's
//!   body, and siblings come in order without overlapping;
//! - an encapsulated message spans exactly its part's body;
//! - a multipart part has children, other parts have none; `message` only on `message/*`;
//!   nesting stays within `MAX_DEPTH` and the part count within `MAX_PARTS` (+ the root and
//!   encapsulated messages);
//! - text and message/rfc822 parts count their body lines exactly;
//! - PREVIEW is at most 200 characters (RFC 8970 §3.1);
//! - the ENVELOPE and BODYSTRUCTURE / BODY encodings (tern-imap) are well-formed
//!   s-expressions: balanced parentheses, terminated quoted strings, complete literals.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_fuzz::imap_wire::check_sexp;
use tern_imap::proto::EncodeOptions;
use tern_imap::proto::encode::{BodyForm, body_structure, envelope};
use tern_mail::analyze::mime::{MAX_DEPTH, MAX_PARTS, count_lines};
use tern_store::BodyPart;

struct Walk<'m> {
    msg: &'m [u8],
    parts: usize,
}

impl Walk<'_> {
    /// Checks `part`, which must lie within `[lo, hi]`.
    fn part(&mut self, part: &BodyPart, lo: u64, hi: u64, depth: usize) {
        let (h, b, e) = (part.header_start, part.body_start, part.end);
        assert!(
            lo <= h && h <= b && b <= e && e <= hi,
            "part range {h}..{b}..{e} outside {lo}..{hi} or out of order"
        );
        assert!(e as usize <= self.msg.len());
        assert!(depth <= MAX_DEPTH, "nesting {depth} past MAX_DEPTH");
        self.parts += 1;
        let body = &self.msg[b as usize..e as usize];
        let is_multipart = part.content_type == "multipart";
        assert_eq!(
            is_multipart,
            !part.parts.is_empty(),
            "multipart without children, or children outside a multipart ({}/{})",
            part.content_type,
            part.subtype
        );
        let is_message = part.content_type == "message"
            && (part.subtype == "rfc822" || part.subtype == "global");
        if part.content_type == "text" || is_message {
            assert_eq!(part.lines, count_lines(body), "line count of {h}..{e}");
        }
        let mut prev_end = b;
        for child in &part.parts {
            assert!(
                child.header_start >= prev_end,
                "sibling at {} overlaps the one ending at {prev_end}",
                child.header_start
            );
            self.part(child, b, e, depth + 1);
            prev_end = child.end;
        }
        if let Some(inner) = &part.message {
            assert!(
                is_message,
                "encapsulated message in a {}",
                part.content_type
            );
            let (_, inner) = inner.as_ref();
            assert_eq!(
                inner.header_start, b,
                "encapsulated message starts at the body"
            );
            assert_eq!(inner.end, e, "encapsulated message ends with the body");
            self.part(inner, b, e, depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let meta = tern_mail::analyze(data);
    let len = data.len() as u64;
    assert_eq!(meta.body.header_start, 0);
    assert_eq!(meta.body.end, len);
    let mut walk = Walk {
        msg: data,
        parts: 0,
    };
    walk.part(&meta.body, 0, len, 0);
    // MAX_PARTS bounds multipart children; each encapsulated message adds a root part.
    assert!(
        walk.parts <= 1 + MAX_PARTS * 2 + MAX_DEPTH,
        "{} parts",
        walk.parts
    );
    assert!(meta.preview.chars().count() <= 200, "preview too long");

    for utf8 in [false, true] {
        let opts = EncodeOptions { utf8 };
        let mut out = Vec::new();
        envelope(&mut out, &meta.envelope, opts);
        check_sexp(&out).unwrap_or_else(|e| panic!("ENVELOPE: {e}: {:?}", lossy(&out)));
        for form in [BodyForm::Body, BodyForm::BodyStructure] {
            out.clear();
            body_structure(&mut out, &meta.body, form, opts);
            check_sexp(&out).unwrap_or_else(|e| panic!("{form:?}: {e}: {:?}", lossy(&out)));
        }
    }
});

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(2000)]).into_owned()
}
