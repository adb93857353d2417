//! `tern-bench-idlegen`: bench/run's IDLE load generator (issue 7's delivery → EXISTS latency).
//!
//! # Layout
//! - `run` ([`control`]): holds N IMAP sessions idling on one mailbox and times LMTP
//!   deliveries to their `* n EXISTS`, driven by bench/lib/w_idle.py over stdin/stdout
//!   (one command a line in, one JSON object a line out) so the harness can measure the
//!   server's memory between steps.
//! - `fake-server` ([`fake`]): an IMAP + LMTP server that answers at once, for the generator's
//!   own floor.
//! - `timed` ([`timed`]): one IMAP session timing the commands it is given (the big
//!   mailbox workload, bench/lib/w_big.py), reading responses as fast as they arrive.
//! - [`session`]: one IMAP session; [`lmtp`]: the delivering client; [`wire`]: the response
//!   reader that timestamps bytes as they are read.
//!
//! Invariants: one thread (tokio's current-thread runtime, one epoll over every socket), so a
//! timestamp is taken as soon as the read of a socket's bytes returns, and the delivery
//! clock and every session's clock are the same `Instant`; every workload step is bounded in
//! time; every server response is checked.

mod control;
mod fake;
mod lmtp;
mod session;
mod timed;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "IDLE → EXISTS load generator for bench/run (issue 7)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Hold IDLE sessions and time deliveries; commands on stdin: `open N`, then `deliver`
    /// (prints the results and exits). Stdin closing ends the run.
    Run(control::Args),
    /// Log in and time each `--cmd NAME=COMMAND`; prints the times and counts as JSON.
    Timed(timed::Args),
    /// The fake IMAP + LMTP server for the floor; prints `up` once listening, exits when stdin closes.
    FakeServer {
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        #[arg(long)]
        imap_port: u16,
        #[arg(long)]
        lmtp_port: u16,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Run(args) => rt.block_on(control::run(args)),
        Cmd::Timed(args) => rt.block_on(timed::run(args)),
        Cmd::FakeServer {
            host,
            imap_port,
            lmtp_port,
        } => rt.block_on(fake::serve(
            SocketAddr::new(host, imap_port),
            SocketAddr::new(host, lmtp_port),
        )),
    }
}

/// The message files given to `run`, in order.
pub fn read_messages(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    paths
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display())))
        .collect()
}
