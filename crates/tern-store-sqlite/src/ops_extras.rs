//! Write operations for ACLs (RFC 4314) and METADATA (RFC 5464).

use crate::codec::account_key;
use crate::fail::DbResult;
use crate::rows::mailbox_info;
use crate::writer::Tx;
use rusqlite::{Connection, OptionalExtension};
use tern_store::{AccountId, ListChange, MailboxChange, MailboxId, MetadataScope, StoreError};

pub(crate) fn set_acl(
    tx: &mut Tx<'_>,
    mailbox: MailboxId,
    identifier: &str,
    rights: Option<&str>,
) -> DbResult<()> {
    let conn = tx.conn;
    let owner = mailbox_info(conn, mailbox)?.account;
    if identifier.is_empty() {
        return Err(StoreError::Invalid("empty ACL identifier".into()).into());
    }
    let changed = match rights {
        Some(rights) => conn
            .prepare_cached(
                "INSERT INTO acl (mailbox, identifier, rights) VALUES (?1, ?2, ?3)
                 ON CONFLICT (mailbox, identifier) DO UPDATE SET rights = excluded.rights",
            )?
            .execute((mailbox.0, identifier, rights))?,
        None => conn
            .prepare_cached("DELETE FROM acl WHERE mailbox = ?1 AND identifier = ?2")?
            .execute((mailbox.0, identifier))?,
    };
    if changed > 0 {
        tx.list_changed(owner, ListChange::ACL);
        // The grantee's view of shared mailboxes changed too (when it names one account).
        let grantee = identifier.strip_prefix('-').unwrap_or(identifier);
        let grantee: Option<i64> = conn
            .prepare_cached("SELECT id FROM accounts WHERE name_key = ?1")?
            .query_row([account_key(grantee)], |r| r.get(0))
            .optional()?;
        if let Some(id) = grantee.filter(|id| *id != owner.0) {
            tx.list_changed(AccountId(id), ListChange::ACL);
        }
    }
    Ok(())
}

/// The `metadata.scope` column: a mailbox id, or minus the account id for server entries.
pub(crate) fn scope_key(conn: &Connection, scope: MetadataScope) -> DbResult<i64> {
    match scope {
        MetadataScope::Mailbox(mailbox) => {
            mailbox_info(conn, mailbox)?;
            Ok(mailbox.0)
        }
        MetadataScope::Server(account) => {
            let exists: Option<i64> = conn
                .prepare_cached("SELECT id FROM accounts WHERE id = ?1")?
                .query_row([account.0], |r| r.get(0))
                .optional()?;
            exists.ok_or(StoreError::NoSuchAccount)?;
            Ok(-account.0)
        }
    }
}

/// RFC 5464 §3.2: entry names are slash-separated paths, compared case-insensitively.
pub(crate) fn entry_key(name: &str) -> DbResult<String> {
    if !name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(StoreError::Invalid(format!("bad metadata entry name {name:?}")).into());
    }
    Ok(name.to_lowercase())
}

pub(crate) fn set_metadata(
    tx: &mut Tx<'_>,
    scope: MetadataScope,
    entries: &[(String, Option<Vec<u8>>)],
) -> DbResult<()> {
    let conn = tx.conn;
    let scope_id = scope_key(conn, scope)?;
    let mut changed = 0;
    for (name, value) in entries {
        let key = entry_key(name)?;
        changed += match value {
            Some(value) => conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO metadata (scope, name_key, name, value)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute((scope_id, &key, name, value))?,
            None => conn
                .prepare_cached("DELETE FROM metadata WHERE scope = ?1 AND name_key = ?2")?
                .execute((scope_id, &key))?,
        };
    }
    if changed > 0 {
        match scope {
            MetadataScope::Mailbox(mailbox) => {
                let (account, modseq): (i64, i64) = conn
                    .prepare_cached("SELECT account, highestmodseq FROM mailboxes WHERE id = ?1")?
                    .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
                tx.mailbox_changed(
                    AccountId(account),
                    mailbox,
                    modseq as u64,
                    MailboxChange::METADATA,
                );
            }
            MetadataScope::Server(account) => tx.list_changed(account, ListChange::METADATA),
        }
    }
    Ok(())
}
