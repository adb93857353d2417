//! Reads shared by sessions woken by the same change.
//!
//! A delivery to a mailbox that a thousand sessions IDLE on wakes all of them with one
//! [`tern_store::ChangeEvent`], and each then asks what changed since the MODSEQ it knows.
//! They mostly know the same MODSEQ, so the question is the same: [`SharedReads::changes`]
//! lets the first caller read and the others wait for and copy its answer, as long as the
//! answer is at least as new as the change each of them was told of. A caller that is not
//! reacting to an event (NOOP, a command's own sync) does not come here: it reads.
//!
//! `\Recent` works the same way: `recent_uid` of a mailbox only grows, so once any session
//! has claimed everything up to a UID, later sessions asking about messages below it need no
//! read to learn none of them is theirs ([`SharedReads::claimed_above`]).
//!
//! Invariants: an answer handed to a caller has HIGHESTMODSEQ ≥ its `at_least`, and so
//! holds every change the caller was told of (a commit moves HIGHESTMODSEQ in the same
//! transaction as the changes). Nothing here is needed for correctness: a dropped entry
//! only costs one more read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tern_store::{Changes, MailboxId, ModSeq, StoreResult, Uid};

/// Answers with more records than this are not kept for others (a long-absent session's
/// resync is nobody else's question).
const MAX_SHARED_RECORDS: usize = 4096;
/// Entries kept before unused ones are dropped.
const MAX_ENTRIES: usize = 4096;

/// One question's answer, and whether a caller is reading it now (the others wait on
/// `done`, all woken at once when the read ends, rather than passing a lock one by one).
#[derive(Default)]
struct SlotState {
    answer: Option<Arc<Changes>>,
    reading: bool,
}

#[derive(Default)]
struct SlotInner {
    state: Mutex<SlotState>,
    done: tokio::sync::Notify,
}

type Slot = Arc<SlotInner>;

/// Ends a read: clears `reading` and wakes the waiters, also when the reader's future is
/// dropped halfway (its session closed), so nobody waits for a read that will not finish.
struct Reading<'a>(&'a SlotInner);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).reading = false;
        self.0.done.notify_waiters();
    }
}

#[derive(Default)]
pub(crate) struct SharedReads {
    changes: Mutex<HashMap<(MailboxId, ModSeq), Slot>>,
    /// Per mailbox: every message with a UID below this was claimed as `\Recent`.
    claimed: Mutex<HashMap<MailboxId, Uid>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SharedReads {
    /// What changed in `mailbox` after `since`, from a snapshot whose HIGHESTMODSEQ is at
    /// least `at_least`: a recent answer to the same question if there is one, else `read`'s
    /// (concurrent callers wait for the one read in progress).
    pub async fn changes<F, Fut>(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
        at_least: ModSeq,
        read: F,
    ) -> StoreResult<Changes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<Changes>>,
    {
        let slot = self.slot(mailbox, since);
        loop {
            let waiting = {
                let mut state = lock(&slot.state);
                if let Some(known) = state.answer.as_ref()
                    && known.highestmodseq >= at_least
                {
                    return Ok((**known).clone());
                }
                if state.reading {
                    // Registered before the lock is released: the reader's wake-up cannot
                    // be missed.
                    Some(slot.done.notified())
                } else {
                    state.reading = true;
                    None
                }
            };
            match waiting {
                Some(done) => done.await,
                None => break,
            }
        }
        let reading = Reading(&slot);
        let fresh = read().await;
        if let Ok(fresh) = &fresh {
            lock(&slot.state).answer =
                (fresh.changed.len() <= MAX_SHARED_RECORDS).then(|| Arc::new(fresh.clone()));
        }
        drop(reading);
        fresh
    }

    fn slot(&self, mailbox: MailboxId, since: ModSeq) -> Slot {
        let mut map = lock(&self.changes);
        if let Some(slot) = map.get(&(mailbox, since)) {
            return slot.clone();
        }
        // Sessions move forward: older questions about this mailbox that nobody is asking
        // right now will hardly be asked again.
        map.retain(|&(m, s), slot| m != mailbox || s > since || Arc::strong_count(slot) > 1);
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        map.entry((mailbox, since)).or_default().clone()
    }

    /// A UID above `newest` below which everything in `mailbox` is known to be claimed.
    pub fn claimed_above(&self, mailbox: MailboxId, newest: Uid) -> Option<Uid> {
        lock(&self.claimed)
            .get(&mailbox)
            .copied()
            .filter(|&boundary| boundary > newest)
    }

    /// Notes that every message of `mailbox` below `boundary` has been claimed.
    pub fn note_claimed(&self, mailbox: MailboxId, boundary: Uid) {
        let mut map = lock(&self.claimed);
        if map.len() >= MAX_ENTRIES * 16 {
            map.clear();
        }
        let known = map.entry(mailbox).or_default();
        *known = (*known).max(boundary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn changes(highestmodseq: ModSeq) -> Changes {
        Changes {
            highestmodseq,
            ..Changes::default()
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_read_when_it_is_new_enough() {
        let shared = Arc::new(SharedReads::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (shared, reads) = (shared.clone(), reads.clone());
            tasks.push(tokio::spawn(async move {
                shared
                    .changes(MailboxId(1), 5, 6, || async {
                        reads.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(changes(6))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().highestmodseq, 6);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Told of a later change: the answer at 6 is not enough, so it reads again.
        let c = shared
            .changes(MailboxId(1), 5, 7, || async {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok(changes(7))
            })
            .await
            .unwrap();
        assert_eq!((c.highestmodseq, reads.load(Ordering::SeqCst)), (7, 2));
        // Another mailbox or another starting point is another question.
        for (mailbox, since) in [(2, 5), (1, 4)] {
            shared
                .changes(MailboxId(mailbox), since, 6, || async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    Ok(changes(6))
                })
                .await
                .unwrap();
        }
        assert_eq!(reads.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn failed_reads_are_not_shared() {
        let shared = SharedReads::default();
        let err = shared
            .changes(MailboxId(1), 1, 2, || async {
                Err(tern_store::StoreError::NoSuchMailbox)
            })
            .await;
        assert!(err.is_err());
        let ok = shared
            .changes(MailboxId(1), 1, 2, || async { Ok(changes(2)) })
            .await
            .unwrap();
        assert_eq!(ok.highestmodseq, 2);
    }

    #[tokio::test]
    async fn a_reader_dropped_halfway_does_not_strand_the_waiters() {
        let shared = Arc::new(SharedReads::default());
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let stuck = {
            let shared = shared.clone();
            tokio::spawn(async move {
                shared
                    .changes(MailboxId(1), 1, 2, || async move {
                        let _ = started_tx.send(());
                        std::future::pending::<StoreResult<Changes>>().await
                    })
                    .await
            })
        };
        started.await.unwrap();
        let waiter = {
            let shared = shared.clone();
            tokio::spawn(async move {
                shared
                    .changes(MailboxId(1), 1, 2, || async { Ok(changes(2)) })
                    .await
            })
        };
        tokio::task::yield_now().await;
        stuck.abort();
        // Bounded only so that a regression fails instead of hanging the test run.
        let answer = tokio::time::timeout(std::time::Duration::from_secs(30), waiter)
            .await
            .expect("the waiter took over the read")
            .unwrap()
            .unwrap();
        assert_eq!(answer.highestmodseq, 2);
    }

    #[test]
    fn claimed_boundary_only_grows_and_answers_only_above_newest() {
        let shared = SharedReads::default();
        assert_eq!(shared.claimed_above(MailboxId(1), 3), None);
        shared.note_claimed(MailboxId(1), 10);
        shared.note_claimed(MailboxId(1), 7);
        assert_eq!(shared.claimed_above(MailboxId(1), 9), Some(10));
        assert_eq!(shared.claimed_above(MailboxId(1), 10), None);
        assert_eq!(shared.claimed_above(MailboxId(2), 1), None);
    }
}
