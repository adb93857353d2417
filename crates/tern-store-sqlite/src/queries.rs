//! Read operations. Each runs on a reader connection ([`crate::readers`]); those that must
//! be consistent across several statements run inside one read transaction.

use crate::codec::{RECORD_COLUMNS, account_key, blob_from_sql, default_uidl, record_from_row};
use crate::fail::DbResult;
use crate::meta_codec;
use crate::ops_extras::{entry_key, scope_key};
use crate::rows::{INFO_COLUMNS, info_from_row};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;
use std::sync::Arc;
use tern_store::{
    AccountId, BlobId, Changes, MailboxId, MailboxInfo, MailboxStatus, MessageMeta, MessageRecord,
    MetaParts, MetadataScope, ModSeq, StoreError, Uid, Usage,
};

pub(crate) fn account_id(conn: &Connection, name: &str) -> DbResult<Option<AccountId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM accounts WHERE name_key = ?1")?
        .query_row([account_key(name)], |r| r.get(0))
        .optional()?
        .map(AccountId))
}

pub(crate) fn account_name(conn: &Connection, account: AccountId) -> DbResult<String> {
    conn.prepare_cached("SELECT name FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchAccount.into())
}

pub(crate) fn accounts(conn: &Connection) -> DbResult<Vec<(AccountId, String)>> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM accounts ORDER BY name_key")?;
    let rows = stmt.query_map([], |r| Ok((AccountId(r.get(0)?), r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn usage(conn: &Connection, account: AccountId) -> DbResult<Usage> {
    conn.prepare_cached("SELECT usage_bytes, usage_messages FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| {
            Ok(Usage {
                bytes: r.get::<_, i64>(0)? as u64,
                messages: r.get::<_, i64>(1)? as u64,
            })
        })
        .optional()?
        .ok_or(StoreError::NoSuchAccount.into())
}

pub(crate) fn mailboxes(conn: &Connection, account: AccountId) -> DbResult<Vec<MailboxInfo>> {
    account_name(conn, account)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INFO_COLUMNS} FROM mailboxes WHERE account = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map([account.0], info_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn status(conn: &Connection, mailbox: MailboxId) -> DbResult<MailboxStatus> {
    let (mut status, recent_uid): (MailboxStatus, Uid) = conn
        .prepare_cached(
            "SELECT uidvalidity, uidnext, highestmodseq, messages, unseen, deleted, size,
             recent_uid FROM mailboxes WHERE id = ?1",
        )?
        .query_row([mailbox.0], |r| {
            Ok((
                MailboxStatus {
                    uidvalidity: r.get(0)?,
                    uidnext: r.get(1)?,
                    highestmodseq: r.get::<_, i64>(2)? as u64,
                    messages: r.get(3)?,
                    unseen: r.get(4)?,
                    deleted: r.get(5)?,
                    size: r.get::<_, i64>(6)? as u64,
                    recent: 0,
                },
                r.get(7)?,
            ))
        })
        .optional()?
        .ok_or(StoreError::NoSuchMailbox)?;
    if recent_uid < status.uidnext {
        status.recent = conn
            .prepare_cached("SELECT count(*) FROM messages WHERE mailbox = ?1 AND uid >= ?2")?
            .query_row((mailbox.0, recent_uid), |r| r.get(0))?;
    }
    Ok(status)
}

/// Only the small columns: never the parsed metadata (a 100,000-message mailbox is one
/// range scan over ~100-byte rows).
pub(crate) fn messages(
    conn: &Connection,
    mailbox: MailboxId,
) -> DbResult<(MailboxStatus, Vec<MessageRecord>)> {
    let status = status(conn, mailbox)?;
    let mut out = Vec::with_capacity(status.messages as usize);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM messages WHERE mailbox = ?1 ORDER BY uid"
    ))?;
    let mut rows = stmt.query([mailbox.0])?;
    while let Some(row) = rows.next()? {
        out.push(record_from_row(row)?);
    }
    Ok((status, out))
}

/// Wanted UIDs at most this far apart are read by one range scan over `messages` (the rows
/// between them are joined and dropped undecoded); a wider gap starts a new scan. Measured
/// with callgrind: a row read through costs about half of what starting a scan does, so
/// reading through one unwanted row is cheaper and through two is even.
const SCAN_GAP: Uid = 2;

/// Metadata of `uids` in the order asked (omitting UIDs that are gone), decoding only
/// `parts`. Whatever the order asked, the rows are read in UID order, in as few range
/// scans as the gaps between the UIDs allow, and each stored value is decoded at most once.
/// Run inside a read transaction, so that the scans share one snapshot (and its lock).
pub(crate) fn meta(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
    parts: MetaParts,
) -> DbResult<Vec<(Uid, Arc<MessageMeta>)>> {
    let mut wanted = uids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: Vec<Option<Arc<MessageMeta>>> = vec![None; wanted.len()];
    let mut stmt = conn.prepare_cached(
        "SELECT m.uid, b.meta FROM messages m JOIN blobs b ON b.hash = m.blob
         WHERE m.mailbox = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid",
    )?;
    let mut start = 0;
    while start < wanted.len() {
        let mut end = start + 1;
        while end < wanted.len() && wanted[end] - wanted[end - 1] <= SCAN_GAP {
            end += 1;
        }
        let run = &wanted[start..end];
        let mut rows = stmt.query((mailbox.0, run[0], run[run.len() - 1]))?;
        let mut next = 0;
        while let Some(row) = rows.next()? {
            let uid: Uid = row.get(0)?;
            while next < run.len() && run[next] < uid {
                next += 1;
            }
            if run.get(next) == Some(&uid) {
                let meta = meta_codec::decode(row.get_ref(1)?, parts)?;
                found[start + next] = Some(Arc::new(meta));
            }
        }
        start = end;
    }
    Ok(uids
        .iter()
        .filter_map(|uid| {
            let at = wanted.binary_search(uid).ok()?;
            found[at].clone().map(|meta| (*uid, meta))
        })
        .collect())
}

pub(crate) fn pop3_uidls(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
) -> DbResult<Vec<(Uid, String)>> {
    let uidvalidity: u32 = conn
        .prepare_cached("SELECT uidvalidity FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchMailbox)?;
    let mut stmt =
        conn.prepare_cached("SELECT pop3_uidl FROM messages WHERE mailbox = ?1 AND uid = ?2")?;
    let mut out = Vec::with_capacity(uids.len());
    for &uid in uids {
        let uidl: Option<Option<String>> =
            stmt.query_row((mailbox.0, uid), |r| r.get(0)).optional()?;
        if let Some(uidl) = uidl {
            out.push((uid, uidl.unwrap_or_else(|| default_uidl(uidvalidity, uid))));
        }
    }
    Ok(out)
}

pub(crate) fn changes_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> DbResult<Changes> {
    let highestmodseq: i64 = conn
        .prepare_cached("SELECT highestmodseq FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchMailbox)?;
    let since = since.min(i64::MAX as u64) as i64;
    let mut changed = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM messages WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid"
        ))?;
        let mut rows = stmt.query((mailbox.0, since))?;
        while let Some(row) = rows.next()? {
            changed.push(record_from_row(row)?);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM expunged WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid",
    )?;
    let expunged = stmt
        .query_map((mailbox.0, since), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Changes {
        changed,
        expunged,
        highestmodseq: highestmodseq as u64,
    })
}

pub(crate) fn oldest_modseq(conn: &Connection, mailbox: MailboxId) -> DbResult<ModSeq> {
    let v: i64 = conn
        .prepare_cached("SELECT oldest_modseq FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchMailbox)?;
    Ok(v as u64)
}

/// Reads the current boundary without writing, for the common "nothing new" case.
pub(crate) fn recent_boundary(conn: &Connection, mailbox: MailboxId) -> DbResult<(Uid, Uid)> {
    conn.prepare_cached("SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(StoreError::NoSuchMailbox.into())
}

pub(crate) fn subscriptions(conn: &Connection, account: AccountId) -> DbResult<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT name FROM subscriptions WHERE account = ?1 ORDER BY name")?;
    let rows = stmt.query_map([account.0], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn mailbox(conn: &Connection, mailbox: MailboxId) -> DbResult<MailboxInfo> {
    crate::rows::mailbox_info(conn, mailbox)
}

pub(crate) fn acl(conn: &Connection, mailbox: MailboxId) -> DbResult<Vec<(String, String)>> {
    crate::rows::mailbox_info(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(
        "SELECT identifier, rights FROM acl WHERE mailbox = ?1 ORDER BY identifier",
    )?;
    let rows = stmt.query_map([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Mailboxes of other accounts carrying an ACL entry for `identifier` or `anyone`.
pub(crate) fn shared_with(conn: &Connection, identifier: &str) -> DbResult<Vec<MailboxInfo>> {
    let own = account_id(conn, identifier)?.map_or(0, |a| a.0);
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT m.id, m.account, m.name, m.special_use, m.uidvalidity
         FROM acl a JOIN mailboxes m ON m.id = a.mailbox
         WHERE (a.identifier = ?1 OR a.identifier = 'anyone') AND m.account != ?2
         ORDER BY m.account, m.name",
    )?;
    let rows = stmt.query_map((identifier, own), info_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// RFC 5464 §4.2.2 DEPTH: 0 = the entry only, 1 = and its children, `None` = all below.
pub(crate) fn get_metadata(
    conn: &Connection,
    scope: MetadataScope,
    entries: &[String],
    depth: Option<u32>,
) -> DbResult<Vec<(String, Vec<u8>)>> {
    let scope = scope_key(conn, scope)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut exact =
        conn.prepare_cached("SELECT name, value FROM metadata WHERE scope = ?1 AND name_key = ?2")?;
    let mut below = conn.prepare_cached(
        "SELECT name_key, name, value FROM metadata
         WHERE scope = ?1 AND name_key > ?2 AND name_key < ?3 ORDER BY name_key",
    )?;
    for entry in entries {
        let key = entry_key(entry)?;
        if let Some((name, value)) = exact
            .query_row((scope, &key), |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
            .optional()?
            && seen.insert(key.clone())
        {
            out.push((name, value));
        }
        if depth == Some(0) {
            continue;
        }
        let lower = format!("{key}/");
        let upper = format!("{key}0");
        let mut rows = below.query((scope, &lower, &upper))?;
        while let Some(row) = rows.next()? {
            let child_key: String = row.get(0)?;
            let levels = child_key[lower.len()..].split('/').count() as u32;
            if depth.is_some_and(|d| levels > d) || !seen.insert(child_key) {
                continue;
            }
            out.push((row.get(1)?, row.get(2)?));
        }
    }
    Ok(out)
}

pub(crate) fn blob_referenced(conn: &Connection, blob: &BlobId) -> DbResult<bool> {
    Ok(conn
        .prepare_cached("SELECT refs FROM blobs WHERE hash = ?1")?
        .query_row([&blob.0[..]], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|refs| refs > 0))
}

pub(crate) fn referenced_blobs(conn: &Connection) -> DbResult<Vec<BlobId>> {
    let mut stmt = conn.prepare_cached("SELECT hash FROM blobs WHERE refs > 0")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(blob_from_sql(row.get_ref(0)?.as_blob()?)?);
    }
    Ok(out)
}
