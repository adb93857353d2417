//! The backend-generic conformance suite, run against the SQLite + files backend: one test
//! per check on a fresh store, and all checks together on one shared store.

use std::sync::Arc;
use tern_store::{BlobStore, MailStore};

async fn make() -> (Arc<dyn MailStore>, Arc<dyn BlobStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path())
        .await
        .expect("open store");
    (store, blobs, dir)
}

tern_store::conformance_tests!(make);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_store() {
    let (store, blobs, _dir) = make().await;
    tern_store::conformance::run_all(store, blobs).await;
}
