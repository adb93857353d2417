//! The blob store: content addressing, streaming, deduplication.

use super::support::*;
use crate::*;
use std::sync::Arc;

async fn write_chunks(blobs: &dyn BlobStore, bytes: &[u8], chunk: usize) -> (BlobId, u64) {
    let mut w = blobs.writer().await.unwrap();
    for part in bytes.chunks(chunk.max(1)) {
        w.write(part).await.unwrap();
    }
    w.finish().await.unwrap()
}

/// Same bytes → same id, stored once; different bytes → different ids; nothing visible
/// before `finish`, nothing left by an abandoned writer.
pub async fn blob_dedup(_store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    let bytes = body("dedup");
    let (id, size) = write_chunks(&*blobs, &bytes, 7).await;
    assert_eq!(size, bytes.len() as u64);
    let (again, _) = write_chunks(&*blobs, &bytes, bytes.len()).await;
    assert_eq!(
        again, id,
        "the id depends on the bytes only, not on the chunking"
    );
    let listed = blobs.list().await.unwrap();
    assert_eq!(
        listed.iter().filter(|b| **b == id).count(),
        1,
        "stored once"
    );
    assert!(blobs.exists(&id).await.unwrap());
    assert_eq!((*blobs.get(&id).await.unwrap()).as_ref(), &bytes[..]);

    let mut other = bytes.clone();
    other.push(b'x');
    let (other_id, _) = write_chunks(&*blobs, &other, 1024).await;
    assert_ne!(other_id, id);

    let (empty, n) = write_chunks(&*blobs, b"", 1).await;
    assert_eq!(n, 0);
    assert!((*blobs.get(&empty).await.unwrap()).as_ref().is_empty());
    assert_eq!(
        empty.to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ids are SHA-256"
    );

    // A large blob streamed in small chunks reads back byte for byte.
    let big: Vec<u8> = (0..(1 << 20) + 17).map(|i| (i * 7 % 251) as u8).collect();
    let (big_id, big_size) = write_chunks(&*blobs, &big, 4096).await;
    assert_eq!(big_size, big.len() as u64);
    assert!((*blobs.get(&big_id).await.unwrap()).as_ref() == &big[..]);

    let before = blobs.list().await.unwrap();
    {
        let mut w = blobs.writer().await.unwrap();
        w.write(b"never finished").await.unwrap();
    }
    assert_eq!(
        blobs.list().await.unwrap(),
        before,
        "an abandoned write leaves nothing"
    );

    // `finish_keep` stores the same blob; bytes it hands back are the content.
    for content in [&bytes[..], &big[..], b"kept"] {
        let mut w = blobs.writer().await.unwrap();
        for part in content.chunks(5000) {
            w.write(part).await.unwrap();
        }
        let (kept_id, kept_size, kept) = w.finish_keep().await.unwrap();
        assert_eq!(kept_size, content.len() as u64);
        assert_eq!((*blobs.get(&kept_id).await.unwrap()).as_ref(), content);
        if let Some(kept) = kept {
            assert_eq!((*kept).as_ref(), content, "kept bytes are the blob");
        }
    }

    let missing = BlobId([0xab; 32]);
    assert!(!blobs.exists(&missing).await.unwrap());
    assert!(matches!(
        blobs.get(&missing).await,
        Err(StoreError::BlobMissing(_))
    ));
    assert!(
        !blobs.remove_if_stale(&id, 365 * 86_400).await.unwrap(),
        "a fresh blob is not stale"
    );
    assert!(blobs.exists(&id).await.unwrap());
}
