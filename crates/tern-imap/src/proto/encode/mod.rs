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
    number(out, u64::from(start));
    if end != start {
        out.push(b':');
        number(out, u64::from(end));
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
    let mut out = Vec::with_capacity(26);
    date_time(&mut out, ts);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes an INTERNALDATE value: the quoted [`internal_date_string`].
pub fn internal_date(out: &mut Vec<u8>, ts: Timestamp) {
    out.push(b'"');
    date_time(out, ts);
    out.push(b'"');
}

/// Writes `17-Jul-1996 02:44:25 -0700` digit by digit (no formatting machinery: FETCH
/// writes one per message).
fn date_time(out: &mut Vec<u8>, ts: Timestamp) {
    let offset = i64::from(ts.offset_minutes);
    let local = ts.unix + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    two_digits(out, i64::from(day));
    out.push(b'-');
    out.extend_from_slice(MONTHS[(month - 1) as usize].as_bytes());
    out.push(b'-');
    if (0..=9999).contains(&year) {
        two_digits(out, year / 100);
        two_digits(out, year % 100);
    } else {
        out.extend_from_slice(format!("{year:04}").as_bytes());
    }
    out.push(b' ');
    two_digits(out, secs / 3600);
    out.push(b':');
    two_digits(out, secs % 3600 / 60);
    out.push(b':');
    two_digits(out, secs % 60);
    out.push(b' ');
    out.push(if offset < 0 { b'-' } else { b'+' });
    let abs = offset.abs();
    two_digits(out, abs / 60);
    two_digits(out, abs % 60);
}

/// Writes `n` (0–99) as two digits; larger values in full, as `{:02}` would.
fn two_digits(out: &mut Vec<u8>, n: i64) {
    if (0..100).contains(&n) {
        out.push(b'0' + (n / 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    } else {
        out.extend_from_slice(format!("{n:02}").as_bytes());
    }
}

/// Writes `n` in decimal, without allocating (unlike `n.to_string()`): sizes, UIDs,
/// message numbers and literal lengths of every response.
pub fn number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
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
        number(out, u64::from(*p));
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
        number(out, o);
        out.push(b'>');
    }
}

#[cfg(test)]
mod tests;
