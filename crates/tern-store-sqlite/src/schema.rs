//! The database schema and how connections are opened.
//!
//! Invariants the schema encodes (the code in `ops_*` keeps the rest):
//! - `accounts.usage_*` and `mailboxes.{messages,unseen,deleted,size}` equal the sums over
//!   `messages`, maintained in the same transaction as each change.
//! - `blobs.refs` is the number of `messages` rows naming the blob; a row exists only while
//!   `refs > 0`. It also caches the blob's parsed [`tern_store::MessageMeta`] (laid out by
//!   `meta_codec`; JSON TEXT in databases of schema 1), once per content however many
//!   mailboxes hold it, so `messages` rows stay small.
//! - `messages` is clustered by `(mailbox, uid)` (WITHOUT ROWID): listing a mailbox is one
//!   range scan over small rows; `(mailbox, modseq)` serves CHANGEDSINCE.
//! - `changelog` ids only grow (AUTOINCREMENT), so watchers can follow it by id; `kinds`
//!   holds what changed ([`tern_store::MailboxChange`] bits for mailbox rows,
//!   [`tern_store::ListChange`] bits for list rows), NULL when unknown (rows of older builds).
//! - `sieve_scripts`: at most one row per account has `active = 1` (a partial unique index).
//! - `vacation_replies`: one row per (account, handle, sender) whose reply period has not
//!   ended yet (`expires`, unix seconds); expired rows mean "may reply" and are pruned.

use crate::fail::sql;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;
use tern_store::StoreResult;

/// Version of the schema below; stored in `PRAGMA user_version`. 2: `blobs.meta` holds the
/// binary layout of `meta_codec` (schema 1 wrote JSON TEXT, which is still read), so a
/// build that reads only JSON refuses the file instead of failing on its messages.
/// 3: `sieve_scripts` and `vacation_replies` (created on open of an older file; a build that
/// does not know them would silently drop users' filters, so it refuses the file).
pub(crate) const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS store_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL UNIQUE,
    usage_bytes    INTEGER NOT NULL DEFAULT 0,
    usage_messages INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS mailboxes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account       INTEGER NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    special_use   INTEGER,
    uidvalidity   INTEGER NOT NULL,
    uidnext       INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    recent_uid    INTEGER NOT NULL DEFAULT 1,
    oldest_modseq INTEGER NOT NULL DEFAULT 1,
    messages      INTEGER NOT NULL DEFAULT 0,
    unseen        INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, name)
);

CREATE TABLE IF NOT EXISTS blobs (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    refs INTEGER NOT NULL,
    meta BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
    mailbox      INTEGER NOT NULL REFERENCES mailboxes(id),
    uid          INTEGER NOT NULL,
    modseq       INTEGER NOT NULL,
    flags        INTEGER NOT NULL,
    keywords     TEXT,
    internaldate INTEGER NOT NULL,
    tz           INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    blob         BLOB NOT NULL,
    pop3_uidl    TEXT,
    PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_modseq ON messages (mailbox, modseq);

CREATE TABLE IF NOT EXISTS expunged (
    mailbox INTEGER NOT NULL,
    uid     INTEGER NOT NULL,
    modseq  INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_by_modseq ON expunged (mailbox, modseq);

CREATE TABLE IF NOT EXISTS subscriptions (
    account INTEGER NOT NULL,
    name    TEXT NOT NULL,
    PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS acl (
    mailbox    INTEGER NOT NULL,
    identifier TEXT NOT NULL COLLATE NOCASE,
    rights     TEXT NOT NULL,
    PRIMARY KEY (mailbox, identifier)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS acl_by_identifier ON acl (identifier);

CREATE TABLE IF NOT EXISTS metadata (
    scope    INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    BLOB NOT NULL,
    PRIMARY KEY (scope, name_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sieve_scripts (
    account INTEGER NOT NULL REFERENCES accounts(id),
    name    TEXT NOT NULL,
    content TEXT NOT NULL,
    active  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, name)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS sieve_one_active ON sieve_scripts (account) WHERE active = 1;

CREATE TABLE IF NOT EXISTS vacation_replies (
    account INTEGER NOT NULL,
    handle  TEXT NOT NULL,
    sender  TEXT NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (account, handle, sender)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS changelog (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    origin  INTEGER NOT NULL,
    account INTEGER NOT NULL,
    mailbox INTEGER,
    modseq  INTEGER,
    kinds   INTEGER
);
"#;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the single write connection, creating the file and schema if needed.
pub(crate) fn open_writer(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // WAL: readers never block the writer. synchronous=FULL: a COMMIT returns only after the
    // WAL is fsync'd, so "acknowledged means durable".
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sql)?;
    conn.pragma_update(None, "cache_size", -32768)
        .map_err(sql)?;
    // Query planner stability: plans never depend on bound values. Without it, SQLite marks
    // a statement whose plan looked at a parameter (`x = ?` tested for 0/1, `LIMIT ?`) as
    // expiring when its bindings are cleared, which rusqlite's statement cache does on
    // every return: each reuse of such a cached statement was parsed and planned anew.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(128);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if version > SCHEMA_VERSION {
        return Err(tern_store::StoreError::Backend(format!(
            "database schema version {version} is newer than this build ({SCHEMA_VERSION})"
        )));
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(sql)?;
    add_changelog_kinds(&conn)?;
    Ok(conn)
}

/// Databases created before `changelog.kinds` existed get the column (NULL in old rows:
/// "anything may have changed"). The same schema version reads both.
fn add_changelog_kinds(conn: &Connection) -> StoreResult<()> {
    let has: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('changelog') WHERE name = 'kinds'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql)?
        > 0;
    if !has {
        conn.execute_batch("ALTER TABLE changelog ADD COLUMN kinds INTEGER")
            .map_err(sql)?;
    }
    Ok(())
}

/// Bytes of the database file a reader maps instead of reading: pages are then shared with
/// the OS page cache rather than copied into each reader's cache by a syscall (measured: about
/// a third of the CPU of a narrow metadata read over a mailbox larger than that cache).
/// Address space only, not memory.
const READER_MMAP: i64 = 1 << 30;

/// Opens a read-only connection (a WAL reader) on an existing database.
pub(crate) fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.pragma_update(None, "cache_size", -16384)
        .map_err(sql)?;
    conn.pragma_update(None, "mmap_size", READER_MMAP)
        .map_err(sql)?;
    // Query planner stability: see `open_writer`.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
