//! `[provision] interval`: `tern serve` runs the directory sync in the background, one run
//! at a time (the next starts one interval after the previous ended; the run lock keeps a
//! concurrent `tern provision` out), and logs each change.
use crate::config::Settings;
use tern_mail::Mail;
use tern_net::Shutdown;
use tern_provision::{Action, Observer, Outcome, ProvisionError, Report};

/// Logs each applied change.
struct Log;

impl Observer for Log {
    fn applied(&self, a: &Action, o: &Outcome) {
        let action = a.change.name();
        match o {
            Outcome::Done { archive } => tracing::info!(
                account = %a.account,
                action,
                change = ?a.change,
                archive = archive.as_deref().unwrap_or(""),
                "provision: {action} {}",
                a.account
            ),
            Outcome::Failed { error } => tracing::warn!(
                account = %a.account,
                action,
                %error,
                "provision: {action} {} failed",
                a.account
            ),
            Outcome::Planned => {}
        }
    }
}

/// Starts the periodic run if `[provision] interval` is set.
pub fn spawn(
    settings: &Settings,
    mail: Mail,
    mut shutdown: Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = settings.provision.interval?;
    let options = super::provision::options(settings, &Default::default());
    tracing::info!(
        interval = ?every,
        grace_seconds = options.policy.grace_secs,
        disabled_mail = options.policy.disabled_mail.as_str(),
        after_grace = options.policy.after_grace.as_str(),
        "provision: periodic directory sync"
    );
    Some(tokio::spawn(async move {
        while crate::serve::tick(every, &mut shutdown).await {
            match tern_provision::run(&mail, &options, &Log).await {
                Ok(report) => tracing::info!(
                    done = %Report::summary(&report.done),
                    failed = report.failed,
                    over_quota = report.over_quota.len(),
                    waiting = report.waiting.len(),
                    "provision: run finished"
                ),
                Err(ProvisionError::Busy(_)) => {
                    tracing::info!("provision: another run is in progress, this one skipped")
                }
                Err(e) => tracing::warn!(error = %e, "provision: run failed"),
            }
        }
    }))
}
