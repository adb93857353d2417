//! Notices commits made by other processes on the same database file and re-broadcasts
//! their change events, so sessions in every process see every change.
//!
//! Every write appends rows to `changelog`, tagged with the writing store's `origin`. A
//! thread polls `PRAGMA data_version` every [`POLL`] (it changes only when another
//! connection committed) and then reads the changelog rows it has not seen; rows of its own
//! origin were already broadcast by the writer and are skipped. A row's `kinds` says what
//! changed ([`MailboxChange`] / [`ListChange`] bits); a row without it (written by an older
//! build) is relayed as "anything may have changed".

use crate::fail::{DbResult, sql};
use crate::schema::open_reader;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tern_store::{
    AccountId, ChangeEvent, ListChange, MailboxChange, MailboxId, StoreError, StoreResult,
};
use tokio::sync::broadcast;

pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Starts the watcher thread. It stops within one poll interval after `stop` is set.
pub(crate) fn start(
    path: PathBuf,
    origin: i64,
    events: broadcast::Sender<ChangeEvent>,
    stop: Arc<AtomicBool>,
) -> StoreResult<()> {
    let conn = open_reader(&path)?;
    // Start from what is committed now: only later commits are news.
    let last_id: i64 = conn
        .query_row("SELECT coalesce(max(id), 0) FROM changelog", [], |r| {
            r.get(0)
        })
        .map_err(sql)?;
    let mut watcher = Watcher {
        conn,
        origin,
        events,
        last_id,
        data_version: None,
    };
    std::thread::Builder::new()
        .name("tern-sqlite-watch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
                if let Err(e) = watcher.poll() {
                    tracing::warn!(error = %e.0, "change watcher could not read the changelog");
                }
            }
        })
        .map_err(|e| StoreError::Backend(format!("cannot start change watcher: {e}")))?;
    Ok(())
}

struct Watcher {
    conn: Connection,
    origin: i64,
    events: broadcast::Sender<ChangeEvent>,
    last_id: i64,
    data_version: Option<i64>,
}

impl Watcher {
    fn poll(&mut self) -> DbResult<()> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version == Some(version) {
            return Ok(());
        }
        self.data_version = Some(version);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, origin, account, mailbox, modseq, kinds FROM changelog
             WHERE id > ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([self.last_id])?;
        while let Some(row) = rows.next()? {
            self.last_id = row.get(0)?;
            if row.get::<_, i64>(1)? == self.origin {
                continue;
            }
            let account = AccountId(row.get(2)?);
            let kinds: Option<i64> = row.get(5)?;
            let ev = match (row.get::<_, Option<i64>>(3)?, row.get::<_, Option<i64>>(4)?) {
                (Some(mailbox), Some(modseq)) => ChangeEvent::Mailbox {
                    account,
                    mailbox: MailboxId(mailbox),
                    modseq: modseq as u64,
                    what: kinds.map_or(MailboxChange::ALL, |k| MailboxChange::from_bits(k as u8)),
                },
                _ => ChangeEvent::MailboxList {
                    account,
                    what: kinds.map_or(ListChange::ALL, |k| ListChange::from_bits(k as u8)),
                },
            };
            let _ = self.events.send(ev);
        }
        Ok(())
    }
}
