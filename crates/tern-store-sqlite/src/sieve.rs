//! Sieve scripts (RFC 5228, managed over RFC 5804) and the vacation reply log (RFC 5230).
//!
//! Invariants:
//! - At most one script per account is active; activating one deactivates the other in the
//!   same transaction (the partial unique index `sieve_one_active` backs this up).
//! - The active script cannot be deleted (ManageSieve `ACTIVE`).
//! - A vacation reply is recorded in the same commit that answers "reply now", so two
//!   deliveries racing for the same sender cannot both reply.

use crate::fail::DbResult;
use crate::writer::{Tx, unix_now};
use rusqlite::{Connection, OptionalExtension};
use tern_store::{AccountId, SieveScript, SieveScriptInfo, StoreError};

fn check_account(conn: &Connection, account: AccountId) -> DbResult<()> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?;
    found.map(|_| ()).ok_or(StoreError::NoSuchAccount.into())
}

fn check_name(name: &str) -> DbResult<()> {
    if name.is_empty() {
        return Err(StoreError::Invalid("empty script name".into()).into());
    }
    Ok(())
}

// ---- reads ------------------------------------------------------------------------------

pub(crate) fn list(conn: &Connection, account: AccountId) -> DbResult<Vec<SieveScriptInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, active, length(CAST(content AS BLOB)) FROM sieve_scripts
         WHERE account = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([account.0], |r| {
        Ok(SieveScriptInfo {
            name: r.get(0)?,
            active: r.get::<_, i64>(1)? != 0,
            size: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn get(
    conn: &Connection,
    account: AccountId,
    name: &str,
) -> DbResult<Option<SieveScript>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, content, active FROM sieve_scripts WHERE account = ?1 AND name = ?2",
        )?
        .query_row((account.0, name), script_row)
        .optional()?)
}

pub(crate) fn active(conn: &Connection, account: AccountId) -> DbResult<Option<SieveScript>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, content, active FROM sieve_scripts WHERE account = ?1 AND active = 1",
        )?
        .query_row([account.0], script_row)
        .optional()?)
}

fn script_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SieveScript> {
    Ok(SieveScript {
        name: r.get(0)?,
        content: r.get(1)?,
        active: r.get::<_, i64>(2)? != 0,
    })
}

// ---- writes -----------------------------------------------------------------------------

pub(crate) fn put(tx: &mut Tx<'_>, account: AccountId, name: &str, content: &str) -> DbResult<()> {
    check_name(name)?;
    check_account(tx.conn, account)?;
    tx.conn
        .prepare_cached(
            "INSERT INTO sieve_scripts (account, name, content, active) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (account, name) DO UPDATE SET content = excluded.content",
        )?
        .execute((account.0, name, content))?;
    Ok(())
}

pub(crate) fn delete(tx: &mut Tx<'_>, account: AccountId, name: &str) -> DbResult<()> {
    let active: Option<i64> = tx
        .conn
        .prepare_cached("SELECT active FROM sieve_scripts WHERE account = ?1 AND name = ?2")?
        .query_row((account.0, name), |r| r.get(0))
        .optional()?;
    match active {
        None => Err(StoreError::NoSuchScript.into()),
        Some(a) if a != 0 => Err(StoreError::ScriptActive.into()),
        Some(_) => {
            tx.conn
                .prepare_cached("DELETE FROM sieve_scripts WHERE account = ?1 AND name = ?2")?
                .execute((account.0, name))?;
            Ok(())
        }
    }
}

pub(crate) fn rename(tx: &mut Tx<'_>, account: AccountId, old: &str, new: &str) -> DbResult<()> {
    check_name(new)?;
    if get(tx.conn, account, old)?.is_none() {
        return Err(StoreError::NoSuchScript.into());
    }
    if old == new {
        return Ok(());
    }
    if get(tx.conn, account, new)?.is_some() {
        return Err(StoreError::ScriptExists.into());
    }
    tx.conn
        .prepare_cached("UPDATE sieve_scripts SET name = ?3 WHERE account = ?1 AND name = ?2")?
        .execute((account.0, old, new))?;
    Ok(())
}

pub(crate) fn set_active(tx: &mut Tx<'_>, account: AccountId, name: Option<&str>) -> DbResult<()> {
    check_account(tx.conn, account)?;
    if let Some(name) = name
        && get(tx.conn, account, name)?.is_none()
    {
        return Err(StoreError::NoSuchScript.into());
    }
    tx.conn
        .prepare_cached("UPDATE sieve_scripts SET active = 0 WHERE account = ?1 AND active = 1")?
        .execute([account.0])?;
    if let Some(name) = name {
        tx.conn
            .prepare_cached("UPDATE sieve_scripts SET active = 1 WHERE account = ?1 AND name = ?2")?
            .execute((account.0, name))?;
    }
    Ok(())
}

pub(crate) fn vacation_check_and_record(
    tx: &mut Tx<'_>,
    account: AccountId,
    handle: &str,
    sender: &str,
    period_seconds: u64,
) -> DbResult<bool> {
    let now = unix_now();
    let sender = sender.to_lowercase();
    let conn = tx.conn;
    // Expired entries of this account go first: they mean "may reply" anyway.
    conn.prepare_cached("DELETE FROM vacation_replies WHERE account = ?1 AND expires <= ?2")?
        .execute((account.0, now))?;
    let pending: Option<i64> = conn
        .prepare_cached(
            "SELECT expires FROM vacation_replies
             WHERE account = ?1 AND handle = ?2 AND sender = ?3",
        )?
        .query_row((account.0, handle, &sender), |r| r.get(0))
        .optional()?;
    if pending.is_some() {
        return Ok(false);
    }
    let period = i64::try_from(period_seconds).unwrap_or(i64::MAX / 2);
    conn.prepare_cached(
        "INSERT INTO vacation_replies (account, handle, sender, expires) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((account.0, handle, &sender, now.saturating_add(period)))?;
    Ok(true)
}

/// Removes an account's scripts and vacation log (part of deleting the account).
pub(crate) fn delete_account(conn: &Connection, account: AccountId) -> DbResult<()> {
    conn.prepare_cached("DELETE FROM sieve_scripts WHERE account = ?1")?
        .execute([account.0])?;
    conn.prepare_cached("DELETE FROM vacation_replies WHERE account = ?1")?
        .execute([account.0])?;
    Ok(())
}
