//! Argument checking shared by commands and tests: tagged arguments (with the values they
//! take) are separated from positional ones, and the common groups (comparator, match type,
//! address part, index) are resolved.

use super::Context;
use crate::CompileError;
use crate::ast::{Argument, StrLit};
use crate::comparator::Comparator;
use crate::ir::{AddressPart, Index, MatchSpec, Str};
use crate::lexer::Pos;
use crate::match_type::{MatchType, RelOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flag,
    Str,
    StrList,
    Number,
}

/// A tag a command or test accepts: name (without ':'), its value, the capability it needs,
/// and its group (at most one tag per non-empty group).
#[derive(Debug, Clone, Copy)]
pub struct TagSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub cap: Option<&'static str>,
    pub group: &'static str,
}

const fn tag(
    name: &'static str,
    kind: Kind,
    cap: Option<&'static str>,
    group: &'static str,
) -> TagSpec {
    TagSpec {
        name,
        kind,
        cap,
        group,
    }
}

pub const COMPARATOR: TagSpec = tag("comparator", Kind::Str, None, "comparator");
pub const MATCH: [TagSpec; 5] = [
    tag("is", Kind::Flag, None, "match"),
    tag("contains", Kind::Flag, None, "match"),
    tag("matches", Kind::Flag, None, "match"),
    tag("value", Kind::Str, Some("relational"), "match"),
    tag("count", Kind::Str, Some("relational"), "match"),
];
pub const ADDRESS_PART: [TagSpec; 5] = [
    tag("all", Kind::Flag, None, "address-part"),
    tag("localpart", Kind::Flag, None, "address-part"),
    tag("domain", Kind::Flag, None, "address-part"),
    tag("user", Kind::Flag, Some("subaddress"), "address-part"),
    tag("detail", Kind::Flag, Some("subaddress"), "address-part"),
];
pub const INDEX: [TagSpec; 2] = [
    tag("index", Kind::Number, Some("index"), "index"),
    tag("last", Kind::Flag, Some("index"), "last"),
];

pub const fn flag(name: &'static str, cap: Option<&'static str>, group: &'static str) -> TagSpec {
    tag(name, Kind::Flag, cap, group)
}
pub const fn with_str(name: &'static str, cap: Option<&'static str>) -> TagSpec {
    tag(name, Kind::Str, cap, "")
}
pub const fn with_list(name: &'static str, cap: Option<&'static str>) -> TagSpec {
    tag(name, Kind::StrList, cap, "")
}
pub const fn with_number(
    name: &'static str,
    cap: Option<&'static str>,
    group: &'static str,
) -> TagSpec {
    tag(name, Kind::Number, cap, group)
}

/// A tagged argument as found.
pub struct Found<'a> {
    pub name: &'static str,
    pub pos: Pos,
    pub value: Option<&'a Argument>,
}

/// Arguments of one command or test, split.
pub struct Args<'a> {
    pub what: &'a str,
    pub pos: Pos,
    pub tags: Vec<Found<'a>>,
    pub positional: Vec<&'a Argument>,
}

pub fn split<'a>(
    cx: &Context,
    what: &'a str,
    pos: Pos,
    args: &'a [Argument],
    specs: &[&[TagSpec]],
) -> Result<Args<'a>, CompileError> {
    let mut out = Args {
        what,
        pos,
        tags: Vec::new(),
        positional: Vec::new(),
    };
    let mut groups: Vec<&'static str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Argument::Tag(name, tpos) = arg else {
            out.positional.push(arg);
            continue;
        };
        let spec = specs
            .iter()
            .flat_map(|s| s.iter())
            .find(|s| s.name == name)
            .ok_or_else(|| tpos.error(format!("unknown tagged argument :{name} for {what}")))?;
        if let Some(cap) = spec.cap {
            cx.need(cap, &format!(":{name}"), *tpos)?;
        }
        if out.tags.iter().any(|t| t.name == spec.name) {
            return Err(tpos.error(format!("duplicate tagged argument :{name}")));
        }
        if !spec.group.is_empty() {
            if groups.contains(&spec.group) {
                return Err(tpos.error(format!(
                    ":{name} conflicts with another {} argument",
                    spec.group
                )));
            }
            groups.push(spec.group);
        }
        let value = match spec.kind {
            Kind::Flag => None,
            kind => {
                let v = it
                    .next()
                    .ok_or_else(|| tpos.error(format!(":{name} needs a value")))?;
                let ok = matches!(
                    (kind, v),
                    (Kind::Number, Argument::Number(..))
                        | (Kind::Str, Argument::Strings { is_list: false, .. })
                        | (Kind::StrList, Argument::Strings { .. })
                );
                if !ok {
                    let expected = match kind {
                        Kind::Number => "a number",
                        Kind::Str => "a string",
                        _ => "a string list",
                    };
                    return Err(v.pos().error(format!(":{name} needs {expected}")));
                }
                Some(v)
            }
        };
        out.tags.push(Found {
            name: spec.name,
            pos: *tpos,
            value,
        });
    }
    Ok(out)
}

impl<'a> Args<'a> {
    pub fn tag(&self, name: &str) -> Option<&Found<'a>> {
        self.tags.iter().find(|t| t.name == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.tag(name).is_some()
    }

    pub fn tag_str(&self, name: &str) -> Option<&'a StrLit> {
        match self.tag(name)?.value? {
            Argument::Strings { items, .. } => items.first(),
            _ => None,
        }
    }

    pub fn tag_list(&self, name: &str) -> Option<&'a [StrLit]> {
        match self.tag(name)?.value? {
            Argument::Strings { items, .. } => Some(items),
            _ => None,
        }
    }

    pub fn tag_number(&self, name: &str) -> Option<u64> {
        match self.tag(name)?.value? {
            Argument::Number(n, _) => Some(*n),
            _ => None,
        }
    }

    /// Errors unless there are exactly `n` positional arguments.
    pub fn expect_count(&self, n: usize) -> Result<(), CompileError> {
        if self.positional.len() == n {
            return Ok(());
        }
        let pos = self.positional.get(n).map(|a| a.pos()).unwrap_or(self.pos);
        Err(pos.error(format!(
            "{} takes {n} positional argument{}, found {}",
            self.what,
            if n == 1 { "" } else { "s" },
            self.positional.len()
        )))
    }

    pub fn strings(&self, i: usize, what: &str) -> Result<&'a [StrLit], CompileError> {
        match self.positional.get(i) {
            Some(Argument::Strings { items, .. }) => Ok(items),
            Some(a) => Err(a
                .pos()
                .error(format!("{}: {what} must be a string list", self.what))),
            None => Err(self.pos.error(format!("{}: missing {what}", self.what))),
        }
    }

    pub fn string(&self, i: usize, what: &str) -> Result<&'a StrLit, CompileError> {
        match self.positional.get(i) {
            Some(Argument::Strings {
                items,
                is_list: false,
                ..
            }) => Ok(&items[0]),
            Some(a) => Err(a
                .pos()
                .error(format!("{}: {what} must be a string", self.what))),
            None => Err(self.pos.error(format!("{}: missing {what}", self.what))),
        }
    }

    pub fn number(&self, i: usize, what: &str) -> Result<u64, CompileError> {
        match self.positional.get(i) {
            Some(Argument::Number(n, _)) => Ok(*n),
            Some(a) => Err(a
                .pos()
                .error(format!("{}: {what} must be a number", self.what))),
            None => Err(self.pos.error(format!("{}: missing {what}", self.what))),
        }
    }
}

impl Context {
    pub fn strs(&self, items: &[StrLit]) -> Result<Vec<Str>, CompileError> {
        items.iter().map(|l| self.string(l)).collect()
    }

    /// The comparator and match type of a test (defaults `i;ascii-casemap`, `:is`).
    pub fn match_spec(&self, args: &Args) -> Result<MatchSpec, CompileError> {
        self.match_spec_default(args, Comparator::AsciiCasemap)
    }

    pub fn match_spec_default(
        &self,
        args: &Args,
        default: Comparator,
    ) -> Result<MatchSpec, CompileError> {
        let comparator = match args.tag_str("comparator") {
            None => default,
            Some(lit) => {
                let name = self.constant(lit)?;
                let (c, cap) = Comparator::from_name(&name)
                    .ok_or_else(|| lit.pos.error(format!("unknown comparator \"{name}\"")))?;
                if c == Comparator::AsciiNumeric {
                    self.need(cap, "comparator \"i;ascii-numeric\"", lit.pos)?;
                }
                c
            }
        };
        let mut match_type = MatchType::Is;
        for t in &args.tags {
            match_type = match t.name {
                "is" => MatchType::Is,
                "contains" => MatchType::Contains,
                "matches" => MatchType::Matches,
                "value" | "count" => {
                    let lit = args.tag_str(t.name).expect("checked by split");
                    let op = RelOp::from_name(&self.constant(lit)?).ok_or_else(|| {
                        lit.pos
                            .error(format!("unknown relational operator \"{}\"", lit.value))
                    })?;
                    if t.name == "value" {
                        MatchType::Value(op)
                    } else {
                        MatchType::Count(op)
                    }
                }
                _ => continue,
            };
            if matches!(match_type, MatchType::Contains | MatchType::Matches)
                && !comparator.supports_substring()
            {
                return Err(t
                    .pos
                    .error(format!(":{} cannot be used with this comparator", t.name)));
            }
        }
        Ok(MatchSpec {
            comparator,
            match_type,
        })
    }

    pub fn address_part(&self, args: &Args) -> AddressPart {
        for t in &args.tags {
            return match t.name {
                "all" => AddressPart::All,
                "localpart" => AddressPart::LocalPart,
                "domain" => AddressPart::Domain,
                "user" => AddressPart::User,
                "detail" => AddressPart::Detail,
                _ => continue,
            };
        }
        AddressPart::All
    }

    pub fn index(&self, args: &Args) -> Result<Option<Index>, CompileError> {
        let last = args.tag("last");
        match args.tag_number("index") {
            None => match last {
                Some(t) => Err(t.pos.error(":last requires :index")),
                None => Ok(None),
            },
            Some(0) => Err(args
                .tag("index")
                .map(|t| t.pos)
                .unwrap_or(args.pos)
                .error(":index must be at least 1")),
            Some(n) => Ok(Some(Index {
                n,
                last: last.is_some(),
            })),
        }
    }
}
