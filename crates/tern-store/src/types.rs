//! The data model shared by every backend and every protocol server.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, LazyLock};

/// A message's UID within its mailbox (RFC 9051 §2.3.1.1). Never 0.
pub type Uid = u32;
/// A modification sequence number (RFC 7162). Never 0 for a stored message.
pub type ModSeq = u64;

/// A store-internal account number. The directory names accounts by their canonical login;
/// the store maps that name to an id once ([`crate::MailStore::account`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(pub i64);

/// A store-internal mailbox number, unique across accounts and never reused.
/// IMAP's OBJECTID `MAILBOXID` is derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxId(pub i64);

/// The content address of a message: SHA-256 of its exact bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Option<BlobId> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(BlobId(out))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The hierarchy delimiter of stored mailbox names. Names are stored in UTF-8;
/// protocol codecs translate (modified UTF-7, other delimiters).
pub const HIERARCHY_DELIMITER: char = '/';

/// RFC 6154 special-use roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    Important,
}

impl SpecialUse {
    pub const ALL: [SpecialUse; 8] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
        SpecialUse::Important,
    ];

    /// The IMAP attribute, e.g. `\Sent`.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Important => "\\Important",
        }
    }

    /// Parses an attribute case-insensitively (`\sent` → Sent).
    pub fn from_attribute(s: &str) -> Option<SpecialUse> {
        SpecialUse::ALL
            .into_iter()
            .find(|u| u.attribute().eq_ignore_ascii_case(s))
    }
}

/// System flags as bits; keywords as strings. `\Recent` is not stored here: it is a
/// session property (see [`crate::MailStore::claim_recent`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags {
    pub system: u8,
    /// Keywords, as given by the client (case preserved), no duplicates (compared
    /// case-insensitively), sorted by [`Flags::normalize`].
    pub keywords: Vec<String>,
}

impl Flags {
    pub const SEEN: u8 = 1;
    pub const ANSWERED: u8 = 2;
    pub const FLAGGED: u8 = 4;
    pub const DELETED: u8 = 8;
    pub const DRAFT: u8 = 16;

    pub const SYSTEM_NAMES: [(u8, &'static str); 5] = [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
    ];

    pub fn has(&self, bit: u8) -> bool {
        self.system & bit != 0
    }

    pub fn is_empty(&self) -> bool {
        self.system == 0 && self.keywords.is_empty()
    }

    /// Adds one flag by its wire name (`\Seen`, `$Junk`, `NonJunk`). `\Recent` is ignored.
    pub fn insert_name(&mut self, name: &str) {
        if let Some(bit) = Self::system_bit(name) {
            self.system |= bit;
        } else if !name.starts_with('\\')
            && !self.keywords.iter().any(|k| k.eq_ignore_ascii_case(name))
        {
            self.keywords.push(name.to_string());
        }
    }

    pub fn system_bit(name: &str) -> Option<u8> {
        Self::SYSTEM_NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(b, _)| *b)
    }

    pub fn union(&self, other: &Flags) -> Flags {
        let mut out = self.clone();
        out.system |= other.system;
        for k in &other.keywords {
            out.insert_name(k);
        }
        out.normalize();
        out
    }

    pub fn difference(&self, other: &Flags) -> Flags {
        Flags {
            system: self.system & !other.system,
            keywords: self
                .keywords
                .iter()
                .filter(|k| !other.keywords.iter().any(|o| o.eq_ignore_ascii_case(k)))
                .cloned()
                .collect(),
        }
    }

    /// Sorts keywords so that equal flag sets compare equal.
    pub fn normalize(&mut self) {
        self.keywords.sort_by_key(|k| k.to_ascii_lowercase());
        self.keywords.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    }

    /// Wire names in a stable order: system flags first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        Self::SYSTEM_NAMES
            .iter()
            .filter(|(b, _)| self.system & b != 0)
            .map(|(_, n)| *n)
            .chain(self.keywords.iter().map(|k| k.as_str()))
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Flags {
        let mut f = Flags::default();
        for n in names {
            f.insert_name(n);
        }
        f.normalize();
        f
    }
}

/// A timestamp with the zone offset it was given in (INTERNALDATE keeps the client's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (UTC).
    pub unix: i64,
    /// The zone offset in minutes east of UTC.
    pub offset_minutes: i16,
}

/// A mailbox as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxInfo {
    pub id: MailboxId,
    pub account: AccountId,
    /// Full UTF-8 name with [`HIERARCHY_DELIMITER`]; `INBOX` is always spelled `INBOX`.
    pub name: String,
    pub special_use: Option<SpecialUse>,
    pub uidvalidity: u32,
}

/// Options for [`crate::MailStore::create_mailbox`].
#[derive(Clone, Debug, Default)]
pub struct CreateMailbox {
    pub special_use: Option<SpecialUse>,
    /// Imported mailboxes keep their source's UIDVALIDITY; `None` lets the store choose.
    pub uidvalidity: Option<u32>,
}

/// Counters of one mailbox, read in one consistent snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxStatus {
    pub uidvalidity: u32,
    pub uidnext: Uid,
    pub highestmodseq: ModSeq,
    pub messages: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of message sizes in octets (STATUS=SIZE).
    pub size: u64,
    /// Messages with UID above the recent boundary (not yet claimed by any session).
    pub recent: u32,
}

/// One message as a mailbox holds it. Small: a session keeps all of them in memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub uid: Uid,
    pub modseq: ModSeq,
    pub flags: Flags,
    pub internaldate: Timestamp,
    /// RFC822.SIZE: exact octet count of the stored message.
    pub size: u64,
    pub blob: BlobId,
}

/// An account's usage, maintained by the store in the same commit as each change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub bytes: u64,
    pub messages: u64,
}

/// A message to add to a mailbox. The blob must already be durable in the [`crate::BlobStore`].
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub mailbox: MailboxId,
    pub blob: BlobId,
    pub size: u64,
    pub flags: Flags,
    pub internaldate: Timestamp,
    /// The metadata parsed once at delivery (tern-mail's analyzer).
    pub meta: std::sync::Arc<MessageMeta>,
    /// When set, the commit fails with [`crate::StoreError::OverQuota`] if the owning account's
    /// usage would exceed this many bytes.
    pub quota_bytes: Option<u64>,
    /// Migration only: keep the source's UID (must be ≥ the mailbox's UIDNEXT).
    pub import_uid: Option<Uid>,
    /// Migration only: keep the source's MODSEQ (raised if not above the mailbox's).
    pub import_modseq: Option<ModSeq>,
    /// POP3 UIDL to report; `None`: derived from UIDVALIDITY and UID.
    pub pop3_uidl: Option<String>,
}

/// How a batch of [`NewMessage`]s commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendMode {
    /// All or nothing (IMAP MULTIAPPEND, one message's APPEND).
    Atomic,
    /// Each message commits or fails on its own, in one shared commit (delivery to many
    /// recipients: one over quota does not stop the others).
    Independent,
}

/// Where a message landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub mailbox: MailboxId,
    pub uidvalidity: u32,
    pub uid: Uid,
    pub modseq: ModSeq,
}

/// STORE's three operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// A flag change for a set of UIDs (RFC 9051 STORE, RFC 7162 UNCHANGEDSINCE).
#[derive(Clone, Debug)]
pub struct FlagUpdate {
    pub uids: Vec<Uid>,
    pub op: FlagOp,
    pub flags: Flags,
    pub unchanged_since: Option<ModSeq>,
}

/// The outcome of a [`FlagUpdate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagUpdateResult {
    /// Messages whose flags changed, with their new flags and MODSEQ.
    pub changed: Vec<(Uid, Flags, ModSeq)>,
    /// Messages whose flags were already as asked (no new MODSEQ).
    pub unchanged: Vec<(Uid, Flags, ModSeq)>,
    /// UNCHANGEDSINCE failures (RFC 7162 `MODIFIED`).
    pub modified: Vec<Uid>,
}

/// The outcome of COPY/MOVE (UIDPLUS `COPYUID`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyResult {
    pub dest_uidvalidity: u32,
    /// (source UID, destination UID), in source UID order.
    pub pairs: Vec<(Uid, Uid)>,
}

/// What changed in a mailbox after a MODSEQ (RFC 7162 CHANGEDSINCE / QRESYNC).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Messages added or changed after the given MODSEQ, in UID order.
    pub changed: Vec<MessageRecord>,
    /// UIDs expunged after the given MODSEQ, ascending.
    pub expunged: Vec<Uid>,
    pub highestmodseq: ModSeq,
}

/// An announcement of a committed change. Receivers re-read what they need; the `what`
/// sets only say which kinds of change to re-read for (several changes committed together
/// may be announced as one event whose set is their union).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeEvent {
    /// Something in one mailbox changed; its HIGHESTMODSEQ is now `modseq`.
    Mailbox {
        account: AccountId,
        mailbox: MailboxId,
        modseq: ModSeq,
        what: MailboxChange,
    },
    /// An account's mailbox list, subscriptions, ACLs or server metadata changed.
    MailboxList {
        account: AccountId,
        what: ListChange,
    },
}

/// What changed in one mailbox ([`ChangeEvent::Mailbox`]). A deleted mailbox is announced
/// with `expunged` (its messages are gone) together with a [`ListChange`] `names` event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MailboxChange {
    /// Messages were added (APPEND, COPY/MOVE into it, delivery).
    pub added: bool,
    /// Messages were expunged (EXPUNGE, MOVE out of it, the mailbox was deleted).
    pub expunged: bool,
    /// Flags or keywords of existing messages changed.
    pub flags: bool,
    /// The mailbox's METADATA entries (RFC 5464) changed.
    pub metadata: bool,
}

impl MailboxChange {
    pub const ADDED: MailboxChange = MailboxChange {
        added: true,
        ..MailboxChange::NONE
    };
    pub const EXPUNGED: MailboxChange = MailboxChange {
        expunged: true,
        ..MailboxChange::NONE
    };
    pub const FLAGS: MailboxChange = MailboxChange {
        flags: true,
        ..MailboxChange::NONE
    };
    pub const METADATA: MailboxChange = MailboxChange {
        metadata: true,
        ..MailboxChange::NONE
    };
    pub const NONE: MailboxChange = MailboxChange {
        added: false,
        expunged: false,
        flags: false,
        metadata: false,
    };
    /// Every kind: what a receiver must assume when it cannot know (e.g. a change recorded
    /// by an older build that did not say).
    pub const ALL: MailboxChange = MailboxChange {
        added: true,
        expunged: true,
        flags: true,
        metadata: true,
    };

    pub fn union(self, other: MailboxChange) -> MailboxChange {
        MailboxChange {
            added: self.added || other.added,
            expunged: self.expunged || other.expunged,
            flags: self.flags || other.flags,
            metadata: self.metadata || other.metadata,
        }
    }

    /// Whether messages changed (added, expunged or flags), as opposed to metadata only.
    pub fn messages(self) -> bool {
        self.added || self.expunged || self.flags
    }

    /// A compact encoding (bit 0 added, 1 expunged, 2 flags, 3 metadata), for backends
    /// that relay events through storage.
    pub fn to_bits(self) -> u8 {
        u8::from(self.added)
            | u8::from(self.expunged) << 1
            | u8::from(self.flags) << 2
            | u8::from(self.metadata) << 3
    }

    /// The inverse of [`MailboxChange::to_bits`]; unknown bits are ignored.
    pub fn from_bits(bits: u8) -> MailboxChange {
        MailboxChange {
            added: bits & 1 != 0,
            expunged: bits & 2 != 0,
            flags: bits & 4 != 0,
            metadata: bits & 8 != 0,
        }
    }
}

/// What changed in an account's mailbox list ([`ChangeEvent::MailboxList`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListChange {
    /// Mailboxes were created, deleted or renamed, or a special-use role changed.
    pub names: bool,
    /// Subscriptions changed.
    pub subscriptions: bool,
    /// An ACL changed: on one of the account's mailboxes, or one that names the account
    /// (so the set of mailboxes shared with it may differ).
    pub acl: bool,
    /// The account's server METADATA entries (RFC 5464 `""` mailbox) changed.
    pub metadata: bool,
}

impl ListChange {
    pub const NAMES: ListChange = ListChange {
        names: true,
        ..ListChange::NONE
    };
    pub const SUBSCRIPTIONS: ListChange = ListChange {
        subscriptions: true,
        ..ListChange::NONE
    };
    pub const ACL: ListChange = ListChange {
        acl: true,
        ..ListChange::NONE
    };
    pub const METADATA: ListChange = ListChange {
        metadata: true,
        ..ListChange::NONE
    };
    pub const NONE: ListChange = ListChange {
        names: false,
        subscriptions: false,
        acl: false,
        metadata: false,
    };
    /// Every kind (see [`MailboxChange::ALL`]).
    pub const ALL: ListChange = ListChange {
        names: true,
        subscriptions: true,
        acl: true,
        metadata: true,
    };

    pub fn union(self, other: ListChange) -> ListChange {
        ListChange {
            names: self.names || other.names,
            subscriptions: self.subscriptions || other.subscriptions,
            acl: self.acl || other.acl,
            metadata: self.metadata || other.metadata,
        }
    }

    /// Bit 0 names, 1 subscriptions, 2 acl, 3 metadata.
    pub fn to_bits(self) -> u8 {
        u8::from(self.names)
            | u8::from(self.subscriptions) << 1
            | u8::from(self.acl) << 2
            | u8::from(self.metadata) << 3
    }

    /// The inverse of [`ListChange::to_bits`]; unknown bits are ignored.
    pub fn from_bits(bits: u8) -> ListChange {
        ListChange {
            names: bits & 1 != 0,
            subscriptions: bits & 2 != 0,
            acl: bits & 4 != 0,
            metadata: bits & 8 != 0,
        }
    }
}

/// RFC 5464 METADATA: where an entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetadataScope {
    /// Server entries (`""` mailbox), per account (the account's view of server metadata).
    Server(AccountId),
    Mailbox(MailboxId),
}

// ---------------------------------------------------------------------------------------------
// Parsed metadata, computed once at delivery (tern-mail) and cached by the store, so that FETCH
// ENVELOPE/BODYSTRUCTURE, SORT, THREAD and header SEARCH never re-parse a message.
// ---------------------------------------------------------------------------------------------

/// Everything protocol servers need about a message without reading its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    pub envelope: Envelope,
    pub body: BodyPart,
    pub sort: SortKeys,
    /// Message-ID, In-Reply-To and References, normalized (no angle brackets) for THREAD.
    pub thread: ThreadKeys,
    /// RFC 8970 PREVIEW text: up to 200 characters of the first text part, whitespace folded.
    pub preview: String,
}

/// A [`MessageMeta`] whose parts are shared, each on its own: what the metadata cache hands
/// out (`tern_mail::MetaCache`). A cached message holds only the parts readers asked for, so
/// a mailbox's sort keys cost what sort keys cost, not what a whole [`MessageMeta`] does.
/// A part that was not read is its default (one empty value for the whole process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedMeta {
    pub envelope: Arc<Envelope>,
    pub body: Arc<BodyPart>,
    pub sort: Arc<SortKeys>,
    pub thread: Arc<ThreadKeys>,
    pub preview: Arc<str>,
}

/// The empty parts every [`SharedMeta`] without them points at.
struct EmptyParts {
    envelope: Arc<Envelope>,
    body: Arc<BodyPart>,
    sort: Arc<SortKeys>,
    thread: Arc<ThreadKeys>,
    preview: Arc<str>,
}

static EMPTY_PARTS: LazyLock<EmptyParts> = LazyLock::new(|| EmptyParts {
    envelope: Arc::default(),
    body: Arc::default(),
    sort: Arc::default(),
    thread: Arc::default(),
    preview: Arc::from(""),
});

impl Default for SharedMeta {
    fn default() -> SharedMeta {
        let e = &*EMPTY_PARTS;
        SharedMeta {
            envelope: e.envelope.clone(),
            body: e.body.clone(),
            sort: e.sort.clone(),
            thread: e.thread.clone(),
            preview: e.preview.clone(),
        }
    }
}

impl SharedMeta {
    /// The `parts` of `meta`; the others are left empty.
    pub fn from_parts(meta: MessageMeta, parts: MetaParts) -> SharedMeta {
        // Destructured so that a field added to MessageMeta fails to compile here.
        let MessageMeta {
            envelope,
            body,
            sort,
            thread,
            preview,
        } = meta;
        let mut out = SharedMeta::default();
        if parts.envelope {
            out.envelope = Arc::new(envelope);
        }
        if parts.body {
            out.body = Arc::new(body);
        }
        if parts.sort {
            out.sort = Arc::new(sort);
        }
        if parts.thread {
            out.thread = Arc::new(thread);
        }
        if parts.preview {
            out.preview = Arc::from(preview);
        }
        out
    }

    /// This value with the `parts` of `other` in place of its own.
    pub fn with_parts_of(&self, other: &SharedMeta, parts: MetaParts) -> SharedMeta {
        fn pick<T: ?Sized>(theirs: bool, mine: &Arc<T>, other: &Arc<T>) -> Arc<T> {
            if theirs { other } else { mine }.clone()
        }
        SharedMeta {
            envelope: pick(parts.envelope, &self.envelope, &other.envelope),
            body: pick(parts.body, &self.body, &other.body),
            sort: pick(parts.sort, &self.sort, &other.sort),
            thread: pick(parts.thread, &self.thread, &other.thread),
            preview: pick(parts.preview, &self.preview, &other.preview),
        }
    }
}

impl From<MessageMeta> for SharedMeta {
    fn from(meta: MessageMeta) -> SharedMeta {
        SharedMeta::from_parts(meta, MetaParts::ALL)
    }
}

/// Which parts of a [`MessageMeta`] a reader needs ([`crate::MailStore::meta_parts`]).
/// Parts not asked for may come back at their defaults, so a backend can skip decoding them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MetaParts {
    pub envelope: bool,
    pub body: bool,
    pub sort: bool,
    pub thread: bool,
    pub preview: bool,
}

impl MetaParts {
    /// Every part: what [`crate::MailStore::meta`] returns.
    pub const ALL: MetaParts = MetaParts {
        envelope: true,
        body: true,
        sort: true,
        thread: true,
        preview: true,
    };
    /// No part (a reader that needs nothing need not read at all).
    pub const NONE: MetaParts = MetaParts {
        envelope: false,
        body: false,
        sort: false,
        thread: false,
        preview: false,
    };

    /// The parts either set asks for.
    pub fn union(self, other: MetaParts) -> MetaParts {
        MetaParts {
            envelope: self.envelope || other.envelope,
            body: self.body || other.body,
            sort: self.sort || other.sort,
            thread: self.thread || other.thread,
            preview: self.preview || other.preview,
        }
    }

    pub fn is_empty(self) -> bool {
        self == MetaParts::NONE
    }
}

/// An RFC 9051 ENVELOPE. Strings are the raw header values (unfolded, not decoded), as the
/// RFC asks; `None` is NIL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
}

/// One address of an ENVELOPE address list. Group syntax uses RFC 9051's markers:
/// a start (`mailbox` = group name, `host` = None) and an end (both None).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub adl: Option<String>,
    pub mailbox: Option<String>,
    pub host: Option<String>,
}

/// One MIME part with the byte ranges needed to serve BODY[section] without parsing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyPart {
    /// Lower-case type and subtype, e.g. "text", "plain".
    pub content_type: String,
    pub subtype: String,
    /// Content-Type parameters (attribute lower-cased, value as given).
    pub params: Vec<(String, String)>,
    pub id: Option<String>,
    pub description: Option<String>,
    /// Content-Transfer-Encoding as given (default "7BIT").
    pub encoding: String,
    pub md5: Option<String>,
    pub disposition: Option<(String, Vec<(String, String)>)>,
    pub language: Vec<String>,
    pub location: Option<String>,
    /// Byte offsets in the message: the part's header starts at `header_start`, its body at
    /// `body_start` and ends at `end` (exclusive).
    pub header_start: u64,
    pub body_start: u64,
    pub end: u64,
    /// Lines in the body (text/* and message/rfc822 report them).
    pub lines: u32,
    /// Children of a multipart, in order.
    pub parts: Vec<BodyPart>,
    /// For message/rfc822 (and message/global): the encapsulated message.
    pub message: Option<Box<(Envelope, BodyPart)>>,
}

/// Keys for RFC 5256 SORT, computed at delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKeys {
    /// The Date header as Unix seconds; `None` if missing or unparsable (SORT then uses
    /// INTERNALDATE, RFC 5256 §2.2).
    pub sent_date: Option<i64>,
    /// RFC 5256 base subject, upper-cased for comparison.
    pub base_subject: String,
    /// addr-mailbox of the first From/To/Cc address, upper-cased.
    pub from: String,
    pub to: String,
    pub cc: String,
    /// RFC 5957 DISPLAYFROM/DISPLAYTO keys, upper-cased.
    pub display_from: String,
    pub display_to: String,
}

/// Keys for RFC 5256 THREAD=REFERENCES.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadKeys {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Whether the subject had a reply/forward prefix (`Re:`), for ORDEREDSUBJECT/REFERENCES.
    pub is_reply: bool,
}

/// One Sieve script of an account (RFC 5804 LISTSCRIPTS entry): its name, whether it is the
/// account's active script, and its size in octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveScriptInfo {
    pub name: String,
    pub active: bool,
    pub size: u64,
}

/// A Sieve script with its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    pub content: String,
    pub active: bool,
}

/// What a delivery to an account reads before its append
/// ([`MailStore::delivery_view`](crate::MailStore::delivery_view)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryView {
    /// The active Sieve script, if any.
    pub script: Option<SieveScript>,
    /// All mailboxes of the account, sorted by name (as [`MailStore::mailboxes`](crate::MailStore::mailboxes)).
    pub mailboxes: Vec<MailboxInfo>,
}
