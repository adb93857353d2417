//! The micro-benchmarks' harness: a few dozen lines instead of a benchmarking crate.
//!
//! Each `crates/*/benches/*.rs` includes this file (`#[path]`), registers its cases with
//! [`Harness::bench`] and runs in one of three modes, chosen by its arguments:
//!
//! - **timing** (default, `cargo bench`): each case is warmed up, then timed in 10 samples of
//!   about `--seconds`/10 each with `std::time::Instant`; the median and the best sample are
//!   printed as ns/op, plus MB/s or items/s when the case says what one op processes.
//! - **fixed** (`--iters N`): one warm-up op, then exactly N ops inside [`measured_loop`].
//!   `bench/micro --callgrind` runs each case this way under callgrind with N and 2N ops:
//!   the difference of the two instruction totals over N is the cost of one op, without
//!   setup, warm-up or process start (deterministic, whatever else the machine is doing).
//! - **list** (`--list`): prints `name<TAB>callgrind-iterations<TAB>threads` per case and
//!   runs nothing.
//!
//! Other arguments are substrings selecting cases (`--exact NAME` selects one); `--bench`,
//! which `cargo bench` passes, is ignored.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// What one op of a case processes, for the throughput column.
#[derive(Clone, Copy, Debug)]
pub enum Per {
    /// Nothing to count.
    Op,
    /// Octets of input.
    Bytes(u64),
    /// Items (messages, commands).
    Items(u64),
}

/// Where a case does its work, which tells `bench/micro --profile` what to collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Only inside [`measured_loop`] on the calling thread (callgrind `--toggle-collect`).
    Main,
    /// Also on other threads (the store's writer and readers): collect everything.
    All,
}

pub struct Harness {
    filters: Vec<String>,
    exact: Option<String>,
    iters: Option<u64>,
    list: bool,
    seconds: f64,
}

impl Harness {
    pub fn from_args() -> Harness {
        let mut h = Harness {
            filters: Vec::new(),
            exact: None,
            iters: None,
            list: false,
            seconds: 2.0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--bench" | "--nocapture" => {}
                "--list" => h.list = true,
                "--iters" => h.iters = args.next().and_then(|n| n.parse().ok()),
                "--seconds" => h.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(2.0),
                "--exact" => h.exact = args.next(),
                other if other.starts_with("--") => {
                    eprintln!("unknown option {other} (ignored)");
                }
                other => h.filters.push(other.to_string()),
            }
        }
        h
    }

    fn selected(&self, name: &str) -> bool {
        match &self.exact {
            Some(e) => e == name,
            None => self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f)),
        }
    }

    /// Registers a case. `setup` runs only if the case is selected and returns the op.
    pub fn bench<F: FnMut()>(
        &mut self,
        name: &str,
        callgrind_iters: u64,
        threads: Threads,
        per: Per,
        setup: impl FnOnce() -> F,
    ) {
        if !self.selected(name) {
            return;
        }
        if self.list {
            let t = if threads == Threads::Main {
                "main"
            } else {
                "all"
            };
            println!("{name}\t{callgrind_iters}\t{t}");
            return;
        }
        let mut op = setup();
        op(); // warm-up: lazy initialization is not an op's cost
        match self.iters {
            Some(n) => {
                let t = measured_loop(&mut op, n);
                report(name, per, t, n, None, &format!("{n} iters"));
            }
            None => {
                // Calibrate: ops per sample so that 10 samples take about `seconds`.
                let mut n = 1u64;
                let per_sample = Duration::from_secs_f64(self.seconds / 10.0);
                loop {
                    let t = measured_loop(&mut op, n);
                    if t >= per_sample / 4 || n >= 1 << 30 {
                        let scale = per_sample.as_secs_f64() / t.as_secs_f64().max(1e-9);
                        n = ((n as f64 * scale) as u64).max(1);
                        break;
                    }
                    n *= 4;
                }
                let mut samples: Vec<Duration> =
                    (0..10).map(|_| measured_loop(&mut op, n)).collect();
                samples.sort();
                let best = samples[0];
                report(
                    name,
                    per,
                    samples[5],
                    n,
                    Some(best),
                    &format!("10 × {n} iters"),
                );
            }
        }
    }
}

/// The timed loop (kept out of line: callgrind's `--toggle-collect` names it).
#[inline(never)]
pub fn measured_loop<F: FnMut()>(op: &mut F, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        op();
        black_box(());
    }
    start.elapsed()
}

fn report(name: &str, per: Per, t: Duration, n: u64, best: Option<Duration>, how: &str) {
    let ns = t.as_nanos() as f64 / n.max(1) as f64;
    let best = best.map_or(String::new(), |b| {
        format!(
            " (best {})",
            human_ns(b.as_nanos() as f64 / n.max(1) as f64)
        )
    });
    let rate = match per {
        Per::Op => String::new(),
        Per::Bytes(b) => format!("{:>9.1} MB/s", b as f64 / ns * 1e3),
        Per::Items(i) => format!("{:>9.0} items/s", i as f64 / ns * 1e9),
    };
    println!(
        "{name:<32} {:>12}/op{best:<22} {rate:<18} [{how}]",
        human_ns(ns)
    );
}

fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
