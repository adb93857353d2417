//! Commands (RFC 5228 §3–4 and the action extensions): argument checks and IR building.

use super::Context;
use super::args::{self, Args, TagSpec, flag, with_list, with_number, with_str};
use super::conditions::test;
use super::strings::var_name;
use crate::CompileError;
use crate::ast::CommandNode;
use crate::ir::{Command, FlagOp, Modifier, Period, Test, VacationCmd};

fn no_block(node: &CommandNode) -> Result<(), CompileError> {
    if let Some(t) = node.tests.first() {
        return Err(t.pos.error(format!("{} does not take a test", node.name)));
    }
    if node.block.is_some() {
        return Err(node
            .pos
            .error(format!("{} does not take a block", node.name)));
    }
    Ok(())
}

fn split<'a>(
    cx: &Context,
    node: &'a CommandNode,
    specs: &[&[TagSpec]],
) -> Result<Args<'a>, CompileError> {
    no_block(node)?;
    args::split(cx, &node.name, node.pos, &node.args, specs)
}

/// `if`/`elsif`: one test and a block.
pub fn conditional(
    cx: &mut Context,
    node: &CommandNode,
) -> Result<(Test, Vec<Command>), CompileError> {
    if let Some(a) = node.args.first() {
        return Err(a
            .pos()
            .error(format!("{} takes a test, not arguments", node.name)));
    }
    let t = match node.tests.as_slice() {
        [t] if !node.test_list => test(cx, t)?,
        _ => {
            return Err(node
                .pos
                .error(format!("{} needs exactly one test", node.name)));
        }
    };
    let Some(body) = &node.block else {
        return Err(node.pos.error(format!("{} needs a block", node.name)));
    };
    Ok((t, super::block(cx, body)?))
}

pub fn else_block(cx: &mut Context, node: &CommandNode) -> Result<Vec<Command>, CompileError> {
    if let Some(a) = node.args.first() {
        return Err(a.pos().error("else takes no arguments"));
    }
    if let Some(t) = node.tests.first() {
        return Err(t.pos.error("else takes no test"));
    }
    let Some(body) = &node.block else {
        return Err(node.pos.error("else needs a block"));
    };
    super::block(cx, body)
}

const FLAGS: TagSpec = with_list("flags", Some("imap4flags"));

pub fn command(cx: &mut Context, node: &CommandNode) -> Result<Command, CompileError> {
    let pos = node.pos;
    let name = node.name.as_str();
    Ok(match name {
        "stop" | "discard" => {
            let a = split(cx, node, &[])?;
            a.expect_count(0)?;
            if name == "stop" {
                Command::Stop
            } else {
                Command::Discard
            }
        }
        "keep" => {
            let a = split(cx, node, &[&[FLAGS]])?;
            a.expect_count(0)?;
            Command::Keep {
                flags: a.tag_list("flags").map(|l| cx.strs(l)).transpose()?,
            }
        }
        "fileinto" => {
            cx.need("fileinto", "fileinto", pos)?;
            let a = split(
                cx,
                node,
                &[&[
                    FLAGS,
                    flag("copy", Some("copy"), ""),
                    flag("create", Some("mailbox"), ""),
                ]],
            )?;
            a.expect_count(1)?;
            Command::FileInto {
                mailbox: cx.string(a.string(0, "the mailbox")?)?,
                copy: a.has("copy"),
                create: a.has("create"),
                flags: a.tag_list("flags").map(|l| cx.strs(l)).transpose()?,
            }
        }
        "redirect" => {
            let a = split(cx, node, &[&[flag("copy", Some("copy"), "")]])?;
            a.expect_count(1)?;
            let lit = a.string(0, "the address")?;
            let address = cx.string(lit)?;
            if let Some(c) = address.constant()
                && !plausible_address(&c)
            {
                return Err(lit.pos.error(format!("redirect: invalid address \"{c}\"")));
            }
            Command::Redirect {
                address,
                copy: a.has("copy"),
            }
        }
        "reject" | "ereject" => {
            cx.need(name, name, pos)?;
            let a = split(cx, node, &[])?;
            a.expect_count(1)?;
            Command::Reject {
                reason: cx.string(a.string(0, "the reason")?)?,
                extended: name == "ereject",
            }
        }
        "setflag" | "addflag" | "removeflag" => {
            cx.need("imap4flags", name, pos)?;
            let a = split(cx, node, &[])?;
            let op = match name {
                "setflag" => FlagOp::Set,
                "addflag" => FlagOp::Add,
                _ => FlagOp::Remove,
            };
            let (variable, flags) = match a.positional.len() {
                1 => (None, a.strings(0, "the flags")?),
                2 => {
                    let v = a.string(0, "the variable name")?;
                    cx.need("variables", "a flag variable", v.pos)?;
                    (
                        Some(var_name(&cx.constant(v)?, v.pos)?),
                        a.strings(1, "the flags")?,
                    )
                }
                _ => {
                    a.expect_count(1)?;
                    unreachable!()
                }
            };
            Command::Flags {
                op,
                variable,
                flags: cx.strs(flags)?,
            }
        }
        "set" => set(cx, node)?,
        "vacation" => vacation(cx, node)?,
        "include" => {
            cx.need("include", "include", pos)?;
            let a = split(
                cx,
                node,
                &[&[
                    flag("personal", None, "location"),
                    flag("global", None, "location"),
                    flag("once", None, ""),
                    flag("optional", None, ""),
                ]],
            )?;
            a.expect_count(1)?;
            let lit = a.string(0, "the script name")?;
            let script = cx.constant(lit)?;
            if script.is_empty() || script.contains('/') || script.contains('\0') {
                return Err(lit
                    .pos
                    .error(format!("include: invalid script name \"{script}\"")));
            }
            let global = a.has("global");
            if !cx.includes.contains(&(script.clone(), global)) {
                cx.includes.push((script.clone(), global));
            }
            Command::Include {
                name: script,
                global,
                once: a.has("once"),
                optional: a.has("optional"),
            }
        }
        "return" => {
            cx.need("include", "return", pos)?;
            let a = split(cx, node, &[])?;
            a.expect_count(0)?;
            Command::Return
        }
        "global" => {
            cx.need("include", "global", pos)?;
            cx.need("variables", "global", pos)?;
            let a = split(cx, node, &[])?;
            a.expect_count(1)?;
            let mut names = Vec::new();
            for lit in a.strings(0, "the variable names")? {
                let v = var_name(&cx.constant(lit)?, lit.pos)?;
                if v.namespace.is_some() {
                    return Err(lit.pos.error("global: give the name without a namespace"));
                }
                names.push(v.name);
            }
            Command::Global(names)
        }
        _ => return Err(pos.error(format!("unknown command \"{name}\""))),
    })
}

fn plausible_address(a: &str) -> bool {
    let a = a.trim();
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !a.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    }
}

fn set(cx: &mut Context, node: &CommandNode) -> Result<Command, CompileError> {
    cx.need("variables", "set", node.pos)?;
    const MODS: [TagSpec; 6] = [
        flag("lower", None, "case"),
        flag("upper", None, "case"),
        flag("lowerfirst", None, "first"),
        flag("upperfirst", None, "first"),
        flag("quotewildcard", None, ""),
        flag("length", None, ""),
    ];
    let a = split(cx, node, &[&MODS])?;
    a.expect_count(2)?;
    let lit = a.string(0, "the variable name")?;
    let name = var_name(&cx.constant(lit)?, lit.pos)?;
    let mut modifiers: Vec<Modifier> = a
        .tags
        .iter()
        .map(|t| match t.name {
            "lower" => Modifier::Lower,
            "upper" => Modifier::Upper,
            "lowerfirst" => Modifier::LowerFirst,
            "upperfirst" => Modifier::UpperFirst,
            "quotewildcard" => Modifier::QuoteWildcard,
            _ => Modifier::Length,
        })
        .collect();
    modifiers.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
    Ok(Command::Set {
        name,
        modifiers,
        value: cx.string(a.string(1, "the value")?)?,
    })
}

fn vacation(cx: &mut Context, node: &CommandNode) -> Result<Command, CompileError> {
    cx.need("vacation", "vacation", node.pos)?;
    let a = split(
        cx,
        node,
        &[&[
            with_number("days", None, "period"),
            with_number("seconds", Some("vacation-seconds"), "period"),
            with_str("subject", None),
            with_str("from", None),
            with_list("addresses", None),
            flag("mime", None, ""),
            with_str("handle", None),
        ]],
    )?;
    a.expect_count(1)?;
    let period = match (a.tag_number("days"), a.tag_number("seconds")) {
        (Some(d), _) => Period::Days(d),
        (None, Some(s)) => Period::Seconds(s),
        (None, None) => Period::Days(7),
    };
    let opt = |name: &str| a.tag_str(name).map(|l| cx.string(l)).transpose();
    Ok(Command::Vacation(Box::new(VacationCmd {
        period,
        subject: opt("subject")?,
        from: opt("from")?,
        addresses: a
            .tag_list("addresses")
            .map(|l| cx.strs(l))
            .transpose()?
            .unwrap_or_default(),
        mime: a.has("mime"),
        handle: opt("handle")?,
        reason: cx.string(a.string(0, "the reason")?)?,
    })))
}
