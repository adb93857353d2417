//! The report of a run: counts and one entry per account action, as JSON (`--json`, stable:
//! scripts depend on these names) or text.
use crate::apply::Outcome;
use crate::plan::{Action, Change, DirectoryCounts, OverQuota, Plan, Policy, Waiting};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use tern_mail::format_quota;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub dry_run: bool,
    /// Unix seconds the run's clock read.
    pub now: i64,
    pub policy: PolicyReport,
    pub directory: DirectoryCounts,
    pub store_accounts: usize,
    /// Planned changes by action name (every name, zeros included).
    pub planned: BTreeMap<&'static str, usize>,
    /// Applied changes by action name (all zero in a dry run).
    pub done: BTreeMap<&'static str, usize>,
    pub failed: usize,
    pub actions: Vec<ActionReport>,
    pub over_quota: Vec<OverQuota>,
    pub waiting: Vec<Waiting>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyReport {
    pub grace_seconds: u64,
    pub disabled_mail: &'static str,
    pub after_grace: &'static str,
    pub archive_dir: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionReport {
    #[serde(flatten)]
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Report {
    pub fn new(
        plan: Plan,
        outcomes: Option<Vec<Outcome>>,
        policy: &Policy,
        archive_dir: &std::path::Path,
        now: i64,
    ) -> Report {
        let planned = plan.counts();
        let mut done: BTreeMap<&'static str, usize> =
            Change::NAMES.iter().map(|n| (*n, 0)).collect();
        let dry_run = outcomes.is_none();
        let outcomes = outcomes.unwrap_or_else(|| vec![Outcome::Planned; plan.actions.len()]);
        let mut failed = 0;
        for (a, o) in plan.actions.iter().zip(&outcomes) {
            match o {
                Outcome::Done { .. } => *done.entry(a.change.name()).or_default() += 1,
                Outcome::Failed { .. } => failed += 1,
                Outcome::Planned => {}
            }
        }
        Report {
            dry_run,
            now,
            policy: PolicyReport {
                grace_seconds: policy.grace_secs,
                disabled_mail: policy.disabled_mail.as_str(),
                after_grace: policy.after_grace.as_str(),
                archive_dir: archive_dir.display().to_string(),
            },
            directory: plan.directory,
            store_accounts: plan.store_accounts,
            planned,
            done,
            failed,
            actions: plan
                .actions
                .into_iter()
                .zip(outcomes)
                .map(|(action, outcome)| ActionReport { action, outcome })
                .collect(),
            over_quota: plan.over_quota,
            waiting: plan.waiting,
            warnings: plan.warnings,
        }
    }

    /// Whether every action was applied.
    pub fn success(&self) -> bool {
        self.failed == 0
    }

    /// The changes made (or planned), for a log line: `create 3, disable 1`.
    pub fn summary(counts: &BTreeMap<&'static str, usize>) -> String {
        let parts: Vec<String> = Change::NAMES
            .iter()
            .filter_map(|n| {
                counts
                    .get(n)
                    .filter(|c| **c > 0)
                    .map(|c| format!("{n} {c}"))
            })
            .collect();
        if parts.is_empty() {
            "nothing to do".into()
        } else {
            parts.join(", ")
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let d = &self.directory;
        let _ = writeln!(
            out,
            "directory: {} listed ({} mail users, {} disabled, {} not mail users); store: {} accounts",
            d.listed, d.mail_users, d.disabled, d.not_mail_users, self.store_accounts
        );
        for r in &self.actions {
            let a = &r.action;
            let detail = describe(&a.change);
            let status = match &r.outcome {
                Outcome::Planned => String::new(),
                Outcome::Done { archive: Some(p) } => format!(" -> {p}"),
                Outcome::Done { archive: None } => String::new(),
                Outcome::Failed { error } => format!("  FAILED: {error}"),
            };
            let _ = writeln!(
                out,
                "{:<14}{}  {detail}{status}",
                a.change.name(),
                a.account
            );
        }
        for o in &self.over_quota {
            let _ = writeln!(
                out,
                "{:<14}{}  {} used of {} (not touched)",
                "over-quota",
                o.account,
                tern_mail::format_size(o.used),
                tern_mail::format_size(o.quota)
            );
        }
        for w in &self.waiting {
            let due = match w.due {
                Some(t) => format!("{} due {}", self.policy.after_grace, date(t)),
                None => "kept".into(),
            };
            let _ = writeln!(
                out,
                "{:<14}{}  disabled since {} ({}), {due}",
                "waiting",
                w.account,
                date(w.disabled_since),
                w.reason
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        if self.dry_run {
            let _ = writeln!(
                out,
                "plan (dry run, nothing changed): {}",
                Report::summary(&self.planned)
            );
        } else {
            let _ = writeln!(
                out,
                "done: {}; {} failed",
                Report::summary(&self.done),
                self.failed
            );
        }
        out
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::Create { quota } | Change::Adopt { quota } | Change::Reactivate { quota } => {
            format!("quota {}", format_quota(*quota))
        }
        Change::UpdateQuota { from, to } => {
            format!("quota {} -> {}", format_quota(*from), format_quota(*to))
        }
        Change::Disable { reason, mail } => format!("mail {}: {reason}", mail.as_str()),
        Change::UpdatePolicy { from, to } => format!("mail {} -> {}", from.as_str(), to.as_str()),
        Change::Archive {
            disabled_since,
            reason,
        }
        | Change::Delete {
            disabled_since,
            reason,
        } => format!("disabled since {} ({reason})", date(*disabled_since)),
    }
}

fn date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}
