//! COPY, MOVE, UID COPY, UID MOVE (RFC 9051 §6.4.7, RFC 6851 MOVE, RFC 4315 UIDPLUS).
//!
//! - The destination is resolved by the user's name for it (personal or shared, with the
//!   user's rights): a missing one is `NO [TRYCREATE]`; it needs the `i` right.
//! - The store copies (or moves) in one commit, sharing blobs, checking the destination
//!   owner's quota: over quota is `NO [OVERQUOTA]` and nothing is copied.
//! - COPY answers `OK [COPYUID uidvalidity source-uids dest-uids]`. MOVE sends
//!   `* OK [COPYUID ...]` first, then the EXPUNGE (or VANISHED) responses for the moved
//!   messages, then the tagged OK (RFC 6851 §4.3). MOVE needs a read-write source and the
//!   `t` and `e` rights on it.
//! - An empty set (e.g. UIDs that no longer exist) succeeds without COPYUID.

use super::seqset::{self, MsnCheck};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::proto::encode::sequence_set;
use crate::session::Session;
use crate::session::mailbox_ref::{self, MailboxRef};
use tern_store::{CopyResult, Uid};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let (by, set, mailbox, is_move) = match cmd {
        CommandBody::Copy { by, set, mailbox } => (by, set, mailbox, false),
        CommandBody::Move { by, set, mailbox } => (by, set, mailbox, true),
        _ => return Err(CmdError::bad("COPY or MOVE expected")),
    };
    let mail = s.server.mail.clone();
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    if is_move {
        if view.read_only {
            return Err(CmdError::no("Mailbox is read-only"));
        }
        for right in ['t', 'e'] {
            if !view.rights.has(right) {
                return Err(CmdError::no_code(
                    "NOPERM",
                    format!("Permission denied (right '{right}' needed on the source)"),
                ));
            }
        }
    }
    let indices = seqset::resolve(view, &set, by, MsnCheck::Strict)?;
    let uids = seqset::uids_of(view, &indices);
    let source = view.id();

    let Some(dest) = mailbox_ref::resolve_opt(s, &mailbox).await? else {
        return Err(CmdError::no_code("TRYCREATE", "No such mailbox"));
    };
    dest.require('i')?;
    if is_move && dest.info.id == source {
        return Err(CmdError::no_code(
            "CANNOT",
            "Source and destination are the same mailbox",
        ));
    }
    let verb = if is_move { "MOVE" } else { "COPY" };
    if uids.is_empty() {
        return Ok(Done::ok(format!("{verb} completed (no messages)")));
    }
    let quota = destination_quota(s, &dest).await?;
    let result = mail
        .store
        .copy(source, &uids, dest.info.id, is_move, quota)
        .await?;
    let code = copyuid(&result);
    if !is_move {
        return Ok(match code {
            Some(c) => Done::with_code(c, "COPY completed"),
            None => Done::ok("COPY completed"),
        });
    }
    if let Some(c) = code {
        s.untagged(format!("OK [{c}] Moved"));
    }
    let mut moved: Vec<Uid> = result.pairs.iter().map(|p| p.0).collect();
    moved.sort_unstable();
    let enabled = s.enabled;
    let mut out = std::mem::take(&mut s.out);
    if let Some(view) = s.selected_mut() {
        view.remove_expunged(&moved, enabled, &mut out);
    }
    s.out = out;
    Ok(Done::ok("MOVE completed"))
}

/// `COPYUID uidvalidity src dst`, the two sets in corresponding order (RFC 4315 §3), or
/// `None` when nothing was copied.
fn copyuid(result: &CopyResult) -> Option<String> {
    if result.pairs.is_empty() {
        return None;
    }
    let src: Vec<Uid> = result.pairs.iter().map(|p| p.0).collect();
    let dst: Vec<Uid> = result.pairs.iter().map(|p| p.1).collect();
    let mut code = format!("COPYUID {} ", result.dest_uidvalidity).into_bytes();
    sequence_set(&mut code, &src);
    code.push(b' ');
    sequence_set(&mut code, &dst);
    Some(String::from_utf8_lossy(&code).into_owned())
}

/// The quota (bytes) of the destination's owner: the user's own, or the owner's from the
/// directory for a shared mailbox.
async fn destination_quota(s: &Session, dest: &MailboxRef) -> Result<Option<u64>, CmdError> {
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    let Some(owner) = &dest.owner else {
        return Ok(auth.account.quota_bytes);
    };
    match s.server.mail.directory.lookup(owner).await {
        Ok(Some(account)) => Ok(account.quota_bytes),
        Ok(None) => Err(CmdError::no_code("NONEXISTENT", "Mailbox owner not found")),
        Err(e) => {
            tracing::warn!(error = %e, owner = %owner, "directory lookup for quota failed");
            Err(CmdError::no_code(
                "UNAVAILABLE",
                "Directory unavailable, try again later",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyuid_sets_correspond() {
        let r = CopyResult {
            dest_uidvalidity: 99,
            pairs: vec![(3, 10), (4, 11), (5, 12), (9, 13)],
        };
        assert_eq!(copyuid(&r).unwrap(), "COPYUID 99 3:5,9 10:13");
        assert_eq!(copyuid(&CopyResult::default()), None);
    }
}
