//! RFC 8474 OBJECTID identifiers of messages, shared by FETCH and SEARCH.
//!
//! - `EMAILID` is derived from the content address of the message's blob: `M` followed by
//!   the first 24 hex digits of its SHA-256. Identical bytes in several mailboxes (a COPY,
//!   the same delivery to several folders) therefore share one EMAILID, as RFC 8474 §5.1
//!   allows; 96 bits keep accidental collisions out of reach.
//! - `THREADID` is derived from the thread's root Message-ID as the message itself names
//!   it: the first References entry, else the first In-Reply-To entry, else its own
//!   Message-ID; `T` followed by a 64-bit FNV-1a hash of it in hex. This costs nothing at
//!   FETCH time (no mailbox-wide threading); messages whose References were truncated by
//!   their sender may land in a different thread than THREAD=REFERENCES would put them. A
//!   message without any Message-ID has no THREADID (NIL).

use tern_store::{BlobId, SharedMeta};

/// The EMAILID of a message stored as `blob`.
pub fn email_id(blob: &BlobId) -> String {
    let hex = blob.to_hex();
    format!("M{}", &hex[..24])
}

/// The THREADID of a message, `None` when it has no Message-ID at all.
pub fn thread_id(meta: &SharedMeta) -> Option<String> {
    let t = &meta.thread;
    let root = t
        .references
        .first()
        .or(t.in_reply_to.first())
        .or(t.message_id.as_ref())?;
    Some(format!("T{:016x}", fnv1a(root.trim().as_bytes())))
}

/// 64-bit FNV-1a: stable across builds and platforms (unlike `std`'s hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::ThreadKeys;

    #[test]
    fn ids() {
        let blob = BlobId([0xab; 32]);
        assert_eq!(email_id(&blob), format!("M{}", "ab".repeat(12)));
        let root = SharedMeta {
            thread: ThreadKeys {
                message_id: Some("root@x".into()),
                ..ThreadKeys::default()
            }
            .into(),
            ..SharedMeta::default()
        };
        let reply = SharedMeta {
            thread: ThreadKeys {
                message_id: Some("reply@x".into()),
                in_reply_to: vec!["root@x".into()],
                references: vec!["root@x".into()],
                is_reply: true,
            }
            .into(),
            ..SharedMeta::default()
        };
        let tid = thread_id(&root).unwrap();
        assert_eq!(tid.len(), 17);
        assert_eq!(thread_id(&reply), Some(tid));
        assert_eq!(thread_id(&SharedMeta::default()), None);
        // Known FNV-1a test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
