//! Decoded message metadata kept in memory, shared by every session of the process.
//!
//! SEARCH on a header, SORT, THREAD and FETCH ENVELOPE/BODYSTRUCTURE read the metadata that
//! delivery cached per blob ([`tern_store::MessageMeta`]). Reading it from the store means a
//! query and decoding strings for every message, every time: a SORT of a 20,000-message
//! mailbox decoded 20,000 sets of keys per command. A blob's content never changes, so its
//! metadata never does either: [`MetaCache`] keeps what was read, keyed by blob, and answers
//! the next reader from memory — the role Dovecot's `dovecot.index.cache` plays.
//!
//! - An entry holds the parts ([`MetaParts`]) that were read, each its own `Arc`
//!   ([`SharedMeta`]); a reader asking for parts an entry lacks reads what it asks, and the
//!   entry keeps the parts it had besides, so entries converge on what readers use and a
//!   part costs only its own memory (sort keys about 0.5 KB a message, with the envelope
//!   1.3 KB, everything 2.7 KB, for messages like the benchmark's).
//! - Memory is bounded by the budget ([`MetaCache::new`]): each entry's memory is counted
//!   string by string as the allocator takes it ([`size`]); past the budget, the entries not
//!   used since the last sweep go first (a clock).
//! - The metadata of a message another session has expunged may still be answered from
//!   memory while the reader's view holds the message (RFC 2180 §4.1.3 lets a server return
//!   data for it); a reader that needs the message's bytes still finds them gone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use tern_store::{
    BlobId, MailStore, MailboxId, MessageMeta, MetaParts, SharedMeta, StoreResult, Uid,
};

mod size;

/// The default budget: 256 MiB, about 200,000 messages read with their envelopes and sort
/// keys (1.3 KB each for messages like the benchmark's: `tests/meta_cache_size.rs`).
pub const DEFAULT_BUDGET: usize = 256 << 20;

fn covers(have: MetaParts, want: MetaParts) -> bool {
    have.union(want) == have
}

/// Blob ids are SHA-256 digests: their first eight octets are already a good hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

type Map = HashMap<BlobId, Entry, BuildHasherDefault<DigestHasher>>;

struct Entry {
    parts: MetaParts,
    meta: Arc<SharedMeta>,
    /// The estimated memory of the entry ([`size::entry`]).
    bytes: usize,
    used: bool,
}

#[derive(Default)]
struct Inner {
    map: Map,
    bytes: usize,
}

/// See the module documentation.
pub struct MetaCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl Default for MetaCache {
    fn default() -> Self {
        MetaCache::new(DEFAULT_BUDGET)
    }
}

impl MetaCache {
    /// A cache holding about `budget` bytes of metadata (0: none; every read goes to the
    /// store).
    pub fn new(budget: usize) -> MetaCache {
        MetaCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The estimated bytes held and the number of messages.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.bytes, inner.map.len())
    }

    /// The metadata of `messages` (UID and blob, as the reader's view has them) in
    /// `mailbox`, with at least `parts` filled in, in the order given. Messages the cache
    /// lacks, or holds without some of `parts`, are read from `store` in one call (`parts`
    /// only; what an entry already held is kept); those the store no longer has are left
    /// out.
    pub async fn read(
        &self,
        store: &dyn MailStore,
        mailbox: MailboxId,
        messages: &[(Uid, BlobId)],
        parts: MetaParts,
    ) -> StoreResult<Vec<(Uid, Arc<SharedMeta>)>> {
        if self.budget == 0 {
            let uids: Vec<Uid> = messages.iter().map(|m| m.0).collect();
            let read = store.meta_parts(mailbox, &uids, parts).await?;
            return Ok(read
                .into_iter()
                .map(|(uid, meta)| (uid, Arc::new(shared(meta, parts))))
                .collect());
        }
        let mut found: Vec<Option<Arc<SharedMeta>>> = vec![None; messages.len()];
        let mut missing = Vec::new();
        {
            let mut inner = self.lock();
            for (i, (_, blob)) in messages.iter().enumerate() {
                match inner.map.get_mut(blob) {
                    Some(e) if covers(e.parts, parts) => {
                        e.used = true;
                        found[i] = Some(e.meta.clone());
                    }
                    _ => missing.push(i),
                }
            }
        }
        if !missing.is_empty() {
            let uids: Vec<Uid> = missing.iter().map(|&i| messages[i].0).collect();
            let read = store.meta_parts(mailbox, &uids, parts).await?;
            // Built outside the lock: the parts' Arcs and their sizes.
            let mut read = read
                .into_iter()
                .map(|(uid, meta)| (uid, shared(meta, parts)))
                .peekable();
            let mut inner = self.lock();
            for &i in &missing {
                let (uid, blob) = messages[i];
                if let Some((_, meta)) = read.next_if(|(u, _)| *u == uid) {
                    found[i] = Some(inner.insert(blob, parts, meta));
                }
            }
            if inner.bytes > self.budget {
                inner.sweep(self.budget / 4 * 3);
            }
        }
        Ok(messages
            .iter()
            .zip(found)
            .filter_map(|((uid, _), meta)| meta.map(|m| (*uid, m)))
            .collect())
    }
}

/// The `parts` of a stored message's metadata, shared, in their compact form: an envelope's
/// Sender and Reply-To that only repeat From (as delivery used to store them) are dropped,
/// since an empty one is sent as From anyway (RFC 9051 §7.5.2).
fn shared(meta: Arc<MessageMeta>, parts: MetaParts) -> SharedMeta {
    let mut meta = Arc::unwrap_or_clone(meta);
    let env = &mut meta.envelope;
    if env.sender == env.from {
        env.sender = Vec::new();
    }
    if env.reply_to == env.from {
        env.reply_to = Vec::new();
    }
    SharedMeta::from_parts(meta, parts)
}

impl Inner {
    /// Stores `meta` (holding `parts`) for `blob`, keeping the other parts an entry already
    /// had; returns what is now cached.
    fn insert(&mut self, blob: BlobId, parts: MetaParts, meta: SharedMeta) -> Arc<SharedMeta> {
        let (parts, meta) = match self.map.get(&blob) {
            Some(old) => (old.parts.union(parts), old.meta.with_parts_of(&meta, parts)),
            None => (parts, meta),
        };
        let bytes = size::entry(&meta, parts);
        let meta = Arc::new(meta);
        let entry = Entry {
            parts,
            meta: meta.clone(),
            bytes,
            used: true,
        };
        self.bytes += bytes;
        if let Some(old) = self.map.insert(blob, entry) {
            self.bytes -= old.bytes;
        }
        meta
    }

    /// Drops entries until at most `target` bytes remain: first those not used since the
    /// last sweep (clearing the mark of the others), then, if still over, any.
    fn sweep(&mut self, target: usize) {
        for pass in 0..2 {
            let mut bytes = self.bytes;
            self.map.retain(|_, e| {
                if bytes <= target || (e.used && pass == 0) {
                    e.used = false;
                    return true;
                }
                bytes -= e.bytes;
                false
            });
            self.bytes = bytes;
            if self.bytes <= target {
                return;
            }
        }
    }
}
