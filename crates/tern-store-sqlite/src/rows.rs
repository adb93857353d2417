//! Row-level helpers shared by the write operations: a mailbox's counters, account usage,
//! blob reference counts, and the message row itself.

use crate::codec::{keywords_to_sql, special_use_from_sql};
use crate::fail::DbResult;
use rusqlite::{Connection, OptionalExtension};
use tern_store::{
    AccountId, BlobId, Flags, MailboxId, MailboxInfo, MessageMeta, ModSeq, StoreError, Timestamp,
    Uid,
};

/// A mailbox's row as write operations need it. Loaded, changed in memory, saved.
#[derive(Clone, Debug)]
pub(crate) struct MailboxState {
    pub id: MailboxId,
    pub account: AccountId,
    pub uidvalidity: u32,
    pub uidnext: Uid,
    pub highestmodseq: ModSeq,
    pub messages: i64,
    pub unseen: i64,
    pub deleted: i64,
    pub size: i64,
}

impl MailboxState {
    pub fn load(conn: &Connection, id: MailboxId) -> DbResult<MailboxState> {
        conn.prepare_cached(
            "SELECT account, uidvalidity, uidnext, highestmodseq, messages, unseen, deleted, size
             FROM mailboxes WHERE id = ?1",
        )?
        .query_row([id.0], |r| {
            Ok(MailboxState {
                id,
                account: AccountId(r.get(0)?),
                uidvalidity: r.get(1)?,
                uidnext: r.get(2)?,
                highestmodseq: r.get::<_, i64>(3)? as u64,
                messages: r.get(4)?,
                unseen: r.get(5)?,
                deleted: r.get(6)?,
                size: r.get(7)?,
            })
        })
        .optional()?
        .ok_or(StoreError::NoSuchMailbox.into())
    }

    pub fn save(&self, conn: &Connection) -> DbResult<()> {
        conn.prepare_cached(
            "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3, messages = ?4, unseen = ?5,
             deleted = ?6, size = ?7 WHERE id = ?1",
        )?
        .execute((
            self.id.0,
            self.uidnext,
            self.highestmodseq as i64,
            self.messages,
            self.unseen,
            self.deleted,
            self.size,
        ))?;
        Ok(())
    }

    /// Counts a message with `system` flags and `size` in (`sign` = 1) or out (-1).
    pub fn count(&mut self, system: u8, size: i64, sign: i64) {
        self.messages += sign;
        self.size += sign * size;
        if system & Flags::SEEN == 0 {
            self.unseen += sign;
        }
        if system & Flags::DELETED != 0 {
            self.deleted += sign;
        }
    }
}

/// Reads a mailbox as listed.
pub(crate) fn mailbox_info(conn: &Connection, id: MailboxId) -> DbResult<MailboxInfo> {
    conn.prepare_cached(
        "SELECT id, account, name, special_use, uidvalidity FROM mailboxes WHERE id = ?1",
    )?
    .query_row([id.0], info_from_row)
    .optional()?
    .ok_or(StoreError::NoSuchMailbox.into())
}

/// Columns for [`info_from_row`].
pub(crate) const INFO_COLUMNS: &str = "id, account, name, special_use, uidvalidity";

pub(crate) fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MailboxInfo> {
    Ok(MailboxInfo {
        id: MailboxId(r.get(0)?),
        account: AccountId(r.get(1)?),
        name: r.get(2)?,
        special_use: special_use_from_sql(r.get(3)?),
        uidvalidity: r.get(4)?,
    })
}

/// The account's usage in bytes; `NoSuchAccount` if it is gone.
pub(crate) fn usage_bytes(conn: &Connection, account: AccountId) -> DbResult<i64> {
    conn.prepare_cached("SELECT usage_bytes FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchAccount.into())
}

pub(crate) fn add_usage(
    conn: &Connection,
    account: AccountId,
    bytes: i64,
    messages: i64,
) -> DbResult<()> {
    if bytes != 0 || messages != 0 {
        conn.prepare_cached(
            "UPDATE accounts SET usage_bytes = usage_bytes + ?2,
             usage_messages = usage_messages + ?3 WHERE id = ?1",
        )?
        .execute((account.0, bytes, messages))?;
    }
    Ok(())
}

/// Refuses a change that took the account's usage above `quota` (changes that shrink or keep
/// usage are always allowed, so a MOVE within an over-quota account still works).
pub(crate) fn check_quota(
    conn: &Connection,
    account: AccountId,
    before: i64,
    quota: Option<u64>,
) -> DbResult<()> {
    if let Some(quota) = quota {
        let after = usage_bytes(conn, account)?;
        if after > before && after as u64 > quota {
            return Err(StoreError::OverQuota.into());
        }
    }
    Ok(())
}

/// Adds `n` references to a blob, storing its metadata the first time it is referenced.
pub(crate) fn ref_blob(
    conn: &Connection,
    blob: &BlobId,
    n: i64,
    meta: Option<&MessageMeta>,
) -> DbResult<()> {
    let updated = conn
        .prepare_cached("UPDATE blobs SET refs = refs + ?2 WHERE hash = ?1")?
        .execute((&blob.0[..], n))?;
    if updated == 0 {
        let meta = match meta {
            Some(m) => crate::meta_codec::encode(m)?,
            None => {
                return Err(StoreError::Backend(format!(
                    "blob {blob} is referenced but has no stored metadata"
                ))
                .into());
            }
        };
        conn.prepare_cached("INSERT INTO blobs (hash, refs, meta) VALUES (?1, ?2, ?3)")?
            .execute((&blob.0[..], n, meta))?;
    }
    Ok(())
}

/// Drops `n` references; the row (and its metadata) goes when none are left.
pub(crate) fn unref_blob(conn: &Connection, blob: &[u8], n: i64) -> DbResult<()> {
    let left: Option<i64> = conn
        .prepare_cached("UPDATE blobs SET refs = refs - ?2 WHERE hash = ?1 RETURNING refs")?
        .query_row((blob, n), |r| r.get(0))
        .optional()?;
    if left.is_some_and(|l| l <= 0) {
        conn.prepare_cached("DELETE FROM blobs WHERE hash = ?1")?
            .execute([blob])?;
    }
    Ok(())
}

/// A message row to insert.
pub(crate) struct NewRow<'a> {
    pub mailbox: MailboxId,
    pub uid: Uid,
    pub modseq: ModSeq,
    pub flags: &'a Flags,
    pub internaldate: Timestamp,
    pub size: i64,
    pub blob: &'a [u8],
    pub pop3_uidl: Option<&'a str>,
}

pub(crate) fn insert_message(conn: &Connection, row: &NewRow<'_>) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO messages (mailbox, uid, modseq, flags, keywords, internaldate, tz, size,
         blob, pop3_uidl) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute((
        row.mailbox.0,
        row.uid,
        row.modseq as i64,
        row.flags.system,
        keywords_to_sql(&row.flags.keywords),
        row.internaldate.unix,
        row.internaldate.offset_minutes,
        row.size,
        row.blob,
        row.pop3_uidl,
    ))?;
    Ok(())
}

/// Removes one message, recording its UID as expunged at `modseq` (RFC 7162 §3.2.5
/// VANISHED needs it). Returns whether it existed. The caller saves `mb` and updates usage.
pub(crate) fn remove_message(
    conn: &Connection,
    mb: &mut MailboxState,
    uid: Uid,
    modseq: ModSeq,
) -> DbResult<bool> {
    let removed: Option<(u8, i64, Vec<u8>)> = conn
        .prepare_cached(
            "DELETE FROM messages WHERE mailbox = ?1 AND uid = ?2 RETURNING flags, size, blob",
        )?
        .query_row((mb.id.0, uid), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((system, size, blob)) = removed else {
        return Ok(false);
    };
    unref_blob(conn, &blob, 1)?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO expunged (mailbox, uid, modseq) VALUES (?1, ?2, ?3)",
    )?
    .execute((mb.id.0, uid, modseq as i64))?;
    mb.count(system, size, -1);
    Ok(true)
}
