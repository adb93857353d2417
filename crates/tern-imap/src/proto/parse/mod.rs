//! The command parser: one [`Frame`] (a whole command with its literals) → [`Command`].
//!
//! Grammar: RFC 9051 §9 (IMAP4rev2) and RFC 3501 §9 (IMAP4rev1), with the extensions the
//! server advertises (see each submodule). Keywords are case-insensitive.
//!
//! ## Invariants
//! - Never panics; every rejection is a [`ParseError`] whose `reason` can be sent after
//!   `BAD`, with the tag when it was readable.
//! - Mailbox names come out decoded (modified UTF-7 → UTF-8 unless UTF8=ACCEPT is on) and
//!   with `INBOX` canonical, so the session compares names with `==`.
//! - The whole frame must be consumed: trailing garbage is an error.

use crate::proto::command::Command;
use crate::proto::framing::Frame;

/// Parser settings that depend on what the client enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// RFC 6855 UTF8=ACCEPT enabled: mailbox names are UTF-8 and `&` is an ordinary
    /// character (no modified UTF-7 decoding).
    pub utf8: bool,
}

/// A command that could not be parsed. The session answers `<tag> BAD <reason>` (or
/// untagged `* BAD <reason>` when `tag` is `None`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    /// The command's tag, when it was syntactically valid.
    pub tag: Option<String>,
    /// What was wrong, in words, e.g. "Invalid sequence set" (no CR/LF inside).
    pub reason: String,
}

/// Parses one frame with default options (UTF8=ACCEPT off).
pub fn parse_command(frame: &Frame) -> Result<Command, ParseError> {
    parse_command_with(frame, ParseOptions::default())
}

/// Parses one frame.
pub fn parse_command_with(frame: &Frame, opts: ParseOptions) -> Result<Command, ParseError> {
    let _ = opts;
    Err(ParseError {
        tag: frame.tag(),
        reason: "parser not ready".into(),
    })
}
