//! Content-addressed message bytes.

use crate::error::StoreResult;
use crate::types::BlobId;
use async_trait::async_trait;
use std::sync::Arc;

/// A readable blob. The filesystem backend memory-maps the file, so reading a 50 MB message
/// does not copy it onto the heap.
pub type Blob = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Stores message bytes by their SHA-256. Writing the same bytes twice stores them once.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts a streamed write. Nothing is visible until [`BlobWriter::finish`].
    async fn writer(&self) -> StoreResult<Box<dyn BlobWriter>>;

    /// Reads a whole blob.
    async fn get(&self, id: &BlobId) -> StoreResult<Blob>;

    /// Whether the blob exists.
    async fn exists(&self, id: &BlobId) -> StoreResult<bool>;

    /// Removes a blob if it is still unreferenced and older than `grace_seconds`
    /// (the caller has checked references). Returns whether it was removed.
    async fn remove_if_stale(&self, id: &BlobId, grace_seconds: u64) -> StoreResult<bool>;

    /// Every blob the store holds (for garbage collection and verification).
    async fn list(&self) -> StoreResult<Vec<BlobId>>;
}

/// A blob being written. Dropping it without `finish` leaves nothing behind.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: &[u8]) -> StoreResult<()>;

    /// Makes the blob durable (fsync of file and directory) and returns its id and size.
    async fn finish(self: Box<Self>) -> StoreResult<(BlobId, u64)>;

    /// [`BlobWriter::finish`], also handing back the bytes when the writer still holds all
    /// of them in memory (a small blob), so that the caller need not read them back. The
    /// default keeps nothing.
    async fn finish_keep(self: Box<Self>) -> StoreResult<(BlobId, u64, Option<Blob>)> {
        let (id, size) = self.finish().await?;
        Ok((id, size, None))
    }
}
