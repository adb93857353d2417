//! `tern provision [--dry-run] [--json] [--grace 30d] [--policy defer|bounce]
//! [--after-grace archive|delete|keep]`: one directory sync (crates/tern-provision), with
//! `[provision]`'s settings unless the options say otherwise.
//!
//! Prints the plan (`--dry-run`: nothing is changed) or what was done, as text or one JSON
//! object (`--json`; the names are stable, see `tern_provision::report`). A progress bar on
//! stderr when it is a terminal. Exit status: 0 every action applied (or planned), 1 the run
//! failed (directory unreachable, another run in progress, the safety rule) or an action
//! failed.
use super::Globals;
use super::provision_progress::Bars;
use crate::backends::Backends;
use crate::config::Settings;
use crate::config::units::parse_duration;
use clap::Args;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tern_provision::{AfterGrace, DisabledMail, Observer, Options, Policy, Quiet};

#[derive(Args, Debug, Default)]
pub struct ProvisionCommand {
    /// Print the plan (create / update quota / disable / remove) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object: counts and every account's action.
    #[arg(long)]
    pub json: bool,
    /// How long a disabled account is kept before --after-grace (default [provision] grace, 30d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub grace: Option<Duration>,
    /// Mail to a disabled account: defer (450 4.2.1) or bounce (550 5.2.1).
    #[arg(long, value_name = "defer|bounce", value_parser = ["defer", "bounce"])]
    pub policy: Option<String>,
    /// After the grace period: archive (then delete), delete, or keep.
    #[arg(long, value_name = "archive|delete|keep", value_parser = ["archive", "delete", "keep"])]
    pub after_grace: Option<String>,
}

/// The run's options: `[provision]` with the command line's overrides.
pub fn options(settings: &Settings, cmd: &ProvisionCommand) -> Options {
    let p = &settings.provision;
    Options {
        policy: Policy {
            grace_secs: cmd.grace.unwrap_or(p.grace).as_secs(),
            disabled_mail: cmd
                .policy
                .as_deref()
                .and_then(DisabledMail::parse)
                .unwrap_or(p.disabled_mail),
            after_grace: cmd
                .after_grace
                .as_deref()
                .and_then(AfterGrace::parse)
                .unwrap_or(p.after_grace),
        },
        archive_dir: p.archive_dir.clone(),
        dry_run: cmd.dry_run,
        lock_file: Some(crate::config::provision::lock_file(&settings.data_dir)),
    }
}

pub fn run(globals: &Globals, cmd: ProvisionCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let options = options(&settings, &cmd);
    super::runtime()?.block_on(async move {
        let backends = Backends::open(&settings).await?;
        let bars = std::io::stderr().is_terminal().then(Bars::new);
        let observer: &dyn Observer = match &bars {
            Some(b) => b,
            None => &Quiet,
        };
        let result = tern_provision::run(&backends.mail, &options, observer).await;
        if let Some(b) = &bars {
            b.finish();
        }
        let report = result?;
        if cmd.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.text());
        }
        backends.close().await;
        Ok(if report.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
