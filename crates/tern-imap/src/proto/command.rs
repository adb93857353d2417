//! The IMAP command AST: what the parser (`proto::parse`) produces and the session executes.
//! Types hold decoded values: mailbox names are UTF-8 (modified UTF-7 already decoded,
//! `INBOX` canonicalized), strings are bytes as sent.

/// One tagged command line (with its literals) as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

/// A sequence set element bound: a number or `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqBound {
    Num(u32),
    /// `*`: the largest number in use.
    Star,
}

/// A sequence set (RFC 9051 `sequence-set`), or `$` (RFC 5182 SEARCHRES saved result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceSet {
    Ranges(Vec<(SeqBound, SeqBound)>),
    Saved,
}

/// Whether a command addresses messages by sequence number or by UID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Seq,
    Uid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    // any state
    Capability,
    Noop,
    Logout,
    Id(Option<Vec<(String, Option<String>)>>),
    // not authenticated
    StartTls,
    Login {
        username: Vec<u8>,
        password: Vec<u8>,
    },
    /// `initial`: SASL-IR initial response, base64-decoded (`=` → empty).
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    // authenticated
    Enable(Vec<String>),
    Select {
        mailbox: String,
        mode: SelectMode,
        params: SelectParams,
    },
    Create {
        mailbox: String,
        special_use: Vec<String>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List(ListCommand),
    /// LSUB (IMAP4rev1 only).
    Lsub {
        reference: String,
        pattern: String,
    },
    Namespace,
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Idle,
    GetQuota(String),
    GetQuotaRoot(String),
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },
    GetAcl(String),
    SetAcl {
        mailbox: String,
        identifier: String,
        rights: String,
    },
    DeleteAcl {
        mailbox: String,
        identifier: String,
    },
    ListRights {
        mailbox: String,
        identifier: String,
    },
    MyRights(String),
    /// `mailbox` empty = server entries.
    GetMetadata {
        mailbox: String,
        options: MetadataOptions,
        entries: Vec<String>,
    },
    SetMetadata {
        mailbox: String,
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
    Notify(NotifyCommand),
    Compress(String),
    // selected
    Close,
    Unselect,
    Expunge,
    UidExpunge(SequenceSet),
    Search {
        by: By,
        search: SearchCommand,
    },
    Sort {
        by: By,
        criteria: Vec<SortKey>,
        charset: String,
        search: SearchCommand,
    },
    Thread {
        by: By,
        algorithm: ThreadAlgorithm,
        charset: String,
        search: SearchCommand,
    },
    Fetch {
        by: By,
        set: SequenceSet,
        items: FetchItems,
        modifiers: FetchModifiers,
    },
    Store {
        by: By,
        set: SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<String>,
        unchanged_since: Option<u64>,
    },
    Copy {
        by: By,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        by: By,
        set: SequenceSet,
        mailbox: String,
    },
    /// DONE is not a command; the session reads it during IDLE.
    Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectMode {
    Select,
    Examine,
}

/// RFC 7162 SELECT parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectParams {
    pub condstore: bool,
    pub qresync: Option<QresyncParams>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QresyncParams {
    pub uidvalidity: u32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
    /// (known sequence numbers, corresponding UIDs)
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST with RFC 5258 LIST-EXTENDED selection/return options and RFC 5819 LIST-STATUS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommand {
    pub reference: String,
    /// One or more patterns (LIST-EXTENDED allows a parenthesized list).
    pub patterns: Vec<String>,
    pub select_subscribed: bool,
    pub select_remote: bool,
    pub select_recursive_match: bool,
    pub select_special_use: bool,
    pub return_subscribed: bool,
    pub return_children: bool,
    pub return_special_use: bool,
    pub return_status: Option<Vec<StatusItem>>,
    /// Whether the extended syntax was used (affects some responses).
    pub extended: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    Size,
    HighestModSeq,
    AppendLimit,
    MailboxId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<String>,
    /// INTERNALDATE as given: (unix seconds, zone offset minutes).
    pub date: Option<(i64, i16)>,
    /// The message bytes (the literal, or the literal8 with `binary`).
    pub data: Vec<u8>,
    /// Sent as `~{n}` literal8 (RFC 3516): may contain NUL.
    pub binary: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataOptions {
    pub max_size: Option<u64>,
    /// 0, 1, or `None` for infinity. Absent DEPTH means 0.
    pub depth: Option<u32>,
}

/// RFC 5465 NOTIFY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyCommand {
    None,
    Set {
        status: bool,
        groups: Vec<NotifyGroup>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyGroup {
    pub filter: NotifyFilter,
    /// Empty = `NONE` (no events for this filter).
    pub events: Vec<NotifyEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyFilter {
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyEvent {
    MessageNew(Option<FetchItems>),
    MessageExpunge,
    FlagChange,
    AnnotationChange,
    MailboxName,
    SubscriptionChange,
    MailboxMetadataChange,
    ServerMetadataChange,
}

/// SEARCH with RFC 4731/9051 RETURN options and charset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCommand {
    /// `None`: plain (IMAP4rev1) SEARCH response; `Some(empty)`: `RETURN ()` = ALL.
    pub return_opts: Option<Vec<SearchReturn>>,
    pub charset: Option<String>,
    /// The criteria, ANDed.
    pub criteria: Vec<SearchKey>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// RFC 9051 §6.4.4 search keys, plus MODSEQ (RFC 7162), WITHIN (RFC 5032),
/// OBJECTID keys (RFC 8474) and `$`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    /// Dates are days since the Unix epoch (date only, no zone).
    Before(i64),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    Header(String, Vec<u8>),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(i64),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(i64),
    SentOn(i64),
    SentSince(i64),
    Since(i64),
    Smaller(u64),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set (or `$`).
    SeqSet(SequenceSet),
    /// Parenthesized list: AND.
    And(Vec<SearchKey>),
    /// RFC 7162: MODSEQ [entry-name entry-type] value.
    ModSeq(u64),
    /// RFC 5032: seconds.
    Older(u64),
    Younger(u64),
    /// RFC 8474.
    EmailId(String),
    ThreadId(String),
}

/// RFC 5256 / RFC 5957 sort criteria.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub reverse: bool,
    pub field: SortField,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Add,
    Remove,
    Replace,
}

/// FETCH attributes. Macros (ALL, FAST, FULL) are expanded by the parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchItems(pub Vec<FetchAttr>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    /// RFC822.SIZE
    Rfc822Size,
    /// RFC822 (= BODY[]), RFC822.HEADER (= BODY.PEEK[HEADER]), RFC822.TEXT (= BODY[TEXT]):
    /// kept distinct because the response names them so.
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    /// BODY (non-extensible BODYSTRUCTURE)
    Body,
    BodyStructure,
    Uid,
    /// BODY[section]<partial> / BODY.PEEK[...]
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<(u64, u64)>,
    },
    /// RFC 3516 BINARY[part]<partial> / BINARY.PEEK
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u64, u64)>,
    },
    BinarySize {
        part: Vec<u32>,
    },
    ModSeq,
    /// RFC 8474
    EmailId,
    ThreadId,
    /// RFC 8970: PREVIEW, with LAZY modifier
    Preview {
        lazy: bool,
    },
    /// RFC 9051 SAVEDATE (not stored: NIL)
    SaveDate,
}

/// BODY[...] section spec (RFC 9051 `section`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Part numbers, e.g. [1, 2] for `1.2`; empty = the whole message.
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// HEADER.FIELDS / HEADER.FIELDS.NOT (field names as sent, compared case-insensitively)
    HeaderFields {
        not: bool,
        fields: Vec<String>,
    },
    Text,
    /// MIME (only with a part number)
    Mime,
}

/// FETCH modifiers (RFC 7162 CHANGEDSINCE, VANISHED).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    pub vanished: bool,
}
