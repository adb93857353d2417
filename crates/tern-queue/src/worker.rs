//! The scheduler: finds due entries (every `poll_interval`, and at once when something is
//! enqueued), runs one task per message, one attempt per destination within it, bounded per
//! destination and in total.
//!
//! `tern queue retry` (another process) only sets `next_attempt`; the next poll sees it.
//! On shutdown no new attempt starts; attempts in progress get the grace period, then are
//! dropped. A dropped attempt leaves its recipients `pending` (retried after restart).

use crate::attempt::{Destination, Outcome, attempt};
use crate::db::{MessageRow, RcptState, RcptUpdate, RecipientRow};
use crate::{Inner, now};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tern_net::Shutdown;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// RFC 5321 §4.5.3.1.8: servers take at least 100 recipients per transaction.
const MAX_RCPTS_PER_TRANSACTION: usize = 100;
/// Entries taken per poll.
const BATCH: usize = 1000;

pub async fn run(inner: Arc<Inner>, mut shutdown: Shutdown, grace: Duration) {
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let db = inner.db.clone();
        let due = tokio::task::spawn_blocking(move || db.due(now(), BATCH)).await;
        match due {
            Ok(Ok(ids)) => {
                for id in ids {
                    if !lock(&inner.in_flight).insert(id.clone()) {
                        continue;
                    }
                    let inner = inner.clone();
                    tasks.spawn(async move {
                        process(&inner, &id).await;
                        lock(&inner.in_flight).remove(&id);
                    });
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "queue: cannot read due entries"),
            Err(e) => tracing::warn!(error = %e, "queue: poll task failed"),
        }
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(inner.config.poll_interval) => {}
        }
    }
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("queue: attempts still running after the grace period: dropping them");
    }
    tasks.abort_all();
}

pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Works one message: an attempt for each destination with due recipients, then reports.
async fn process(inner: &Arc<Inner>, id: &str) {
    let db = inner.db.clone();
    let key = id.to_string();
    let message = match tokio::task::spawn_blocking(move || db.load(&key)).await {
        Ok(Ok(Some(m))) => Arc::new(m),
        Ok(Ok(None)) => {
            let _ = inner.spool.remove(id);
            return;
        }
        Ok(Err(e)) => {
            tracing::warn!(%id, error = %e, "queue: cannot load entry");
            return;
        }
        Err(_) => return,
    };
    let start = now();
    let mut groups: BTreeMap<String, (Destination, Vec<u32>)> = BTreeMap::new();
    for r in &message.recipients {
        if r.state != RcptState::Pending || r.next_attempt > start {
            continue;
        }
        let dest = if r.home {
            Destination::Home
        } else if inner.config.smarthost.is_some() {
            Destination::Smarthost
        } else {
            Destination::Domain(r.domain.clone())
        };
        groups
            .entry(dest.key())
            .or_insert_with(|| (dest, Vec::new()))
            .1
            .push(r.idx);
    }
    let mut attempts = JoinSet::new();
    for (_, (dest, idxs)) in groups {
        for chunk in idxs.chunks(MAX_RCPTS_PER_TRANSACTION) {
            let inner = inner.clone();
            let message = message.clone();
            let dest = dest.clone();
            let chunk = chunk.to_vec();
            attempts.spawn(async move { run_attempt(&inner, &message, &dest, &chunk).await });
        }
    }
    while attempts.join_next().await.is_some() {}
    crate::report::report(inner, id).await;
}

fn destination_limit(inner: &Inner, dest: &Destination) -> Arc<Semaphore> {
    lock(&inner.per_destination)
        .entry(dest.key())
        .or_insert_with(|| {
            Arc::new(Semaphore::new(
                inner.config.concurrency_per_destination.max(1),
            ))
        })
        .clone()
}

async fn run_attempt(inner: &Inner, message: &MessageRow, dest: &Destination, idxs: &[u32]) {
    let per_dest = destination_limit(inner, dest);
    let (Ok(_dest_permit), Ok(_total_permit)) = (
        per_dest.acquire_owned().await,
        inner.total.clone().acquire_owned().await,
    ) else {
        return;
    };
    let rcpts: Vec<&RecipientRow> = message
        .recipients
        .iter()
        .filter(|r| idxs.contains(&r.idx))
        .collect();
    let attempted = attempt(inner, message, &rcpts, dest).await;
    let mta_sts = attempted.mta_sts.map(|m| m.as_str().to_string());
    let dane = attempted.dane.map(|d| d.as_str().to_string());
    let at = now();
    let updates: Vec<RcptUpdate> = rcpts
        .iter()
        .zip(attempted.outcomes)
        .map(|(r, o)| RcptUpdate {
            mta_sts: mta_sts.clone(),
            dane: dane.clone(),
            ..update(inner, message, r, o, at)
        })
        .collect();
    let db = inner.db.clone();
    let id = message.id.clone();
    match tokio::task::spawn_blocking(move || db.record(&id, &updates)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(id = %message.id, error = %e,
            "queue: cannot record delivery results (recipients will be retried)"),
        Err(e) => tracing::error!(id = %message.id, error = %e, "queue: record task failed"),
    }
}

/// The new state of a recipient after an attempt.
fn update(inner: &Inner, m: &MessageRow, r: &RecipientRow, o: Outcome, at: i64) -> RcptUpdate {
    let expires = m.arrival + inner.config.max_lifetime.as_secs() as i64;
    match o {
        Outcome::Sent {
            reply,
            mta,
            tls,
            dsn,
        } => RcptUpdate {
            idx: r.idx,
            state: RcptState::Sent,
            next_attempt: at,
            last_reply: reply,
            remote_mta: Some(mta),
            tls,
            attempted: true,
            success_dsn: !dsn && crate::report::wants(r.notify.as_deref(), "SUCCESS", false),
            mta_sts: None,
            dane: None,
        },
        Outcome::Temporary { reason, mta, tls } if at >= expires => RcptUpdate {
            idx: r.idx,
            state: RcptState::Failed,
            next_attempt: at,
            last_reply: format!("4.4.7 delivery time expired; last error: {reason}"),
            remote_mta: mta,
            tls,
            attempted: true,
            success_dsn: false,
            mta_sts: None,
            dane: None,
        },
        Outcome::Temporary { reason, mta, tls } => {
            let wait = inner.config.backoff(r.attempts + 1).as_secs() as i64;
            RcptUpdate {
                idx: r.idx,
                state: RcptState::Pending,
                next_attempt: (at + wait).min(expires.max(at + 1)),
                last_reply: reason,
                remote_mta: mta,
                tls,
                attempted: true,
                success_dsn: false,
                mta_sts: None,
                dane: None,
            }
        }
        Outcome::Permanent { reason, mta, tls } => RcptUpdate {
            idx: r.idx,
            state: RcptState::Failed,
            next_attempt: at,
            last_reply: reason,
            remote_mta: mta,
            tls,
            attempted: true,
            success_dsn: false,
            mta_sts: None,
            dane: None,
        },
    }
}
