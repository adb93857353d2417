//! Write operations that change or remove existing messages: STORE and EXPUNGE.

use crate::codec::{keywords_from_sql, keywords_to_sql, normalized, same_flags};
use crate::fail::DbResult;
use crate::rows::{MailboxState, add_usage, remove_message};
use crate::writer::Tx;
use rusqlite::OptionalExtension;
use tern_store::{
    FlagOp, FlagUpdate, FlagUpdateResult, Flags, MailboxChange, MailboxId, ModSeq, Uid,
};

/// STORE with optional UNCHANGEDSINCE (RFC 7162 §3.1.3). `update.uids` is sorted and
/// deduplicated. Every message whose flags change gets the same new MODSEQ.
pub(crate) fn store_flags(
    tx: &mut Tx<'_>,
    mailbox: MailboxId,
    update: &FlagUpdate,
) -> DbResult<FlagUpdateResult> {
    let conn = tx.conn;
    let mut mb = MailboxState::load(conn, mailbox)?;
    let new_modseq = mb.highestmodseq + 1;
    let wanted = normalized(&update.flags);
    let mut result = FlagUpdateResult::default();
    let mut read = conn.prepare_cached(
        "SELECT modseq, flags, keywords FROM messages WHERE mailbox = ?1 AND uid = ?2",
    )?;
    let mut write = conn.prepare_cached(
        "UPDATE messages SET modseq = ?3, flags = ?4, keywords = ?5 WHERE mailbox = ?1 AND uid = ?2",
    )?;
    for &uid in &update.uids {
        let Some((modseq, old)) = read
            .query_row((mailbox.0, uid), |r| {
                Ok((
                    r.get::<_, i64>(0)? as ModSeq,
                    Flags {
                        system: r.get(1)?,
                        keywords: keywords_from_sql(r.get_ref(2)?.as_str_or_null()?),
                    },
                ))
            })
            .optional()?
        else {
            continue;
        };
        // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is not touched and is
        // reported in MODIFIED, whether or not the STORE would have changed it.
        if update.unchanged_since.is_some_and(|since| modseq > since) {
            result.modified.push(uid);
            continue;
        }
        let new = match update.op {
            FlagOp::Add => old.union(&wanted),
            FlagOp::Remove => old.difference(&wanted),
            FlagOp::Replace => wanted.clone(),
        };
        if same_flags(&old, &new) {
            result.unchanged.push((uid, old, modseq));
            continue;
        }
        write.execute((
            mailbox.0,
            uid,
            new_modseq as i64,
            new.system,
            keywords_to_sql(&new.keywords),
        ))?;
        mb.count(old.system, 0, -1);
        mb.count(new.system, 0, 1);
        result.changed.push((uid, new, new_modseq));
    }
    if !result.changed.is_empty() {
        mb.highestmodseq = new_modseq;
        mb.save(conn)?;
        tx.mailbox_changed(mb.account, mailbox, new_modseq, MailboxChange::FLAGS);
    }
    Ok(result)
}

/// Removes the given (sorted, deduplicated) UIDs under one new MODSEQ.
pub(crate) fn expunge(
    tx: &mut Tx<'_>,
    mailbox: MailboxId,
    uids: &[Uid],
) -> DbResult<(Vec<Uid>, ModSeq)> {
    let conn = tx.conn;
    let mut mb = MailboxState::load(conn, mailbox)?;
    let (size_before, count_before) = (mb.size, mb.messages);
    let modseq = mb.highestmodseq + 1;
    let mut removed = Vec::new();
    for &uid in uids {
        if remove_message(conn, &mut mb, uid, modseq)? {
            removed.push(uid);
        }
    }
    if removed.is_empty() {
        return Ok((removed, mb.highestmodseq));
    }
    mb.highestmodseq = modseq;
    mb.save(conn)?;
    add_usage(
        conn,
        mb.account,
        mb.size - size_before,
        mb.messages - count_before,
    )?;
    tx.mailbox_changed(mb.account, mailbox, modseq, MailboxChange::EXPUNGED);
    Ok((removed, modseq))
}
