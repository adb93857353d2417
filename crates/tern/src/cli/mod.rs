//! The command line (the operator contract in DESIGN.md; scripts depend on it):
//!
//! ```text
//! tern serve [--config FILE]
//! tern user add ADDRESS [--password-stdin] [--quota SIZE]
//! tern user list [--json] | tern user del ADDRESS | tern user passwd ADDRESS --password-stdin
//! tern user alias add ALIAS ADDRESS | tern user alias del ALIAS | tern user quota ADDRESS SIZE
//! tern check-config [--config FILE]
//! tern migrate --source imap://HOST:PORT (--users CSV | --user ADDRESS) [...] | tern migrate verify ...
//! tern import mbox PATH --user ADDRESS [--folder NAME] | tern import maildir PATH --user ADDRESS
//! tern sieve list ADDRESS [--json] | get ADDRESS NAME | put ADDRESS NAME FILE|- | delete ADDRESS NAME
//! tern sieve activate ADDRESS NAME|--none | vacation ADDRESS --subject S --message-file F [--until DATE] | vacation ADDRESS --off
//! tern directory lookup LOGIN|ADDRESS [--json] | tern directory auth LOGIN --password-stdin
//! tern directory flush [LOGIN] | tern directory stats [--json]
//! tern queue list [--json] | tern queue show ID [--json] | tern queue retry ID|--all | tern queue delete ID
//! tern provision [--dry-run] [--json] [--grace 30d] [--policy defer|bounce] [--after-grace archive|delete|keep]
//! tern dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] | tern dkim list [--json] | tern dkim show DOMAIN
//! ```
//!
//! `--config` and `--data-dir` are accepted by every command, before or after its name.
//! Exit status: 0 success, 1 failure (the reason on stderr), 2 usage error.
mod check_config;
mod cutover;
mod directory;
mod dkim;
mod import;
mod migrate;
mod migrate_progress;
mod provision;
mod provision_progress;
pub(crate) mod provision_serve;
mod queue;
mod serve_cmd;
mod sieve;
mod user;

use crate::config::Settings;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "tern", version, about = "Tern mail server")]
struct Cli {
    /// Config file (default: $TERN_CONFIG, else ./tern.toml if present, else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder; overrides `data_dir` in the config (default ./tern-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the mail server in the foreground.
    Serve,
    /// Manage accounts in the internal directory.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Check the config file and report every problem at once.
    CheckConfig,
    /// Copy mail from a live IMAP server, keeping UIDs (`tern migrate verify` compares).
    Migrate(Box<migrate::MigrateCommand>),
    /// Import mail from files (mbox, Maildir).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// What the directory (LDAP / Active Directory / internal) says, and its cache.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// Users' Sieve scripts: list, get, put, activate, delete, vacation replies.
    #[command(subcommand)]
    Sieve(sieve::SieveCommand),
    /// Inspect and manage the outbound queue.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// DKIM signing keys: generate one and print its DNS record, list, show.
    #[command(subcommand)]
    Dkim(dkim::DkimCommand),
    /// Sync accounts with the directory: create, update quota, disable, archive or delete.
    Provision(provision::ProvisionCommand),
}

/// Global options every command receives.
pub struct Globals {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

impl Globals {
    /// Loads the config, or prints every error and returns the exit code to use.
    pub fn settings(&self) -> Result<Settings, ExitCode> {
        Settings::load(self.config.as_deref(), self.data_dir.as_deref()).map_err(|errors| {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        })
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let globals = Globals {
        config: cli.config,
        data_dir: cli.data_dir,
    };
    let result = match cli.command {
        Command::Serve => serve_cmd::run(&globals),
        Command::User(cmd) => user::run(&globals, cmd),
        Command::CheckConfig => check_config::run(&globals),
        Command::Migrate(cmd) => migrate::run(&globals, *cmd),
        Command::Import(cmd) => import::run(&globals, cmd),
        Command::Directory(cmd) => directory::run(&globals, cmd),
        Command::Queue(cmd) => queue::run(&globals, cmd),
        Command::Sieve(cmd) => sieve::run(&globals, cmd),
        Command::Dkim(cmd) => dkim::run(&globals, cmd),
        Command::Provision(cmd) => provision::run(&globals, cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tern: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info` for Tern, `warn` otherwise).
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,tern=info,tern_net=info,tern_imap=info,tern_smtp=info,tern_queue=info,tern_mail=info,tern_store_sqlite=info,tern_directory=info,tern_migrate=info,tern_provision=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
