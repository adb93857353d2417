//! Write operations on accounts, mailboxes and subscriptions. Each runs inside a writer job
//! (see [`crate::writer`]), so it is one atomic step of a group commit.

use crate::codec::{account_key, special_use_to_sql};
use crate::fail::DbResult;
use crate::rows::{MailboxState, add_usage, mailbox_info, unref_blob};
use crate::writer::{Tx, unix_now};
use rusqlite::{Connection, OptionalExtension};
use tern_store::{
    AccountId, CreateMailbox, HIERARCHY_DELIMITER, ListChange, MailboxChange, MailboxId,
    MailboxInfo, SpecialUse, StoreError, Uid,
};

/// Finds or creates the account named `name` (case-insensitive).
pub(crate) fn ensure_account(tx: &mut Tx<'_>, name: &str) -> DbResult<AccountId> {
    let key = account_key(name);
    let existing: Option<i64> = tx
        .conn
        .prepare_cached("SELECT id FROM accounts WHERE name_key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(AccountId(id));
    }
    tx.conn
        .prepare_cached("INSERT INTO accounts (name, name_key) VALUES (?1, ?2)")?
        .execute((name, &key))?;
    Ok(AccountId(tx.conn.last_insert_rowid()))
}

pub(crate) fn delete_account(tx: &mut Tx<'_>, account: AccountId) -> DbResult<()> {
    let name: String = tx
        .conn
        .prepare_cached("SELECT name FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchAccount)?;
    let mailboxes: Vec<i64> = tx
        .conn
        .prepare_cached("SELECT id FROM mailboxes WHERE account = ?1")?
        .query_map([account.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in mailboxes {
        delete_mailbox(tx, MailboxId(id))?;
    }
    let conn = tx.conn;
    crate::sieve::delete_account(conn, account)?;
    conn.prepare_cached("DELETE FROM subscriptions WHERE account = ?1")?
        .execute([account.0])?;
    conn.prepare_cached("DELETE FROM metadata WHERE scope = ?1")?
        .execute([-account.0])?;
    conn.prepare_cached("DELETE FROM acl WHERE identifier = ?1")?
        .execute([&name])?;
    conn.prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute([account.0])?;
    tx.list_changed(account, ListChange::ALL);
    Ok(())
}

/// Picks a UIDVALIDITY: the given one (imports), else the current time in seconds, and in
/// any case above every value the store handed out before, so a mailbox re-created under a
/// name never repeats an old incarnation's UIDVALIDITY (RFC 9051 §2.3.1.1).
fn choose_uidvalidity(conn: &Connection, given: Option<u32>) -> DbResult<u32> {
    let last: i64 = conn
        .prepare_cached("SELECT value FROM store_state WHERE key = 'uidvalidity'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let chosen = match given {
        Some(0) => return Err(StoreError::Invalid("UIDVALIDITY must not be 0".into()).into()),
        Some(v) => v,
        None => {
            let next = unix_now().max(last + 1);
            u32::try_from(next)
                .map_err(|_| StoreError::Backend("UIDVALIDITY space exhausted".into()))?
        }
    };
    if i64::from(chosen) > last {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO store_state (key, value) VALUES ('uidvalidity', ?1)",
        )?
        .execute([i64::from(chosen)])?;
    }
    Ok(chosen)
}

fn name_taken(conn: &Connection, account: AccountId, name: &str) -> DbResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM mailboxes WHERE account = ?1 AND name = ?2")?
        .query_row((account.0, name), |_| Ok(()))
        .optional()?
        .is_some())
}

/// `name` is already normalized ([`crate::codec::mailbox_name`]).
pub(crate) fn create_mailbox(
    tx: &mut Tx<'_>,
    account: AccountId,
    name: &str,
    opts: &CreateMailbox,
) -> DbResult<MailboxInfo> {
    let conn = tx.conn;
    let exists: Option<i64> = conn
        .prepare_cached("SELECT id FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NoSuchAccount.into());
    }
    if name_taken(conn, account, name)? {
        return Err(StoreError::MailboxExists.into());
    }
    let uidvalidity = choose_uidvalidity(conn, opts.uidvalidity)?;
    conn.prepare_cached(
        "INSERT INTO mailboxes (account, name, special_use, uidvalidity) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((
        account.0,
        name,
        special_use_to_sql(opts.special_use),
        uidvalidity,
    ))?;
    let id = MailboxId(conn.last_insert_rowid());
    tx.list_changed(account, ListChange::NAMES);
    Ok(MailboxInfo {
        id,
        account,
        name: name.to_owned(),
        special_use: opts.special_use,
        uidvalidity,
    })
}

/// Deletes a mailbox with its messages, expunge history, ACL and metadata.
pub(crate) fn delete_mailbox(tx: &mut Tx<'_>, mailbox: MailboxId) -> DbResult<()> {
    let conn = tx.conn;
    let mb = MailboxState::load(conn, mailbox)?;
    let blobs: Vec<(Vec<u8>, i64)> = conn
        .prepare_cached("SELECT blob, count(*) FROM messages WHERE mailbox = ?1 GROUP BY blob")?
        .query_map([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (blob, n) in &blobs {
        unref_blob(conn, blob, *n)?;
    }
    for sql in [
        "DELETE FROM messages WHERE mailbox = ?1",
        "DELETE FROM expunged WHERE mailbox = ?1",
        "DELETE FROM acl WHERE mailbox = ?1",
        "DELETE FROM metadata WHERE scope = ?1",
        "DELETE FROM mailboxes WHERE id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([mailbox.0])?;
    }
    add_usage(conn, mb.account, -mb.size, -mb.messages)?;
    tx.mailbox_changed(
        mb.account,
        mailbox,
        mb.highestmodseq + 1,
        MailboxChange {
            expunged: true,
            metadata: true,
            ..MailboxChange::NONE
        },
    );
    tx.list_changed(mb.account, ListChange::NAMES);
    Ok(())
}

/// Renames a mailbox and its inferiors (RFC 9051 §6.3.6). `new_name` is normalized.
pub(crate) fn rename_mailbox(tx: &mut Tx<'_>, mailbox: MailboxId, new_name: &str) -> DbResult<()> {
    let conn = tx.conn;
    let info = mailbox_info(conn, mailbox)?;
    let old = info.name.as_str();
    if old == "INBOX" {
        return Err(StoreError::Invalid(
            "renaming INBOX moves its messages; the caller does that (RFC 9051 §6.3.6)".into(),
        )
        .into());
    }
    if new_name == old {
        return Err(StoreError::MailboxExists.into());
    }
    let old_prefix = format!("{old}{HIERARCHY_DELIMITER}");
    if new_name.starts_with(&old_prefix) {
        return Err(StoreError::Invalid(format!(
            "cannot rename {old:?} into its own inferior {new_name:?}"
        ))
        .into());
    }
    // The mailbox itself and every name below it: `old/` ≤ name < `old0` ('0' follows '/').
    let upper = format!("{old}{}", (HIERARCHY_DELIMITER as u8 + 1) as char);
    let targets: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, name FROM mailboxes WHERE account = ?1
             AND (id = ?2 OR (name > ?3 AND name < ?4))",
        )?
        .query_map((info.account.0, mailbox.0, &old_prefix, &upper), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let renamed: Vec<(i64, String)> = targets
        .iter()
        .map(|(id, name)| (*id, format!("{new_name}{}", &name[old.len()..])))
        .collect();
    for (_, name) in &renamed {
        let is_target = targets.iter().any(|(_, t)| t == name);
        if !is_target && name_taken(conn, info.account, name)? {
            return Err(StoreError::MailboxExists.into());
        }
    }
    // Two phases, so a target may take a name another target is leaving.
    let mut set_name = conn.prepare_cached("UPDATE mailboxes SET name = ?2 WHERE id = ?1")?;
    for (id, _) in &renamed {
        set_name.execute((*id, format!("\u{1}renaming/{id}")))?;
    }
    for (id, name) in &renamed {
        set_name.execute((*id, name))?;
    }
    tx.list_changed(info.account, ListChange::NAMES);
    Ok(())
}

pub(crate) fn set_special_use(
    tx: &mut Tx<'_>,
    mailbox: MailboxId,
    special_use: Option<SpecialUse>,
) -> DbResult<()> {
    let info = mailbox_info(tx.conn, mailbox)?;
    tx.conn
        .prepare_cached("UPDATE mailboxes SET special_use = ?2 WHERE id = ?1")?
        .execute((mailbox.0, special_use_to_sql(special_use)))?;
    tx.list_changed(info.account, ListChange::NAMES);
    Ok(())
}

/// `name` is normalized.
pub(crate) fn set_subscribed(
    tx: &mut Tx<'_>,
    account: AccountId,
    name: &str,
    subscribed: bool,
) -> DbResult<()> {
    let conn = tx.conn;
    let exists: Option<i64> = conn
        .prepare_cached("SELECT id FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NoSuchAccount.into());
    }
    let changed = if subscribed {
        conn.prepare_cached("INSERT OR IGNORE INTO subscriptions (account, name) VALUES (?1, ?2)")?
            .execute((account.0, name))?
    } else {
        conn.prepare_cached("DELETE FROM subscriptions WHERE account = ?1 AND name = ?2")?
            .execute((account.0, name))?
    };
    if changed > 0 {
        tx.list_changed(account, ListChange::SUBSCRIPTIONS);
    }
    Ok(())
}

/// Moves the recent boundary past every current message; returns the old boundary (the
/// first UID recent for the caller) and the new one (everything below it is claimed).
pub(crate) fn claim_recent(tx: &mut Tx<'_>, mailbox: MailboxId) -> DbResult<(Uid, Uid)> {
    let (recent, uidnext): (Uid, Uid) = tx
        .conn
        .prepare_cached("SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(StoreError::NoSuchMailbox)?;
    if recent < uidnext {
        tx.conn
            .prepare_cached("UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1")?
            .execute((mailbox.0, uidnext))?;
    }
    Ok((recent, recent.max(uidnext)))
}
