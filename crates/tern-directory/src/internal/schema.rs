//! The directory database's schema and its migrations (`PRAGMA user_version`).
//!
//! One namespace of addresses: an address is an account name, an alias or a group, never two
//! of them (enforced by the management code inside `BEGIN IMMEDIATE` transactions, so two
//! processes — `tern serve` and `tern user add` — cannot race past the check).
use rusqlite::Connection;

/// The schema version this build writes.
pub const VERSION: i64 = 2;

const V1: &str = "
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,   -- lower-case primary address
    password_hash TEXT,                   -- argon2id PHC string; NULL: no password login
    quota         INTEGER,                -- NULL: the default; -1: unlimited; else bytes
    enabled       INTEGER NOT NULL DEFAULT 1,
    display_name  TEXT,
    created       INTEGER NOT NULL        -- Unix seconds
);
CREATE TABLE aliases (
    address TEXT PRIMARY KEY,             -- lower-case
    account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
);
CREATE INDEX aliases_by_account ON aliases(account);
CREATE TABLE groups (
    address      TEXT PRIMARY KEY,        -- lower-case
    display_name TEXT
);
CREATE TABLE group_members (
    grp    TEXT NOT NULL REFERENCES groups(address) ON DELETE CASCADE,
    member TEXT NOT NULL,                 -- lower-case address, local or not
    PRIMARY KEY (grp, member)
);
CREATE INDEX group_members_by_member ON group_members(member);
";

/// Version 2: the SCRAM-SHA-256 secret of the password (`SCRAM-SHA-256$iter:salt$stored:server`,
/// written with the argon2 hash; NULL for passwords set before, until the next `passwd`).
const V2: &str = "ALTER TABLE accounts ADD COLUMN scram_sha256 TEXT;";

/// Brings a database to [`VERSION`]. Refuses a database written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if version > VERSION {
        return Err(format!(
            "directory database has schema version {version}; this build knows up to {VERSION}"
        ));
    }
    if version < 1 {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        // Another process may have migrated while we waited for the lock.
        let again: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if again < 1 {
            tx.execute_batch(V1).map_err(|e| e.to_string())?;
            tx.execute_batch("PRAGMA user_version = 1")
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
    }
    if version < 2 {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let again: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if again < 2 {
            tx.execute_batch(V2).map_err(|e| e.to_string())?;
            tx.execute_batch("PRAGMA user_version = 2")
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}
