//! The interpreter: runs a compiled [`Program`] against a message.
//!
//! Invariants: the [`Meter`] is charged for every command and test (and for string work by
//! size), so every run ends within `Limits::max_steps`; `include` compiles the named
//! script on first use (cached per run), refuses recursion and depth beyond
//! `Limits::max_include_depth`; actions accumulate in [`actions::Actions`], which enforces
//! the RFC compatibility rules, and the implicit keep is resolved at the end.

mod actions;
mod eval;
pub(crate) mod flags;
pub(crate) mod message;
mod vars;

use std::collections::{HashMap, HashSet};

use crate::ir::{Command, FlagOp, Period, VacationCmd, VarName};
use crate::lexer::Pos;
use crate::meter::Meter;
use crate::{Envelope, Environment, Limits, Outcome, RuntimeError, Script, Vacation};
use message::{BodyPart, MessageView};
use vars::Frame;

/// Match variables kept: `${0}` … `${9}` (RFC 5229 §3.2's minimum).
pub const MAX_MATCH_VARIABLES: usize = 10;

pub(crate) struct Run<'a, 'm> {
    pub msg: MessageView<'m>,
    pub envelope: &'a Envelope,
    pub env: &'a dyn Environment,
    pub limits: &'a Limits,
    pub meter: Meter,
    actions: actions::Actions,
    pub globals: HashMap<String, String>,
    /// The imap4flags internal variable.
    pub flags: String,
    pub variable_count: usize,
    pub body_parts: Option<Vec<BodyPart>>,
    include_stack: Vec<(String, bool)>,
    included: HashSet<(String, bool)>,
    compiled: HashMap<(String, bool), Script>,
}

enum Flow {
    Next,
    Stop,
    Return,
}

fn runtime_var_name(s: &str) -> Result<VarName, RuntimeError> {
    crate::compile::var_name(s, Pos::default())
        .map_err(|_| RuntimeError::Other(format!("invalid variable name \"{s}\"")))
}

pub(crate) fn run(
    script: &Script,
    message: &[u8],
    envelope: &Envelope,
    env: &dyn Environment,
    limits: &Limits,
) -> Result<Outcome, RuntimeError> {
    let mut run = Run {
        msg: MessageView::new(message),
        envelope,
        env,
        limits,
        meter: Meter::new(limits.max_steps),
        actions: actions::Actions::new(),
        globals: HashMap::new(),
        flags: String::new(),
        variable_count: 0,
        body_parts: None,
        include_stack: Vec::new(),
        included: HashSet::new(),
        compiled: HashMap::new(),
    };
    let program = &script.inner.program;
    let mut frame = Frame::new(program);
    run.block(&mut frame, &program.commands)?;
    let implicit_flags = flags::parse(&[run.flags.clone()]);
    Ok(Outcome {
        actions: run.actions.finish(implicit_flags),
    })
}

impl Run<'_, '_> {
    fn block(&mut self, frame: &mut Frame, commands: &[Command]) -> Result<Flow, RuntimeError> {
        for c in commands {
            match self.command(frame, c)? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    fn flag_list(
        &mut self,
        frame: &Frame,
        given: &Option<Vec<crate::ir::Str>>,
    ) -> Result<Vec<String>, RuntimeError> {
        Ok(match given {
            Some(list) => flags::parse(&self.expand_all(frame, list)?),
            None => flags::parse(std::slice::from_ref(&self.flags)),
        })
    }

    fn command(&mut self, frame: &mut Frame, c: &Command) -> Result<Flow, RuntimeError> {
        self.meter.charge(1)?;
        match c {
            Command::If {
                branches,
                otherwise,
            } => {
                for (test, body) in branches {
                    if self.test(frame, test)? {
                        return self.block(frame, body);
                    }
                }
                if let Some(body) = otherwise {
                    return self.block(frame, body);
                }
            }
            Command::Stop => return Ok(Flow::Stop),
            Command::Return => return Ok(Flow::Return),
            Command::Keep { flags } => {
                let f = self.flag_list(frame, flags)?;
                self.actions.keep(f, self.limits)?;
            }
            Command::Discard => self.actions.discard(),
            Command::FileInto {
                mailbox,
                copy,
                create,
                flags,
            } => {
                let mailbox = self.expand(frame, mailbox)?;
                if mailbox.is_empty() {
                    return Err(RuntimeError::Other("fileinto: empty mailbox name".into()));
                }
                let f = self.flag_list(frame, flags)?;
                self.actions
                    .fileinto(mailbox, f, *create, *copy, self.limits)?;
            }
            Command::Redirect { address, copy } => {
                let address = self.expand(frame, address)?;
                let address = address.trim();
                let valid = address
                    .rsplit_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
                    && !address.contains(|c: char| c.is_whitespace() || "<>,".contains(c));
                if !valid {
                    return Err(RuntimeError::Other(format!(
                        "redirect: invalid address \"{address}\""
                    )));
                }
                self.actions
                    .redirect(address.to_string(), *copy, self.limits)?;
            }
            Command::Reject { reason, extended } => {
                let reason = self.expand(frame, reason)?;
                self.actions.reject(reason, *extended, self.limits)?;
            }
            Command::Flags {
                op,
                variable,
                flags,
            } => {
                let given = self.expand_all(frame, flags)?;
                let current = match variable {
                    Some(v) => self.get_var(frame, v),
                    None => self.flags.clone(),
                };
                let new = match op {
                    FlagOp::Set => flags::join(&flags::parse(&given)),
                    FlagOp::Add => flags::add(&current, &given),
                    FlagOp::Remove => flags::remove(&current, &given),
                };
                match variable {
                    Some(v) => self.set_var(frame, v, new)?,
                    None => self.flags = vars::truncate(new, self.limits.max_variable_size),
                }
            }
            Command::Set {
                name,
                modifiers,
                value,
            } => {
                let v = self.expand(frame, value)?;
                let v = vars::apply_modifiers(v, modifiers);
                self.set_var(frame, name, v)?;
            }
            Command::Vacation(v) => {
                let vacation = self.vacation(frame, v)?;
                self.actions.vacation(vacation, self.limits)?;
            }
            Command::Include {
                name,
                global,
                once,
                optional,
            } => {
                if let Flow::Stop = self.include(name, *global, *once, *optional)? {
                    return Ok(Flow::Stop);
                }
            }
            Command::Global(names) => {
                for n in names {
                    frame.declared_globals.insert(n.clone());
                }
            }
        }
        Ok(Flow::Next)
    }

    fn vacation(&mut self, frame: &Frame, v: &VacationCmd) -> Result<Vacation, RuntimeError> {
        let reason = self.expand(frame, &v.reason)?;
        let subject = v
            .subject
            .as_ref()
            .map(|s| self.expand(frame, s))
            .transpose()?;
        let from = v.from.as_ref().map(|s| self.expand(frame, s)).transpose()?;
        let addresses = self.expand_all(frame, &v.addresses)?;
        let handle = match &v.handle {
            Some(h) => self.expand(frame, h)?,
            None => {
                crate::vacation::derive_handle(&reason, subject.as_deref(), from.as_deref(), v.mime)
            }
        };
        let period_seconds = match v.period {
            Period::Days(d) => d.clamp(1, 365 * 10) * 86_400,
            Period::Seconds(s) => s.min(365 * 10 * 86_400),
        };
        Ok(Vacation {
            handle,
            period_seconds,
            subject,
            from,
            addresses,
            mime: v.mime,
            reason,
            reply_to: self.envelope.from.clone(),
        })
    }

    fn include(
        &mut self,
        name: &str,
        global: bool,
        once: bool,
        optional: bool,
    ) -> Result<Flow, RuntimeError> {
        let key = (name.to_string(), global);
        if once && self.included.contains(&key) {
            return Ok(Flow::Next);
        }
        let scope = if global { "global" } else { "personal" };
        if self.include_stack.contains(&key) {
            return Err(RuntimeError::Include(format!(
                "{scope} script \"{name}\" includes itself"
            )));
        }
        if self.include_stack.len() >= self.limits.max_include_depth {
            return Err(RuntimeError::Include(format!(
                "nesting deeper than {} at {scope} script \"{name}\"",
                self.limits.max_include_depth
            )));
        }
        let script = match self.compiled.get(&key) {
            Some(s) => s.clone(),
            None => {
                let Some(source) = self.env.include(name, global) else {
                    if optional {
                        return Ok(Flow::Next);
                    }
                    return Err(RuntimeError::Include(format!(
                        "{scope} script \"{name}\" not found"
                    )));
                };
                self.meter.charge_fine(source.len() as u64)?;
                let script = crate::compile(&source).map_err(|e| {
                    RuntimeError::Include(format!("{scope} script \"{name}\": {e}"))
                })?;
                self.compiled.insert(key.clone(), script.clone());
                script
            }
        };
        let program = &script.inner.program;
        self.included.insert(key.clone());
        self.include_stack.push(key);
        let mut frame = Frame::new(program);
        let flow = self.block(&mut frame, &program.commands);
        self.include_stack.pop();
        Ok(match flow? {
            Flow::Stop => Flow::Stop,
            _ => Flow::Next,
        })
    }
}
