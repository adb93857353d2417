//! The IMAP wire codec: framing client input, parsing commands, encoding responses. No I/O.
//!
//! ## Layout
//! - [`framing`]: [`Framer`], the sans-I/O line/literal assembler producing [`Frame`]s and
//!   literal events (so APPEND can stream its literal).
//! - [`parse`]: [`parse_command`] (a [`Frame`] → [`Command`]) and helpers for APPEND
//!   streaming ([`parse::parse_append_head`]) and AUTHENTICATE/IDLE continuation lines.
//! - [`command`]: the command AST.
//! - [`encode`]: response pieces (strings, mailbox names, flags, sequence sets, ENVELOPE,
//!   BODYSTRUCTURE, INTERNALDATE).
//! - [`utf7`]: modified UTF-7 mailbox names.
//! - [`seqset`]: resolving sequence sets against a mailbox (`*`, ranges).
//! - [`chars`], [`datetime`]: grammar character classes and calendar arithmetic.
//!
//! ## Invariants
//! - Nothing here performs I/O or panics on any input; malformed input yields a
//!   [`ParseError`] with a reason fit for a `BAD` response.
//! - Mailbox names leave the parser in the store's form: UTF-8, `/` delimiter, `INBOX`
//!   canonical; [`encode::mailbox`] converts back.
pub mod chars;
pub mod command;
pub mod datetime;
pub mod encode;
pub mod framing;
pub mod parse;
pub mod seqset;
pub mod utf7;

pub use command::{Command, CommandBody};
pub use encode::EncodeOptions;
pub use framing::{Event, Frame, Framer, FramerConfig, LiteralStart};
pub use parse::{ParseError, ParseOptions, parse_command, parse_command_with};
