//! The executor: each planned action applied on its own (one failing does not stop the
//! others), several at once so the store's group commit shares fsyncs across accounts.
//!
//! What each action does to the store:
//! - `create`: [`Mail::open_account`] (the account and its default folders, once), then the
//!   record: active, with the directory's quota;
//! - `adopt`: the record only. The account exists already and its folders are its own: a
//!   login or delivery opened it with the default folders, or `tern migrate` is filling it
//!   (and adds the defaults the source lacks at its end), which new empty folders would
//!   disturb;
//! - `update-quota` / `reactivate`: the record (active, the new quota); quota is enforced
//!   from the directory at delivery, so the record is what changes;
//! - `disable` / `update-policy`: the record (disabled since now, the mail policy);
//! - `archive`: the Maildir++ export ([`crate::archive`]), then `delete`;
//! - `delete`: [`tern_store::MailStore::delete_account`] (messages, folders, scripts,
//!   metadata with the record; blobs are collected by the next garbage collection).
use crate::archive::{self, Subject};
use crate::plan::{Action, Change};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;
use std::path::Path;
use tern_directory::Account;
use tern_mail::Mail;
use tern_mail::account_state::{self, AccountState, ProvisionRecord};
use tern_store::AccountId;

/// Actions applied at once.
const CONCURRENCY: usize = 32;

/// What became of one action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// A dry run: not applied.
    Planned,
    Done {
        /// `archive`: where the archive was written.
        #[serde(skip_serializing_if = "Option::is_none")]
        archive: Option<String>,
    },
    Failed {
        error: String,
    },
}

/// Applies every action; outcomes in the actions' order. `on_done` is called as each one
/// finishes.
pub async fn apply_all(
    mail: &Mail,
    actions: &[Action],
    archive_dir: &Path,
    now: i64,
    on_done: &(dyn Fn(&Action, &Outcome) + Send + Sync),
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = vec![Outcome::Planned; actions.len()];
    // A hand-fed FuturesUnordered of a named async fn rather than `stream::iter().map(async
    // closure).buffer_unordered()`, whose closure types defeat `tokio::spawn`'s Send check.
    let mut todo = actions.iter().enumerate();
    let mut running = FuturesUnordered::new();
    for (i, a) in todo.by_ref().take(CONCURRENCY) {
        running.push(indexed(mail, i, a, archive_dir, now));
    }
    while let Some((i, outcome)) = running.next().await {
        on_done(&actions[i], &outcome);
        outcomes[i] = outcome;
        if let Some((i, a)) = todo.next() {
            running.push(indexed(mail, i, a, archive_dir, now));
        }
    }
    outcomes
}

async fn indexed(
    mail: &Mail,
    i: usize,
    action: &Action,
    archive_dir: &Path,
    now: i64,
) -> (usize, Outcome) {
    let outcome = match apply_one(mail, action, archive_dir, now).await {
        Ok(archive) => Outcome::Done { archive },
        Err(error) => Outcome::Failed { error },
    };
    (i, outcome)
}

/// Applies one action; `Some(path)` for an archive.
pub async fn apply_one(
    mail: &Mail,
    action: &Action,
    archive_dir: &Path,
    now: i64,
) -> Result<Option<String>, String> {
    let store = &*mail.store;
    let active = |quota| ProvisionRecord {
        state: AccountState::Active,
        quota,
        updated: now,
    };
    let err = |e: tern_store::StoreError| e.to_string();
    match &action.change {
        Change::Create { quota } => {
            let account = Account {
                name: action.account.clone(),
                addresses: vec![action.account.clone()],
                quota_bytes: *quota,
                enabled: true,
                ..Default::default()
            };
            let id = mail.open_account(&account).await.map_err(err)?;
            account_state::write(store, id, &active(*quota))
                .await
                .map_err(err)?;
        }
        Change::Adopt { quota }
        | Change::UpdateQuota { to: quota, .. }
        | Change::Reactivate { quota } => {
            account_state::write(store, id_of(action)?, &active(*quota))
                .await
                .map_err(err)?;
        }
        Change::Disable { reason, mail } => {
            let id = id_of(action)?;
            let quota = account_state::read(store, id)
                .await
                .map_err(err)?
                .and_then(|r| r.quota);
            let record = ProvisionRecord {
                state: AccountState::Disabled {
                    since: now,
                    mail: *mail,
                    reason: reason.clone(),
                },
                quota,
                updated: now,
            };
            account_state::write(store, id, &record)
                .await
                .map_err(err)?;
        }
        Change::UpdatePolicy { to, .. } => {
            let id = id_of(action)?;
            let mut record = account_state::read(store, id)
                .await
                .map_err(err)?
                .ok_or("no provisioning record any more")?;
            match &mut record.state {
                AccountState::Disabled { mail, .. } => *mail = *to,
                AccountState::Active => return Err("the account is active again".into()),
            }
            record.updated = now;
            account_state::write(store, id, &record)
                .await
                .map_err(err)?;
        }
        Change::Archive {
            disabled_since,
            reason,
        } => {
            let id = id_of(action)?;
            let subject = Subject {
                id,
                name: &action.account,
                disabled_since: *disabled_since,
                reason,
            };
            let done =
                archive::archive_account(store, &*mail.blobs, subject, archive_dir, now).await?;
            store.delete_account(id).await.map_err(err)?;
            return Ok(Some(done.path.display().to_string()));
        }
        Change::Delete { .. } => {
            store.delete_account(id_of(action)?).await.map_err(err)?;
        }
    }
    Ok(None)
}

fn id_of(action: &Action) -> Result<AccountId, String> {
    action
        .id
        .ok_or_else(|| format!("{}: no store account id", action.account))
}
