//! The `run` command: sessions opened in batches on request, then the timed deliveries and
//! the results, as JSON lines on stdout.
//!
//! Protocol (one line each way):
//! - `open N` → `{"event":"ready","opened":<total open so far>,"errors":[<first 10 of this batch>]}`
//! - `deliver` → the deliveries (one at a time, `--gap` apart), a wait (bounded by `--wait`)
//!   until every open session has seen every delivery, DONE on every session, then
//!   `{"event":"done", ...}` with the figures, and exit.
//!
//! Latency of a delivery d in a session: from the instant before the final dot of its DATA was
//! written to the instant the session read the first `* n EXISTS` with n ≥ n0 + d + 1 (n0 the
//! EXISTS at SELECT): bench/lib/w_idle.py's definition. A session that never reads it within
//! the wait counts as a missed EXISTS.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::lmtp::Lmtp;
use crate::session::{self, Outcome, Target};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long)]
    imap_port: u16,
    #[arg(long)]
    lmtp_port: u16,
    /// Login name, also the LMTP recipient.
    #[arg(long)]
    user: String,
    #[arg(long, env = "IDLEGEN_PASSWORD", hide_env_values = true)]
    password: String,
    #[arg(long, default_value = "bench@example.test")]
    from: String,
    /// Sessions opening at once (LOGIN to IDLE).
    #[arg(long, default_value_t = 32)]
    open_conc: usize,
    /// Source addresses, comma-separated, taken in turn by the sessions (default: the kernel's choice).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<IpAddr>,
    /// Seconds one session may take from connect to IDLE's continuation.
    #[arg(long, default_value_t = 180.0)]
    open_timeout: f64,
    /// Seconds between deliveries.
    #[arg(long, default_value_t = 0.3)]
    gap: f64,
    /// Most seconds to wait after the last delivery for every session to see every EXISTS.
    #[arg(long, default_value_t = 10.0)]
    wait: f64,
    /// The messages to deliver, one delivery each, in order (CRLF lines).
    #[arg(required = true)]
    messages: Vec<PathBuf>,
}

struct Sessions {
    target: Arc<Target>,
    sources: Vec<IpAddr>,
    gate: Arc<Semaphore>,
    seen: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<Outcome>>,
    opened: u64,
}

pub async fn run(a: Args) -> Result<()> {
    let messages = crate::read_messages(&a.messages)?;
    let mut s = Sessions {
        target: Arc::new(Target {
            server: SocketAddr::new(a.host, a.imap_port),
            user: a.user.clone(),
            password: a.password.clone(),
            open_timeout: Duration::from_secs_f64(a.open_timeout),
        }),
        sources: a.sources.clone(),
        gate: Arc::new(Semaphore::new(a.open_conc.max(1))),
        seen: Arc::default(),
        stop: watch::channel(false).0,
        handles: Vec::new(),
        opened: 0,
    };
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["open", n] => {
                let errors = s.open(n.parse().context("open N")?).await;
                emit(json!({"event": "ready", "opened": s.opened, "errors": errors}));
            }
            ["deliver"] => {
                let lmtp = SocketAddr::new(a.host, a.lmtp_port);
                let times = deliver(&a, &s, lmtp, &messages).await?;
                let outcomes = s.finish().await;
                emit(figures(&times, &outcomes, s.opened));
                return Ok(());
            }
            [] => {}
            _ => bail!("unknown command {line:?}"),
        }
    }
    s.finish().await;
    Ok(())
}

impl Sessions {
    /// Opens `n` more sessions; returns the first 10 errors of this batch.
    async fn open(&mut self, n: usize) -> Vec<String> {
        let mut ready = Vec::with_capacity(n);
        for _ in 0..n {
            let source = (!self.sources.is_empty())
                .then(|| self.sources[self.handles.len() % self.sources.len()]);
            let (tx, rx) = oneshot::channel();
            self.handles.push(tokio::spawn(session::run(
                self.target.clone(),
                source,
                self.gate.clone(),
                tx,
                self.seen.clone(),
                self.stop.subscribe(),
            )));
            ready.push(rx);
        }
        let mut errors = Vec::new();
        for r in ready {
            match r.await {
                Ok(Ok(())) => self.opened += 1,
                Ok(Err(e)) => errors.push(e),
                Err(_) => errors.push("open: session task ended".into()),
            }
        }
        errors.truncate(10);
        errors
    }

    /// Ends IDLE in every session and collects what each saw.
    async fn finish(&mut self) -> Vec<Outcome> {
        let _ = self.stop.send(true);
        let mut out = Vec::with_capacity(self.handles.len());
        for h in self.handles.drain(..) {
            out.push(h.await.unwrap_or_else(|e| Outcome {
                n0: None,
                events: Vec::new(),
                error: Some(format!("session task: {e}")),
            }));
        }
        out
    }
}

/// The deliveries, then the bounded wait for every session to see every one of them.
/// Returns (dot sent, 250 read) per delivery.
async fn deliver(
    a: &Args,
    s: &Sessions,
    lmtp: SocketAddr,
    messages: &[Vec<u8>],
) -> Result<Vec<(Instant, Instant)>> {
    let mut c = Lmtp::connect(lmtp).await?;
    let mut times = Vec::with_capacity(messages.len());
    for (d, m) in messages.iter().enumerate() {
        let t = tokio::time::timeout(Duration::from_secs(60), c.deliver(&a.from, &a.user, m))
            .await
            .with_context(|| format!("delivery {d}: no 250 within 60 s"))?
            .with_context(|| format!("delivery {d}"))?;
        times.push(t);
        tokio::time::sleep(Duration::from_secs_f64(a.gap)).await;
    }
    let want = s.opened * messages.len() as u64;
    let deadline = Instant::now() + Duration::from_secs_f64(a.wait);
    while s.seen.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.quit().await?;
    Ok(times)
}

fn figures(times: &[(Instant, Instant)], outcomes: &[Outcome], opened: u64) -> Value {
    let mut lat = Vec::with_capacity(outcomes.len() * times.len());
    let (mut missing, mut broken) = (0u64, 0u64);
    let mut errors = Vec::new();
    for o in outcomes {
        let Some(n0) = o.n0 else {
            errors.extend(o.error.clone());
            continue;
        };
        for (d, (t0, _)) in times.iter().enumerate() {
            let want = n0 + d as u64 + 1;
            match o.events.iter().find(|(n, _)| *n >= want) {
                Some((_, t)) => lat.push(t.saturating_duration_since(*t0)),
                None => missing += 1,
            }
        }
        if let Some(e) = &o.error {
            broken += 1;
            errors.push(e.clone());
        }
    }
    errors.truncate(20);
    let lmtp: Vec<Duration> = times
        .iter()
        .map(|(a, b)| b.saturating_duration_since(*a))
        .collect();
    json!({
        "event": "done",
        "opened": opened,
        "deliveries": times.len(),
        "lmtp_250_ms": lmtp.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "lmtp_250_p50_ms": pct(&lmtp, 50.0).map(ms),
        "exists_seen": lat.len(),
        "exists_p50_ms": pct(&lat, 50.0).map(ms),
        "exists_p99_ms": pct(&lat, 99.0).map(ms),
        "exists_max_ms": lat.iter().max().copied().map(ms),
        "exists_missing": missing,
        "broken": broken,
        "errors": errors,
    })
}

/// The p-th percentile by nearest rank (bench/lib/common.py's `pct`).
fn pct(values: &[Duration], p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut s = values.to_vec();
    s.sort();
    let k = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    Some(s[k])
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn emit(v: Value) {
    println!("{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(pct(&v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(pct(&v, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(pct(&v[..1], 99.0), Some(Duration::from_millis(1)));
        assert_eq!(pct(&[], 50.0), None);
    }
}
