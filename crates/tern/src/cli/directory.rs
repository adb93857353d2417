//! `tern directory ...`: what Tern sees in the directory (one login, or the whole listing), a
//! dry login, and the cache of a running server.
//!
//! `lookup` and `auth` ask the directory itself (no cache: the answer is the directory's
//! now); `flush` and `stats` talk to a running `tern serve` through its data folder (see
//! `backends::directory`). Exit status: 0 found / accepted, 1 not found / refused / error.
use super::Globals;
use crate::backends::{self, directory as dirsetup};
use crate::config::Settings;
use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tern_directory::{Account, AuthOutcome, Directory, Resolution};

#[derive(Subcommand, Debug)]
pub enum DirectoryCommand {
    /// Show the account a login or address names (or the group an address expands to).
    Lookup {
        login: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A dry login: check a password (first line of stdin) without logging in anywhere.
    Auth {
        login: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Every account the directory lists (paged searches over large containers).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a running server forget what its cache holds (about LOGIN, or everything).
    Flush { login: Option<String> },
    /// The cache counters of a running server.
    Stats {
        #[arg(long)]
        json: bool,
    },
}

/// `tern directory lookup --json`. Stable: scripts depend on these names.
#[derive(Serialize)]
struct LookupJson<'a> {
    query: &'a str,
    /// `account`, `group` or `none`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<&'a [String]>,
    directory: &'a str,
}

pub fn run(globals: &Globals, cmd: DirectoryCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    match cmd {
        DirectoryCommand::Flush { login } => flush(&settings, login.as_deref()),
        DirectoryCommand::Stats { json } => stats(&settings, json),
        cmd => super::runtime()?.block_on(ask(&settings, cmd)),
    }
}

/// The directory itself, uncached.
async fn open(settings: &Settings) -> anyhow::Result<(Arc<dyn Directory>, String)> {
    let kind = dirsetup::kind(settings).to_string();
    match dirsetup::ldap_directory(settings)? {
        Some(ldap) => {
            let label = format!("{kind} (passwords: {})", ldap.verifier_name());
            Ok((Arc::new(ldap), label))
        }
        None => Ok((backends::open_directory(settings).await?, kind)),
    }
}

async fn ask(settings: &Settings, cmd: DirectoryCommand) -> anyhow::Result<ExitCode> {
    let (dir, label) = open(settings).await?;
    match cmd {
        DirectoryCommand::Lookup { login, json } => lookup(&*dir, &label, &login, json).await,
        DirectoryCommand::Auth { login, .. } => {
            let password = read_password()?;
            let start = Instant::now();
            let outcome = dir.authenticate(&login, &password).await;
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            match outcome {
                Ok(AuthOutcome::Ok(a)) => {
                    println!("ok: {login} logs in as {} ({label}, {ms:.0} ms)", a.name);
                    Ok(ExitCode::SUCCESS)
                }
                Ok(AuthOutcome::Failed { reason }) => {
                    println!("refused: {login}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => {
                    println!("error: {login}: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        DirectoryCommand::List { json } => {
            let mut accounts = dir.accounts().await.context("cannot list the directory")?;
            accounts.sort_by(|a, b| a.name.cmp(&b.name));
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                for a in &accounts {
                    let state = match (&a.enabled, &a.disabled_reason) {
                        (true, _) => "enabled".to_string(),
                        (false, Some(why)) => format!("disabled: {why}"),
                        (false, None) => "disabled".to_string(),
                    };
                    println!("{}\t{}\t{}", a.name, state, a.addresses.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DirectoryCommand::Flush { .. } | DirectoryCommand::Stats { .. } => unreachable!(),
    }
}

async fn lookup(
    dir: &dyn Directory,
    label: &str,
    login: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let account = dir
        .lookup(login)
        .await
        .with_context(|| format!("cannot look up {login}"))?;
    let resolution = match &account {
        Some(_) => None,
        None if login.contains('@') => Some(
            dir.resolve(login)
                .await
                .with_context(|| format!("cannot resolve {login}"))?,
        ),
        None => None,
    };
    let (account, members) = match resolution {
        Some(Resolution::Account(a)) => (Some(a), None),
        Some(Resolution::Group(m)) => (None, Some(m)),
        _ => (account, None),
    };
    let kind = match (&account, &members) {
        (Some(_), _) => "account",
        (None, Some(_)) => "group",
        _ => "none",
    };
    if json {
        let out = LookupJson {
            query: login,
            kind,
            account: account.as_ref(),
            members: members.as_deref(),
            directory: label,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if let Some(a) = &account {
        print_account(a);
    } else if let Some(m) = &members {
        println!("{:<18} {login}", "group");
        println!("{:<18} {}", "members", m.join(", "));
    } else {
        println!("{login}: no account or group in the directory ({label})");
    }
    Ok(if kind == "none" {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_account(a: &Account) {
    let row = |k: &str, v: &str| println!("{k:<18} {v}");
    row("account", &a.name);
    match (&a.enabled, &a.disabled_reason) {
        (true, _) => row("enabled", "yes"),
        (false, Some(why)) => row("enabled", &format!("no: {why}")),
        (false, None) => row("enabled", "no"),
    }
    row("addresses", &a.addresses.join(", "));
    row("groups", &a.groups.join(", "));
    row("quota", &tern_mail::format_quota(a.quota_bytes));
    if let Some(d) = &a.display_name {
        row("display name", d);
    }
    for (k, v) in &a.attributes {
        row(k, v);
    }
}

/// Drops a request into the running server's flush folder and waits for it to be taken.
fn flush(settings: &Settings, login: Option<&str>) -> anyhow::Result<ExitCode> {
    if dirsetup::kind(settings) == "internal" {
        println!("the internal directory has no cache: nothing to flush");
        return Ok(ExitCode::SUCCESS);
    }
    let dir = dirsetup::flush_dir(&settings.data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("{stamp:024}-{}", std::process::id());
    let tmp = dir.join(format!("{name}.tmp"));
    let req = dir.join(format!("{name}.flush"));
    std::fs::write(
        &tmp,
        login.map_or("*".to_string(), |l| l.trim().to_string()),
    )
    .and_then(|_| std::fs::rename(&tmp, &req))
    .with_context(|| format!("cannot write {}", req.display()))?;
    let what = login.unwrap_or("everything");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !req.exists() {
            println!("flushed {what} from the running server's directory cache");
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(&req);
    println!(
        "no running server in {} took the request within 5s (a server that is not running caches nothing)",
        settings.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn stats(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let path = dirsetup::stats_file(&settings.data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => bail!(
            "no cache counters in {} (is `tern serve` running with an LDAP / AD directory?)",
            path.display()
        ),
    };
    if json {
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let v: serde_json::Value = serde_json::from_str(&text).context("stats.json")?;
    let age = v["written_unix"].as_u64().map(|t| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        now.saturating_sub(t)
    });
    println!(
        "server pid {} (written {}s ago)",
        v["pid"],
        age.map_or("?".into(), |a| a.to_string())
    );
    if let Some(c) = v["cache"].as_object() {
        for (k, val) in c {
            println!("{k:<28}{val}");
        }
        let calls = c["directory_calls"].as_u64().unwrap_or(0);
        if calls > 0 {
            let avg = c["directory_latency_us_total"].as_u64().unwrap_or(0) as f64 / calls as f64;
            println!("{:<28}{:.1} ms", "directory_latency_avg", avg / 1000.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of stdin, without its line ending. Empty is refused.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("empty password on stdin");
    }
    Ok(password.to_string())
}
