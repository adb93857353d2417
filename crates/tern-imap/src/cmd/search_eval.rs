//! SEARCH criteria (RFC 9051 §6.4.4, RFC 7162 MODSEQ, RFC 5032 WITHIN, RFC 8474 OBJECTID,
//! RFC 5182 `$`) compiled once per command and evaluated per message in three-valued
//! logic, so that cheap data decides first.
//!
//! A message is evaluated with what is at hand: its view record always, its metadata and
//! its blob only once loaded. A key that needs more than is at hand evaluates to
//! [`Tri::Unknown`]; AND/OR/NOT combine as in Kleene logic, so `UNSEEN FROM x` never reads
//! the blob of a seen message. The executor ([`super::search_exec`]) loads metadata and
//! blobs only for messages still unknown.
//!
//! Dates: BEFORE/ON/SINCE compare the INTERNALDATE's calendar day in its own zone;
//! SENTBEFORE/SENTON/SENTSINCE the Date header's day in the header's zone (falling back to
//! INTERNALDATE when the message has no usable Date, as SORT does, RFC 5256 §2.2). Strings
//! match as case-insensitive substrings of the decoded text.

use super::CmdError;
use super::objectid;
use super::search_text;
use super::seqset::{self, MsnCheck};
use crate::proto::command::{By, SearchKey};
use crate::session::SelectedMailbox;
use tern_store::{Flags, MessageRecord, SharedMeta, Timestamp};

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayCmp {
    Before,
    On,
    Since,
}

impl DayCmp {
    fn test(self, day: i64, wanted: i64) -> bool {
        match self {
            DayCmp::Before => day < wanted,
            DayCmp::On => day == wanted,
            DayCmp::Since => day >= wanted,
        }
    }
}

/// A compiled criterion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Const(bool),
    Flag {
        bit: u8,
        set: bool,
    },
    Keyword {
        name: String,
        set: bool,
    },
    /// RECENT (true) / OLD (false).
    Recent(bool),
    /// NEW = RECENT UNSEEN.
    New,
    InternalDay {
        cmp: DayCmp,
        day: i64,
    },
    SentDay {
        cmp: DayCmp,
        day: i64,
    },
    Larger(u64),
    Smaller(u64),
    /// Sequence or UID set, resolved to view indices (ascending).
    Indices(Vec<usize>),
    ModSeq(u64),
    Older(u64),
    Younger(u64),
    EmailId(String),
    ThreadId(String),
    /// A header field (lower-case name) containing `needle` (lower-case); an empty needle
    /// matches any message that has the field.
    Header {
        field: String,
        needle: String,
    },
    Body(String),
    Text(String),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Box<Node>, Box<Node>),
}

/// Criteria ready to evaluate.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub root: Node,
    /// A MODSEQ criterion was used: responses carry the highest MODSEQ (RFC 7162 §3.1.5).
    pub uses_modseq: bool,
}

/// What evaluation may look at for one message.
pub struct Subject<'a> {
    /// Index in the view (MSN - 1).
    pub idx: usize,
    pub rec: &'a MessageRecord,
    pub recent: bool,
    pub meta: Option<&'a SharedMeta>,
    pub blob: Option<&'a [u8]>,
    /// Current time, Unix seconds (OLDER/YOUNGER).
    pub now: i64,
}

/// Compiles the ANDed criteria of a SEARCH against the view (sequence sets are resolved
/// now: `$` and `*` mean what they mean when the command starts).
pub fn compile(keys: &[SearchKey], view: &SelectedMailbox) -> Result<Compiled, CmdError> {
    let mut uses_modseq = false;
    let nodes = keys
        .iter()
        .map(|k| compile_key(k, view, &mut uses_modseq))
        .collect::<Result<Vec<_>, _>>()?;
    let root = match nodes.len() {
        0 => Node::Const(true),
        1 => nodes.into_iter().next().unwrap_or(Node::Const(true)),
        _ => Node::And(nodes),
    };
    Ok(Compiled { root, uses_modseq })
}

fn lower(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_lowercase()
}

fn header(field: &str, value: &[u8]) -> Node {
    Node::Header {
        field: field.to_string(),
        needle: lower(value),
    }
}

fn compile_key(
    key: &SearchKey,
    view: &SelectedMailbox,
    uses_modseq: &mut bool,
) -> Result<Node, CmdError> {
    use SearchKey as K;
    let flag = |bit, set| Node::Flag { bit, set };
    Ok(match key {
        K::All => Node::Const(true),
        K::Answered => flag(Flags::ANSWERED, true),
        K::Unanswered => flag(Flags::ANSWERED, false),
        K::Deleted => flag(Flags::DELETED, true),
        K::Undeleted => flag(Flags::DELETED, false),
        K::Draft => flag(Flags::DRAFT, true),
        K::Undraft => flag(Flags::DRAFT, false),
        K::Flagged => flag(Flags::FLAGGED, true),
        K::Unflagged => flag(Flags::FLAGGED, false),
        K::Seen => flag(Flags::SEEN, true),
        K::Unseen => flag(Flags::SEEN, false),
        K::Keyword(k) | K::Unkeyword(k) => {
            let set = matches!(key, K::Keyword(_));
            match Flags::system_bit(k) {
                Some(bit) => flag(bit, set),
                None => Node::Keyword {
                    name: k.clone(),
                    set,
                },
            }
        }
        K::Recent => Node::Recent(true),
        K::Old => Node::Recent(false),
        K::New => Node::New,
        K::Before(d) => Node::InternalDay {
            cmp: DayCmp::Before,
            day: *d,
        },
        K::On(d) => Node::InternalDay {
            cmp: DayCmp::On,
            day: *d,
        },
        K::Since(d) => Node::InternalDay {
            cmp: DayCmp::Since,
            day: *d,
        },
        K::SentBefore(d) => Node::SentDay {
            cmp: DayCmp::Before,
            day: *d,
        },
        K::SentOn(d) => Node::SentDay {
            cmp: DayCmp::On,
            day: *d,
        },
        K::SentSince(d) => Node::SentDay {
            cmp: DayCmp::Since,
            day: *d,
        },
        K::Larger(n) => Node::Larger(*n),
        K::Smaller(n) => Node::Smaller(*n),
        K::Uid(set) => Node::Indices(seqset::resolve(view, set, By::Uid, MsnCheck::Lenient)?),
        K::SeqSet(set) => Node::Indices(seqset::resolve(view, set, By::Seq, MsnCheck::Lenient)?),
        K::ModSeq(n) => {
            *uses_modseq = true;
            Node::ModSeq(*n)
        }
        K::Older(n) => Node::Older(*n),
        K::Younger(n) => Node::Younger(*n),
        K::EmailId(id) => Node::EmailId(id.clone()),
        K::ThreadId(id) => Node::ThreadId(id.clone()),
        K::From(v) => header("from", v),
        K::To(v) => header("to", v),
        K::Cc(v) => header("cc", v),
        K::Bcc(v) => header("bcc", v),
        K::Subject(v) => header("subject", v),
        K::Header(name, v) => header(&name.to_ascii_lowercase(), v),
        K::Body(v) => Node::Body(lower(v)),
        K::Text(v) => Node::Text(lower(v)),
        K::Not(k) => Node::Not(Box::new(compile_key(k, view, uses_modseq)?)),
        K::Or(a, b) => Node::Or(
            Box::new(compile_key(a, view, uses_modseq)?),
            Box::new(compile_key(b, view, uses_modseq)?),
        ),
        K::And(keys) => Node::And(
            keys.iter()
                .map(|k| compile_key(k, view, uses_modseq))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    })
}

/// The calendar day of a timestamp in its own zone.
pub fn local_day(ts: Timestamp) -> i64 {
    (ts.unix + i64::from(ts.offset_minutes) * 60).div_euclid(86_400)
}

/// The zone offset (minutes) written at the end of a Date header (`... -0700 (PDT)`).
pub fn date_zone(date: &str) -> i16 {
    for tok in date.split_whitespace().rev() {
        let b = tok.as_bytes();
        if b.len() == 5 && (b[0] == b'+' || b[0] == b'-') && b[1..].iter().all(u8::is_ascii_digit) {
            let h = i16::from(b[1] - b'0') * 10 + i16::from(b[2] - b'0');
            let m = i16::from(b[3] - b'0') * 10 + i16::from(b[4] - b'0');
            let v = h * 60 + m;
            return if b[0] == b'-' { -v } else { v };
        }
    }
    0
}

/// The sent date's day: the Date header in its zone, else INTERNALDATE's day.
fn sent_day(meta: &SharedMeta, rec: &MessageRecord) -> i64 {
    match meta.sort.sent_date {
        Some(unix) => {
            let zone = meta.envelope.date.as_deref().map_or(0, date_zone);
            local_day(Timestamp {
                unix,
                offset_minutes: zone,
            })
        }
        None => local_day(rec.internaldate),
    }
}

/// Evaluates `node` for one message.
pub fn eval(node: &Node, m: &Subject<'_>) -> Tri {
    let flags = &m.rec.flags;
    match node {
        Node::Const(b) => Tri::from(*b),
        Node::Flag { bit, set } => Tri::from(flags.has(*bit) == *set),
        Node::Keyword { name, set } => {
            let has = flags.keywords.iter().any(|k| k.eq_ignore_ascii_case(name));
            Tri::from(has == *set)
        }
        Node::Recent(want) => Tri::from(m.recent == *want),
        Node::New => Tri::from(m.recent && !flags.has(Flags::SEEN)),
        Node::InternalDay { cmp, day } => Tri::from(cmp.test(local_day(m.rec.internaldate), *day)),
        Node::Larger(n) => Tri::from(m.rec.size > *n),
        Node::Smaller(n) => Tri::from(m.rec.size < *n),
        Node::Indices(ix) => Tri::from(ix.binary_search(&m.idx).is_ok()),
        Node::ModSeq(n) => Tri::from(m.rec.modseq >= *n),
        Node::Older(secs) => Tri::from(m.now - m.rec.internaldate.unix > *secs as i64),
        Node::Younger(secs) => Tri::from(m.now - m.rec.internaldate.unix <= *secs as i64),
        Node::EmailId(id) => Tri::from(objectid::email_id(&m.rec.blob) == *id),
        Node::SentDay { cmp, day } => match m.meta {
            Some(meta) => Tri::from(cmp.test(sent_day(meta, m.rec), *day)),
            None => Tri::Unknown,
        },
        Node::ThreadId(id) => match m.meta {
            Some(meta) => Tri::from(objectid::thread_id(meta).as_deref() == Some(id.as_str())),
            None => Tri::Unknown,
        },
        Node::Header { field, needle } => {
            let from_envelope = m
                .meta
                .and_then(|meta| search_text::envelope_contains(&meta.envelope, field, needle));
            match (from_envelope, m.blob) {
                (Some(found), _) => Tri::from(found),
                (None, Some(blob)) => {
                    let head = search_text::header_block(blob, m.meta);
                    Tri::from(search_text::header_contains(head, field, needle))
                }
                (None, None) => Tri::Unknown,
            }
        }
        Node::Body(needle) => match (m.blob, m.meta) {
            (Some(blob), Some(meta)) => {
                Tri::from(search_text::body_contains(blob, &meta.body, needle))
            }
            _ => Tri::Unknown,
        },
        Node::Text(needle) => match (m.blob, m.meta) {
            (Some(blob), Some(meta)) => {
                let head = search_text::header_block(blob, m.meta);
                Tri::from(
                    search_text::any_header_contains(head, needle)
                        || search_text::body_contains(blob, &meta.body, needle),
                )
            }
            _ => Tri::Unknown,
        },
        Node::Not(n) => eval(n, m).not(),
        Node::And(nodes) => {
            let mut out = Tri::Yes;
            for n in nodes {
                match eval(n, m) {
                    Tri::No => return Tri::No,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::Yes => {}
                }
            }
            out
        }
        Node::Or(a, b) => match (eval(a, m), eval(b, m)) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        },
    }
}

#[cfg(test)]
#[path = "search_eval_tests.rs"]
mod tests;
