//! The checked program a [`crate::Script`] holds: commands and tests with typed arguments.
//!
//! Invariants (established by `compile`): every extension a node needs was required by its
//! script; match types are valid for their comparator (no `:contains`/`:matches` with
//! `i;ascii-numeric`); variable names are syntactically valid.

use crate::comparator::Comparator;
use crate::match_type::MatchType;

/// One piece of a string with variable references (RFC 5229 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    /// A named variable, lower-cased; `global.x` is stored as namespace "global", name "x".
    Var {
        namespace: Option<String>,
        name: String,
    },
    /// A match variable `${N}`.
    Match(usize),
}

/// A string argument: constant, or with variable references to expand at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str {
    pub pieces: Vec<Piece>,
}

impl Str {
    pub fn lit(s: impl Into<String>) -> Str {
        Str {
            pieces: vec![Piece::Lit(s.into())],
        }
    }

    /// The value when it holds no variable reference.
    pub fn constant(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSpec {
    pub comparator: Comparator,
    pub match_type: MatchType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    All,
    LocalPart,
    Domain,
    User,
    Detail,
}

/// RFC 5260 §6 `:index N [:last]` (N ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub n: u64,
    pub last: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    Raw,
    Content(Vec<Str>),
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zone {
    /// The local zone (of the environment's clock).
    Local,
    /// `:originalzone`: the zone written in the header.
    Original,
    /// `:zone "+hhmm"`.
    Given(Str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    Day,
    Date,
    Julian,
    Hour,
    Minute,
    Second,
    Time,
    Iso8601,
    Std11,
    Zone,
    Weekday,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    True,
    False,
    Not(Box<Test>),
    AllOf(Vec<Test>),
    AnyOf(Vec<Test>),
    Exists(Vec<Str>),
    Header {
        names: Vec<Str>,
        keys: Vec<Str>,
        spec: MatchSpec,
        index: Option<Index>,
    },
    Address {
        part: AddressPart,
        names: Vec<Str>,
        keys: Vec<Str>,
        spec: MatchSpec,
        index: Option<Index>,
    },
    Envelope {
        part: AddressPart,
        names: Vec<Str>,
        keys: Vec<Str>,
        spec: MatchSpec,
    },
    Size {
        over: bool,
        limit: u64,
    },
    Body {
        transform: BodyTransform,
        keys: Vec<Str>,
        spec: MatchSpec,
    },
    String {
        sources: Vec<Str>,
        keys: Vec<Str>,
        spec: MatchSpec,
    },
    HasFlag {
        variables: Option<Vec<Str>>,
        keys: Vec<Str>,
        spec: MatchSpec,
    },
    Date {
        zone: Zone,
        header: Str,
        part: DatePart,
        keys: Vec<Str>,
        spec: MatchSpec,
        index: Option<Index>,
    },
    CurrentDate {
        zone: Zone,
        part: DatePart,
        keys: Vec<Str>,
        spec: MatchSpec,
    },
    MailboxExists(Vec<Str>),
    Spam {
        percent: bool,
        value: Str,
        spec: MatchSpec,
    },
    Virus {
        value: Str,
        spec: MatchSpec,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Set,
    Add,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    Length,
}

impl Modifier {
    /// RFC 5229 §4.1 precedence: higher values are applied first.
    pub fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard => 20,
            Modifier::Length => 10,
        }
    }
}

/// A variable name as written in `set`, `global` or imap4flags commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarName {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u64),
    Seconds(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacationCmd {
    pub period: Period,
    pub subject: Option<Str>,
    pub from: Option<Str>,
    pub addresses: Vec<Str>,
    pub mime: bool,
    pub handle: Option<Str>,
    pub reason: Str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    If {
        branches: Vec<(Test, Vec<Command>)>,
        otherwise: Option<Vec<Command>>,
    },
    Stop,
    Keep {
        flags: Option<Vec<Str>>,
    },
    Discard,
    FileInto {
        mailbox: Str,
        copy: bool,
        create: bool,
        flags: Option<Vec<Str>>,
    },
    Redirect {
        address: Str,
        copy: bool,
    },
    Reject {
        reason: Str,
        extended: bool,
    },
    Flags {
        op: FlagOp,
        variable: Option<VarName>,
        flags: Vec<Str>,
    },
    Set {
        name: VarName,
        modifiers: Vec<Modifier>,
        value: Str,
    },
    Vacation(Box<VacationCmd>),
    Include {
        name: String,
        global: bool,
        once: bool,
        optional: bool,
    },
    Return,
    Global(Vec<String>),
}

/// A compiled script body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub commands: Vec<Command>,
    /// The script required "variables" (match variables are recorded only then).
    pub variables: bool,
}
