//! Decoded message metadata kept in memory, shared by every session of the process.
//!
//! SEARCH on a header, SORT, THREAD and FETCH ENVELOPE/BODYSTRUCTURE read the metadata that
//! delivery cached per blob ([`tern_store::MessageMeta`]). Reading it from the store means a
//! query and decoding strings for every message, every time: a SORT of a 20,000-message
//! mailbox decoded 20,000 sets of keys per command. A blob's content never changes, so its
//! metadata never does either: [`MetaCache`] keeps what was read, keyed by blob, and answers
//! the next reader from memory — the role Dovecot's `dovecot.index.cache` plays.
//!
//! - An entry holds the parts ([`MetaParts`]) that were read; a reader asking for more reads
//!   again, the union of what it asks and what the entry had, so entries converge on what
//!   readers use.
//! - Memory is bounded by an estimate per part ([`MetaCache::new`]'s budget); past it, the
//!   entries not used since the last sweep go first (a clock).
//! - The metadata of a message another session has expunged may still be answered from
//!   memory while the reader's view holds the message (RFC 2180 §4.1.3 lets a server return
//!   data for it); a reader that needs the message's bytes still finds them gone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use tern_store::{BlobId, MailStore, MailboxId, MessageMeta, MetaParts, StoreResult, Uid};

/// The default budget: 128 MiB of estimated metadata (about 60,000 messages read with their
/// envelopes and sort keys).
pub const DEFAULT_BUDGET: usize = 128 << 20;

/// Estimated bytes per entry (the decoded struct, its `Arc`, the key and the map's slot)
/// and per cached part (the part's strings and lists on the heap). Measured with a counting
/// allocator over `bench/micro/corpus.rs`: envelopes took 560 (plain) to 1,270 (multipart)
/// octets, body structures 54 to 3,980, sort keys about 60, thread keys 50 to 150,
/// previews about 120, each on top of the struct.
const ENTRY_COST: usize = std::mem::size_of::<MessageMeta>() + 96;
const ENVELOPE_COST: usize = 1024;
const BODY_COST: usize = 2048;
const SORT_COST: usize = 128;
const THREAD_COST: usize = 192;
const PREVIEW_COST: usize = 256;

fn cost(parts: MetaParts) -> usize {
    ENTRY_COST
        + usize::from(parts.envelope) * ENVELOPE_COST
        + usize::from(parts.body) * BODY_COST
        + usize::from(parts.sort) * SORT_COST
        + usize::from(parts.thread) * THREAD_COST
        + usize::from(parts.preview) * PREVIEW_COST
}

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
    meta: Arc<MessageMeta>,
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
    /// lacks are read from `store` in one call; those it no longer has are left out.
    pub async fn read(
        &self,
        store: &dyn MailStore,
        mailbox: MailboxId,
        messages: &[(Uid, BlobId)],
        parts: MetaParts,
    ) -> StoreResult<Vec<(Uid, Arc<MessageMeta>)>> {
        if self.budget == 0 {
            let uids: Vec<Uid> = messages.iter().map(|m| m.0).collect();
            return store.meta_parts(mailbox, &uids, parts).await;
        }
        let mut found: Vec<Option<Arc<MessageMeta>>> = vec![None; messages.len()];
        let mut missing = Vec::new();
        let mut want = parts;
        {
            let mut inner = self.lock();
            for (i, (_, blob)) in messages.iter().enumerate() {
                match inner.map.get_mut(blob) {
                    Some(e) if covers(e.parts, parts) => {
                        e.used = true;
                        found[i] = Some(e.meta.clone());
                    }
                    Some(e) => {
                        want = want.union(e.parts);
                        missing.push(i);
                    }
                    None => missing.push(i),
                }
            }
        }
        if !missing.is_empty() {
            let uids: Vec<Uid> = missing.iter().map(|&i| messages[i].0).collect();
            let read = store.meta_parts(mailbox, &uids, want).await?;
            let mut read = read.into_iter().peekable();
            let mut inner = self.lock();
            for &i in &missing {
                let (uid, blob) = messages[i];
                if let Some((_, meta)) = read.next_if(|(u, _)| *u == uid) {
                    inner.insert(blob, want, meta.clone());
                    found[i] = Some(meta);
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

impl Inner {
    fn insert(&mut self, blob: BlobId, parts: MetaParts, meta: Arc<MessageMeta>) {
        let entry = Entry {
            parts,
            meta,
            used: true,
        };
        self.bytes += cost(parts);
        if let Some(old) = self.map.insert(blob, entry) {
            self.bytes -= cost(old.parts);
        }
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
                bytes -= cost(e.parts);
                false
            });
            self.bytes = bytes;
            if self.bytes <= target {
                return;
            }
        }
    }
}
