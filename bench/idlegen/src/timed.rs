//! `timed`: one IMAP session that logs in and times each command it is given, for the big
//! mailbox workload (bench/lib/w_big.py). The Python client needed 35 ms just to read the
//! 100,000 lines of `FETCH 1:* (UID FLAGS)` from a fake server, most of Tern's and half of
//! Dovecot's figure; this one reads as fast as the socket delivers.
//!
//! A command's time runs from just before it is written to the read that completes its
//! tagged response, which must be OK. What came back is counted, not kept: FETCH responses,
//! the last EXISTS, and the numbers of a SEARCH or SORT response; the harness checks the
//! counts. Prints one JSON object: `{"times": {name: seconds}, "counts": {name: {...}}}`.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;

use crate::session::quote;
use crate::wire::{Wire, exists_count, show, tagged_status};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long)]
    port: u16,
    #[arg(long)]
    user: String,
    #[arg(long, env = "IDLEGEN_PASSWORD", hide_env_values = true)]
    password: String,
    /// Each command as NAME=COMMAND (without tag), run in order.
    #[arg(long = "cmd", required = true)]
    cmds: Vec<String>,
    /// Seconds each command may take.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// What one command's untagged responses held.
#[derive(Default)]
struct Counts {
    fetch: u64,
    exists: Option<u64>,
    search: Option<u64>,
    sort: Option<u64>,
}

pub async fn run(args: Args) -> Result<()> {
    let server = SocketAddr::new(args.host, args.port);
    let stream = TcpStream::connect(server).await.context("connect")?;
    stream.set_nodelay(true)?;
    let mut w = Wire::new(stream);
    let (greeting, _) = w.response().await.context("greeting")?;
    if !greeting.starts_with(b"* OK") {
        bail!("greeting: {:?}", show(&greeting));
    }
    let login = format!(
        "L LOGIN {} {}\r\n",
        quote(&args.user),
        quote(&args.password)
    );
    timed(&mut w, b"L", login.as_bytes())
        .await
        .context("LOGIN")?;
    let mut times = Map::new();
    let mut counts = Map::new();
    for (i, spec) in args.cmds.iter().enumerate() {
        let (name, text) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--cmd {spec:?}: expected NAME=COMMAND"))?;
        let tag = format!("T{i}");
        let line = format!("{tag} {text}\r\n");
        let limit = Duration::from_secs(args.timeout);
        let (took, c) = tokio::time::timeout(limit, timed(&mut w, tag.as_bytes(), line.as_bytes()))
            .await
            .map_err(|_| anyhow!("{name}: no tagged response within {limit:?}"))?
            .with_context(|| name.to_string())?;
        times.insert(name.into(), json!(took.as_secs_f64()));
        counts.insert(
            name.into(),
            json!({"fetch": c.fetch, "exists": c.exists, "search": c.search, "sort": c.sort}),
        );
    }
    let _ = timed(&mut w, b"Z", b"Z LOGOUT\r\n").await;
    println!(
        "{}",
        Value::Object(Map::from_iter([
            ("times".to_string(), Value::Object(times)),
            ("counts".to_string(), Value::Object(counts)),
        ]))
    );
    Ok(())
}

/// Sends `text` and reads to its tagged response, which must be OK (a LOGOUT's `* BYE` is
/// let through); returns the time from the write to the read that completed the tagged
/// line, and the counts.
async fn timed(w: &mut Wire, tag: &[u8], text: &[u8]) -> Result<(Duration, Counts)> {
    let start = Instant::now();
    w.send(text).await?;
    let mut c = Counts::default();
    loop {
        let (line, at) = w.response().await?;
        match tagged_status(&line, tag) {
            Some(s) if s == b"OK" => return Ok((at - start, c)),
            Some(_) => bail!("{:?}", show(&line)),
            None => count(&line, &mut c, tag == b"Z")?,
        }
    }
}

fn count(line: &[u8], c: &mut Counts, logout: bool) -> Result<()> {
    let Some(rest) = line.strip_prefix(b"* ") else {
        bail!("unexpected {:?}", show(line));
    };
    if rest.starts_with(b"BYE") && !logout {
        bail!("unexpected {:?}", show(line));
    }
    let mut words = rest.split(|&b| b == b' ');
    let first = words.next().unwrap_or_default();
    if first.eq_ignore_ascii_case(b"SEARCH") {
        c.search = Some(numbers(words));
    } else if first.eq_ignore_ascii_case(b"SORT") {
        c.sort = Some(numbers(words));
    } else if let Some(n) = exists_count(line) {
        c.exists = Some(n);
    } else if first.iter().all(u8::is_ascii_digit)
        && words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(b"FETCH"))
    {
        c.fetch += 1;
    }
    Ok(())
}

/// How many numbers a SEARCH or SORT response lists (a trailing `(MODSEQ n)` is not one).
fn numbers<'a>(words: impl Iterator<Item = &'a [u8]>) -> u64 {
    words
        .take_while(|w| !w.starts_with(b"("))
        .filter(|w| !w.is_empty() && w.iter().all(u8::is_ascii_digit))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fetch_exists_search_and_sort() {
        let mut c = Counts::default();
        for line in [
            &b"* 3 EXISTS"[..],
            b"* 1 FETCH (UID 1 FLAGS (\\Seen))",
            b"* 2 fetch (UID 2 FLAGS ())",
            b"* OK [UIDVALIDITY 1] x",
            b"* SEARCH 2 5 9",
            b"* SORT 3 1 2 (MODSEQ 7)",
        ] {
            count(line, &mut c, false).unwrap();
        }
        assert_eq!(c.exists, Some(3));
        assert_eq!(c.fetch, 2);
        assert_eq!(c.search, Some(3));
        assert_eq!(c.sort, Some(3));
        let mut empty = Counts::default();
        count(b"* SEARCH", &mut empty, false).unwrap();
        assert_eq!(empty.search, Some(0));
        assert!(count(b"* BYE going", &mut empty, false).is_err());
        assert!(count(b"* BYE logging out", &mut empty, true).is_ok());
        assert!(count(b"T9 OK", &mut empty, false).is_err());
    }
}
