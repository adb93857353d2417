//! The TRANSACTION state (RFC 1939 §5, §7): STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET.
//!
//! ## Invariants
//! - Every command works on the login snapshot ([`crate::maildrop`]); none of them changes
//!   the store: DELE only marks, and RETR/TOP do not set `\Seen` (Dovecot's default too).
//! - RETR and TOP stream the blob through [`DotStuffer`] in chunks, flushing as they go;
//!   the message is never copied onto the heap whole.
use crate::command::Msn;
use crate::encode::DotStuffer;
use crate::error::Pop3Error;
use crate::maildrop::Maildrop;
use crate::session::{CmdResult, FLUSH_AT, Flow, Session, State};

/// Input bytes encoded per step of RETR/TOP.
const CHUNK: usize = 32 * 1024;

fn maildrop(state: &mut State) -> Result<&mut Maildrop, Pop3Error> {
    match state {
        State::Transaction(md) => Ok(md),
        State::Authorization { .. } => Err(Pop3Error::WrongState),
    }
}

/// `STAT`: `+OK count octets` (RFC 1939 §5), deleted messages left out.
pub(crate) fn stat(s: &mut Session) -> CmdResult {
    let (count, octets) = maildrop(&mut s.state)?.stat();
    s.out.ok(format!("{count} {octets}"));
    Ok(Flow::Continue)
}

/// `LIST [msg]`: sizes, one message or all live ones.
pub(crate) fn list(s: &mut Session, msn: Option<Msn>) -> CmdResult {
    let md = maildrop(&mut s.state)?;
    match msn {
        Some(n) => {
            let size = md.get(n)?.size;
            s.out.ok(format!("{n} {size}"));
        }
        None => {
            let (count, octets) = md.stat();
            s.out.ok(format!("{count} messages ({octets} octets)"));
            for (n, e) in md.live() {
                s.out.line(format!("{n} {}", e.size));
            }
            s.out.dot();
        }
    }
    Ok(Flow::Continue)
}

/// `UIDL [msg]` (RFC 1939 §7): unique ids, stable across sessions.
pub(crate) fn uidl(s: &mut Session, msn: Option<Msn>) -> CmdResult {
    let md = maildrop(&mut s.state)?;
    match msn {
        Some(n) => {
            let uidl = &md.get(n)?.uidl;
            s.out.ok(format!("{n} {uidl}"));
        }
        None => {
            s.out.ok("Unique-ID listing follows");
            for (n, e) in md.live() {
                s.out.line(format!("{n} {}", e.uidl));
            }
            s.out.dot();
        }
    }
    Ok(Flow::Continue)
}

/// `RETR msg`: the whole message.
pub(crate) async fn retr(s: &mut Session, msn: Msn) -> CmdResult {
    send(s, msn, DotStuffer::whole(), Status::Octets).await
}

/// `TOP msg n`: the header and the first `n` body lines.
pub(crate) async fn top(s: &mut Session, msn: Msn, lines: u32) -> CmdResult {
    send(s, msn, DotStuffer::top(lines), Status::Top).await
}

/// The `+OK` line before a message.
enum Status {
    /// RETR: `+OK <size> octets` (RFC 1939 §7 example).
    Octets,
    /// TOP: the size of the part sent is not known in advance.
    Top,
}

async fn send(s: &mut Session, msn: Msn, mut encoder: DotStuffer, status: Status) -> CmdResult {
    let (blob_id, size) = {
        let e = maildrop(&mut s.state)?.get(msn)?;
        (e.blob, e.size)
    };
    let blob = s.server.mail.blobs.get(&blob_id).await?;
    let bytes: &[u8] = (*blob).as_ref();
    match status {
        Status::Octets => s.out.ok(format!("{size} octets")),
        Status::Top => s.out.ok("Top of message follows"),
    }
    for chunk in bytes.chunks(CHUNK) {
        encoder.encode(chunk, &mut s.out.buf);
        if s.out.buf.len() >= FLUSH_AT {
            s.flush().await?;
        }
        if encoder.is_done() {
            break;
        }
    }
    encoder.finish(&mut s.out.buf);
    Ok(Flow::Continue)
}

/// `DELE msg`: marks the message; it goes at QUIT.
pub(crate) fn dele(s: &mut Session, msn: Msn) -> CmdResult {
    maildrop(&mut s.state)?.delete(msn)?;
    s.out.ok(format!("Message {msn} deleted"));
    Ok(Flow::Continue)
}

/// `NOOP`.
pub(crate) fn noop(s: &mut Session) -> CmdResult {
    maildrop(&mut s.state)?;
    s.out.ok("");
    Ok(Flow::Continue)
}

/// `RSET`: unmarks every message.
pub(crate) fn rset(s: &mut Session) -> CmdResult {
    let md = maildrop(&mut s.state)?;
    md.reset();
    let (count, octets) = md.stat();
    s.out
        .ok(format!("Maildrop has {count} messages ({octets} octets)"));
    Ok(Flow::Continue)
}
