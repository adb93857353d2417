//! A small pool of read-only connections (WAL readers) used on blocking threads.
//!
//! Readers never block the writer and see every commit that returned before they started.
//! At most [`MAX_READERS`] reads run at once; idle connections are kept for reuse with their
//! prepared-statement caches.

use crate::fail::{DbResult, Fail};
use crate::schema::open_reader;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tern_store::{StoreError, StoreResult};
use tokio::sync::Semaphore;

pub(crate) const MAX_READERS: usize = 8;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `f` on a reader connection on a blocking thread.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("reader pool closed".into()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = this.take()?;
            let out = f(&conn).map_err(|Fail(e)| e);
            this.give_back(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }

    /// Runs `f` inside one read transaction, so everything it reads is one snapshot.
    pub async fn snapshot<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        self.read(move |conn| {
            conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
            let out = f(conn);
            // Ending a read transaction cannot lose anything; COMMIT releases the snapshot.
            conn.prepare_cached("COMMIT")?.execute([])?;
            out
        })
        .await
    }

    fn take(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        open_reader(&self.path)
    }

    fn give_back(&self, conn: Connection) {
        if !conn.is_autocommit() {
            // A failed read left a transaction open: drop the connection rather than reuse it.
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_READERS {
            idle.push(conn);
        }
    }
}
