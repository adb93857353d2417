//! APPEND (RFC 9051 §6.3.12) with RFC 3502 MULTIAPPEND, RFC 3516 literal8 and RFC 6855
//! `UTF8 (~{n}...)`, and the
//! "head" parse that lets the session stream a large literal.
//!
//! Streaming works like this: when the framer announces a literal of an APPEND, the session
//! calls [`parse_append_head`] on [`crate::proto::framing::Framer::pending`] to learn the
//! mailbox, flags and date of the message whose octets are about to arrive, checks them
//! (mailbox exists, size within APPENDLIMIT and quota), then streams the literal into the
//! blob store. After the last message the framer yields the complete frame, which
//! [`super::parse_command`] validates; streamed messages come out with empty `data`.

use super::lexer::{Cursor, Lit, PResult, fail};
use super::mailbox::one_mailbox;
use super::{ParseError, ParseOptions, parse_tag};
use crate::proto::command::{AppendMessage, CommandBody};
use crate::proto::framing::Frame;

/// The message of an APPEND whose literal was just announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendHead {
    pub tag: String,
    /// The destination, decoded and canonical like every mailbox name.
    pub mailbox: String,
    /// How many messages of this (MULTI)APPEND came before this one.
    pub index: usize,
    pub flags: Vec<String>,
    /// INTERNALDATE as given: (Unix seconds, zone offset minutes).
    pub date: Option<(i64, i16)>,
    /// The announced literal length.
    pub len: u64,
    /// `~{n}` literal8.
    pub binary: bool,
}

/// Parses a pending APPEND frame that ends with a literal announcement (no CRLF, no octets):
/// what [`crate::proto::framing::Framer::pending`] holds while an `Event::LiteralStart`
/// awaits a decision. Fails if the frame is not an APPEND or is malformed; the session
/// then refuses the literal and answers `BAD` with the reason.
pub fn parse_append_head(pending: &Frame, opts: ParseOptions) -> Result<AppendHead, ParseError> {
    let mut c = Cursor::new(&pending.bytes, &pending.streamed, opts, true);
    let tag = parse_tag(&mut c)?;
    let with_tag = |mut e: ParseError| {
        e.tag = Some(tag.clone());
        e
    };
    let head = (|| {
        c.sp()?;
        if !c.keyword("APPEND") {
            return fail("Not an APPEND command");
        }
        let mailbox = one_mailbox(&mut c)?;
        let mut index = 0;
        loop {
            let (flags, date, (lit, binary)) = message_head(&mut c)?;
            if let Lit::Pending(len) = lit {
                return Ok(AppendHead {
                    tag: tag.clone(),
                    mailbox,
                    index,
                    flags,
                    date,
                    len,
                    binary,
                });
            }
            index += 1;
        }
    })()
    .map_err(with_tag)?;
    Ok(head)
}

/// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502 §6).
pub(crate) fn append(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c)?;
    let mut messages = Vec::new();
    loop {
        let (flags, date, (lit, binary)) = message_head(c)?;
        let data = match lit {
            Lit::Data(d) => d.to_vec(),
            Lit::Streamed(_) => Vec::new(),
            Lit::Pending(_) => return fail("Incomplete APPEND"),
        };
        messages.push(AppendMessage {
            flags,
            date,
            data,
            binary,
        });
        if c.at_end() {
            return Ok(CommandBody::Append { mailbox, messages });
        }
    }
}

type Head<'a> = (Vec<String>, Option<(i64, i16)>, (Lit<'a>, bool));

/// `append-message = [SP flag-list] [SP date-time] SP append-data`;
/// `append-data = literal / literal8 / "UTF8" SP "(" literal8 ")"`.
fn message_head<'a>(c: &mut Cursor<'a>) -> PResult<Head<'a>> {
    c.sp()?;
    let mut flags = Vec::new();
    let mut date = None;
    if c.peek() == Some(b'(') {
        flags = c.flag_list()?;
        c.sp()?;
    }
    if c.peek() == Some(b'"') {
        date = Some(c.date_time()?);
        c.sp()?;
    }
    // RFC 6855 §4: `append-data =/ "UTF8" SP "(" literal8 ")"` (UTF8=ACCEPT).
    let utf8_wrapped = c.keyword("UTF8");
    if utf8_wrapped {
        c.sp()?;
        c.expect(b'(', "'(' after UTF8")?;
        if !c.at_literal(true) {
            return fail("Expected a literal8 after UTF8 (");
        }
    }
    if !c.at_literal(true) {
        return fail("Expected the message as a literal");
    }
    let (lit, binary) = c.literal(true)?;
    if utf8_wrapped && !matches!(lit, Lit::Pending(_)) {
        c.expect(b')', "')' after the UTF8 literal")?;
    }
    Ok((flags, date, (lit, binary || utf8_wrapped)))
}
