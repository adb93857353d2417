//! Writing one message's `* n FETCH (...)` response (RFC 9051 §7.5.2) from its view record,
//! its cached metadata and, only for body items, its blob bytes.
//!
//! What each item needs is decided once per command ([`Needs`]): FLAGS, UID, INTERNALDATE,
//! RFC822.SIZE, MODSEQ, EMAILID and SAVEDATE come from the view record alone, so
//! `FETCH 1:* (UID FLAGS)` never touches the store.

use super::fetch_body::{apply_partial, binary_content, section_content};
use super::mime_decode::UnknownCte;
use super::objectid;
use crate::proto::command::{FetchAttr, Section, SectionText};
use crate::proto::encode::{self, BodyForm, EncodeOptions, LiteralKind};
use crate::session::output::{Mark as WriterMark, Writer};
use crate::session::selected;
use tern_store::{MessageRecord, SharedMeta};

/// What the requested items need beyond the view record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub meta: bool,
    pub blob: bool,
    /// A non-PEEK body item: the message gets `\Seen` (RFC 9051 §6.4.5).
    pub sets_seen: bool,
}

impl Needs {
    pub fn of(items: &[FetchAttr]) -> Needs {
        let mut n = Needs::default();
        for item in items {
            match item {
                FetchAttr::Flags
                | FetchAttr::Uid
                | FetchAttr::InternalDate
                | FetchAttr::Rfc822Size
                | FetchAttr::ModSeq
                | FetchAttr::EmailId
                | FetchAttr::SaveDate => {}
                FetchAttr::Envelope
                | FetchAttr::Body
                | FetchAttr::BodyStructure
                | FetchAttr::ThreadId
                | FetchAttr::Preview { .. } => n.meta = true,
                FetchAttr::Rfc822 => {
                    n.blob = true;
                    n.sets_seen = true;
                }
                FetchAttr::Rfc822Header => {
                    n.blob = true;
                    n.meta = true;
                }
                FetchAttr::Rfc822Text => {
                    n.blob = true;
                    n.meta = true;
                    n.sets_seen = true;
                }
                FetchAttr::BodySection { peek, section, .. } => {
                    n.blob = true;
                    n.meta |= !(section.part.is_empty() && section.text.is_none());
                    n.sets_seen |= !peek;
                }
                FetchAttr::Binary { peek, part, .. } => {
                    n.blob = true;
                    n.meta |= !part.is_empty();
                    n.sets_seen |= !peek;
                }
                FetchAttr::BinarySize { part } => {
                    n.blob = true;
                    n.meta |= !part.is_empty();
                }
            }
        }
        n
    }
}

/// Per-command settings of the response.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub enc: EncodeOptions,
    /// IMAP4rev2 enabled: no `\Recent`.
    pub rev2: bool,
    /// UID FETCH: `UID` is always returned (RFC 9051 §6.4.9).
    pub force_uid: bool,
    /// CHANGEDSINCE given: `MODSEQ` is always returned (RFC 7162 §3.1.4.1).
    pub force_modseq: bool,
    /// CONDSTORE enabled: a FETCH whose flags changed by this command carries UID and
    /// MODSEQ (RFC 7162 §3.1).
    pub condstore: bool,
}

/// One message as the writer sees it.
pub struct Message<'a> {
    pub msn: u32,
    pub rec: &'a MessageRecord,
    pub recent: bool,
    pub meta: Option<&'a SharedMeta>,
    pub blob: Option<&'a [u8]>,
    /// `\Seen` was set by this FETCH: FLAGS are sent even if not asked for.
    pub flags_changed: bool,
}

/// Why a message's response could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// BINARY of a part whose transfer encoding is unknown (RFC 3516 `UNKNOWN-CTE`).
    UnknownCte(String),
}

impl From<UnknownCte> for WriteError {
    fn from(e: UnknownCte) -> Self {
        WriteError::UnknownCte(e.0)
    }
}

/// Where a FETCH response goes: a plain buffer (everything copied), or the session's
/// [`Writer`], which queues long content by reference into the message's blob.
pub trait FetchOut {
    /// The buffer for response syntax and small values.
    fn buf(&mut self) -> &mut Vec<u8>;
    /// Literal content (possibly a whole message): copied or referenced.
    fn content(&mut self, content: &[u8]);
    /// A point to return to ([`FetchOut::rollback`]).
    fn mark(&self) -> Mark;
    /// Forgets everything written since `mark`.
    fn rollback(&mut self, mark: Mark);
}

impl FetchOut for Vec<u8> {
    fn buf(&mut self) -> &mut Vec<u8> {
        self
    }
    fn content(&mut self, content: &[u8]) {
        self.extend_from_slice(content);
    }
    fn mark(&self) -> Mark {
        Mark::Len(self.len())
    }
    fn rollback(&mut self, mark: Mark) {
        if let Mark::Len(n) = mark {
            self.truncate(n);
        }
    }
}

impl FetchOut for Writer<'_> {
    fn buf(&mut self) -> &mut Vec<u8> {
        Writer::buf(self)
    }
    fn content(&mut self, content: &[u8]) {
        Writer::content(self, content);
    }
    fn mark(&self) -> Mark {
        Mark::Writer(Writer::mark(self))
    }
    fn rollback(&mut self, mark: Mark) {
        if let Mark::Writer(m) = mark {
            Writer::rollback(self, m);
        }
    }
}

/// A [`FetchOut::mark`].
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Len(usize),
    Writer(WriterMark),
}

/// Writes `* msn FETCH (...)\r\n`. On error nothing is written.
pub fn write_message<O: FetchOut>(
    out: &mut O,
    items: &[FetchAttr],
    m: &Message<'_>,
    style: &Style,
) -> Result<(), WriteError> {
    let start = out.mark();
    let r = write_inner(out, items, m, style);
    if r.is_err() {
        out.rollback(start);
    }
    r
}

fn write_inner<O: FetchOut>(
    out: &mut O,
    items: &[FetchAttr],
    m: &Message<'_>,
    style: &Style,
) -> Result<(), WriteError> {
    let has = |f: &dyn Fn(&FetchAttr) -> bool| items.iter().any(f);
    let buf = out.buf();
    buf.extend_from_slice(b"* ");
    encode::number(buf, u64::from(m.msn));
    buf.extend_from_slice(b" FETCH (");
    let mut first = true;
    let mut sep = |out: &mut O| {
        if !first {
            out.buf().push(b' ');
        }
        first = false;
    };
    let extra_condstore = style.condstore && m.flags_changed;
    if (style.force_uid || extra_condstore) && !has(&|a| matches!(a, FetchAttr::Uid)) {
        sep(out);
        write_uid(out.buf(), m.rec);
    }
    for item in items {
        sep(out);
        write_item(out, item, m, style)?;
    }
    if m.flags_changed && !has(&|a| matches!(a, FetchAttr::Flags)) {
        sep(out);
        write_flags(out.buf(), m, style);
    }
    if (style.force_modseq || extra_condstore) && !has(&|a| matches!(a, FetchAttr::ModSeq)) {
        sep(out);
        write_modseq(out.buf(), m.rec);
    }
    out.buf().extend_from_slice(b")\r\n");
    Ok(())
}

/// Writes `{n}CRLF` (or `~{n}CRLF`) and the content.
fn literal<O: FetchOut>(out: &mut O, content: &[u8], kind: LiteralKind) {
    encode::literal_prefix(out.buf(), content.len() as u64, kind);
    out.content(content);
}

fn write_uid(out: &mut Vec<u8>, rec: &MessageRecord) {
    out.extend_from_slice(b"UID ");
    encode::number(out, u64::from(rec.uid));
}

fn write_modseq(out: &mut Vec<u8>, rec: &MessageRecord) {
    out.extend_from_slice(b"MODSEQ (");
    encode::number(out, rec.modseq);
    out.push(b')');
}

fn write_flags(out: &mut Vec<u8>, m: &Message<'_>, style: &Style) {
    out.extend_from_slice(b"FLAGS ");
    selected::write_flags(out, &m.rec.flags, m.recent && !style.rev2);
}

fn write_item<O: FetchOut>(
    o: &mut O,
    item: &FetchAttr,
    m: &Message<'_>,
    style: &Style,
) -> Result<(), WriteError> {
    let enc = style.enc;
    // Callers load meta/blob whenever `Needs::of` asks; an empty default keeps this total
    // (made only when missing: building and dropping one per item cost more than UID FLAGS).
    let default_meta;
    let meta = match m.meta {
        Some(meta) => meta,
        None => {
            default_meta = SharedMeta::default();
            &default_meta
        }
    };
    let blob = m.blob.unwrap_or(&[]);
    let out = o.buf();
    match item {
        FetchAttr::Uid => write_uid(out, m.rec),
        FetchAttr::Flags => write_flags(out, m, style),
        FetchAttr::ModSeq => write_modseq(out, m.rec),
        FetchAttr::InternalDate => {
            out.extend_from_slice(b"INTERNALDATE ");
            encode::internal_date(out, m.rec.internaldate);
        }
        FetchAttr::Rfc822Size => {
            out.extend_from_slice(b"RFC822.SIZE ");
            encode::number(out, m.rec.size);
        }
        FetchAttr::EmailId => {
            out.extend_from_slice(
                format!("EMAILID ({})", objectid::email_id(&m.rec.blob)).as_bytes(),
            );
        }
        FetchAttr::ThreadId => match objectid::thread_id(meta) {
            Some(t) => out.extend_from_slice(format!("THREADID ({t})").as_bytes()),
            None => out.extend_from_slice(b"THREADID NIL"),
        },
        FetchAttr::SaveDate => out.extend_from_slice(b"SAVEDATE NIL"),
        FetchAttr::Preview { .. } => {
            out.extend_from_slice(b"PREVIEW ");
            encode::string(out, meta.preview.as_bytes(), enc);
        }
        FetchAttr::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            encode::envelope(out, &meta.envelope, enc);
        }
        FetchAttr::Body => {
            out.extend_from_slice(b"BODY ");
            encode::body_structure(out, &meta.body, BodyForm::Body, enc);
        }
        FetchAttr::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            encode::body_structure(out, &meta.body, BodyForm::BodyStructure, enc);
        }
        FetchAttr::Rfc822 => {
            out.extend_from_slice(b"RFC822 ");
            literal(o, blob, LiteralKind::Text);
        }
        FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
            let (name, text) = if matches!(item, FetchAttr::Rfc822Header) {
                ("RFC822.HEADER ", SectionText::Header)
            } else {
                ("RFC822.TEXT ", SectionText::Text)
            };
            out.extend_from_slice(name.as_bytes());
            let section = Section {
                part: Vec::new(),
                text: Some(text),
            };
            match section_content(blob, &meta.body, &section) {
                Some(c) => literal(o, &c, LiteralKind::Text),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::BodySection {
            section, partial, ..
        } => {
            encode::body_section_label(out, section, partial.map(|p| p.0));
            out.push(b' ');
            let content = if section.part.is_empty() && section.text.is_none() {
                Some(std::borrow::Cow::Borrowed(blob))
            } else {
                section_content(blob, &meta.body, section)
            };
            match content {
                Some(c) => literal(o, apply_partial(&c, *partial), LiteralKind::Text),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::Binary { part, partial, .. } => {
            let content = binary_content(blob, &meta.body, part)?;
            encode::binary_label(out, part, partial.map(|p| p.0));
            out.push(b' ');
            match content {
                Some(c) => {
                    let c = apply_partial(&c, *partial);
                    // RFC 3516 §4.2: literal8 only when the content needs it (NUL).
                    let kind = if memchr::memchr(0, c).is_some() {
                        LiteralKind::Binary
                    } else {
                        LiteralKind::Text
                    };
                    literal(o, c, kind);
                }
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::BinarySize { part } => {
            let content = binary_content(blob, &meta.body, part)?;
            encode::binary_size_label(out, part);
            match content {
                Some(c) => {
                    out.push(b' ');
                    encode::number(out, c.len() as u64);
                }
                None => out.extend_from_slice(b" NIL"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::{BlobId, Flags, Timestamp};

    fn rec() -> MessageRecord {
        MessageRecord {
            uid: 42,
            modseq: 7,
            flags: Flags::from_names(["\\Seen", "$Work"]),
            internaldate: Timestamp {
                unix: 837_596_665,
                offset_minutes: -420,
            },
            size: 4286,
            blob: BlobId([0x11; 32]),
        }
    }

    fn style() -> Style {
        Style {
            enc: EncodeOptions::default(),
            rev2: false,
            force_uid: false,
            force_modseq: false,
            condstore: false,
        }
    }

    fn run(items: &[FetchAttr], m: &Message<'_>, style: &Style) -> String {
        let mut out = Vec::new();
        write_message(&mut out, items, m, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn record_items_need_no_store() {
        let items = [
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Uid,
            FetchAttr::ModSeq,
            FetchAttr::EmailId,
            FetchAttr::SaveDate,
        ];
        assert_eq!(Needs::of(&items), Needs::default());
        let r = rec();
        let m = Message {
            msn: 3,
            rec: &r,
            recent: true,
            meta: None,
            blob: None,
            flags_changed: false,
        };
        assert_eq!(
            run(&items, &m, &style()),
            format!(
                "* 3 FETCH (FLAGS (\\Seen $Work \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
                 RFC822.SIZE 4286 UID 42 MODSEQ (7) EMAILID (M{}) SAVEDATE NIL)\r\n",
                "11".repeat(12)
            )
        );
        let rev2 = Style {
            rev2: true,
            force_uid: true,
            force_modseq: true,
            ..style()
        };
        assert_eq!(
            run(&[FetchAttr::Flags], &m, &rev2),
            "* 3 FETCH (UID 42 FLAGS (\\Seen $Work) MODSEQ (7))\r\n"
        );
    }

    #[test]
    fn seen_side_effect_adds_flags_and_condstore_data() {
        let r = rec();
        let blob = b"Subject: x\r\n\r\nhi\r\n";
        let m = Message {
            msn: 1,
            rec: &r,
            recent: false,
            meta: None,
            blob: Some(blob),
            flags_changed: true,
        };
        let item = FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![],
                text: None,
            },
            partial: Some((0, 7)),
        };
        assert_eq!(
            Needs::of(std::slice::from_ref(&item)),
            Needs {
                meta: false,
                blob: true,
                sets_seen: true
            }
        );
        let cs = Style {
            condstore: true,
            ..style()
        };
        assert_eq!(
            run(&[item], &m, &cs),
            "* 1 FETCH (UID 42 BODY[]<0> {7}\r\nSubject FLAGS (\\Seen $Work) MODSEQ (7))\r\n"
        );
    }
}
