//! Migration progress, persisted in `data_dir/migrate.db` (SQLite, WAL, `synchronous=FULL`).
//!
//! One row per (target account, source folder): the source UIDVALIDITY it was copied under,
//! the Tern mailbox it went to, whether UIDs were preserved, the highest source UID copied and
//! the source HIGHESTMODSEQ/UIDNEXT seen at the end of the last complete pass; and one row
//! per copied message (source UID → Tern UID).
//!
//! Invariant: a message row is written only after the Tern store committed the message
//! (the store commit comes first, then this database's commit for the same batch). A crash
//! between the two leaves messages in Tern that this file does not know yet; the sync engine
//! finds them on the next run by content hash (their blob ids) and records them instead of
//! copying them again, so a rerun after `kill -9` converges to the same result.
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

pub struct State {
    conn: Mutex<Connection>,
}

/// What the last run knew of one folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderState {
    pub id: i64,
    pub target_name: String,
    pub target_mailbox: i64,
    pub source_uidvalidity: u32,
    pub preserve_uids: bool,
    pub last_uid: u32,
    pub uidnext: u32,
    pub highestmodseq: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("migration state ({path}): {source}")]
pub struct StateError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

impl StateError {
    pub(crate) fn new(path: &Path, source: rusqlite::Error) -> StateError {
        StateError {
            path: path.display().to_string(),
            source,
        }
    }
}

type R<T> = Result<T, StateError>;

impl State {
    pub fn open(path: &Path) -> R<State> {
        let wrap = |e| StateError {
            path: path.display().to_string(),
            source: e,
        };
        let conn = Connection::open(path).map_err(wrap)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;
             CREATE TABLE IF NOT EXISTS folders (
               id INTEGER PRIMARY KEY,
               account TEXT NOT NULL,
               source_name TEXT NOT NULL,
               target_name TEXT NOT NULL,
               target_mailbox INTEGER NOT NULL,
               source_uidvalidity INTEGER NOT NULL,
               preserve_uids INTEGER NOT NULL,
               last_uid INTEGER NOT NULL DEFAULT 0,
               uidnext INTEGER NOT NULL DEFAULT 0,
               highestmodseq INTEGER NOT NULL DEFAULT 0,
               UNIQUE (account, source_name));
             CREATE TABLE IF NOT EXISTS messages (
               folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
               source_uid INTEGER NOT NULL,
               target_uid INTEGER NOT NULL,
               PRIMARY KEY (folder, source_uid)) WITHOUT ROWID;
             PRAGMA foreign_keys=ON;",
        )
        .map_err(wrap)?;
        Ok(State {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> R<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| StateError {
            path: "migrate.db".into(),
            source: e,
        })
    }

    pub fn folders(&self, account: &str) -> R<Vec<(String, FolderState)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT source_name, id, target_name, target_mailbox, source_uidvalidity,
                        preserve_uids, last_uid, uidnext, highestmodseq
                 FROM folders WHERE account = ?1 ORDER BY source_name",
            )?;
            let rows = st.query_map(params![account], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    FolderState {
                        id: r.get(1)?,
                        target_name: r.get(2)?,
                        target_mailbox: r.get(3)?,
                        source_uidvalidity: r.get(4)?,
                        preserve_uids: r.get::<_, i64>(5)? != 0,
                        last_uid: r.get(6)?,
                        uidnext: r.get(7)?,
                        highestmodseq: r.get::<_, i64>(8)? as u64,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    pub fn folder(&self, account: &str, source_name: &str) -> R<Option<FolderState>> {
        Ok(self
            .folders(account)?
            .into_iter()
            .find(|(n, _)| n == source_name)
            .map(|(_, f)| f))
    }

    /// Starts (or restarts, dropping what an older UIDVALIDITY recorded) a folder.
    pub fn begin_folder(
        &self,
        account: &str,
        source_name: &str,
        target_name: &str,
        target_mailbox: i64,
        source_uidvalidity: u32,
        preserve_uids: bool,
    ) -> R<FolderState> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM folders WHERE account = ?1 AND source_name = ?2",
                params![account, source_name],
            )?;
            tx.execute(
                "INSERT INTO folders (account, source_name, target_name, target_mailbox,
                   source_uidvalidity, preserve_uids) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    account,
                    source_name,
                    target_name,
                    target_mailbox,
                    source_uidvalidity,
                    preserve_uids as i64
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(FolderState {
                id,
                target_name: target_name.into(),
                target_mailbox,
                source_uidvalidity,
                preserve_uids,
                last_uid: 0,
                uidnext: 0,
                highestmodseq: 0,
            })
        })
    }

    /// Records one committed batch: (source UID, Tern UID) pairs and the new high-water mark.
    pub fn record_batch(&self, folder: i64, pairs: &[(u32, u32)], last_uid: u32) -> R<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT OR REPLACE INTO messages (folder, source_uid, target_uid)
                     VALUES (?1, ?2, ?3)",
                )?;
                for (s, t) in pairs {
                    ins.execute(params![folder, s, t])?;
                }
            }
            tx.execute(
                "UPDATE folders SET last_uid = max(last_uid, ?2) WHERE id = ?1",
                params![folder, last_uid],
            )?;
            tx.commit()
        })
    }

    /// Forgets messages removed on both sides.
    pub fn forget(&self, folder: i64, source_uids: &[u32]) -> R<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut del = tx
                    .prepare_cached("DELETE FROM messages WHERE folder = ?1 AND source_uid = ?2")?;
                for u in source_uids {
                    del.execute(params![folder, u])?;
                }
            }
            tx.commit()
        })
    }

    /// Marks a complete pass: the source's UIDNEXT and HIGHESTMODSEQ it ended at.
    pub fn finish_pass(&self, folder: i64, uidnext: u32, highestmodseq: u64) -> R<()> {
        self.with(|c| {
            c.execute(
                "UPDATE folders SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
                params![folder, uidnext, highestmodseq as i64],
            )?;
            Ok(())
        })
    }

    /// Source UID → Tern UID for a folder, ascending by source UID.
    pub fn mapping(&self, folder: i64) -> R<Vec<(u32, u32)>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT source_uid, target_uid FROM messages WHERE folder = ?1 ORDER BY source_uid",
            )?;
            let rows = st.query_map(params![folder], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    pub fn drop_folder(&self, folder: i64) -> R<()> {
        self.with(|c| {
            c.execute("DELETE FROM messages WHERE folder = ?1", params![folder])?;
            c.execute("DELETE FROM folders WHERE id = ?1", params![folder])?;
            Ok(())
        })
    }

    /// The Tern mailbox id of a folder, if any run created it.
    pub fn folder_by_target(&self, account: &str, target_mailbox: i64) -> R<Option<i64>> {
        self.with(|c| {
            c.query_row(
                "SELECT id FROM folders WHERE account = ?1 AND target_mailbox = ?2",
                params![account, target_mailbox],
                |r| r.get(0),
            )
            .optional()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = State::open(&dir.path().join("m.db")).unwrap();
        let f = s
            .begin_folder("a@x", "INBOX", "INBOX", 7, 99, true)
            .unwrap();
        s.record_batch(f.id, &[(1, 1), (3, 3)], 3).unwrap();
        s.finish_pass(f.id, 4, 12).unwrap();
        let got = s.folder("a@x", "INBOX").unwrap().unwrap();
        assert_eq!((got.last_uid, got.uidnext, got.highestmodseq), (3, 4, 12));
        assert_eq!(s.mapping(f.id).unwrap(), vec![(1, 1), (3, 3)]);
        s.forget(f.id, &[1]).unwrap();
        assert_eq!(s.mapping(f.id).unwrap(), vec![(3, 3)]);
        // A new UIDVALIDITY starts over.
        let g = s
            .begin_folder("a@x", "INBOX", "INBOX", 8, 100, true)
            .unwrap();
        assert!(s.mapping(g.id).unwrap().is_empty());
        assert_eq!(s.folder_by_target("a@x", 8).unwrap(), Some(g.id));
    }
}
