//! `data_dir/queue.db`: one row per queued message, one per recipient with its state.
//!
//! ## Invariants
//! - WAL, `synchronous=FULL`: a committed row survives a crash or power loss. `enqueue`
//!   returns only after its transaction committed, so a `250` the client saw is on disk.
//! - A recipient is `pending` until a remote server answered `250` to the message (then
//!   `sent`, committed right after that reply) or it failed for good (`failed`).
//! - `reported` says the DSN this final state asks for (if any) was issued; a message is
//!   deleted only when no recipient is pending and every final state is reported.
//! - The server and `tern queue` (another process) share the file; writes are short
//!   transactions and every connection waits up to [`BUSY_TIMEOUT`] for the lock.

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages(
    id TEXT PRIMARY KEY,
    txid TEXT NOT NULL,
    sender TEXT NOT NULL,
    envid TEXT,
    ret TEXT,
    body TEXT NOT NULL,
    smtputf8 INTEGER NOT NULL,
    skip INTEGER NOT NULL,
    prepend BLOB NOT NULL,
    size INTEGER NOT NULL,
    arrival INTEGER NOT NULL,
    authenticated TEXT
);
CREATE TABLE IF NOT EXISTS recipients(
    message TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    notify TEXT,
    orcpt TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_reply TEXT,
    remote_mta TEXT,
    tls INTEGER NOT NULL DEFAULT 0,
    delay_warned INTEGER NOT NULL DEFAULT 0,
    reported INTEGER NOT NULL DEFAULT 0,
    success_dsn INTEGER NOT NULL DEFAULT 0,
    home INTEGER NOT NULL DEFAULT 0,
    mta_sts TEXT,
    dane TEXT,
    PRIMARY KEY(message, idx)
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
CREATE TABLE IF NOT EXISTS mta_sts(
    domain TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    policy TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
";

/// A recipient's delivery state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RcptState {
    Pending,
    Sent,
    Failed,
}

impl RcptState {
    fn as_str(self) -> &'static str {
        match self {
            RcptState::Pending => "pending",
            RcptState::Sent => "sent",
            RcptState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RcptState {
        match s {
            "sent" => RcptState::Sent,
            "failed" => RcptState::Failed,
            _ => RcptState::Pending,
        }
    }
}

/// One recipient of a queued message.
#[derive(Clone, Debug, Serialize)]
pub struct RecipientRow {
    pub idx: u32,
    pub address: String,
    /// Lower-case domain of `address` (the destination it is grouped by).
    pub domain: String,
    /// RFC 3461 NOTIFY as given (`NEVER` or a comma list); `None`: not given.
    pub notify: Option<String>,
    pub orcpt: Option<String>,
    pub state: RcptState,
    pub attempts: u32,
    /// Unix time of the next attempt (pending recipients).
    pub next_attempt: i64,
    /// The last reply (remote or local reason), e.g. `450 4.2.0 mailbox busy`.
    pub last_reply: Option<String>,
    /// The host that gave `last_reply`.
    pub remote_mta: Option<String>,
    /// Whether the last session with `remote_mta` was encrypted.
    pub tls: bool,
    pub delay_warned: bool,
    pub reported: bool,
    /// Sent to a server without DSN support with NOTIFY=SUCCESS: Tern owes the sender a
    /// "relayed" DSN (RFC 3461 §5.2.2.3).
    pub success_dsn: bool,
    /// Migration mode: `address` is a local account's name, delivered wherever its home is
    /// at each attempt (the legacy server, or this server once cut over).
    pub home: bool,
    /// The MTA-STS mode (RFC 8461) the last attempt applied: `enforce` (only hosts the
    /// domain's policy names, over verified TLS) or `testing`; `None`: no policy.
    pub mta_sts: Option<String>,
    /// What DANE (RFC 7672) did in the last attempt: `verified` (the certificate matched a
    /// TLSA record), `encrypt-only` (TLS required, the records all unusable) or `failed`
    /// (DANE-protected hosts were refused, see `last_reply`); `None`: DANE did not apply.
    pub dane: Option<String>,
}

/// One queued message.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRow {
    /// The queue id (also the spool file's name).
    pub id: String,
    /// The SMTP transaction id it arrived with.
    pub txid: String,
    /// The reverse-path; empty for `<>`.
    pub sender: String,
    pub envid: Option<String>,
    /// `FULL`, `HDRS` or `None`.
    pub ret: Option<String>,
    /// `7BIT`, `8BITMIME` or `BINARYMIME`.
    pub body: String,
    pub smtputf8: bool,
    /// Octets of the spool file not transmitted (the local `Return-Path:`).
    pub skip: u64,
    /// Header fields transmitted before the spool file's content (DKIM-Signature).
    #[serde(skip)]
    pub prepend: Vec<u8>,
    /// Octets transmitted: `prepend` plus the spool file after `skip`.
    pub size: u64,
    /// Unix time the message was queued.
    pub arrival: i64,
    pub authenticated: Option<String>,
    pub recipients: Vec<RecipientRow>,
}

/// The outcome of an attempt for one recipient.
#[derive(Clone, Debug)]
pub struct RcptUpdate {
    pub idx: u32,
    pub state: RcptState,
    pub next_attempt: i64,
    pub last_reply: String,
    pub remote_mta: Option<String>,
    pub tls: bool,
    /// Count this as an attempt.
    pub attempted: bool,
    /// See [`RecipientRow::success_dsn`].
    pub success_dsn: bool,
    /// See [`RecipientRow::mta_sts`].
    pub mta_sts: Option<String>,
    /// See [`RecipientRow::dane`].
    pub dane: Option<String>,
}

/// The queue database. Cheap to clone; one connection behind a mutex (the queue's writes
/// are few and short: one per message and per attempt).
#[derive(Clone)]
pub struct QueueDb {
    conn: Arc<Mutex<Connection>>,
}

pub type DbResult<T> = Result<T, rusqlite::Error>;

impl QueueDb {
    /// Opens (creating if absent) the queue database.
    pub fn open(path: &Path) -> DbResult<QueueDb> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Query planner stability: cached statements are not re-planned on every reuse
        // (see tern-store-sqlite's `schema::open_writer`).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.execute_batch(SCHEMA)?;
        // Queues made before migration mode lack the `home` column, before MTA-STS the
        // `mta_sts` one, before DANE the `dane` one.
        for (column, definition) in [
            ("home", "home INTEGER NOT NULL DEFAULT 0"),
            ("mta_sts", "mta_sts TEXT"),
            ("dane", "dane TEXT"),
        ] {
            let present: bool = conn
                .prepare("SELECT 1 FROM pragma_table_info('recipients') WHERE name = ?1")?
                .exists([column])?;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE recipients ADD COLUMN {definition}"))?;
            }
        }
        Ok(QueueDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> DbResult<T>) -> DbResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// Commits a new message with its recipients (one transaction).
    pub fn insert(&self, m: &MessageRow) -> DbResult<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO messages(id, txid, sender, envid, ret, body, smtputf8, skip, prepend,
                    size, arrival, authenticated) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                params![
                    m.id,
                    m.txid,
                    m.sender,
                    m.envid,
                    m.ret,
                    m.body,
                    m.smtputf8,
                    m.skip as i64,
                    m.prepend,
                    m.size as i64,
                    m.arrival,
                    m.authenticated
                ],
            )?;
            for r in &m.recipients {
                tx.execute(
                    "INSERT INTO recipients(message, idx, address, domain, notify, orcpt, state,
                        attempts, next_attempt, home) VALUES (?1,?2,?3,?4,?5,?6,?7,0,?8,?9)",
                    params![
                        m.id,
                        r.idx,
                        r.address,
                        r.domain,
                        r.notify,
                        r.orcpt,
                        r.state.as_str(),
                        r.next_attempt,
                        r.home
                    ],
                )?;
            }
            tx.commit()
        })
    }

    /// Messages with work to do at `now`: a pending recipient due, or a final state not yet
    /// reported.
    pub fn due(&self, now: i64, limit: usize) -> DbResult<Vec<String>> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT message FROM recipients
                 WHERE (state = 'pending' AND next_attempt <= ?1)
                    OR (state != 'pending' AND reported = 0)
                 LIMIT ?2",
            )?;
            let rows = st.query_map(params![now, limit as i64], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// One message with its recipients.
    pub fn load(&self, id: &str) -> DbResult<Option<MessageRow>> {
        self.with(|conn| load(conn, id))
    }

    /// Every message, oldest first.
    pub fn list(&self) -> DbResult<Vec<MessageRow>> {
        self.with(|conn| {
            let ids: Vec<String> = {
                let mut st = conn.prepare("SELECT id FROM messages ORDER BY arrival, id")?;
                st.query_map([], |r| r.get(0))?.collect::<DbResult<_>>()?
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(m) = load(conn, &id)? {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    /// Every message id (to find spool files without a row).
    pub fn ids(&self) -> DbResult<Vec<String>> {
        self.with(|conn| {
            let mut st = conn.prepare("SELECT id FROM messages")?;
            st.query_map([], |r| r.get(0))?.collect()
        })
    }

    /// Records the outcome of an attempt, in one commit. Rows of a message deleted in the
    /// meantime (`tern queue delete`) are simply not there.
    pub fn record(&self, id: &str, updates: &[RcptUpdate]) -> DbResult<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            for u in updates {
                tx.execute(
                    "UPDATE recipients SET state = ?3, next_attempt = ?4, last_reply = ?5,
                        remote_mta = ?6, tls = ?7, attempts = attempts + ?8,
                        success_dsn = ?9, mta_sts = ?10, dane = ?11
                     WHERE message = ?1 AND idx = ?2 AND state = 'pending'",
                    params![
                        id,
                        u.idx,
                        u.state.as_str(),
                        u.next_attempt,
                        u.last_reply,
                        u.remote_mta,
                        u.tls,
                        u.attempted as i64,
                        u.success_dsn,
                        u.mta_sts,
                        u.dane
                    ],
                )?;
            }
            tx.commit()
        })
    }

    /// In one commit: marks `reported` and `warned` recipients, then deletes the message if
    /// nothing is left to do (no recipient pending, every final state reported). Returns
    /// whether it is gone.
    pub fn finish(&self, id: &str, reported: &[u32], warned: &[u32]) -> DbResult<bool> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            for (column, idxs) in [("reported", reported), ("delay_warned", warned)] {
                for idx in idxs {
                    tx.execute(
                        &format!(
                            "UPDATE recipients SET {column} = 1 WHERE message = ?1 AND idx = ?2"
                        ),
                        params![id, idx],
                    )?;
                }
            }
            let open: i64 = tx.query_row(
                "SELECT count(*) FROM recipients WHERE message = ?1
                   AND (state = 'pending' OR reported = 0)",
                params![id],
                |r| r.get(0),
            )?;
            let gone = open == 0;
            if gone {
                tx.execute("DELETE FROM messages WHERE id = ?1", params![id])?;
            }
            tx.commit()?;
            Ok(gone)
        })
    }

    /// Deletes a message whatever its state (`tern queue delete`). Returns whether it existed.
    pub fn delete(&self, id: &str) -> DbResult<bool> {
        self.with(|conn| Ok(conn.execute("DELETE FROM messages WHERE id = ?1", params![id])? > 0))
    }

    /// Makes pending recipients due now: of one message, or of all (`None`). Returns how
    /// many recipients were rescheduled.
    pub fn retry_now(&self, id: Option<&str>, now: i64) -> DbResult<usize> {
        self.with(|conn| match id {
            Some(id) => conn.execute(
                "UPDATE recipients SET next_attempt = ?2 WHERE message = ?1 AND state = 'pending'",
                params![id, now],
            ),
            None => conn.execute(
                "UPDATE recipients SET next_attempt = ?1 WHERE state = 'pending'",
                params![now],
            ),
        })
    }
}

fn load(conn: &Connection, id: &str) -> DbResult<Option<MessageRow>> {
    let message = conn
        .query_row(
            "SELECT id, txid, sender, envid, ret, body, smtputf8, skip, prepend, size, arrival,
                authenticated FROM messages WHERE id = ?1",
            params![id],
            |r| {
                Ok(MessageRow {
                    id: r.get(0)?,
                    txid: r.get(1)?,
                    sender: r.get(2)?,
                    envid: r.get(3)?,
                    ret: r.get(4)?,
                    body: r.get(5)?,
                    smtputf8: r.get(6)?,
                    skip: r.get::<_, i64>(7)? as u64,
                    prepend: r.get(8)?,
                    size: r.get::<_, i64>(9)? as u64,
                    arrival: r.get(10)?,
                    authenticated: r.get(11)?,
                    recipients: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut message) = message else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT idx, address, domain, notify, orcpt, state, attempts, next_attempt, last_reply,
            remote_mta, tls, delay_warned, reported, success_dsn, home, mta_sts, dane FROM recipients
         WHERE message = ?1 ORDER BY idx",
    )?;
    let rows = st.query_map(params![id], |r| {
        Ok(RecipientRow {
            idx: r.get(0)?,
            address: r.get(1)?,
            domain: r.get(2)?,
            notify: r.get(3)?,
            orcpt: r.get(4)?,
            state: RcptState::parse(&r.get::<_, String>(5)?),
            attempts: r.get(6)?,
            next_attempt: r.get(7)?,
            last_reply: r.get(8)?,
            remote_mta: r.get(9)?,
            tls: r.get(10)?,
            delay_warned: r.get(11)?,
            reported: r.get(12)?,
            success_dsn: r.get(13)?,
            home: r.get(14)?,
            mta_sts: r.get(15)?,
            dane: r.get(16)?,
        })
    })?;
    message.recipients = rows.collect::<DbResult<_>>()?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, now: i64) -> MessageRow {
        let rcpt = |idx: u32, address: &str| RecipientRow {
            idx,
            address: address.into(),
            domain: "remote.test".into(),
            notify: None,
            orcpt: None,
            state: RcptState::Pending,
            attempts: 0,
            next_attempt: now,
            last_reply: None,
            remote_mta: None,
            tls: false,
            delay_warned: false,
            reported: false,
            success_dsn: false,
            home: false,
            mta_sts: None,
            dane: None,
        };
        MessageRow {
            id: id.into(),
            txid: "tx".into(),
            sender: "alice@example.test".into(),
            envid: None,
            ret: None,
            body: "7BIT".into(),
            smtputf8: false,
            skip: 20,
            prepend: b"DKIM-Signature: x\r\n".to_vec(),
            size: 100,
            arrival: now,
            authenticated: None,
            recipients: vec![rcpt(0, "a@remote.test"), rcpt(1, "b@remote.test")],
        }
    }

    fn outcome(idx: u32, state: RcptState, next_attempt: i64) -> RcptUpdate {
        RcptUpdate {
            idx,
            state,
            next_attempt,
            last_reply: "450 4.2.0 busy".into(),
            remote_mta: Some("mx.remote.test".into()),
            tls: true,
            attempted: true,
            success_dsn: false,
            mta_sts: Some("enforce".into()),
            dane: Some("verified".into()),
        }
    }

    #[test]
    fn an_entry_lives_until_every_recipient_is_final_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("queue.db");
        let db = QueueDb::open(&path).unwrap();
        db.insert(&message("q1", 1000)).unwrap();
        assert_eq!(db.due(1000, 10).unwrap(), ["q1"]);
        db.record(
            "q1",
            &[
                outcome(0, RcptState::Sent, 1000),
                outcome(1, RcptState::Pending, 2000),
            ],
        )
        .unwrap();
        // The sent recipient still needs its report; then nothing is due until 2000.
        assert_eq!(db.due(1001, 10).unwrap(), ["q1"]);
        assert!(!db.finish("q1", &[0], &[]).unwrap());
        assert!(db.due(1001, 10).unwrap().is_empty());
        assert_eq!(db.due(2000, 10).unwrap(), ["q1"]);
        // Another process's `tern queue retry` (a second connection on the file).
        let cli = QueueDb::open(&path).unwrap();
        assert_eq!(cli.retry_now(Some("q1"), 1002).unwrap(), 1);
        assert_eq!(db.due(1002, 10).unwrap(), ["q1"]);
        let m = cli.load("q1").unwrap().unwrap();
        assert_eq!(m.prepend, b"DKIM-Signature: x\r\n");
        assert_eq!(m.recipients[1].attempts, 1);
        assert!(m.recipients[1].tls);
        assert_eq!(m.recipients[1].mta_sts.as_deref(), Some("enforce"));
        assert_eq!(m.recipients[1].dane.as_deref(), Some("verified"));
        assert_eq!(
            m.recipients[1].last_reply.as_deref(),
            Some("450 4.2.0 busy")
        );
        // A final state is never recorded over.
        db.record("q1", &[outcome(0, RcptState::Pending, 5000)])
            .unwrap();
        assert_eq!(
            db.load("q1").unwrap().unwrap().recipients[0].state,
            RcptState::Sent
        );
        db.record("q1", &[outcome(1, RcptState::Failed, 1003)])
            .unwrap();
        assert!(db.finish("q1", &[1], &[]).unwrap());
        assert!(db.load("q1").unwrap().is_none());
        assert!(db.list().unwrap().is_empty());
    }

    #[test]
    fn delete_and_list() {
        let tmp = tempfile::tempdir().unwrap();
        let db = QueueDb::open(&tmp.path().join("queue.db")).unwrap();
        db.insert(&message("q2", 10)).unwrap();
        db.insert(&message("q1", 5)).unwrap();
        let ids: Vec<String> = db.list().unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["q1", "q2"]);
        assert!(db.delete("q1").unwrap());
        assert!(!db.delete("q1").unwrap());
        assert_eq!(db.ids().unwrap(), ["q2"]);
    }
}
