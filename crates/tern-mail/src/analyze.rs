//! Message analysis at delivery: raw bytes → [`MessageMeta`], once, so that FETCH ENVELOPE /
//! BODYSTRUCTURE / `BODY[section]`, SORT, THREAD, header SEARCH and PREVIEW never re-parse.
//!
//! # Layout
//! - [`headers`]: header sections as bytes (field iteration, unfolding, `HEADER.FIELDS`).
//! - [`address`]: RFC 5322 address lists → ENVELOPE addresses (raw, group markers).
//! - [`envelope`]: the RFC 9051 ENVELOPE.
//! - [`mime`]: the MIME tree with byte offsets (BODYSTRUCTURE, sections, sizes, lines).
//! - [`params`]: Content-Type / Content-Disposition parameters.
//! - [`sort`]: RFC 5256 SORT/THREAD keys, RFC 5957 display keys.
//! - [`preview`]: RFC 8970 PREVIEW.
//!
//! # Why the structure is parsed here and not by mail-parser
//! IMAP needs exact byte ranges of each part's *encoded* body, RFC 2046's rule that the line
//! break before a delimiter belongs to the delimiter, raw (undecoded) header values and
//! parameters, and offsets inside encapsulated messages that point into the stored bytes.
//! mail-parser (0.11.9) decodes as it goes (a base64 message/rfc822 is re-parsed from the
//! decoded copy, so its offsets no longer point into the message) and is not built around
//! those rules. So the structure comes from the bytes here, and mail-parser is used for what
//! it is good at: RFC 2047 words, dates, charsets, transfer decodings and HTML → text.
//!
//! # Invariants
//! - [`analyze`] never panics and never fails: garbage yields a best-effort meta (at worst a
//!   single text/plain part spanning the message).
//! - Every offset lies within the message; sizes derive from offsets of encoded bytes.
//! - Work is linear in the message size times the nesting depth (bounded by
//!   [`mime::MAX_DEPTH`]); the part count is bounded by [`mime::MAX_PARTS`].
use tern_store::MessageMeta;

pub mod address;
pub mod envelope;
pub mod headers;
pub mod mime;
pub mod params;
pub mod preview;
pub mod sort;

#[cfg(test)]
mod tests;

/// Parses a message once. Never fails: unparsable input yields a best-effort meta
/// (a single text/plain part spanning the message).
pub fn analyze(message: &[u8]) -> MessageMeta {
    let body = mime::Structure::new(message).message(0, message.len(), 0);
    let header = &message[..body.body_start as usize];
    let envelope = envelope::envelope(header);
    let (sort, thread) = sort::keys(header, &envelope);
    let preview = preview::preview(message, &body);
    MessageMeta {
        envelope,
        body,
        sort,
        thread,
        preview,
    }
}
