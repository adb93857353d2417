//! `tern migrate verify`: source and Tern compared folder by folder.
//!
//! For every source folder: the Tern mailbox exists, UIDVALIDITY matches (where UIDs were
//! preserved), every source UID has its message (through `migrate.db`'s mapping, or the same
//! UID when the state has none), and each pair has the same flags, INTERNALDATE and bytes —
//! SHA-256 of the source's `BODY.PEEK[]` against SHA-256 of the stored blob, re-read. Tern
//! messages with no source counterpart are reported too. Read-only on both sides.
use crate::report::UserReport;
use crate::source::Source;
use crate::sync::{Context, Job, batches, plan_folders};
use crate::target;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use tern_store::{Flags, MessageRecord};

#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub user: String,
    pub folders: u32,
    pub messages: u64,
    /// One line per difference, `FOLDER: what`.
    pub differences: Vec<String>,
    pub errors: Vec<String>,
    pub seconds: f64,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.differences.is_empty() && self.errors.is_empty()
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "{}: {} folders, {} messages compared, {} differences{}\n",
            self.user,
            self.folders,
            self.messages,
            self.differences.len(),
            if self.errors.is_empty() {
                ""
            } else {
                ", errors"
            }
        );
        for d in &self.differences {
            s.push_str(&format!("  differs: {d}\n"));
        }
        for e in &self.errors {
            s.push_str(&format!("  error: {e}\n"));
        }
        s
    }
}

pub async fn verify_user(ctx: &Context, job: &Job) -> VerifyReport {
    let started = Instant::now();
    let mut report = VerifyReport {
        user: job.target.clone(),
        ..VerifyReport::default()
    };
    if let Err(e) = run(ctx, job, &mut report).await {
        report.errors.push(e);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn flag_text(f: &Flags) -> String {
    format!("({})", f.names().collect::<Vec<_>>().join(" "))
}

async fn run(ctx: &Context, job: &Job, report: &mut VerifyReport) -> Result<(), String> {
    let (account, account_id) = target::account(&ctx.mail, &job.target)
        .await
        .map_err(|e| e.to_string())?;
    report.user = account.name.clone();
    let mut source = Source::connect(&ctx.endpoint, &job.credentials, ctx.options.profile)
        .await
        .map_err(|e| e.to_string())?;
    let mut scratch = UserReport::default();
    let plans = plan_folders(&mut source, &mut scratch).await?;
    report.errors.extend(scratch.errors);
    report.folders = plans.len() as u32;
    let store = ctx.mail.store.clone();
    for plan in &plans {
        let folder = plan.target.name.clone();
        let diff = |what: String| format!("{folder}: {what}");
        let status = source
            .examine(&plan.folder.raw)
            .await
            .map_err(|e| format!("EXAMINE {}: {e}", plan.folder.raw))?;
        let state = ctx
            .state
            .folder(&account.name, &plan.folder.raw)
            .map_err(|e| e.to_string())?;
        let mailbox = match &state {
            Some(fs) => store
                .mailbox(tern_store::MailboxId(fs.target_mailbox))
                .await
                .ok(),
            None => target::find(&ctx.mail, account_id, &folder)
                .await
                .map_err(|e| e.to_string())?,
        };
        let Some(mailbox) = mailbox else {
            report.differences.push(diff("missing on Tern".to_string()));
            continue;
        };
        let preserved = state.as_ref().is_none_or(|s| s.preserve_uids);
        if preserved && mailbox.uidvalidity != status.uidvalidity {
            report.differences.push(diff(format!(
                "UIDVALIDITY source {} Tern {}",
                status.uidvalidity, mailbox.uidvalidity
            )));
        }
        if let Some(role) = plan.role
            && mailbox.special_use != Some(role)
        {
            report.differences.push(diff(format!(
                "special-use source {} Tern {}",
                role.attribute(),
                mailbox.special_use.map_or("none", |r| r.attribute())
            )));
        }
        let mapping: BTreeMap<u32, u32> = match &state {
            Some(fs) if fs.source_uidvalidity == status.uidvalidity => ctx
                .state
                .mapping(fs.id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .collect(),
            _ => BTreeMap::new(),
        };
        let use_identity = state.is_none();
        let (_, records) = store
            .messages(mailbox.id)
            .await
            .map_err(|e| e.to_string())?;
        let mut tern: HashMap<u32, &MessageRecord> = records.iter().map(|r| (r.uid, r)).collect();
        let uids = if status.exists == 0 {
            Vec::new()
        } else {
            source.uids().await.map_err(|e| e.to_string())?
        };
        if uids.len() != records.len() {
            report.differences.push(diff(format!(
                "{} messages on the source, {} on Tern",
                uids.len(),
                records.len()
            )));
        }
        let sizes: HashMap<u32, u64> = source
            .sizes(&uids)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        for batch in batches(&uids, &sizes, ctx.options.batch, ctx.options.batch_bytes) {
            let messages = source.fetch(&batch).await.map_err(|e| e.to_string())?;
            for m in messages {
                report.messages += 1;
                let target_uid = if use_identity {
                    Some(m.uid)
                } else {
                    mapping.get(&m.uid).copied()
                };
                let Some(rec) = target_uid.and_then(|t| tern.remove(&t)) else {
                    report
                        .differences
                        .push(diff(format!("UID {}: missing on Tern", m.uid)));
                    continue;
                };
                let label = if rec.uid == m.uid {
                    format!("UID {}", m.uid)
                } else {
                    format!("UID {} (Tern UID {})", m.uid, rec.uid)
                };
                if preserved && rec.uid != m.uid {
                    report
                        .differences
                        .push(diff(format!("{label}: UID not preserved")));
                }
                if rec.flags != m.flags {
                    report.differences.push(diff(format!(
                        "{label}: flags source {} Tern {}",
                        flag_text(&m.flags),
                        flag_text(&rec.flags)
                    )));
                }
                if rec.internaldate.unix != m.internaldate.unix {
                    report.differences.push(diff(format!(
                        "{label}: INTERNALDATE source {} Tern {}",
                        m.internaldate.unix, rec.internaldate.unix
                    )));
                }
                let source_hash: [u8; 32] = Sha256::digest(&m.body).into();
                let stored_hash: Option<[u8; 32]> = match ctx.mail.blobs.get(&rec.blob).await {
                    Ok(b) => Some(Sha256::digest((*b).as_ref()).into()),
                    Err(_) => None,
                };
                match stored_hash {
                    None => report
                        .differences
                        .push(diff(format!("{label}: blob {} unreadable", rec.blob))),
                    Some(h) if h != source_hash => report.differences.push(diff(format!(
                        "{label}: content differs (sha256 source {} Tern {})",
                        hex::encode(source_hash),
                        hex::encode(h)
                    ))),
                    Some(_) => {}
                }
            }
        }
        let mut extra: Vec<u32> = tern.keys().copied().collect();
        extra.sort_unstable();
        for uid in extra {
            report
                .differences
                .push(diff(format!("Tern UID {uid}: not on the source")));
        }
    }
    source.logout().await;
    Ok(())
}
