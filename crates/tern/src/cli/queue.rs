//! `tern queue ...`: the outbound queue (`data_dir/queue.db`, `data_dir/queue/`).
//!
//! Safe while `tern serve` runs on the same data folder: the queue is a SQLite file (WAL)
//! and the server polls it, so `retry` takes effect within about a second, and a `delete`
//! of a message being sent at that moment only stops its later attempts.
use super::Globals;
use crate::config::Settings;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use tern_queue::spool::Spool;
use tern_queue::{MessageRow, QueueDb};

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List queued messages with each recipient's state.
    List {
        /// One JSON array of entries.
        #[arg(long)]
        json: bool,
    },
    /// Show one queued message.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Make pending recipients due now (the running server picks them up within a second).
    Retry(RetryArgs),
    /// Remove a message from the queue without a bounce.
    Delete { id: String },
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct RetryArgs {
    /// The entry to retry.
    id: Option<String>,
    /// Every entry.
    #[arg(long)]
    all: bool,
}

pub fn run(globals: &Globals, cmd: QueueCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let db = open(&settings)?;
    match cmd {
        QueueCommand::List { json } => {
            let entries = db.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else if entries.is_empty() {
                println!("queue is empty");
            } else {
                for m in &entries {
                    print_entry(m);
                }
            }
        }
        QueueCommand::Show { id, json } => {
            let Some(m) = db.load(&id)? else {
                bail!("no queue entry {id}");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                print_entry(&m);
            }
        }
        QueueCommand::Retry(args) => {
            if let Some(id) = &args.id
                && db.load(id)?.is_none()
            {
                bail!("no queue entry {id}");
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let n = db.retry_now(args.id.as_deref().filter(|_| !args.all), now)?;
            println!("{n} recipient(s) due now");
        }
        QueueCommand::Delete { id } => {
            if !db.delete(&id)? {
                bail!("no queue entry {id}");
            }
            Spool::open(settings.data_dir.join("queue"))?.remove(&id)?;
            println!("deleted {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(settings: &Settings) -> anyhow::Result<QueueDb> {
    let path = settings.data_dir.join("queue.db");
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    QueueDb::open(&path).with_context(|| format!("cannot open the queue {}", path.display()))
}

fn print_entry(m: &MessageRow) {
    let sender = if m.sender.is_empty() { "<>" } else { &m.sender };
    println!(
        "{}  {} octets  from {sender}  arrived {}",
        m.id, m.size, m.arrival
    );
    for r in &m.recipients {
        // How the last session went: TLS, and the DANE result or MTA-STS mode that
        // governed it.
        let mut how: Vec<String> = Vec::new();
        if r.tls {
            how.push("TLS".into());
        }
        if let Some(dane) = r.dane.as_deref() {
            how.push(format!("DANE {dane}"));
        }
        if let Some(mode) = r.mta_sts.as_deref() {
            how.push(format!("MTA-STS {mode}"));
        }
        let tls = if how.is_empty() {
            String::new()
        } else {
            format!("  {}", how.join(", "))
        };
        println!(
            "    {}  {:?}  attempts {}  next {}{tls}  {}{}",
            r.address,
            r.state,
            r.attempts,
            r.next_attempt,
            r.remote_mta
                .as_deref()
                .map(|h| format!("{h}: "))
                .unwrap_or_default(),
            r.last_reply.as_deref().unwrap_or("")
        );
    }
}
