//! The action list a run builds, with RFC 5228 §4 / RFC 5429 / RFC 5230 rules:
//! fileinto/redirect/discard/reject cancel the implicit keep (`:copy` does not); a second
//! keep, a second fileinto to the same mailbox or a second redirect to the same address
//! collapse into the first; `fileinto "INBOX"` is a keep; reject/ereject are incompatible
//! with keep, fileinto, redirect, vacation and each other; one vacation per run.
//! `discard` only cancels the implicit keep, so a later `keep` still keeps.

use crate::{Action, Limits, RuntimeError, Vacation};

#[derive(Debug, Default)]
pub struct Actions {
    list: Vec<Action>,
    implicit_keep: bool,
    discarded: bool,
    redirects: usize,
}

fn incompatible(what: &str, with: &str) -> RuntimeError {
    RuntimeError::IncompatibleActions(format!("{what} is incompatible with {with}"))
}

impl Actions {
    pub fn new() -> Actions {
        Actions {
            implicit_keep: true,
            ..Actions::default()
        }
    }

    fn rejected(&self) -> bool {
        self.list
            .iter()
            .any(|a| matches!(a, Action::Reject { .. } | Action::Ereject { .. }))
    }

    fn push(&mut self, action: Action, limits: &Limits) -> Result<(), RuntimeError> {
        if self.list.len() >= limits.max_actions {
            return Err(RuntimeError::TooManyActions);
        }
        self.list.push(action);
        Ok(())
    }

    pub fn keep(&mut self, flags: Vec<String>, limits: &Limits) -> Result<(), RuntimeError> {
        if self.rejected() {
            return Err(incompatible("keep", "reject"));
        }
        self.implicit_keep = false;
        if self.list.iter().any(|a| matches!(a, Action::Keep { .. })) {
            return Ok(());
        }
        self.push(Action::Keep { flags }, limits)
    }

    pub fn fileinto(
        &mut self,
        mailbox: String,
        flags: Vec<String>,
        create: bool,
        copy: bool,
        limits: &Limits,
    ) -> Result<(), RuntimeError> {
        if mailbox.eq_ignore_ascii_case("INBOX") {
            let keep_implicit = self.implicit_keep;
            self.keep(flags, limits)?;
            if copy {
                self.implicit_keep = keep_implicit;
            }
            return Ok(());
        }
        if self.rejected() {
            return Err(incompatible("fileinto", "reject"));
        }
        if !copy {
            self.implicit_keep = false;
        }
        let duplicate = self
            .list
            .iter()
            .any(|a| matches!(a, Action::FileInto { mailbox: m, .. } if *m == mailbox));
        if duplicate {
            return Ok(());
        }
        self.push(
            Action::FileInto {
                mailbox,
                flags,
                create,
            },
            limits,
        )
    }

    pub fn redirect(
        &mut self,
        address: String,
        copy: bool,
        limits: &Limits,
    ) -> Result<(), RuntimeError> {
        if self.rejected() {
            return Err(incompatible("redirect", "reject"));
        }
        if !copy {
            self.implicit_keep = false;
        }
        let duplicate = self.list.iter().any(
            |a| matches!(a, Action::Redirect { address: x } if x.eq_ignore_ascii_case(&address)),
        );
        if duplicate {
            return Ok(());
        }
        if self.redirects >= limits.max_redirects {
            return Err(RuntimeError::TooManyRedirects);
        }
        self.redirects += 1;
        self.push(Action::Redirect { address }, limits)
    }

    pub fn reject(
        &mut self,
        reason: String,
        extended: bool,
        limits: &Limits,
    ) -> Result<(), RuntimeError> {
        let what = if extended { "ereject" } else { "reject" };
        for a in &self.list {
            let with = match a {
                Action::Keep { .. } => "keep",
                Action::FileInto { .. } => "fileinto",
                Action::Redirect { .. } => "redirect",
                Action::Vacation(_) => "vacation",
                Action::Reject { .. } => "reject",
                Action::Ereject { .. } => "ereject",
                Action::Discard => continue,
            };
            return Err(incompatible(what, with));
        }
        self.implicit_keep = false;
        let action = if extended {
            Action::Ereject { reason }
        } else {
            Action::Reject { reason }
        };
        self.push(action, limits)
    }

    pub fn discard(&mut self) {
        self.implicit_keep = false;
        self.discarded = true;
    }

    pub fn vacation(&mut self, v: Vacation, limits: &Limits) -> Result<(), RuntimeError> {
        if self.rejected() {
            return Err(incompatible("vacation", "reject"));
        }
        if self.list.iter().any(|a| matches!(a, Action::Vacation(_))) {
            return Err(RuntimeError::IncompatibleActions(
                "more than one vacation action".into(),
            ));
        }
        self.push(Action::Vacation(v), limits)
    }

    /// The final list: the implicit keep (with the flags current at the end) if it still
    /// applies, and `Discard` when a discard left nothing delivering the message.
    pub fn finish(mut self, implicit_flags: Vec<String>) -> Vec<Action> {
        if self.implicit_keep {
            self.list.push(Action::Keep {
                flags: implicit_flags,
            });
        }
        let delivers = self
            .list
            .iter()
            .any(|a| !matches!(a, Action::Vacation(_) | Action::Discard));
        if self.discarded && !delivers {
            self.list.push(Action::Discard);
        }
        self.list
    }
}
