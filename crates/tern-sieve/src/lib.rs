//! Tern's Sieve interpreter (RFC 5228 and extensions).
//!
//! # Layout
//! - [`compile`] / [`compile_with`]: source → [`Script`] (lexer → parser → checked program).
//! - [`execute`]: runs a [`Script`] against a message, returning the [`Outcome`] (the actions
//!   to perform, implicit keep already resolved).
//! - [`vacation_allowed`]: the RFC 5230 §4.5–4.6 / RFC 3834 checks the delivering side runs
//!   before sending a vacation reply.
//!
//! # Invariants
//! - A [`Script`] is immutable after compile and cheap to clone (an `Arc` inside).
//! - Execution is bounded by [`Limits`]: every command, test and per-value comparison counts
//!   as a step, so a script cannot stall delivery; any limit breach is a [`RuntimeError`] and
//!   the caller falls back to keeping the message.

mod ast;
mod comparator;
mod compile;
mod date;
mod exec;
mod ir;
mod lexer;
mod match_type;
mod meter;
mod parser;
#[cfg(test)]
mod tests;
mod vacation;

use std::sync::Arc;

/// The chrono version [`Environment::now`] uses.
pub use chrono;

/// Every capability string `require` accepts.
pub const EXTENSIONS: &[&str] = &[
    "fileinto",
    "reject",
    "ereject",
    "envelope",
    "encoded-character",
    "comparator-i;octet",
    "comparator-i;ascii-casemap",
    "comparator-i;ascii-numeric",
    "imap4flags",
    "body",
    "variables",
    "vacation",
    "vacation-seconds",
    "copy",
    "mailbox",
    "relational",
    "subaddress",
    "date",
    "index",
    "include",
    "spamtest",
    "spamtestplus",
    "virustest",
];

/// Compile-time bounds.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Largest accepted script source, in bytes.
    pub max_script_size: usize,
    /// Deepest nesting of blocks and tests.
    pub max_nesting: usize,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            max_script_size: 1024 * 1024,
            max_nesting: 64,
        }
    }
}

/// A syntax or semantic error in a script, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct CompileError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A compiled script.
#[derive(Debug, Clone)]
pub struct Script {
    inner: Arc<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    program: ir::Program,
    includes: Vec<(String, bool)>,
}

/// Compiles with the default [`CompileOptions`].
pub fn compile(source: &str) -> Result<Script, CompileError> {
    compile_with(source, &CompileOptions::default())
}

/// Compiles `source`.
pub fn compile_with(source: &str, options: &CompileOptions) -> Result<Script, CompileError> {
    let (program, includes) = compile::compile_program(source, options)?;
    Ok(Script {
        inner: Arc::new(Compiled { program, includes }),
    })
}

impl Script {
    /// The scripts named by `include` commands: (name, global).
    pub fn includes(&self) -> Vec<(String, bool)> {
        self.inner.includes.clone()
    }
}

/// The SMTP envelope of the message being delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path, "" for `<>`.
    pub from: String,
    /// The original recipient address.
    pub to: String,
    /// The AUTH parameter / authenticated submitter, if any.
    pub auth: Option<String>,
}

/// What the delivering side provides to a running script.
pub trait Environment {
    fn mailbox_exists(&self, name: &str) -> bool;
    /// Source of an included script (RFC 6609): personal (global=false) or global.
    fn include(&self, name: &str, global: bool) -> Option<String>;
    /// RFC 5235 spamtest 0..=10, None/0 = not tested.
    fn spamtest(&self) -> Option<u8> {
        None
    }
    /// spamtestplus 0..=100.
    fn spam_percent(&self) -> Option<u8> {
        None
    }
    /// virustest 0..=5.
    fn virustest(&self) -> Option<u8> {
        None
    }
    /// The current time (currentdate).
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset>;
    /// The account's own addresses (vacation's implicit :addresses, and "own mail" detection).
    fn own_addresses(&self) -> Vec<String>;
}

/// Run-time bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Commands, tests and per-value comparisons evaluated (CPU bound).
    pub max_steps: u64,
    /// Actions in the outcome.
    pub max_actions: usize,
    /// Redirect actions.
    pub max_redirects: usize,
    /// Nesting of `include`.
    pub max_include_depth: usize,
    /// Longest value of a variable, in bytes (longer values are truncated, RFC 5229 §3).
    pub max_variable_size: usize,
    /// Number of distinct variables.
    pub max_variables: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1_000_000,
            max_actions: 64,
            max_redirects: 4,
            max_include_depth: 8,
            max_variable_size: 64 * 1024,
            max_variables: 512,
        }
    }
}

/// Why a run stopped; the caller falls back to keep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("step limit exceeded")]
    StepLimit,
    #[error("too many actions")]
    TooManyActions,
    #[error("too many redirects")]
    TooManyRedirects,
    #[error("include: {0}")]
    Include(String),
    /// Actions that cannot be combined (RFC 5228 §2.10.1), e.g. reject with fileinto.
    #[error("{0}")]
    IncompatibleActions(String),
    #[error("{0}")]
    Other(String),
}

/// Runs `script` on `message`.
pub fn execute(
    script: &Script,
    message: &[u8],
    envelope: &Envelope,
    env: &dyn Environment,
    limits: &Limits,
) -> Result<Outcome, RuntimeError> {
    exec::run(script, message, envelope, env, limits)
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Implicit keep already resolved: if it applies, a Keep is in the list.
    pub actions: Vec<Action>,
}

/// One thing to do with the message.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Deliver to INBOX; imap4flags flags as IMAP strings ("\\Seen", "$Label1").
    Keep {
        flags: Vec<String>,
    },
    /// Deliver to `mailbox`; `create` from RFC 5490 `:create`.
    FileInto {
        mailbox: String,
        flags: Vec<String>,
        create: bool,
    },
    Redirect {
        address: String,
    },
    /// RFC 5429 reject (MDN-style refusal).
    Reject {
        reason: String,
    },
    /// RFC 5429 ereject (protocol-level refusal).
    Ereject {
        reason: String,
    },
    Discard,
    Vacation(Vacation),
}

/// A vacation reply to send (subject to [`vacation_allowed`] and the once-per-period rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Vacation {
    /// `:handle`, or derived from reason+subject+from+mime (RFC 5230 §4.2).
    pub handle: String,
    /// `:days` (default 7, min 1) or `:seconds`, in seconds.
    pub period_seconds: u64,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub addresses: Vec<String>,
    pub mime: bool,
    pub reason: String,
    /// Who gets the reply: the envelope from.
    pub reply_to: String,
}

/// RFC 5230 §4.5–4.6 / RFC 3834: Ok(()) when a reply may be sent, Err(reason) when it must not.
/// `own` are the account's addresses; `vacation.addresses` are added to them.
pub fn vacation_allowed(
    message: &[u8],
    envelope: &Envelope,
    vacation: &Vacation,
    own: &[String],
) -> Result<(), String> {
    vacation::vacation_allowed(message, envelope, vacation, own)
}
