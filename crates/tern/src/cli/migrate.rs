//! `tern migrate`: copy users' mail from a live IMAP server, keeping UIDs (tern-migrate).
//!
//! ```text
//! tern migrate --source imap://old:143 (--users users.csv | --user ADDRESS [--source-user LOGIN])
//!              [--source-password-file F | --admin LOGIN --admin-password-file F --admin-style S]
//!              [--jobs N] [--rate MSGS_PER_S] [--delete] [--dry-run] [--json]
//! tern migrate verify (same source options) [--json]
//! tern migrate cutover|rollback|status ...   (migration mode, see `cutover`)
//! ```
//! Exit status 1 when any user had an error (migrate) or any difference (verify).
use super::Globals;
use crate::backends::Backends;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tern_migrate::profile::{Profile, UidlFormat};
use tern_migrate::rate::RateLimiter;
use tern_migrate::source::{AdminStyle, Credentials, Endpoint, TlsOptions};
use tern_migrate::state::State;
use tern_migrate::sync::{self, Context, Job, NoProgress, Options, Progress};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateCommand {
    #[command(subcommand)]
    action: Option<MigrateAction>,
    #[command(flatten)]
    source: SourceArgs,
    /// Expunge on Tern what the source expunged (and delete folders it deleted).
    #[arg(long)]
    delete: bool,
    /// Print what would be copied; change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand, Debug)]
enum MigrateAction {
    /// Compare source and Tern per folder (counts, UIDs, flags, dates, SHA-256).
    Verify(SourceArgs),
    /// Migration mode: final sync, then serve the user(s) from Tern (no more relaying).
    Cutover(super::cutover::CutoverArgs),
    /// Migration mode: serve the user(s) from the legacy server again.
    Rollback(super::cutover::RollbackArgs),
    /// Migration mode: every user's home.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// The legacy server: imap://host:port or imaps://host:port.
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// CSV of target_address,source_login,source_password (empty password: use --admin).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// One user: the Tern address.
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// The user's login on the source (default: the Tern address).
    #[arg(long, value_name = "LOGIN")]
    pub source_user: Option<String>,
    /// The user's source password (first line of the file).
    #[arg(long, value_name = "FILE")]
    pub source_password_file: Option<PathBuf>,
    /// Administrator login used for users without a password.
    #[arg(long, value_name = "LOGIN")]
    pub admin: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// plain-authzid (SASL PLAIN authzid=user), dovecot-master (LOGIN user*admin), cyrus-proxy.
    #[arg(long, value_name = "STYLE", default_value = "plain-authzid")]
    pub admin_style: String,
    /// dovecot, cyrus or generic (default: detected from the greeting / ID).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// POP3 UIDL template (%u UID, %v UIDVALIDITY, e.g. %08Xu%08Xv); default: the profile's.
    #[arg(long, value_name = "FORMAT")]
    pop3_uidl_format: Option<String>,
    /// Trusted roots for imaps:// (PEM; default: the system bundle).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate from the source.
    #[arg(long)]
    pub insecure: bool,
    /// Users migrated in parallel.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Global limit in messages per second across all jobs.
    #[arg(long, value_name = "MSGS_PER_S")]
    pub rate: Option<f64>,
    /// Messages per fetch and commit.
    #[arg(long, default_value_t = 100, hide = true)]
    pub batch: usize,
    /// One JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

fn first_line(path: &PathBuf) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

impl SourceArgs {
    pub fn jobs(&self) -> anyhow::Result<Vec<Job>> {
        let admin = match (&self.admin, &self.admin_password_file) {
            (Some(a), Some(f)) => {
                let style = AdminStyle::parse(&self.admin_style).with_context(|| {
                    format!(
                        "--admin-style {}: use plain-authzid, dovecot-master or cyrus-proxy",
                        self.admin_style
                    )
                })?;
                Some((style, a.clone(), first_line(f)?))
            }
            (None, None) => None,
            _ => bail!("--admin and --admin-password-file go together"),
        };
        let creds = |login: String, password: Option<String>| -> anyhow::Result<Credentials> {
            match (password, &admin) {
                (Some(password), _) => Ok(Credentials::User { login, password }),
                (None, Some((style, a, p))) => Ok(Credentials::Admin {
                    style: *style,
                    admin: a.clone(),
                    password: p.clone(),
                    user: login,
                }),
                (None, None) => bail!("{login}: no password and no --admin"),
            }
        };
        let mut jobs = Vec::new();
        match (&self.users, &self.user) {
            (Some(file), None) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let base = file.parent().unwrap_or(std::path::Path::new("."));
                let lines = tern_migrate::users::parse_csv(&text, base)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                for l in lines {
                    jobs.push(Job {
                        target: l.target,
                        credentials: creds(l.source_login, l.password)?,
                    });
                }
            }
            (None, Some(user)) => {
                let password = self
                    .source_password_file
                    .as_ref()
                    .map(first_line)
                    .transpose()?;
                let login = self.source_user.clone().unwrap_or_else(|| user.clone());
                jobs.push(Job {
                    target: user.clone(),
                    credentials: creds(login, password)?,
                });
            }
            _ => bail!("give exactly one of --users FILE or --user ADDRESS"),
        }
        Ok(jobs)
    }

    /// The source endpoint and sync options (`--source` required).
    pub fn endpoint_and_options(
        &self,
        delete: bool,
        dry_run: bool,
    ) -> anyhow::Result<(Endpoint, Options)> {
        let Some(url) = self.source.clone() else {
            bail!("--source imap://host:port is required");
        };
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
        };
        let endpoint = Endpoint::parse(&url, tls).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((endpoint, self.options(delete, dry_run)?))
    }

    fn options(&self, delete: bool, dry_run: bool) -> anyhow::Result<Options> {
        let uidl_format = self
            .pop3_uidl_format
            .as_deref()
            .map(UidlFormat::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--pop3-uidl-format: {e}"))?;
        let profile = self
            .profile
            .as_deref()
            .map(|p| {
                Profile::parse(p)
                    .with_context(|| format!("--profile {p}: use dovecot, cyrus or generic"))
            })
            .transpose()?;
        Ok(Options {
            delete,
            dry_run,
            batch: self.batch.max(1),
            uidl_format,
            profile,
            ..Options::default()
        })
    }
}

pub fn run(globals: &Globals, cmd: MigrateCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let (args, verify) = match &cmd.action {
        Some(MigrateAction::Verify(a)) => (a.clone(), true),
        Some(MigrateAction::Cutover(a)) => return super::cutover::cutover(globals, a.clone()),
        Some(MigrateAction::Rollback(a)) => return super::cutover::rollback(globals, a.clone()),
        Some(MigrateAction::Status { json }) => return super::cutover::status(globals, *json),
        None => (cmd.source.clone(), false),
    };
    let jobs = args.jobs()?;
    let (endpoint, options) = args.endpoint_and_options(cmd.delete, cmd.dry_run)?;
    super::runtime()?.block_on(async move {
        let backends = Backends::open(&settings).await?;
        std::fs::create_dir_all(&settings.data_dir)?;
        let state = State::open(&settings.data_dir.join("migrate.db"))?;
        let ctx = Arc::new(Context {
            mail: backends.mail.clone(),
            state: Arc::new(state),
            endpoint,
            rate: Arc::new(RateLimiter::new(args.rate)),
            options,
        });
        if verify {
            run_verify(ctx, jobs, &args).await
        } else {
            run_migrate(ctx, jobs, &args).await
        }
    })
}

#[derive(Serialize)]
struct Output<T: Serialize> {
    ok: bool,
    users: Vec<T>,
}

async fn run_migrate(
    ctx: Arc<Context>,
    jobs: Vec<Job>,
    args: &SourceArgs,
) -> anyhow::Result<ExitCode> {
    let bars = !args.json && std::io::stdout().is_terminal();
    let progress: Arc<dyn Progress> = if bars {
        Arc::new(super::migrate_progress::Bars::new())
    } else {
        Arc::new(NoProgress)
    };
    let limit = Arc::new(tokio::sync::Semaphore::new(args.jobs.max(1)));
    let mut handles = Vec::new();
    for job in jobs {
        let ctx = ctx.clone();
        let limit = limit.clone();
        let progress = progress.clone();
        let json = args.json;
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let report = sync::migrate_user(&ctx, &job, &*progress).await;
            if !json {
                print!("{}", report.text());
            }
            report
        }));
    }
    let mut reports = Vec::new();
    for h in handles {
        reports.push(h.await?);
    }
    let ok = reports.iter().all(|r| r.ok());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Output { ok, users: reports })?
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_verify(
    ctx: Arc<Context>,
    jobs: Vec<Job>,
    args: &SourceArgs,
) -> anyhow::Result<ExitCode> {
    let limit = Arc::new(tokio::sync::Semaphore::new(args.jobs.max(1)));
    let mut handles = Vec::new();
    for job in jobs {
        let ctx = ctx.clone();
        let limit = limit.clone();
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            tern_migrate::verify::verify_user(&ctx, &job).await
        }));
    }
    let mut reports = Vec::new();
    for h in handles {
        reports.push(h.await?);
    }
    let ok = reports.iter().all(|r| r.ok());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Output { ok, users: reports })?
        );
    } else {
        for r in &reports {
            print!("{}", r.text());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
