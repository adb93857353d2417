//! Garbage collection of unreferenced blobs.
//!
//! Safe against concurrent delivery because of the order of events on the write path: a
//! blob is durable (with a fresh mtime, even when its content was already stored) before
//! the metadata naming it commits. A blob that is unreferenced here *and* older than the
//! grace period cannot belong to a write in progress, provided the grace exceeds the
//! longest time between a blob's `finish` and its commit.

use std::collections::HashSet;
use tern_store::{BlobStore, MailStore, StoreResult};

/// What one collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs found in the blob store.
    pub scanned: usize,
    /// Blobs referenced by committed metadata.
    pub referenced: usize,
    /// Unreferenced blobs removed.
    pub removed: usize,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub kept_fresh: usize,
    /// References to blobs that are missing from the blob store (should be 0).
    pub dangling: usize,
}

/// Removes blobs that no committed message references and that are older than
/// `grace_seconds`.
pub async fn collect_garbage(
    store: &dyn MailStore,
    blobs: &dyn BlobStore,
    grace_seconds: u64,
) -> StoreResult<GcReport> {
    // References first, then the listing: a blob committed in between shows up as
    // unreferenced here but is fresh, and is re-checked below before removal.
    let referenced: HashSet<_> = store.referenced_blobs().await?.into_iter().collect();
    let present = blobs.list().await?;
    let mut report = GcReport {
        scanned: present.len(),
        ..GcReport::default()
    };
    let present_set: HashSet<_> = present.iter().copied().collect();
    report.dangling = referenced.difference(&present_set).count();
    for id in &present {
        if referenced.contains(id) {
            report.referenced += 1;
            continue;
        }
        if store.blob_referenced(id).await? {
            report.referenced += 1;
            continue;
        }
        if blobs.remove_if_stale(id, grace_seconds).await? {
            report.removed += 1;
        } else {
            report.kept_fresh += 1;
        }
    }
    if report.dangling > 0 {
        tracing::error!(
            dangling = report.dangling,
            "committed messages reference missing blobs"
        );
    }
    Ok(report)
}
