//! # tern-store-sqlite: the embedded store
//!
//! [`SqliteMailStore`] keeps mail metadata in one SQLite database (WAL, `synchronous=FULL`,
//! foreign keys on); [`FsBlobStore`] keeps message bytes in content-addressed files. Together
//! they are the single-node backend behind `tern_store`'s traits; [`open_embedded`] opens
//! both in a data directory.
//!
//! ## Layout
//! - [`blobs`]: `FsBlobStore` (streamed, hashed, fsync'd writes; memory-mapped reads).
//! - [`gc`]: [`collect_garbage`], safe removal of unreferenced blobs.
//! - `store`: the `MailStore` implementation, delegating to
//!   - `writer`: the one write connection and its group commit,
//!   - `readers`: a pool of read-only connections on blocking threads,
//!   - `shared_reads`: one read answering the sessions a change woke at once,
//!   - `watcher`: change events from other processes on the same file,
//!   - `ops_*` (writes), `queries` (reads), `rows`/`codec` (row layout), `schema`,
//!   - `sieve`: Sieve scripts and the vacation reply log (reads and writes),
//!   - `meta_codec`: the stored form of [`tern_store::MessageMeta`], decodable by part.
//!
//! ## Invariants
//! - A write returns only after the COMMIT holding it is durable; concurrent writes share
//!   one COMMIT (one fsync). A failing write rolls back only itself.
//! - Change events are broadcast only after commit, and every commit's events are also in
//!   the `changelog` table, from which other processes' watchers re-broadcast them.
//! - Usage, mailbox counters and blob reference counts change in the same transaction as
//!   the messages they count.
//! - The metadata of a message ([`tern_store::MessageMeta`]) is stored once per blob and is
//!   never read by [`tern_store::MailStore::messages`].
#![deny(unsafe_code)]

pub mod blobs;
mod codec;
mod fail;
pub mod gc;
mod meta_codec;
mod ops_extras;
mod ops_flags;
mod ops_mailboxes;
mod ops_messages;
mod queries;
mod readers;
mod rows;
mod schema;
mod shared_reads;
mod sieve;
mod store;
mod watcher;
mod writer;

pub use blobs::FsBlobStore;
pub use gc::{GcReport, collect_garbage};
pub use store::SqliteMailStore;
pub use writer::WriterStats;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tern_store::{StoreError, StoreResult};

/// The database file inside a data directory.
pub const DB_FILE: &str = "mail.db";
/// The blob directory inside a data directory.
pub const BLOB_DIR: &str = "blobs";
/// Temporary blob files older than this are leftovers of a crash and are removed at open.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Opens the embedded store in `data_dir` (`mail.db` and `blobs/`), creating what is missing.
pub async fn open_embedded(
    data_dir: &Path,
) -> StoreResult<(Arc<SqliteMailStore>, Arc<FsBlobStore>)> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let blobs = FsBlobStore::open(dir.join(BLOB_DIR))?;
        blobs.sweep_temp(STALE_TEMP)?;
        let store = SqliteMailStore::open(dir.join(DB_FILE))?;
        Ok((Arc::new(store), Arc::new(blobs)))
    })
    .await
    .map_err(|e| StoreError::Backend(format!("opening the store failed: {e}")))?
}
