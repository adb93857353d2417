//! One IMAP session: connect, greeting, LOGIN, SELECT INBOX, IDLE; then record every
//! `* n EXISTS` with the instant its bytes were read, until told to stop; then DONE and the
//! IDLE command's tagged OK.
//!
//! Every response is checked: the greeting is `* OK`, each tagged response is OK, SELECT
//! reports EXISTS, IDLE is answered with a continuation; during IDLE, a tagged response, a
//! `* BYE`, a line that is neither untagged nor a continuation, a closed connection or an
//! EXISTS count that goes down make the session broken.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::net::TcpSocket;
use tokio::sync::{Semaphore, oneshot, watch};

use crate::wire::{Wire, exists_count, show, tagged_status};

pub struct Target {
    pub server: SocketAddr,
    pub user: String,
    pub password: String,
    pub open_timeout: Duration,
}

/// What one session saw.
pub struct Outcome {
    /// EXISTS at SELECT; None if the session never opened.
    pub n0: Option<u64>,
    /// Every `* n EXISTS` read while idling, with the instant it was read.
    pub events: Vec<(u64, Instant)>,
    /// Why the session failed; `open: ...` if it never reached IDLE.
    pub error: Option<String>,
}

/// Runs one session to the end. `ready` gets the result of opening (Ok once IDLE is
/// acknowledged); `seen` is raised by the number of deliveries (EXISTS beyond n0) this
/// session has newly seen; `stop` ends the idling.
pub async fn run(
    target: Arc<Target>,
    source: Option<IpAddr>,
    gate: Arc<Semaphore>,
    ready: oneshot::Sender<Result<(), String>>,
    seen: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let opened = {
        let _permit = gate.acquire().await.expect("semaphore closed");
        tokio::time::timeout(target.open_timeout, open(&target, source)).await
    };
    let (mut wire, n0, idle_tag) = match opened {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return failed_open(ready, format!("open: {e:#}")),
        Err(_) => return failed_open(ready, "open: timed out".into()),
    };
    let _ = ready.send(Ok(()));
    let mut out = Outcome {
        n0: Some(n0),
        events: Vec::new(),
        error: None,
    };
    let mut last = n0;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = wire.response() => match r {
                Err(e) => {
                    out.error = Some(format!("idle: {e}"));
                    return out;
                }
                Ok((line, at)) => {
                    if let Some(n) = exists_count(&line) {
                        if n < last {
                            out.error = Some(format!("idle: EXISTS went down from {last} to {n}"));
                            return out;
                        }
                        if n > last {
                            seen.fetch_add(n - last, Ordering::Relaxed);
                        }
                        last = n;
                        out.events.push((n, at));
                    } else if line.starts_with(b"* BYE") || !(line.starts_with(b"* ") || line.starts_with(b"+")) {
                        out.error = Some(format!("idle: unexpected {:?}", show(&line)));
                        return out;
                    }
                }
            }
        }
    }
    if let Err(e) = done(&mut wire, &idle_tag).await {
        out.error = Some(format!("DONE: {e:#}"));
    }
    out
}

fn failed_open(ready: oneshot::Sender<Result<(), String>>, e: String) -> Outcome {
    let _ = ready.send(Err(e.clone()));
    Outcome {
        n0: None,
        events: Vec::new(),
        error: Some(e),
    }
}

async fn open(t: &Target, source: Option<IpAddr>) -> Result<(Wire, u64, Vec<u8>)> {
    let sock = TcpSocket::new_v4()?;
    if let Some(src) = source {
        sock.bind(SocketAddr::new(src, 0)).context("bind")?;
    }
    let stream = sock.connect(t.server).await.context("connect")?;
    stream.set_nodelay(true)?;
    let mut w = Wire::new(stream);
    let (greeting, _) = w.response().await.context("greeting")?;
    if !greeting.starts_with(b"* OK") {
        bail!("greeting: {:?}", show(&greeting));
    }
    let login = format!("T1 LOGIN {} {}\r\n", quote(&t.user), quote(&t.password));
    command(&mut w, b"T1", login.as_bytes()).await?;
    let untagged = command(&mut w, b"T2", b"T2 SELECT INBOX\r\n").await?;
    let n0 = untagged
        .iter()
        .filter_map(|l| exists_count(l))
        .next_back()
        .ok_or_else(|| anyhow!("SELECT INBOX without EXISTS"))?;
    w.send(b"T3 IDLE\r\n").await?;
    loop {
        let (line, _) = w.response().await.context("IDLE")?;
        if line.starts_with(b"+") {
            return Ok((w, n0, b"T3".to_vec()));
        }
        check_untagged(&line, b"T3")?;
    }
}

/// Sends `text` and reads up to its tagged response, which must be OK. Returns the untagged
/// responses read before it.
async fn command(w: &mut Wire, tag: &[u8], text: &[u8]) -> Result<Vec<Vec<u8>>> {
    w.send(text).await?;
    let what = String::from_utf8_lossy(text.split(|&c| c == b' ').nth(1).unwrap_or(b""));
    let mut untagged = Vec::new();
    loop {
        let (line, _) = w.response().await.with_context(|| what.to_string())?;
        match tagged_status(&line, tag) {
            Some(s) if s == b"OK" => return Ok(untagged),
            Some(_) => bail!("{what}: {:?}", show(&line)),
            None => {
                check_untagged(&line, tag)?;
                untagged.push(line);
            }
        }
    }
}

fn check_untagged(line: &[u8], tag: &[u8]) -> Result<()> {
    if let Some(s) = tagged_status(line, tag) {
        bail!("{} refused: {:?}", String::from_utf8_lossy(&s), show(line));
    }
    if line.starts_with(b"* BYE") || !line.starts_with(b"* ") {
        bail!("unexpected {:?}", show(line));
    }
    Ok(())
}

/// Ends IDLE and checks its tagged OK (bounded: 10 s).
async fn done(w: &mut Wire, tag: &[u8]) -> Result<()> {
    w.send(b"DONE\r\n").await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (line, _) = w.response().await?;
            match tagged_status(&line, tag) {
                Some(s) if s == b"OK" => return Ok(()),
                Some(_) => bail!("IDLE ended with {:?}", show(&line)),
                None if line.starts_with(b"* ") && !line.starts_with(b"* BYE") => {}
                None => bail!("unexpected {:?}", show(&line)),
            }
        }
    })
    .await
    .map_err(|_| anyhow!("no tagged OK within 10 s"))?
}

/// An IMAP quoted string (RFC 9051 §4.3).
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
