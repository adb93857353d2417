//! EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1 UIDPLUS).
//!
//! Removes the messages the client knows that carry `\Deleted` (within the UID set for UID
//! EXPUNGE), as the store sees their flags now: another session may have set or cleared
//! `\Deleted` since this one last synchronized. Messages this client has not been told
//! about are never expunged by it. The removals are announced through
//! [`crate::session::SelectedMailbox::remove_expunged`] (EXPUNGE, or VANISHED under
//! QRESYNC); with CONDSTORE the tagged OK carries the new HIGHESTMODSEQ (RFC 7162 §3.1.9).
//! Needs a read-write mailbox and the `e` right (RFC 4314 §4).

use super::seqset;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, SequenceSet};
use crate::session::{ExpungePolicy, SelectedMailbox, Session};
use tern_mail::Mail;
use tern_store::{Flags, Uid};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let set = match cmd {
        CommandBody::Expunge => None,
        CommandBody::UidExpunge(set) => Some(set),
        _ => return Err(CmdError::bad("EXPUNGE expected")),
    };
    let mail = s.server.mail.clone();
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    if view.read_only {
        return Err(CmdError::no("Mailbox is read-only"));
    }
    if !view.rights.has('e') {
        return Err(CmdError::no_code(
            "NOPERM",
            "Permission denied (right 'e' needed)",
        ));
    }
    let removed = expunge_deleted(&mail, view, set.as_ref()).await?;
    let enabled = s.enabled;
    let mut out = std::mem::take(&mut s.out);
    if let Some(view) = s.selected_mut() {
        view.remove_expunged(&removed, enabled, &mut out);
    }
    s.out = out;
    // EXPUNGE may announce everything else that happened, so the HIGHESTMODSEQ below is
    // one the client is fully up to date with.
    s.sync_selected(ExpungePolicy::Announce).await?;
    match s.selected() {
        Some(view) if s.enabled.condstore && view.pending_expunged.is_empty() => {
            Ok(Done::with_code(
                format!("HIGHESTMODSEQ {}", view.highestmodseq),
                "EXPUNGE completed",
            ))
        }
        _ => Ok(Done::ok("EXPUNGE completed")),
    }
}

/// Expunges, in the store, the known messages that carry `\Deleted` now (restricted to
/// `set` when given, a UID set). Returns the UIDs removed, ascending.
pub async fn expunge_deleted(
    mail: &Mail,
    view: &SelectedMailbox,
    set: Option<&SequenceSet>,
) -> Result<Vec<Uid>, CmdError> {
    let deleted = deleted_now(mail, view).await?;
    let uids: Vec<Uid> = match set {
        None => deleted,
        Some(set) => deleted
            .into_iter()
            .filter(|u| seqset::uid_set_contains(view, set, *u))
            .collect(),
    };
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let (mut removed, _modseq) = mail.store.expunge(view.id(), &uids).await?;
    removed.sort_unstable();
    Ok(removed)
}

/// UIDs of the known messages whose current flags include `\Deleted`: the view's flags,
/// overridden by what changed since the view was last synchronized.
async fn deleted_now(mail: &Mail, view: &SelectedMailbox) -> Result<Vec<Uid>, CmdError> {
    let changes = mail
        .store
        .changes_since(view.id(), view.highestmodseq)
        .await?;
    let mut changed = changes.changed.iter().peekable();
    let mut out = Vec::new();
    for m in &view.messages {
        while changed.next_if(|c| c.uid < m.uid).is_some() {}
        let flags = match changed.peek() {
            Some(c) if c.uid == m.uid => &c.flags,
            _ => &m.flags,
        };
        if flags.has(Flags::DELETED) && changes.expunged.binary_search(&m.uid).is_err() {
            out.push(m.uid);
        }
    }
    Ok(out)
}
