//! `tern migrate cutover|rollback|status`: moving users from the legacy server to Tern in
//! migration mode (`[migration]`), see `tern_migrate::cutover` for the protocol.
//!
//! ```text
//! tern migrate cutover (--user ADDRESS | --users FILE | --all) [source options] [--timeout 60s] [--json]
//! tern migrate rollback (--user ADDRESS | --all) [--json]
//! tern migrate status [--json]
//! ```
//! The source options default to `[migration]`: `--source` to `legacy_imap`, the
//! administrator to `legacy_admin` (`--all` needs one: it has no passwords).
//! Exit status 1 when any user could not be moved.
use super::Globals;
use super::migrate::SourceArgs;
use crate::backends::Backends;
use crate::config::Settings;
use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tern_mail::Home;
use tern_migrate::cutover::CutoverDb;
use tern_migrate::sync::{self, Context, Job, NoProgress};

#[derive(Args, Debug, Clone)]
pub struct CutoverArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Every user a migration copied who is not on Tern yet.
    #[arg(long)]
    pub all: bool,
    /// How long to wait for every server to close the users' relayed sessions.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct RollbackArgs {
    /// The user (a Tern address).
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// Every user currently on Tern or being moved.
    #[arg(long)]
    pub all: bool,
    /// Roll back even when Tern holds mail the legacy server lacks (delivered after the
    /// cutover): that mail then stays on Tern only, and a later cutover stops at any folder
    /// where the legacy server has reused one of its UIDs.
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::units::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct Moved {
    user: String,
    ok: bool,
    home: &'static str,
    /// Messages copied by the final pass.
    messages: u64,
    expunged: u64,
    /// How long the user was unavailable (moving), in seconds.
    seconds: f64,
    error: Option<String>,
}

/// `alice` of `alice@example.test`.
fn local_part(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .to_string()
}

fn db(settings: &Settings) -> anyhow::Result<Arc<CutoverDb>> {
    if settings.migration.is_none() {
        bail!("migration mode is off: add a [migration] table to the config");
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    Ok(Arc::new(
        CutoverDb::open(&settings.data_dir.join("migrate.db")).context("migrate.db")?,
    ))
}

/// Fills what the command line left out from `[migration]`.
fn with_config_defaults(args: &mut SourceArgs, settings: &Settings) {
    let Some(m) = &settings.migration else {
        return;
    };
    if args.source.is_none() {
        args.source = m.legacy_imap.clone();
    }
    if args.admin.is_none() && args.source_password_file.is_none() && args.users.is_none() {
        args.admin = m.legacy_admin.clone();
        args.admin_password_file = m.legacy_admin_password_file.clone();
        if let Some(style) = &m.legacy_admin_style {
            args.admin_style = style.clone();
        }
    }
    if args.ca_file.is_none() {
        args.ca_file = m.legacy_ca_file.clone();
    }
    if args.source_user.is_none() && m.legacy_strip_domain == Some(true) {
        args.source_user = args.user.as_deref().map(local_part);
    }
    if m.legacy_tls_insecure == Some(true) {
        args.insecure = true;
    }
}

pub fn cutover(globals: &Globals, mut args: CutoverArgs) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let db = db(&settings)?;
    with_config_defaults(&mut args.source, &settings);
    super::runtime()?.block_on(async move {
        let backends = Backends::open(&settings).await?;
        let state = Arc::new(tern_migrate::state::State::open(
            &settings.data_dir.join("migrate.db"),
        )?);
        let mut source = args.source.clone();
        if args.all {
            if source.user.is_some() || source.users.is_some() {
                bail!("--all goes without --user / --users");
            }
            source.users = None;
        }
        let jobs: Vec<Job> = if args.all {
            let mut jobs = Vec::new();
            for account in state.accounts()? {
                if db.home(&account)? == Some(Home::Local) {
                    continue;
                }
                let mut one = source.clone();
                if settings
                    .migration
                    .as_ref()
                    .is_some_and(|m| m.legacy_strip_domain == Some(true))
                {
                    one.source_user = Some(local_part(&account));
                }
                one.user = Some(account);
                jobs.extend(one.jobs()?);
            }
            jobs
        } else {
            source.jobs()?
        };
        let (endpoint, options) = source.endpoint_and_options(true, false)?;
        let ctx = Arc::new(Context {
            mail: backends.mail.clone(),
            state,
            endpoint,
            rate: Arc::new(tern_migrate::rate::RateLimiter::new(source.rate)),
            options,
        });
        let mut results = Vec::new();
        for job in jobs {
            let moved = move_user(&ctx, &db, &job, args.timeout).await;
            if !source.json {
                match &moved.error {
                    None => println!(
                        "{}: cut over ({} messages copied, {} expunged in the final pass; \
                         unavailable for {:.1}s)",
                        moved.user, moved.messages, moved.expunged, moved.seconds
                    ),
                    Some(e) => println!("{}: NOT cut over, still {}: {e}", moved.user, moved.home),
                }
            }
            results.push(moved);
        }
        let ok = results.iter().all(|m| m.ok);
        if source.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"ok": ok, "users": results}))?
            );
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// Moving → every server acknowledged → final delta with `--delete` → local; back to the
/// previous home on any failure.
async fn move_user(ctx: &Context, db: &CutoverDb, job: &Job, timeout: Duration) -> Moved {
    let mut moved = Moved {
        user: job.target.clone(),
        ok: false,
        home: "legacy",
        messages: 0,
        expunged: 0,
        seconds: 0.0,
        error: None,
    };
    let account = match tern_migrate::target::account(&ctx.mail, &job.target).await {
        Ok((a, _)) => a.name,
        Err(e) => {
            moved.error = Some(e.to_string());
            return moved;
        }
    };
    moved.user = account.clone();
    let before = match db.home(&account) {
        Ok(h) => h,
        Err(e) => {
            moved.error = Some(e.to_string());
            return moved;
        }
    };
    if before == Some(Home::Local) {
        moved.ok = true;
        moved.home = "local";
        return moved;
    }
    let restore = before.unwrap_or(Home::Legacy);
    moved.home = restore.as_str();
    let started = Instant::now();
    let result: Result<(), String> = async {
        let g = db
            .set_home(&account, Home::Moving)
            .map_err(|e| e.to_string())?;
        match db
            .wait_applied(g, timeout)
            .await
            .map_err(|e| e.to_string())?
        {
            Ok(()) => {}
            Err(behind) => {
                return Err(format!(
                    "servers still relaying after {timeout:?}: {}",
                    behind.join(", ")
                ));
            }
        }
        let report = sync::migrate_user(ctx, job, &NoProgress).await;
        moved.messages = report.messages;
        moved.expunged = report.expunged;
        if !report.ok() {
            return Err(format!("final sync: {}", report.errors.join("; ")));
        }
        let g = db
            .set_home(&account, Home::Local)
            .map_err(|e| e.to_string())?;
        // Return once every server serves the user from Tern (a login right after this
        // command must not meet "being moved").
        if let Ok(Err(behind)) = db.wait_applied(g, timeout).await {
            tracing::warn!(user = %account, servers = ?behind,
                "cut over, but some servers have not seen it yet");
        }
        Ok(())
    }
    .await;
    moved.seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            moved.ok = true;
            moved.home = "local";
            tracing::info!(user = %account, seconds = moved.seconds, "cut over to Tern");
        }
        Err(e) => match db.set_home(&account, restore) {
            Err(e2) => {
                moved.error = Some(format!("{e}; and restoring {}: {e2}", restore.as_str()));
            }
            Ok(g) => {
                // Back where it was on every server before the command returns.
                let _ = db.wait_applied(g, timeout).await;
                moved.error = Some(e);
            }
        },
    }
    moved
}

pub fn rollback(globals: &Globals, args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let db = db(&settings)?;
    super::runtime()?.block_on(async move {
        let backends = Backends::open(&settings).await?;
        let users: Vec<String> = match (&args.user, args.all) {
            (Some(_), true) | (None, false) => bail!("give exactly one of --user ADDRESS or --all"),
            (Some(u), false) => {
                let (account, _) = tern_migrate::target::account(&backends.mail, u)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                vec![account.name]
            }
            (None, true) => db
                .list()?
                .into_iter()
                .filter(|r| r.home != "legacy")
                .map(|r| r.account)
                .collect(),
        };
        if !args.force {
            let state = tern_migrate::state::State::open(&settings.data_dir.join("migrate.db"))?;
            let mut refused = Vec::new();
            for user in &users {
                let n = tern_only(&backends.mail, &state, user).await?;
                if n > 0 {
                    refused.push(format!("{user} ({n} messages)"));
                }
            }
            if !refused.is_empty() {
                eprintln!(
                    "not rolled back: Tern holds mail the legacy server does not have for {} \
                     (delivered after the cutover). It would stay on Tern only; use --force to \
                     roll back anyway.",
                    refused.join(", ")
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        let mut last = 0;
        for user in &users {
            last = db.set_home(user, Home::Legacy)?;
        }
        let acknowledged = db.wait_applied(last, Duration::from_secs(60)).await?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "ok": acknowledged.is_ok(),
                    "users": users,
                    "home": "legacy",
                }))?
            );
        } else {
            for user in &users {
                println!(
                    "{user}: back on the legacy server (mail delivered to Tern since the cutover \
                     stays on Tern; `tern migrate verify` shows the difference)"
                );
            }
            if let Err(behind) = &acknowledged {
                println!(
                    "warning: servers not acknowledging yet: {}",
                    behind.join(", ")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Messages Tern holds for `account` that no migrated source message accounts for: in
/// migrated folders, those outside the source → Tern UID map; in other folders, all.
async fn tern_only(
    mail: &tern_mail::Mail,
    state: &tern_migrate::state::State,
    account: &str,
) -> anyhow::Result<usize> {
    let Some(id) = mail.store.account(account, false).await? else {
        return Ok(0);
    };
    let folders = state.folders(account)?;
    let mut count = 0;
    for mailbox in mail.store.mailboxes(id).await? {
        let (_, records) = mail.store.messages(mailbox.id).await?;
        match folders
            .iter()
            .find(|(_, f)| f.target_mailbox == mailbox.id.0)
        {
            Some((_, f)) => {
                let mapped: std::collections::HashSet<u32> =
                    state.mapping(f.id)?.into_iter().map(|(_, t)| t).collect();
                count += records.iter().filter(|r| !mapped.contains(&r.uid)).count();
            }
            None => count += records.len(),
        }
    }
    Ok(count)
}

pub fn status(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let db = db(&settings)?;
    let unlisted = settings
        .migration
        .as_ref()
        .and_then(|m| m.unlisted.clone())
        .unwrap_or_else(|| "legacy".into());
    let rows = db.list()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "unlisted": unlisted,
                "users": rows,
            }))?
        );
    } else {
        println!("users without a record: {unlisted}");
        for r in rows {
            println!("{}\t{}", r.account, r.home);
        }
    }
    Ok(ExitCode::SUCCESS)
}
