//! Response encoding helpers: the pieces of server responses whose syntax is easy to get
//! wrong. The session assembles responses (`* 3 FETCH (...)`, `* ESEARCH ...`) from these.
//!
//! Every function appends to a `Vec<u8>` and never fails. Output follows RFC 9051 §9
//! grammar; what we write is accepted by our own parser where the grammar overlaps.
//!
//! ## Layout
//! - [`string`]: atoms, quoted strings, literals (incl. literal8 and streaming prefixes),
//!   `nstring`, mailbox names (modified UTF-7 or UTF-8).
//! - [`envelope`]: `ENVELOPE` from [`tern_store::Envelope`].
//! - [`bodystructure`]: `BODY` / `BODYSTRUCTURE` from [`tern_store::BodyPart`].
//! - here: flag lists, sequence sets, INTERNALDATE, FETCH section labels.

pub mod bodystructure;
pub mod envelope;
pub mod string;

pub use bodystructure::{BodyForm, body_structure};
pub use envelope::envelope;
pub use string::{
    LiteralKind, astring, literal, literal_prefix, literal8, mailbox, mailbox_string, nstring,
    quoted, string,
};

use crate::proto::command::{Section, SectionText};
use crate::proto::datetime::{MONTHS, civil_from_days};
use tern_store::{Flags, Timestamp};

/// What the client has enabled that changes how strings are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// RFC 6855 UTF8=ACCEPT enabled (or IMAP4rev2 with it): 8-bit UTF-8 may appear in quoted
    /// strings and mailbox names are sent in UTF-8 rather than modified UTF-7.
    pub utf8: bool,
}

/// Writes a parenthesized flag list: `extra` first (e.g. `\Recent`), then the system flags,
/// then keywords, e.g. `(\Recent \Seen $Junk)`.
pub fn flag_list(out: &mut Vec<u8>, flags: &Flags, extra: &[&str]) {
    out.push(b'(');
    let mut first = true;
    for name in extra.iter().copied().chain(flags.names()) {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b')');
}

/// Writes a parenthesized list of flag names as given, e.g. for `PERMANENTFLAGS`.
pub fn flag_names(out: &mut Vec<u8>, names: &[&str]) {
    out.push(b'(');
    out.extend_from_slice(names.join(" ").as_bytes());
    out.push(b')');
}

/// Writes numbers as a compact RFC 9051 `sequence-set`, keeping their order: each run of
/// consecutive ascending numbers becomes a range (`[1,2,3,5]` → `1:3,5`). Sort first when
/// order does not matter (ESEARCH ALL, VANISHED); keep the order when it does (the two
/// sets of COPYUID must correspond). Writes nothing for an empty slice.
pub fn sequence_set(out: &mut Vec<u8>, nums: &[u32]) {
    let mut i = 0;
    while i < nums.len() {
        let start = nums[i];
        let mut end = start;
        while i + 1 < nums.len() && end != u32::MAX && nums[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        i += 1;
        write_range(out, start, end);
        if i < nums.len() {
            out.push(b',');
        }
    }
}

fn write_range(out: &mut Vec<u8>, start: u32, end: u32) {
    out.extend_from_slice(start.to_string().as_bytes());
    if end != start {
        out.push(b':');
        out.extend_from_slice(end.to_string().as_bytes());
    }
}

/// [`sequence_set`] into a `String`.
pub fn sequence_set_string(nums: &[u32]) -> String {
    let mut out = Vec::new();
    sequence_set(&mut out, nums);
    String::from_utf8_lossy(&out).into_owned()
}

/// Formats an RFC 9051 `date-time` without quotes: `17-Jul-1996 02:44:25 -0700`, in the
/// timestamp's own zone offset.
pub fn internal_date_string(ts: Timestamp) -> String {
    let offset = i64::from(ts.offset_minutes);
    let local = ts.unix + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.abs();
    format!(
        "{day:02}-{}-{year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        abs / 60,
        abs % 60
    )
}

/// Writes an INTERNALDATE value: the quoted [`internal_date_string`].
pub fn internal_date(out: &mut Vec<u8>, ts: Timestamp) {
    out.push(b'"');
    out.extend_from_slice(internal_date_string(ts).as_bytes());
    out.push(b'"');
}

/// Writes a section spec as FETCH responses echo it (RFC 9051 `section`, without the
/// brackets): `1.2.HEADER.FIELDS (FROM TO)`, `TEXT`, or nothing for the whole message.
pub fn section_spec(out: &mut Vec<u8>, section: &Section) {
    part_numbers(out, &section.part);
    let Some(text) = &section.text else { return };
    if !section.part.is_empty() {
        out.push(b'.');
    }
    match text {
        SectionText::Header => out.extend_from_slice(b"HEADER"),
        SectionText::Text => out.extend_from_slice(b"TEXT"),
        SectionText::Mime => out.extend_from_slice(b"MIME"),
        SectionText::HeaderFields { not, fields } => {
            out.extend_from_slice(if *not {
                b"HEADER.FIELDS.NOT (".as_slice()
            } else {
                b"HEADER.FIELDS (".as_slice()
            });
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                astring(out, f.as_bytes(), EncodeOptions::default());
            }
            out.push(b')');
        }
    }
}

/// Writes `1.2.3` (nothing for an empty list).
pub fn part_numbers(out: &mut Vec<u8>, part: &[u32]) {
    for (i, p) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(p.to_string().as_bytes());
    }
}

/// Writes the name of a BODY[] FETCH response item: `BODY[section]` plus `<origin>` when the
/// request was partial (RFC 9051 §7.5.2: only the origin is echoed). `.PEEK` is never echoed.
pub fn body_section_label(out: &mut Vec<u8>, section: &Section, origin: Option<u64>) {
    out.extend_from_slice(b"BODY[");
    section_spec(out, section);
    out.push(b']');
    partial_origin(out, origin);
}

/// Writes `BINARY[part]` plus `<origin>` (RFC 3516 §4.2).
pub fn binary_label(out: &mut Vec<u8>, part: &[u32], origin: Option<u64>) {
    out.extend_from_slice(b"BINARY[");
    part_numbers(out, part);
    out.push(b']');
    partial_origin(out, origin);
}

/// Writes `BINARY.SIZE[part]`.
pub fn binary_size_label(out: &mut Vec<u8>, part: &[u32]) {
    out.extend_from_slice(b"BINARY.SIZE[");
    part_numbers(out, part);
    out.push(b']');
}

fn partial_origin(out: &mut Vec<u8>, origin: Option<u64>) {
    if let Some(o) = origin {
        out.push(b'<');
        out.extend_from_slice(o.to_string().as_bytes());
        out.push(b'>');
    }
}

#[cfg(test)]
mod tests;
