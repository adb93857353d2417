//! # tern-provision: the store's accounts reconciled with the directory
//!
//! `tern provision` (and `tern serve` with `[provision] interval`) lists the directory
//! ([`tern_directory::Directory::accounts`]: paged searches for LDAP / AD), reads the store's
//! accounts with what provisioning recorded about each ([`tern_mail::account_state`]),
//! plans ([`plan::plan`], a pure function) and applies ([`apply`]).
//!
//! ## Layout
//! - [`plan`]: directory view + store view + recorded state → the changes (unit-tested case
//!   by case in `plan_tests.rs`).
//! - [`apply`]: each change against the store; [`archive`]: an account's folders as a
//!   Maildir++ tree `tern import maildir` reads back.
//! - [`report`]: counts and per-account actions, text or JSON.
//! - this file: [`run`] (survey, plan, safety rule, apply), the run lock, progress.
//!
//! ## Invariants
//! - Idempotent: a run right after a successful run plans nothing (every applied change is
//!   recorded, and the planner compares with the record).
//! - A dry run changes nothing: it takes no lock and writes nothing.
//! - Two runs never overlap on one data folder (an exclusive lock on a file, held for the
//!   whole run; a second run fails at once rather than waiting).
//! - The directory is the only source of who should have mail: when it cannot be listed the
//!   run fails and changes nothing; when it lists no mail user at all while the store holds
//!   accounts, the run refuses to disable them (a wrong base DN or mail group must not
//!   retire everyone).
//! - Nothing is removed before its grace period, counted from the recorded disable; an
//!   archive is complete on disk before the account is deleted.
#![forbid(unsafe_code)]

pub mod apply;
pub mod archive;
pub mod plan;
pub mod report;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::path::{Path, PathBuf};
use tern_directory::DirectoryError;
use tern_mail::Mail;
use tern_mail::account_state;
use tern_store::{StoreError, StoreResult};

pub use apply::Outcome;
pub use plan::{Action, AfterGrace, Change, Plan, Policy, StoreAccount};
pub use report::Report;
pub use tern_mail::account_state::DisabledMail;

/// What a run does and where.
#[derive(Clone, Debug)]
pub struct Options {
    pub policy: Policy,
    /// Where `archive` writes (`data_dir/archive` by default).
    pub archive_dir: PathBuf,
    /// Plan and report only.
    pub dry_run: bool,
    /// Locked for the whole run (not for a dry run), so two runs never overlap.
    pub lock_file: Option<PathBuf>,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// Another run holds the lock.
    #[error("another provisioning run is in progress (it holds {0})")]
    Busy(PathBuf),
    #[error("cannot list the directory: {0}")]
    Directory(#[from] DirectoryError),
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// The safety rule refused the plan.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
}

/// The steps of a run, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Listing the directory (one paged search; no count known in advance).
    Directory,
    /// Reading the store's accounts and records.
    Store,
    /// Applying the plan.
    Apply,
}

/// Watches a run: progress bars in the CLI, log lines in `tern serve`.
pub trait Observer: Send + Sync {
    fn phase(&self, _phase: Phase, _total: u64) {}
    fn step(&self) {}
    /// One action finished (not called in a dry run).
    fn applied(&self, _action: &Action, _outcome: &Outcome) {}
}

/// An observer that watches nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Store accounts read at once while surveying.
const SURVEY_CONCURRENCY: usize = 16;

/// One provisioning run.
pub async fn run(
    mail: &Mail,
    options: &Options,
    observer: &dyn Observer,
) -> Result<Report, ProvisionError> {
    let _lock = match (&options.lock_file, options.dry_run) {
        (Some(path), false) => Some(RunLock::acquire(path)?),
        _ => None,
    };
    let now = unix_now();
    observer.phase(Phase::Directory, 0);
    let directory = mail.directory.accounts().await?;
    let store = survey(mail, observer).await?;
    let plan = plan::plan(&directory, &store, &options.policy, now);
    check_safety(&plan)?;
    if options.dry_run {
        return Ok(Report::new(
            plan,
            None,
            &options.policy,
            &options.archive_dir,
            now,
        ));
    }
    observer.phase(Phase::Apply, plan.actions.len() as u64);
    let on_done = |a: &Action, o: &Outcome| {
        observer.step();
        observer.applied(a, o);
    };
    let outcomes = apply::apply_all(mail, &plan.actions, &options.archive_dir, now, &on_done).await;
    Ok(Report::new(
        plan,
        Some(outcomes),
        &options.policy,
        &options.archive_dir,
        now,
    ))
}

/// Every store account with its record and usage.
pub async fn survey(mail: &Mail, observer: &dyn Observer) -> StoreResult<Vec<StoreAccount>> {
    let store = &*mail.store;
    let accounts = store.accounts().await?;
    observer.phase(Phase::Store, accounts.len() as u64);
    let mut out = Vec::with_capacity(accounts.len());
    let mut todo = accounts.into_iter();
    let mut running = FuturesUnordered::new();
    for (id, name) in todo.by_ref().take(SURVEY_CONCURRENCY) {
        running.push(one_account(store, id, name));
    }
    while let Some(found) = running.next().await {
        observer.step();
        match found {
            Ok(a) => out.push(a),
            // Deleted while we looked.
            Err(StoreError::NoSuchAccount) => {}
            Err(e) => return Err(e),
        }
        if let Some((id, name)) = todo.next() {
            running.push(one_account(store, id, name));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn one_account(
    store: &dyn tern_store::MailStore,
    id: tern_store::AccountId,
    name: String,
) -> StoreResult<StoreAccount> {
    Ok(StoreAccount {
        id,
        name,
        record: account_state::read(store, id).await?,
        used_bytes: store.usage(id).await?.bytes,
    })
}

/// An empty directory listing while the store holds accounts is a broken directory (or
/// config), not everyone leaving: refuse to retire anyone.
fn check_safety(plan: &Plan) -> Result<(), ProvisionError> {
    let retiring = plan
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.change,
                Change::Disable { .. } | Change::Archive { .. } | Change::Delete { .. }
            )
        })
        .count();
    if plan.directory.mail_users == 0 && retiring > 0 {
        return Err(ProvisionError::Refused(format!(
            "the directory lists no mail user at all ({} entries): refusing to disable or remove \
             {retiring} accounts (check [directory] base_dn and mail_group)",
            plan.directory.listed
        )));
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An exclusive lock on a file for the life of the value (released by the OS if the
/// process dies, so a crash never leaves a stale lock).
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    pub fn acquire(path: &Path) -> Result<RunLock, ProvisionError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ProvisionError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| ProvisionError::Io(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(ProvisionError::Busy(path.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => Err(ProvisionError::Io(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}
