//! Write operations that add messages: APPEND/delivery and COPY/MOVE.

use crate::codec::normalized;
use crate::fail::DbResult;
use crate::rows::{
    MailboxState, NewRow, add_usage, check_quota, insert_message, ref_blob, remove_message,
    usage_bytes,
};
use crate::writer::Tx;
use rusqlite::OptionalExtension;
use tern_store::{
    AppendMode, Appended, CopyResult, Flags, MailboxChange, MailboxId, NewMessage, StoreError,
    StoreResult, Timestamp, Uid,
};

/// Runs a batch of appends in the current job. `Atomic`: the first failure fails the job (and
/// its savepoint rolls everything back). `Independent`: each message in its own savepoint.
pub(crate) fn append_batch(
    tx: &mut Tx<'_>,
    batch: &[NewMessage],
    mode: AppendMode,
) -> DbResult<Vec<StoreResult<Appended>>> {
    let mut out = Vec::with_capacity(batch.len());
    match mode {
        AppendMode::Atomic => {
            for msg in batch {
                out.push(Ok(append_one(tx, msg)?));
            }
        }
        AppendMode::Independent => {
            for msg in batch {
                out.push(tx.nested(|tx| append_one(tx, msg)).map_err(|f| f.0));
            }
        }
    }
    Ok(out)
}

fn append_one(tx: &mut Tx<'_>, msg: &NewMessage) -> DbResult<Appended> {
    let conn = tx.conn;
    let mut mb = MailboxState::load(conn, msg.mailbox)?;
    let size = i64::try_from(msg.size)
        .map_err(|_| StoreError::Invalid(format!("message size {} too large", msg.size)))?;
    let before = usage_bytes(conn, mb.account)?;
    if let Some(quota) = msg.quota_bytes
        && (before + size) as u64 > quota
        && size > 0
    {
        return Err(StoreError::OverQuota.into());
    }
    let uid = match msg.import_uid {
        None => mb.uidnext,
        Some(uid) if uid >= mb.uidnext && uid > 0 => uid,
        Some(uid) => {
            return Err(StoreError::UidConflict {
                mailbox: mb.id,
                uid,
            }
            .into());
        }
    };
    let uidnext = uid.checked_add(1).ok_or(StoreError::UidConflict {
        mailbox: mb.id,
        uid,
    })?;
    // RFC 7162 §3.1: MODSEQs of a mailbox only grow. An imported MODSEQ is kept when it is
    // above the mailbox's HIGHESTMODSEQ, else raised to the next value.
    let modseq = match msg.import_modseq {
        Some(m) if m > mb.highestmodseq => m,
        _ => mb.highestmodseq + 1,
    };
    let flags = normalized(&msg.flags);
    ref_blob(conn, &msg.blob, 1, Some(&msg.meta))?;
    insert_message(
        conn,
        &NewRow {
            mailbox: mb.id,
            uid,
            modseq,
            flags: &flags,
            internaldate: msg.internaldate,
            size,
            blob: &msg.blob.0,
            pop3_uidl: msg.pop3_uidl.as_deref(),
        },
    )?;
    mb.uidnext = uidnext;
    mb.highestmodseq = modseq;
    mb.count(flags.system, size, 1);
    mb.save(conn)?;
    if msg.import_modseq.is_some() {
        // The source's expunges up to here were not imported: expunge history is complete
        // only from this MODSEQ on (QRESYNC then falls back, RFC 7162 §3.2.5.2).
        conn.prepare_cached(
            "UPDATE mailboxes SET oldest_modseq = max(oldest_modseq, ?2) WHERE id = ?1",
        )?
        .execute((mb.id.0, modseq as i64))?;
    }
    add_usage(conn, mb.account, size, 1)?;
    tx.mailbox_changed(mb.account, mb.id, modseq, MailboxChange::ADDED);
    Ok(Appended {
        mailbox: mb.id,
        uidvalidity: mb.uidvalidity,
        uid,
        modseq,
    })
}

struct Source {
    uid: Uid,
    flags: Flags,
    internaldate: Timestamp,
    size: i64,
    blob: Vec<u8>,
    pop3_uidl: Option<String>,
}

/// COPY, or with `remove_source` MOVE (RFC 6851: the copy and the expunge are one atomic
/// step, here one transaction). Destination UIDs are assigned in source UID order; all
/// copies share one new MODSEQ.
pub(crate) fn copy(
    tx: &mut Tx<'_>,
    source: MailboxId,
    uids: &[Uid],
    dest: MailboxId,
    remove_source: bool,
    quota: Option<u64>,
) -> DbResult<CopyResult> {
    let conn = tx.conn;
    let mut src = MailboxState::load(conn, source)?;
    let mut dst = MailboxState::load(conn, dest)?;
    let mut rows = Vec::with_capacity(uids.len());
    {
        let mut stmt = conn.prepare_cached(
            "SELECT flags, keywords, internaldate, tz, size, blob, pop3_uidl
             FROM messages WHERE mailbox = ?1 AND uid = ?2",
        )?;
        for &uid in uids {
            let row = stmt
                .query_row((source.0, uid), |r| {
                    Ok(Source {
                        uid,
                        flags: Flags {
                            system: r.get(0)?,
                            keywords: crate::codec::keywords_from_sql(
                                r.get_ref(1)?.as_str_or_null()?,
                            ),
                        },
                        internaldate: Timestamp {
                            unix: r.get(2)?,
                            offset_minutes: r.get(3)?,
                        },
                        size: r.get(4)?,
                        blob: r.get(5)?,
                        pop3_uidl: r.get(6)?,
                    })
                })
                .optional()?;
            rows.extend(row);
        }
    }
    let mut result = CopyResult {
        dest_uidvalidity: dst.uidvalidity,
        pairs: Vec::with_capacity(rows.len()),
    };
    if rows.is_empty() {
        return Ok(result);
    }
    let before = usage_bytes(conn, dst.account)?;
    let modseq = dst.highestmodseq + 1;
    let mut added_bytes = 0;
    for row in &rows {
        let uid = dst.uidnext;
        dst.uidnext = uid
            .checked_add(1)
            .ok_or(StoreError::UidConflict { mailbox: dest, uid })?;
        ref_blob(conn, &crate::codec::blob_from_sql(&row.blob)?, 1, None)?;
        insert_message(
            conn,
            &NewRow {
                mailbox: dest,
                uid,
                modseq,
                flags: &row.flags,
                internaldate: row.internaldate,
                size: row.size,
                blob: &row.blob,
                // A moved message keeps an explicit UIDL; a copy is a new message for POP3.
                pop3_uidl: row.pop3_uidl.as_deref().filter(|_| remove_source),
            },
        )?;
        dst.count(row.flags.system, row.size, 1);
        added_bytes += row.size;
        result.pairs.push((row.uid, uid));
    }
    dst.highestmodseq = modseq;
    dst.save(conn)?;
    add_usage(conn, dst.account, added_bytes, rows.len() as i64)?;
    if remove_source {
        // The source may be the destination, whose state just changed.
        if source == dest {
            src = dst.clone();
        }
        let expunge_modseq = src.highestmodseq + 1;
        for row in &rows {
            remove_message(conn, &mut src, row.uid, expunge_modseq)?;
        }
        src.highestmodseq = expunge_modseq;
        src.save(conn)?;
        add_usage(conn, src.account, -added_bytes, -(rows.len() as i64))?;
        tx.mailbox_changed(src.account, source, expunge_modseq, MailboxChange::EXPUNGED);
    }
    check_quota(conn, dst.account, before, quota)?;
    // For a MOVE within one mailbox both events name it; the writer keeps the later MODSEQ.
    tx.mailbox_changed(dst.account, dest, dst.highestmodseq, MailboxChange::ADDED);
    Ok(result)
}
