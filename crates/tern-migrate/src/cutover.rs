//! The cutover state: which users are served by Tern and which still by the legacy server,
//! shared by `tern serve` (every node) and `tern migrate cutover` through `migrate.db`.
//!
//! Tables (in `data_dir/migrate.db`, next to the sync progress):
//! - `homes(account, home, generation, changed_at)`: an explicit home per account; an
//!   account without a row has the configured default (`[migration] unlisted`).
//! - `home_generation`: one counter, bumped by every change; each `homes` row records the
//!   generation that wrote it, so a server reloads only what changed.
//! - `servers(id, pid, seen_generation, heartbeat)`: every `tern serve` in migration mode
//!   registers itself, and acknowledges a generation only after it has closed every relayed
//!   session of the users that generation took off the legacy server.
//!
//! ## The cutover protocol (`tern migrate cutover USER`)
//! 1. Mark USER `moving` (generation G). Servers now refuse new sessions for USER with a
//!    temporary error and defer USER's mail.
//! 2. Wait until every live server (heartbeat within [`LIVE_WITHIN`]) has acknowledged G,
//!    i.e. has no relayed session of USER left.
//! 3. Copy the final delta (`migrate` with `--delete`).
//! 4. Mark USER `local`. If step 3 failed, mark USER `legacy` again instead.
//!
//! A crashed server stops sending heartbeats and is ignored after [`LIVE_WITHIN`]: its
//! relayed sessions died with it.
use crate::state::StateError;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tern_mail::{Home, Homes};
use tokio::sync::{Notify, watch};

/// A server whose heartbeat is older than this is considered gone.
pub const LIVE_WITHIN: Duration = Duration::from_secs(10);
/// How often a server looks for changes (and sends its heartbeat).
pub const POLL_EVERY: Duration = Duration::from_millis(300);

type R<T> = Result<T, StateError>;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One account's explicit home.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HomeRow {
    pub account: String,
    pub home: String,
    pub changed_at: i64,
}

/// The cutover tables of `migrate.db`.
pub struct CutoverDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl CutoverDb {
    pub fn open(path: &Path) -> R<CutoverDb> {
        let conn = Connection::open(path).map_err(|e| err(path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;
             CREATE TABLE IF NOT EXISTS homes (
               account TEXT PRIMARY KEY,
               home TEXT NOT NULL,
               generation INTEGER NOT NULL,
               changed_at INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS homes_generation ON homes(generation);
             CREATE TABLE IF NOT EXISTS home_generation (
               id INTEGER PRIMARY KEY CHECK (id = 1),
               value INTEGER NOT NULL);
             INSERT OR IGNORE INTO home_generation (id, value) VALUES (1, 0);
             CREATE TABLE IF NOT EXISTS servers (
               id TEXT PRIMARY KEY,
               pid INTEGER NOT NULL,
               seen_generation INTEGER NOT NULL,
               heartbeat INTEGER NOT NULL);",
        )
        .map_err(|e| err(path, e))?;
        Ok(CutoverDb {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> R<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| err(&self.path, e))
    }

    /// The current generation.
    pub fn generation(&self) -> R<u64> {
        self.with(|c| {
            c.query_row("SELECT value FROM home_generation WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|v| v as u64)
        })
    }

    /// Sets `account`'s home; returns the generation of the change.
    pub fn set_home(&self, account: &str, home: Home) -> R<u64> {
        let account = account.to_ascii_lowercase();
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE home_generation SET value = value + 1 WHERE id = 1",
                [],
            )?;
            let g: i64 =
                tx.query_row("SELECT value FROM home_generation WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
            tx.execute(
                "INSERT INTO homes (account, home, generation, changed_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account) DO UPDATE SET home = ?2, generation = ?3, changed_at = ?4",
                params![account, home.as_str(), g, now()],
            )?;
            tx.commit()?;
            Ok(g as u64)
        })
    }

    /// Records `account` as on the legacy server unless it already has a home (a migration
    /// copy run marks the users it copies).
    pub fn mark_legacy_if_unlisted(&self, account: &str) -> R<()> {
        if self.home(account)?.is_none() {
            self.set_home(account, Home::Legacy)?;
        }
        Ok(())
    }

    /// `account`'s explicit home, if it has one.
    pub fn home(&self, account: &str) -> R<Option<Home>> {
        let account = account.to_ascii_lowercase();
        self.with(|c| {
            c.query_row(
                "SELECT home FROM homes WHERE account = ?1",
                params![account],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })
        .map(|h| h.and_then(|h| Home::parse(&h)))
    }

    /// Rows written after generation `since`, with the newest generation seen.
    pub fn changed_since(&self, since: u64) -> R<(Vec<(String, Home)>, u64)> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT account, home, generation FROM homes WHERE generation > ?1
                 ORDER BY generation",
            )?;
            let mut top = since;
            let rows = st
                .query_map(params![since as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (account, home, g) in rows {
                top = top.max(g as u64);
                if let Some(home) = Home::parse(&home) {
                    out.push((account, home));
                }
            }
            Ok((out, top))
        })
    }

    /// Every explicit home.
    pub fn list(&self) -> R<Vec<HomeRow>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT account, home, changed_at FROM homes ORDER BY account")?;
            let rows = st.query_map([], |r| {
                Ok(HomeRow {
                    account: r.get(0)?,
                    home: r.get(1)?,
                    changed_at: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// A server's heartbeat, with the generation it has fully applied.
    pub fn heartbeat(&self, server: &str, seen_generation: u64) -> R<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO servers (id, pid, seen_generation, heartbeat) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET seen_generation = ?3, heartbeat = ?4",
                params![
                    server,
                    std::process::id() as i64,
                    seen_generation as i64,
                    now()
                ],
            )
            .map(|_| ())
        })
    }

    /// Removes a server that stops.
    pub fn unregister(&self, server: &str) -> R<()> {
        self.with(|c| {
            c.execute("DELETE FROM servers WHERE id = ?1", params![server])
                .map(|_| ())
        })
    }

    /// Live servers that have not yet applied `generation`.
    pub fn servers_behind(&self, generation: u64) -> R<Vec<String>> {
        let fresh = now() - LIVE_WITHIN.as_secs() as i64;
        self.with(|c| {
            let mut st =
                c.prepare("SELECT id FROM servers WHERE heartbeat >= ?1 AND seen_generation < ?2")?;
            let rows = st.query_map(params![fresh, generation as i64], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Waits until every live server has applied `generation`, up to `timeout`.
    pub async fn wait_applied(
        &self,
        generation: u64,
        timeout: Duration,
    ) -> R<Result<(), Vec<String>>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let behind = self.servers_behind(generation)?;
            if behind.is_empty() {
                return Ok(Ok(()));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Err(behind));
            }
            tokio::time::sleep(POLL_EVERY / 2).await;
        }
    }
}

fn err(path: &Path, e: rusqlite::Error) -> StateError {
    StateError::new(path, e)
}

/// Relayed sessions per account, so a server knows when a user's last one has closed.
#[derive(Default)]
pub struct Relays {
    counts: Mutex<HashMap<String, usize>>,
    closed: Notify,
}

/// Held by a relayed session for as long as it runs.
pub struct RelayGuard {
    relays: Arc<Relays>,
    account: String,
}

impl Drop for RelayGuard {
    fn drop(&mut self) {
        let mut counts = self.relays.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.account);
            }
        }
        drop(counts);
        self.relays.closed.notify_waiters();
    }
}

impl Relays {
    fn open(self: &Arc<Self>, account: &str) -> RelayGuard {
        let account = account.to_ascii_lowercase();
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.clone())
            .or_default() += 1;
        RelayGuard {
            relays: self.clone(),
            account,
        }
    }

    fn open_for(&self, accounts: &[String]) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        accounts.iter().filter_map(|a| counts.get(a)).sum()
    }

    /// Waits until none of `accounts` has a relayed session.
    async fn drained(&self, accounts: &[String]) {
        loop {
            let notified = self.closed.notified();
            if self.open_for(accounts) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The migration state as one `tern serve` process sees it: explicit homes cached in
/// memory, refreshed from `migrate.db` every [`POLL_EVERY`].
pub struct LiveHomes {
    db: Arc<CutoverDb>,
    /// This server's row in `servers`.
    id: String,
    default: Home,
    map: Mutex<HashMap<String, Home>>,
    tx: watch::Sender<u64>,
    relays: Arc<Relays>,
}

impl LiveHomes {
    /// Loads every explicit home and registers this server as having applied them;
    /// `default` is the home of accounts without a row.
    pub fn load(db: Arc<CutoverDb>, default: Home) -> R<Arc<LiveHomes>> {
        let (rows, generation) = db.changed_since(0)?;
        let map = rows.into_iter().collect();
        let id = format!("{}-{}-{:x}", hostname(), std::process::id(), rand_suffix());
        db.heartbeat(&id, generation)?;
        let (tx, _) = watch::channel(generation);
        Ok(Arc::new(LiveHomes {
            db,
            id,
            default,
            map: Mutex::new(map),
            tx,
            relays: Arc::new(Relays::default()),
        }))
    }

    /// Keeps the cache current and the heartbeat going until `stop` fires; unregisters at
    /// the end.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut seen = *self.tx.borrow();
        loop {
            match self.apply(seen) {
                Ok((top, leaving)) => {
                    // Acknowledge only once the users taken off the legacy server have no
                    // relayed session left; meanwhile keep showing that this server lives.
                    let drained = self.relays.drained(&leaving);
                    tokio::pin!(drained);
                    loop {
                        tokio::select! {
                            _ = &mut drained => break,
                            _ = tokio::time::sleep(POLL_EVERY) => self.beat(seen),
                            _ = stop.changed() => return self.stop(),
                        }
                    }
                    seen = top;
                }
                Err(e) => tracing::warn!(error = %e, "migration state: refresh failed"),
            }
            self.beat(seen);
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.changed() => return self.stop(),
            }
        }
    }

    fn beat(&self, seen: u64) {
        if let Err(e) = self.db.heartbeat(&self.id, seen) {
            tracing::warn!(error = %e, "migration state: heartbeat failed");
        }
    }

    fn stop(&self) {
        if let Err(e) = self.db.unregister(&self.id) {
            tracing::warn!(error = %e, "migration state: unregister failed");
        }
    }

    /// Applies the changes after generation `seen` to the cache and tells relayed sessions
    /// to look again. Returns the newest generation and the accounts that left the legacy
    /// server.
    fn apply(&self, seen: u64) -> R<(u64, Vec<String>)> {
        let (changes, top) = self.db.changed_since(seen)?;
        let mut leaving = Vec::new();
        if changes.is_empty() {
            return Ok((top.max(seen), leaving));
        }
        {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            for (account, home) in changes {
                tracing::info!(%account, home = home.as_str(), "migration state: home changed");
                if home != Home::Legacy {
                    leaving.push(account.clone());
                }
                map.insert(account, home);
            }
        }
        self.tx.send_replace(top);
        Ok((top, leaving))
    }

    /// Opens a relayed session for `account`; dropping the guard closes it.
    pub fn relay(&self, account: &str) -> RelayGuard {
        self.relays.open(account)
    }
}

#[async_trait]
impl Homes for LiveHomes {
    async fn home(&self, account: &str) -> Result<Home, String> {
        let key = account.to_ascii_lowercase();
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(&key).copied().unwrap_or(self.default))
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    fn relay(&self, account: &str) -> Box<dyn Send + Sync> {
        Box::new(LiveHomes::relay(self, account))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "tern".into())
}

fn rand_suffix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_generations_and_servers() {
        let dir = tempfile::tempdir().unwrap();
        let db = CutoverDb::open(&dir.path().join("migrate.db")).unwrap();
        assert_eq!(db.generation().unwrap(), 0);
        assert_eq!(db.home("Alice@x.test").unwrap(), None);
        let g1 = db.set_home("Alice@X.test", Home::Moving).unwrap();
        let g2 = db.set_home("bob@x.test", Home::Legacy).unwrap();
        assert!(g2 > g1);
        assert_eq!(db.home("alice@x.test").unwrap(), Some(Home::Moving));
        let (rows, top) = db.changed_since(g1).unwrap();
        assert_eq!(rows, vec![("bob@x.test".to_string(), Home::Legacy)]);
        assert_eq!(top, g2);
        db.mark_legacy_if_unlisted("alice@x.test").unwrap();
        assert_eq!(db.home("alice@x.test").unwrap(), Some(Home::Moving));
        // A server that has seen g1 only is behind g2; one gone quiet is not waited for.
        db.heartbeat("s1", g1).unwrap();
        assert_eq!(db.servers_behind(g2).unwrap(), vec!["s1".to_string()]);
        db.heartbeat("s1", g2).unwrap();
        assert!(db.servers_behind(g2).unwrap().is_empty());
        db.with(|c| c.execute("UPDATE servers SET heartbeat = 0, seen_generation = 0", []))
            .unwrap();
        assert!(db.servers_behind(g2).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_server_acknowledges_only_after_relays_closed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(CutoverDb::open(&dir.path().join("migrate.db")).unwrap());
        let live = LiveHomes::load(db.clone(), Home::Legacy).unwrap();
        assert_eq!(live.home("carol@x.test").await.unwrap(), Home::Legacy);
        let guard = live.relay("Carol@x.test");
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(live.clone().run(stop));
        let mut changes = live.changes();
        let g = db.set_home("carol@x.test", Home::Moving).unwrap();
        changes.changed().await.unwrap();
        assert_eq!(live.home("carol@x.test").await.unwrap(), Home::Moving);
        // The relay is still open: the server has not acknowledged g.
        tokio::time::sleep(POLL_EVERY * 3).await;
        assert!(!db.servers_behind(g).unwrap().is_empty());
        drop(guard);
        assert_eq!(
            db.wait_applied(g, Duration::from_secs(10)).await.unwrap(),
            Ok(())
        );
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        assert!(
            db.servers_behind(g + 100).unwrap().is_empty(),
            "unregistered"
        );
    }
}
