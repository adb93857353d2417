//! Tests (RFC 5228 §5 and the test extensions): argument checks and IR building.

use super::Context;
use super::args::{
    self, ADDRESS_PART, COMPARATOR, INDEX, MATCH, TagSpec, flag, with_list, with_str,
};
use crate::CompileError;
use crate::ast::TestNode;
use crate::comparator::Comparator;
use crate::ir::{BodyTransform, DatePart, Str, Test, Zone};
use crate::lexer::Pos;
use crate::match_type::MatchType;

fn no_subtests(node: &TestNode) -> Result<(), CompileError> {
    match node.tests.first() {
        Some(t) => Err(t.pos.error(format!("{} does not take a test", node.name))),
        None => Ok(()),
    }
}

pub fn test(cx: &mut Context, node: &TestNode) -> Result<Test, CompileError> {
    let pos = node.pos;
    let name = node.name.as_str();
    let split = |cx: &Context, specs: &[&[TagSpec]]| {
        no_subtests(node)?;
        args::split(cx, name, pos, &node.args, specs)
    };
    Ok(match name {
        "true" | "false" => {
            split(cx, &[])?.expect_count(0)?;
            if name == "true" {
                Test::True
            } else {
                Test::False
            }
        }
        "not" => {
            if let Some(a) = node.args.first() {
                return Err(a.pos().error("not takes a test, not arguments"));
            }
            match node.tests.as_slice() {
                [t] => Test::Not(Box::new(test(cx, t)?)),
                _ => return Err(pos.error("not needs exactly one test")),
            }
        }
        "allof" | "anyof" => {
            if let Some(a) = node.args.first() {
                return Err(a
                    .pos()
                    .error(format!("{name} takes a test list, not arguments")));
            }
            if node.tests.is_empty() {
                return Err(pos.error(format!("{name} needs a test list")));
            }
            let tests = node
                .tests
                .iter()
                .map(|t| test(cx, t))
                .collect::<Result<Vec<_>, _>>()?;
            if name == "allof" {
                Test::AllOf(tests)
            } else {
                Test::AnyOf(tests)
            }
        }
        "exists" => {
            let a = split(cx, &[])?;
            a.expect_count(1)?;
            Test::Exists(header_names(cx, a.strings(0, "the header names")?)?)
        }
        "size" => {
            let a = split(
                cx,
                &[&[flag("over", None, "size"), flag("under", None, "size")]],
            )?;
            a.expect_count(1)?;
            if !a.has("over") && !a.has("under") {
                return Err(pos.error("size needs :over or :under"));
            }
            Test::Size {
                over: a.has("over"),
                limit: a.number(0, "the size")?,
            }
        }
        "header" => {
            let a = split(cx, &[&[COMPARATOR], &MATCH, &INDEX])?;
            a.expect_count(2)?;
            Test::Header {
                names: header_names(cx, a.strings(0, "the header names")?)?,
                keys: cx.strs(a.strings(1, "the key list")?)?,
                spec: cx.match_spec(&a)?,
                index: cx.index(&a)?,
            }
        }
        "address" => {
            let a = split(cx, &[&[COMPARATOR], &MATCH, &ADDRESS_PART, &INDEX])?;
            a.expect_count(2)?;
            Test::Address {
                part: cx.address_part(&a),
                names: header_names(cx, a.strings(0, "the header names")?)?,
                keys: cx.strs(a.strings(1, "the key list")?)?,
                spec: cx.match_spec(&a)?,
                index: cx.index(&a)?,
            }
        }
        "envelope" => {
            cx.need("envelope", "envelope", pos)?;
            let a = split(cx, &[&[COMPARATOR], &MATCH, &ADDRESS_PART])?;
            a.expect_count(2)?;
            let parts = a.strings(0, "the envelope parts")?;
            for p in parts {
                if let Some(c) = cx.string(p)?.constant()
                    && !["from", "to", "auth"].contains(&c.to_ascii_lowercase().as_str())
                {
                    return Err(p.pos.error(format!("unknown envelope part \"{c}\"")));
                }
            }
            Test::Envelope {
                part: cx.address_part(&a),
                names: cx.strs(parts)?,
                keys: cx.strs(a.strings(1, "the key list")?)?,
                spec: cx.match_spec(&a)?,
            }
        }
        "body" => {
            cx.need("body", "body", pos)?;
            let a = split(
                cx,
                &[
                    &[COMPARATOR],
                    &MATCH,
                    &[
                        flag("raw", None, "transform"),
                        args::TagSpec {
                            group: "transform",
                            ..with_list("content", None)
                        },
                        flag("text", None, "transform"),
                    ],
                ],
            )?;
            a.expect_count(1)?;
            let transform = if a.has("raw") {
                BodyTransform::Raw
            } else if let Some(types) = a.tag_list("content") {
                BodyTransform::Content(cx.strs(types)?)
            } else {
                BodyTransform::Text
            };
            let spec = cx.match_spec(&a)?;
            if matches!(spec.match_type, MatchType::Count(_)) {
                return Err(a
                    .tag("count")
                    .map(|t| t.pos)
                    .unwrap_or(pos)
                    .error("body does not support :count"));
            }
            Test::Body {
                transform,
                keys: cx.strs(a.strings(0, "the key list")?)?,
                spec,
            }
        }
        "string" => {
            cx.need("variables", "string", pos)?;
            let a = split(cx, &[&[COMPARATOR], &MATCH])?;
            a.expect_count(2)?;
            Test::String {
                sources: cx.strs(a.strings(0, "the source strings")?)?,
                keys: cx.strs(a.strings(1, "the key list")?)?,
                spec: cx.match_spec(&a)?,
            }
        }
        "hasflag" => {
            cx.need("imap4flags", "hasflag", pos)?;
            let a = split(cx, &[&[COMPARATOR], &MATCH])?;
            let spec = cx.match_spec(&a)?;
            match a.positional.len() {
                1 => Test::HasFlag {
                    variables: None,
                    keys: cx.strs(a.strings(0, "the flags")?)?,
                    spec,
                },
                2 => {
                    let vars = a.strings(0, "the variable names")?;
                    cx.need("variables", "a flag variable", vars[0].pos)?;
                    for v in vars {
                        super::strings::var_name(&cx.constant(v)?, v.pos)?;
                    }
                    Test::HasFlag {
                        variables: Some(cx.strs(vars)?),
                        keys: cx.strs(a.strings(1, "the flags")?)?,
                        spec,
                    }
                }
                _ => {
                    a.expect_count(1)?;
                    unreachable!()
                }
            }
        }
        "date" | "currentdate" => {
            cx.need("date", name, pos)?;
            let zone_tags: &[TagSpec] = if name == "date" {
                &[with_zone(), flag("originalzone", None, "zone")]
            } else {
                &[with_zone()]
            };
            let index: &[TagSpec] = if name == "date" { &INDEX } else { &[] };
            let a = split(cx, &[&[COMPARATOR], &MATCH, zone_tags, index])?;
            let zone = if let Some(z) = a.tag_str("zone") {
                let s = cx.string(z)?;
                if let Some(c) = s.constant()
                    && crate::date::parse_zone(&c).is_none()
                {
                    return Err(z.pos.error(format!("invalid zone \"{c}\"")));
                }
                Zone::Given(s)
            } else if a.has("originalzone") {
                Zone::Original
            } else {
                Zone::Local
            };
            let spec = cx.match_spec(&a)?;
            if name == "date" {
                a.expect_count(3)?;
                let header =
                    header_names(cx, std::slice::from_ref(a.string(0, "the header name")?))?
                        .remove(0);
                Test::Date {
                    zone,
                    header,
                    part: date_part(cx, a.string(1, "the date part")?)?,
                    keys: cx.strs(a.strings(2, "the key list")?)?,
                    spec,
                    index: cx.index(&a)?,
                }
            } else {
                a.expect_count(2)?;
                Test::CurrentDate {
                    zone,
                    part: date_part(cx, a.string(0, "the date part")?)?,
                    keys: cx.strs(a.strings(1, "the key list")?)?,
                    spec,
                }
            }
        }
        "mailboxexists" => {
            cx.need("mailbox", name, pos)?;
            let a = split(cx, &[])?;
            a.expect_count(1)?;
            Test::MailboxExists(cx.strs(a.strings(0, "the mailbox names")?)?)
        }
        "spamtest" | "virustest" => {
            cx.need(name, name, pos)?;
            let percent: &[TagSpec] = if name == "spamtest" {
                &[flag("percent", Some("spamtestplus"), "")]
            } else {
                &[]
            };
            let a = split(cx, &[&[COMPARATOR], &MATCH, percent])?;
            a.expect_count(1)?;
            let value = cx.string(a.string(0, "the value")?)?;
            let spec = cx.match_spec_default(&a, Comparator::AsciiCasemap)?;
            if name == "spamtest" {
                Test::Spam {
                    percent: a.has("percent"),
                    value,
                    spec,
                }
            } else {
                Test::Virus { value, spec }
            }
        }
        _ => return Err(pos.error(format!("unknown test \"{name}\""))),
    })
}

const fn with_zone() -> TagSpec {
    TagSpec {
        group: "zone",
        ..with_str("zone", None)
    }
}

/// Header names must be valid field names (RFC 5228 §5: an invalid one is an error).
fn header_names(cx: &Context, items: &[crate::ast::StrLit]) -> Result<Vec<Str>, CompileError> {
    let mut out = Vec::new();
    for lit in items {
        let s = cx.string(lit)?;
        if let Some(c) = s.constant()
            && (c.is_empty() || !c.bytes().all(|b| (33..=126).contains(&b) && b != b':'))
        {
            return Err(lit.pos.error(format!("invalid header name \"{c}\"")));
        }
        out.push(s);
    }
    Ok(out)
}

fn date_part(cx: &Context, lit: &crate::ast::StrLit) -> Result<DatePart, CompileError> {
    let s = cx.constant(lit)?;
    crate::date::part_from_name(&s).ok_or_else(|| err_part(lit.pos, &s))
}

fn err_part(pos: Pos, s: &str) -> CompileError {
    pos.error(format!("unknown date part \"{s}\""))
}
