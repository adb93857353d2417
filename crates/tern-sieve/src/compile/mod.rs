//! The compile step: generic syntax tree → checked [`Program`].
//!
//! Checks (each a [`CompileError`] with the position of the offending token): `require`
//! lists only capabilities in [`crate::EXTENSIONS`] and comes before any other command;
//! every command, test and tagged argument is known and its extension was required; the
//! positional arguments have the right count and types; `elsif`/`else` follow an `if`.
//!
//! Strings are resolved here: encoded-character (RFC 5228 §2.4.2.4) is decoded when
//! required, and with "variables" a string is split into literal pieces and `${...}`
//! references (RFC 5229 §3) so the interpreter never re-parses it.

mod args;
mod commands;
mod conditions;
mod strings;

pub(crate) use strings::var_name;

use std::collections::HashSet;

use crate::ast::{Argument, CommandNode};
use crate::ir::{Command, Program};
use crate::lexer::{self, Pos};
use crate::{CompileError, CompileOptions, EXTENSIONS};

/// What the script required, and what compile has collected so far.
pub(crate) struct Context {
    caps: HashSet<String>,
    pub includes: Vec<(String, bool)>,
}

impl Context {
    pub fn has(&self, cap: &str) -> bool {
        self.caps.contains(cap)
    }

    /// Errors at `pos` unless `cap` was required.
    pub fn need(&self, cap: &str, what: &str, pos: Pos) -> Result<(), CompileError> {
        if self.has(cap) {
            Ok(())
        } else {
            Err(pos.error(format!("{what} requires \"{cap}\" in a require command")))
        }
    }

    pub fn variables(&self) -> bool {
        self.has("variables")
    }
}

/// Compiles `source`; also returns the `include` targets.
pub(crate) fn compile_program(
    source: &str,
    options: &CompileOptions,
) -> Result<(Program, Vec<(String, bool)>), CompileError> {
    if source.len() > options.max_script_size {
        return Err(Pos { line: 1, column: 1 }.error(format!(
            "script too large ({} bytes, at most {})",
            source.len(),
            options.max_script_size
        )));
    }
    let toks = lexer::tokenize(source)?;
    let end = end_pos(source);
    let nodes = crate::parser::parse(&toks, options.max_nesting, end)?;
    let mut cx = Context {
        caps: HashSet::new(),
        includes: Vec::new(),
    };
    let mut rest = nodes.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        if first.name != "require" {
            break;
        }
        require(&mut cx, first)?;
        rest = tail;
    }
    let commands = block(&mut cx, rest)?;
    let program = Program {
        commands,
        variables: cx.variables(),
    };
    Ok((program, cx.includes))
}

fn end_pos(source: &str) -> Pos {
    let line = source.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    let last = source.rsplit('\n').next().unwrap_or("");
    Pos {
        line,
        column: last.chars().count() as u32 + 1,
    }
}

fn require(cx: &mut Context, node: &CommandNode) -> Result<(), CompileError> {
    if node.block.is_some() || !node.tests.is_empty() {
        return Err(node.pos.error("require takes only a string list"));
    }
    let [Argument::Strings { items, .. }] = node.args.as_slice() else {
        return Err(node.pos.error("require takes one string list"));
    };
    for item in items {
        let cap = item.value.to_ascii_lowercase();
        if !EXTENSIONS.contains(&cap.as_str()) {
            return Err(item
                .pos
                .error(format!("unsupported extension \"{}\"", item.value)));
        }
        if cap == "spamtestplus" {
            cx.caps.insert("spamtest".into());
        }
        cx.caps.insert(cap);
    }
    Ok(())
}

/// Compiles a sequence of commands, grouping `if`/`elsif`/`else` chains.
pub(crate) fn block(cx: &mut Context, nodes: &[CommandNode]) -> Result<Vec<Command>, CompileError> {
    let mut out: Vec<Command> = Vec::new();
    let mut chain_open = false;
    for node in nodes {
        match node.name.as_str() {
            "require" => {
                return Err(node.pos.error("require must come before any other command"));
            }
            "elsif" | "else" => {
                let Some(Command::If {
                    branches,
                    otherwise,
                }) = out.last_mut().filter(|_| chain_open)
                else {
                    return Err(node
                        .pos
                        .error(format!("{} without a preceding if", node.name)));
                };
                if node.name == "elsif" {
                    branches.push(commands::conditional(cx, node)?);
                } else {
                    *otherwise = Some(commands::else_block(cx, node)?);
                    chain_open = false;
                }
            }
            "if" => {
                let branch = commands::conditional(cx, node)?;
                out.push(Command::If {
                    branches: vec![branch],
                    otherwise: None,
                });
                chain_open = true;
            }
            _ => {
                out.push(commands::command(cx, node)?);
                chain_open = false;
            }
        }
    }
    Ok(out)
}
