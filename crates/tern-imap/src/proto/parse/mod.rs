//! The command parser: one [`Frame`] (a whole command with its literals) → [`Command`].
//!
//! Grammar: RFC 9051 §9 (IMAP4rev2) and RFC 3501 §9 (IMAP4rev1), with the extensions the
//! server advertises (each submodule names its RFCs). Keywords are case-insensitive.
//!
//! ## Layout
//! - `lexer`: tokens (atoms, strings, literals, numbers, dates, flags).
//! - `sequence`: sequence sets (`1:3,5,*`, `$`).
//! - `mailbox`: mailbox names (modified UTF-7, INBOX), SELECT/EXAMINE, CREATE, STATUS.
//! - `list`: LIST (LIST-EXTENDED, LIST-STATUS), LSUB.
//! - `append`: APPEND (MULTIAPPEND, literal8) and the streaming head.
//! - `fetch`: FETCH and STORE. `search`: SEARCH, SORT, THREAD.
//! - `admin`: QUOTA, ACL, METADATA. `notify`: NOTIFY. `auth`: LOGIN, AUTHENTICATE, ID,
//!   ENABLE, COMPRESS and continuation lines.
//!
//! ## Invariants
//! - Never panics; every rejection is a [`ParseError`] whose `reason` can be sent after
//!   `BAD`, with the tag when it was readable.
//! - Mailbox names come out decoded (modified UTF-7 → UTF-8 unless UTF8=ACCEPT is on) and
//!   with `INBOX` canonical, so the session compares names with `==`.
//! - The whole frame must be consumed: trailing text is an error.

mod admin;
mod append;
mod auth;
mod fetch;
mod lexer;
mod list;
mod mailbox;
mod notify;
mod search;
mod sequence;

pub use append::{AppendHead, parse_append_head};
pub use auth::{SaslResponse, is_idle_done, parse_sasl_response};
pub use mailbox::decode_mailbox;

pub use crate::proto::chars::is_astring_char;

use crate::proto::command::{By, Command, CommandBody};
use crate::proto::framing::Frame;
use lexer::{Cursor, PResult, fail};

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
    /// What was wrong, in words, e.g. "Invalid sequence set" (never contains CR or LF).
    pub reason: String,
}

/// Parses one frame with default options (UTF8=ACCEPT off).
pub fn parse_command(frame: &Frame) -> Result<Command, ParseError> {
    parse_command_with(frame, ParseOptions::default())
}

/// Parses one frame (from [`crate::proto::framing::Framer`], or built with
/// [`Frame::from_bytes`]: the command without its final CRLF).
///
/// A frame whose APPEND literals were streamed parses to [`CommandBody::Append`] whose
/// streamed messages have empty `data` (their octets went to the session as
/// `Event::LiteralData`); their flags, dates and `binary` are filled in.
pub fn parse_command_with(frame: &Frame, opts: ParseOptions) -> Result<Command, ParseError> {
    let mut c = Cursor::new(&frame.bytes, &frame.streamed, opts, false);
    let tag = parse_tag(&mut c)?;
    let with_tag = |mut e: ParseError| {
        e.tag = Some(tag.clone());
        e
    };
    c.sp().map_err(|_| ParseError {
        tag: Some(tag.clone()),
        reason: "Missing command".into(),
    })?;
    let body = command_body(&mut c).map_err(with_tag)?;
    c.end().map_err(with_tag)?;
    Ok(Command {
        tag: tag.clone(),
        body,
    })
}

/// `tag = 1*<any ASTRING-CHAR except "+">`.
pub(crate) fn parse_tag(c: &mut Cursor<'_>) -> PResult<String> {
    let tag = c
        .take_while1(crate::proto::chars::is_tag_char, "a tag")
        .map_err(|_| ParseError {
            tag: None,
            reason: "Missing or invalid tag".into(),
        })?;
    Ok(lexer::text(tag))
}

fn command_body(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    use CommandBody as B;
    let name = c.atom_upper().or_else(|_| fail("Missing command"))?;
    let body = match name.as_str() {
        "CAPABILITY" => B::Capability,
        "NOOP" => B::Noop,
        "LOGOUT" => B::Logout,
        "STARTTLS" => B::StartTls,
        "NAMESPACE" => B::Namespace,
        "IDLE" => B::Idle,
        "CLOSE" => B::Close,
        "UNSELECT" => B::Unselect,
        "EXPUNGE" => B::Expunge,
        "CHECK" => B::Check,
        "ID" => auth::id(c)?,
        "LOGIN" => auth::login(c)?,
        "AUTHENTICATE" => auth::authenticate(c)?,
        "ENABLE" => auth::enable(c)?,
        "COMPRESS" => auth::compress(c)?,
        "SELECT" => mailbox::select(c, crate::proto::command::SelectMode::Select)?,
        "EXAMINE" => mailbox::select(c, crate::proto::command::SelectMode::Examine)?,
        "CREATE" => mailbox::create(c)?,
        "DELETE" => B::Delete(mailbox::one_mailbox(c)?),
        "RENAME" => mailbox::rename(c)?,
        "SUBSCRIBE" => B::Subscribe(mailbox::one_mailbox(c)?),
        "UNSUBSCRIBE" => B::Unsubscribe(mailbox::one_mailbox(c)?),
        "STATUS" => mailbox::status(c)?,
        "LIST" => list::list(c)?,
        "LSUB" => list::lsub(c)?,
        "APPEND" => append::append(c)?,
        "GETQUOTA" => admin::getquota(c)?,
        "GETQUOTAROOT" => B::GetQuotaRoot(mailbox::one_mailbox(c)?),
        "SETQUOTA" => admin::setquota(c)?,
        "GETACL" => B::GetAcl(mailbox::one_mailbox(c)?),
        "SETACL" => admin::setacl(c)?,
        "DELETEACL" => admin::deleteacl(c)?,
        "LISTRIGHTS" => admin::listrights(c)?,
        "MYRIGHTS" => B::MyRights(mailbox::one_mailbox(c)?),
        "GETMETADATA" => admin::getmetadata(c)?,
        "SETMETADATA" => admin::setmetadata(c)?,
        "NOTIFY" => notify::notify(c)?,
        "SEARCH" => search::search(c, By::Seq)?,
        "SORT" => search::sort(c, By::Seq)?,
        "THREAD" => search::thread(c, By::Seq)?,
        "FETCH" => fetch::fetch(c, By::Seq)?,
        "STORE" => fetch::store(c, By::Seq)?,
        "COPY" => mailbox::copy_move(c, By::Seq, false)?,
        "MOVE" => mailbox::copy_move(c, By::Seq, true)?,
        "UID" => {
            c.sp()?;
            let sub = c
                .atom_upper()
                .or_else(|_| fail("Missing command after UID"))?;
            match sub.as_str() {
                "FETCH" => fetch::fetch(c, By::Uid)?,
                "STORE" => fetch::store(c, By::Uid)?,
                "COPY" => mailbox::copy_move(c, By::Uid, false)?,
                "MOVE" => mailbox::copy_move(c, By::Uid, true)?,
                "SEARCH" => search::search(c, By::Uid)?,
                "SORT" => search::sort(c, By::Uid)?,
                "THREAD" => search::thread(c, By::Uid)?,
                "EXPUNGE" => {
                    c.sp()?;
                    B::UidExpunge(sequence::sequence_set(c)?)
                }
                other => return fail(format!("Unknown command UID {}", short(other))),
            }
        }
        other => return fail(format!("Unknown command {}", short(other))),
    };
    Ok(body)
}

/// An input word shortened and made printable for an error reason.
fn short(s: &str) -> String {
    let s: String = s.chars().take(32).collect();
    lexer::printable(&s)
}

#[cfg(test)]
mod tests;
