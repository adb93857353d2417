//! Garbage collection removes exactly the unreferenced blobs older than the grace period.

mod common;
use common::*;
use std::time::{Duration, SystemTime};
use tern_store::*;
use tern_store_sqlite::{FsBlobStore, collect_garbage};

fn age(blobs: &FsBlobStore, id: &BlobId, by: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(blobs.path_of(id))
        .unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_only_unreferenced_old_blobs() {
    let (store, blobs, _dir) = fresh().await;
    let (_, mb) = setup(&*store, "gc@example.test").await;
    let hour = Duration::from_secs(3600);

    let (kept, size) = put(&*blobs, b"referenced").await;
    let (kept_old, size_old) = put(&*blobs, b"referenced and old").await;
    store
        .append(
            vec![
                message(mb.id, kept, size),
                message(mb.id, kept_old, size_old),
            ],
            AppendMode::Atomic,
        )
        .await
        .unwrap();
    let (orphan_old, _) = put(&*blobs, b"unreferenced and old").await;
    let (orphan_fresh, _) = put(&*blobs, b"unreferenced, just written").await;
    age(&blobs, &kept_old, 2 * hour);
    age(&blobs, &orphan_old, 2 * hour);

    let report = collect_garbage(&*store, &*blobs, 3600).await.unwrap();
    assert_eq!(report.scanned, 4);
    assert_eq!(report.referenced, 2);
    assert_eq!(report.removed, 1);
    assert_eq!(report.kept_fresh, 1);
    assert_eq!(report.dangling, 0);
    assert!(!blobs.exists(&orphan_old).await.unwrap());
    for id in [kept, kept_old, orphan_fresh] {
        assert!(blobs.exists(&id).await.unwrap());
    }

    // Writing the same bytes again refreshes an old blob: it is safe from GC while its
    // message is being committed.
    let (again, _) = put(&*blobs, b"unreferenced, just written").await;
    assert_eq!(again, orphan_fresh);
    age(&blobs, &orphan_fresh, 2 * hour);
    put(&*blobs, b"unreferenced, just written").await;
    assert!(!blobs.remove_if_stale(&orphan_fresh, 3600).await.unwrap());

    // Once its last message is expunged, an old blob goes too.
    let (uids, _) = store.expunge(mb.id, &[2]).await.unwrap();
    assert_eq!(uids, vec![2]);
    let report = collect_garbage(&*store, &*blobs, 3600).await.unwrap();
    assert_eq!(report.removed, 1);
    assert!(!blobs.exists(&kept_old).await.unwrap());
    assert!(blobs.exists(&kept).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_temp_files_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path()).unwrap();
    let tmp = dir.path().join("tmp").join("leftover.tmp");
    std::fs::write(&tmp, b"partial").unwrap();
    assert_eq!(blobs.sweep_temp(Duration::from_secs(3600)).unwrap(), 0);
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    assert_eq!(blobs.sweep_temp(Duration::from_secs(3600)).unwrap(), 1);
    assert!(!tmp.exists());
}
