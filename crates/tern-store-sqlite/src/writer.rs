//! The single writer thread and its group commit.
//!
//! One thread owns the only write connection. Write requests ("jobs") arrive over a channel;
//! the thread takes every job that is waiting, runs each inside its own SAVEPOINT (a failing
//! job rolls back only itself), appends the batch's change events to `changelog`, COMMITs
//! once — one fsync for the whole batch — and only then answers every job and broadcasts the
//! events. While one batch is being fsync'd the next one queues up, so N concurrent writers
//! share fsyncs without any timer.
//!
//! Invariants: a job's reply is sent only after the COMMIT that holds it returned; a job
//! whose savepoint was rolled back leaves no rows and no events; events are broadcast only
//! for committed work.

use crate::fail::{DbResult, Fail};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tern_store::{
    AccountId, ChangeEvent, ListChange, MailboxChange, MailboxId, ModSeq, StoreError, StoreResult,
};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Most jobs one commit takes; more wait for the next commit.
const MAX_BATCH: usize = 1024;
/// How long changelog rows are kept for other processes' watchers.
pub(crate) const CHANGELOG_RETENTION_SECS: i64 = 600;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Counters of the writer, for tests and metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    jobs: AtomicU64,
}

impl WriterStats {
    /// Transactions committed so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
    /// Write requests run so far (committed or rolled back).
    pub fn jobs(&self) -> u64 {
        self.jobs.load(Ordering::Relaxed)
    }
}

/// What a job sees: the write connection inside the open transaction, and where to record
/// the change events its writes cause.
pub(crate) struct Tx<'a> {
    pub conn: &'a Connection,
    events: &'a mut Vec<ChangeEvent>,
}

impl Tx<'_> {
    /// Records that something in a mailbox changed (`what`); HIGHESTMODSEQ is now `modseq`.
    pub fn mailbox_changed(
        &mut self,
        account: AccountId,
        mailbox: MailboxId,
        modseq: ModSeq,
        what: MailboxChange,
    ) {
        self.events.push(ChangeEvent::Mailbox {
            account,
            mailbox,
            modseq,
            what,
        });
    }

    /// Records that an account's mailbox list, subscriptions, ACLs or server metadata
    /// changed (`what`).
    pub fn list_changed(&mut self, account: AccountId, what: ListChange) {
        self.events.push(ChangeEvent::MailboxList { account, what });
    }

    /// Runs `f` in a nested savepoint: if it fails, only its own writes and events are undone.
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> DbResult<T>) -> DbResult<T> {
        self.conn.prepare_cached("SAVEPOINT entry")?.execute([])?;
        let mark = self.events.len();
        let result = f(self);
        if result.is_err() {
            self.conn.prepare_cached("ROLLBACK TO entry")?.execute([])?;
            self.events.truncate(mark);
        }
        self.conn.prepare_cached("RELEASE entry")?.execute([])?;
        result
    }
}

/// A queued write request.
trait Job: Send {
    /// Runs the work; returns whether it succeeded (its savepoint is kept).
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Answers the requester once the commit's outcome is known.
    fn complete(self: Box<Self>, commit: Result<(), &str>);
}

struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut Tx<'_>) -> DbResult<T> + Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| work(tx))) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Fail(e))) => Err(e),
            Err(_) => Err(StoreError::Backend("a store write panicked".into())),
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn complete(self: Box<Self>, commit: Result<(), &str>) {
        let outcome = match (commit, self.outcome) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(msg), _) => Err(StoreError::Backend(msg.to_owned())),
            (Ok(()), None) => Err(StoreError::Backend("write was not run".into())),
        };
        // The requester may have gone away (cancelled); the write is committed regardless.
        let _ = self.reply.send(outcome);
    }
}

/// The handle through which the store submits writes.
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Box<dyn Job>>,
    stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer thread on `conn`. `origin` tags this process's changelog rows.
    pub fn start(
        conn: Connection,
        origin: i64,
        events: broadcast::Sender<ChangeEvent>,
    ) -> StoreResult<Writer> {
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("tern-sqlite-writer".into())
            .spawn(move || {
                WriterLoop {
                    conn,
                    origin,
                    events,
                    stats: thread_stats,
                    last_prune: None,
                }
                .run(rx)
            })
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(Writer { queue, stats })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Runs `work` in the next group commit and returns its result once committed.
    pub async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            outcome: None,
            reply,
        });
        self.queue
            .send(job)
            .map_err(|_| StoreError::Backend("the store's writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the store's writer dropped a request".into()))?
    }
}

struct WriterLoop {
    conn: Connection,
    origin: i64,
    events: broadcast::Sender<ChangeEvent>,
    stats: Arc<WriterStats>,
    last_prune: Option<Instant>,
}

impl WriterLoop {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Box<dyn Job>>) {
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(&mut batch);
        }
    }

    fn commit_batch(&mut self, batch: &mut Vec<Box<dyn Job>>) {
        let mut events = Vec::new();
        let outcome = self.run_batch(batch, &mut events);
        if outcome.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        } else {
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            for ev in events {
                let _ = self.events.send(ev);
            }
        }
        let outcome = outcome.map_err(|Fail(e)| {
            tracing::error!(error = %e, "store commit failed");
            e.to_string()
        });
        for job in batch.drain(..) {
            job.complete(outcome.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }

    fn run_batch(
        &mut self,
        batch: &mut [Box<dyn Job>],
        events: &mut Vec<ChangeEvent>,
    ) -> DbResult<()> {
        let conn = &self.conn;
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        for job in batch.iter_mut() {
            self.stats.jobs.fetch_add(1, Ordering::Relaxed);
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            let mark = events.len();
            let ok = job.run(&mut Tx { conn, events });
            if !ok {
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
                events.truncate(mark);
            }
            conn.prepare_cached("RELEASE job")?.execute([])?;
        }
        coalesce(events);
        let now = unix_now();
        {
            let mut log = conn.prepare_cached(
                "INSERT INTO changelog (at, origin, account, mailbox, modseq, kinds)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for ev in events.iter() {
                match *ev {
                    ChangeEvent::Mailbox {
                        account,
                        mailbox,
                        modseq,
                        what,
                    } => log.execute((
                        now,
                        self.origin,
                        account.0,
                        mailbox.0,
                        modseq as i64,
                        what.to_bits(),
                    ))?,
                    ChangeEvent::MailboxList { account, what } => log.execute((
                        now,
                        self.origin,
                        account.0,
                        None::<i64>,
                        None::<i64>,
                        what.to_bits(),
                    ))?,
                };
            }
        }
        if self.last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            conn.prepare_cached("DELETE FROM changelog WHERE at < ?1")?
                .execute([now - CHANGELOG_RETENTION_SECS])?;
            self.last_prune = Some(Instant::now());
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

/// One event per mailbox (its latest MODSEQ, the union of what changed) and per account
/// list (the union of what changed), in first-seen order: receivers re-read state, so
/// repeats carry no information.
fn coalesce(events: &mut Vec<ChangeEvent>) {
    let mut out: Vec<ChangeEvent> = Vec::with_capacity(events.len());
    for ev in events.drain(..) {
        let dup = out.iter_mut().find(|o| match (&**o, &ev) {
            (ChangeEvent::Mailbox { mailbox: a, .. }, ChangeEvent::Mailbox { mailbox: b, .. }) => {
                a == b
            }
            (
                ChangeEvent::MailboxList { account: a, .. },
                ChangeEvent::MailboxList { account: b, .. },
            ) => a == b,
            _ => false,
        });
        match (dup, ev) {
            (
                Some(ChangeEvent::Mailbox {
                    modseq: old,
                    what: old_what,
                    ..
                }),
                ChangeEvent::Mailbox { modseq, what, .. },
            ) => {
                *old = (*old).max(modseq);
                *old_what = old_what.union(what);
            }
            (
                Some(ChangeEvent::MailboxList { what: old_what, .. }),
                ChangeEvent::MailboxList { what, .. },
            ) => *old_what = old_what.union(what),
            (Some(_), _) => {}
            (None, ev) => out.push(ev),
        }
    }
    *events = out;
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_keeps_latest_modseq_and_every_kind_per_mailbox() {
        let a = AccountId(1);
        let mb = |id, modseq, what| ChangeEvent::Mailbox {
            account: a,
            mailbox: MailboxId(id),
            modseq,
            what,
        };
        let list = |what| ChangeEvent::MailboxList { account: a, what };
        let mut evs = vec![
            mb(1, 5, MailboxChange::ADDED),
            list(ListChange::NAMES),
            mb(2, 3, MailboxChange::FLAGS),
            mb(1, 7, MailboxChange::EXPUNGED),
            list(ListChange::SUBSCRIPTIONS),
        ];
        coalesce(&mut evs);
        assert_eq!(
            evs,
            vec![
                mb(
                    1,
                    7,
                    MailboxChange {
                        added: true,
                        expunged: true,
                        ..MailboxChange::NONE
                    }
                ),
                list(ListChange {
                    names: true,
                    subscriptions: true,
                    ..ListChange::NONE
                }),
                mb(2, 3, MailboxChange::FLAGS),
            ]
        );
    }

    #[test]
    fn change_kinds_round_trip_through_bits() {
        for bits in 0..16u8 {
            assert_eq!(MailboxChange::from_bits(bits).to_bits(), bits);
            assert_eq!(ListChange::from_bits(bits).to_bits(), bits);
        }
        assert_eq!(MailboxChange::from_bits(0xff), MailboxChange::ALL);
        assert_eq!(ListChange::from_bits(0xff), ListChange::ALL);
    }
}
