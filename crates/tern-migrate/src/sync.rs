//! The sync engine: one user's mailboxes from the source into Tern, incrementally.
//!
//! Per folder (see `state` for what is persisted):
//! 1. EXAMINE gives UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ. A folder whose UIDVALIDITY differs
//!    from the one it was copied under is re-copied into a new mailbox (the old one is
//!    deleted: its UIDs mean nothing any more, and clients resync it anyway).
//! 2. With CONDSTORE, a folder whose HIGHESTMODSEQ, UIDNEXT and message count are what the
//!    last complete pass ended at is skipped without further commands.
//! 3. UIDs the source has and `migrate.db` does not are copied in batches (bounded by count
//!    and octets), each batch one store commit, then one state commit. Into a mailbox created
//!    for the migration each message keeps its UID and MODSEQ, INBOX messages their POP3 UIDL.
//! 4. Flags of already copied messages are made equal to the source's (`CHANGEDSINCE` the
//!    last pass with CONDSTORE, else all), and with `--delete` messages the source expunged
//!    are expunged on Tern.
//!
//! The source always wins: before cutover nobody uses the Tern mailbox.
use crate::names::{self, Translated};
use crate::profile::{Profile, UidlFormat};
use crate::rate::RateLimiter;
use crate::report::{FolderReport, UserReport};
use crate::source::{Credentials, Endpoint, Source, SourceFolder};
use crate::state::{FolderState, State};
use crate::target;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tern_mail::Mail;
use tern_store::{
    AccountId, AppendMode, BlobId, FlagOp, FlagUpdate, Flags, MailboxId, NewMessage, SpecialUse,
};

/// Largest message accepted from the source.
const MESSAGE_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// Options of one `tern migrate` run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Expunge on Tern what the source expunged; delete folders the source deleted.
    pub delete: bool,
    /// Only report what would be copied.
    pub dry_run: bool,
    /// Messages per fetch and commit.
    pub batch: usize,
    /// Octets per fetch and commit (a batch ends at whichever limit comes first).
    pub batch_bytes: u64,
    /// Overrides the profile's POP3 UIDL format.
    pub uidl_format: Option<UidlFormat>,
    /// Overrides profile detection.
    pub profile: Option<Profile>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            delete: false,
            dry_run: false,
            batch: 100,
            batch_bytes: 32 * 1024 * 1024,
            uidl_format: None,
            profile: None,
        }
    }
}

/// What every job shares.
pub struct Context {
    pub mail: Mail,
    pub state: Arc<State>,
    pub endpoint: Endpoint,
    pub rate: Arc<RateLimiter>,
    pub options: Options,
}

/// Progress callbacks (the CLI draws bars with them on a terminal).
pub trait Progress: Send + Sync {
    /// `total` messages are about to be copied for `user` (summed over folders as found).
    fn add_total(&self, _user: &str, _total: u64) {}
    fn copied(&self, _user: &str, _messages: u64, _bytes: u64) {}
    fn folder(&self, _user: &str, _name: &str) {}
}

/// A progress sink that draws nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One user to migrate.
#[derive(Clone, Debug)]
pub struct Job {
    /// The Tern address.
    pub target: String,
    pub credentials: Credentials,
}

/// Source folder with everything decided about it.
pub(crate) struct Plan {
    pub(crate) folder: SourceFolder,
    pub(crate) target: Translated,
    pub(crate) role: Option<SpecialUse>,
}

/// Migrates one user; never panics on source or store errors: they land in the report.
pub async fn migrate_user(ctx: &Context, job: &Job, progress: &dyn Progress) -> UserReport {
    let started = Instant::now();
    let mut report = UserReport {
        user: job.target.clone(),
        source_user: job.credentials.source_user().to_string(),
        ..UserReport::default()
    };
    if let Err(e) = run_user(ctx, job, progress, &mut report).await {
        report.errors.push(e);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn run_user(
    ctx: &Context,
    job: &Job,
    progress: &dyn Progress,
    report: &mut UserReport,
) -> Result<(), String> {
    let (account, account_id) = target::account(&ctx.mail, &job.target)
        .await
        .map_err(|e| e.to_string())?;
    report.user = account.name.clone();
    let mut source = Source::connect(&ctx.endpoint, &job.credentials, ctx.options.profile)
        .await
        .map_err(|e| e.to_string())?;
    report.profile = format!("{:?}", source.profile).to_lowercase();
    let uidl = ctx.options.uidl_format.clone().or_else(|| {
        source
            .profile
            .default_uidl_format()
            .and_then(|f| UidlFormat::parse(f).ok())
    });
    let plans = plan_folders(&mut source, report).await?;
    let mut seen_sources = HashSet::new();
    for plan in &plans {
        seen_sources.insert(plan.folder.raw.clone());
        progress.folder(&account.name, &plan.target.name);
        let mut fs = FolderSync {
            ctx,
            source: &mut source,
            account: &account.name,
            account_id,
            plan,
            uidl: uidl.as_ref(),
            report,
            progress,
        };
        if let Err(e) = fs.run().await {
            let msg = format!("{} → {}: {e}", plan.folder.raw, plan.target.name);
            tracing::warn!(user = %account.name, "{msg}");
            report.errors.push(msg);
        }
    }
    if !ctx.options.dry_run {
        sync_subscriptions(ctx, &mut source, account_id, &plans, report).await?;
        if ctx.options.delete {
            delete_vanished(ctx, &account.name, &seen_sources, report).await?;
        }
        target::finish_provisioning(&ctx.mail, account_id)
            .await
            .map_err(|e| format!("default folders: {e}"))?;
    }
    source.logout().await;
    Ok(())
}

/// Lists, translates and assigns roles (LIST's special-use first, names second).
pub(crate) async fn plan_folders(
    source: &mut Source,
    report: &mut UserReport,
) -> Result<Vec<Plan>, String> {
    let folders = source.folders().await.map_err(|e| format!("LIST: {e}"))?;
    let delimiter = folders.iter().find_map(|f| f.delimiter);
    let prefix = names::personal_prefix(folders.iter().map(|f| f.raw.as_str()), delimiter);
    let mut plans: Vec<Plan> = Vec::new();
    let mut taken: HashMap<String, String> = HashMap::new();
    for f in folders.into_iter().filter(|f| f.selectable) {
        let t = names::translate(&f.raw, f.delimiter, &prefix, false);
        if let Some(note) = &t.note {
            report.notes.push(format!("{}: {note}", f.raw));
        }
        // Tern names compare exactly (INBOX is already spelled INBOX by `translate`).
        if let Some(first) = taken.get(&t.name) {
            report.errors.push(format!(
                "{} and {first} both become {:?} on Tern; {} skipped",
                f.raw, t.name, f.raw
            ));
            continue;
        }
        taken.insert(t.name.clone(), f.raw.clone());
        plans.push(Plan {
            role: f.special_use,
            folder: f,
            target: t,
        });
    }
    let announced: HashSet<SpecialUse> = plans.iter().filter_map(|p| p.role).collect();
    let mut guessed = HashSet::new();
    for p in plans.iter_mut().filter(|p| p.role.is_none()) {
        if let Some(role) = names::role_from_name(&p.target.name)
            && !announced.contains(&role)
            && guessed.insert(role)
        {
            p.role = Some(role);
        }
    }
    report.folders = plans.len() as u32;
    Ok(plans)
}

async fn sync_subscriptions(
    ctx: &Context,
    source: &mut Source,
    account: AccountId,
    plans: &[Plan],
    report: &mut UserReport,
) -> Result<(), String> {
    let subscribed = source
        .subscriptions()
        .await
        .map_err(|e| format!("LSUB: {e}"))?;
    let have: HashSet<String> = ctx
        .mail
        .store
        .subscriptions(account)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    for raw in subscribed {
        let name = match plans.iter().find(|p| p.folder.raw == raw) {
            Some(p) => p.target.name.clone(),
            None => {
                let delimiter = plans.iter().find_map(|p| p.folder.delimiter);
                let prefix =
                    names::personal_prefix(plans.iter().map(|p| p.folder.raw.as_str()), delimiter);
                names::translate(&raw, delimiter, &prefix, false).name
            }
        };
        if !have.contains(&name) {
            ctx.mail
                .store
                .set_subscribed(account, &name, true)
                .await
                .map_err(|e| format!("subscribe {name}: {e}"))?;
        }
    }
    let _ = report;
    Ok(())
}

/// `--delete`: folders migrated before that the source no longer has.
async fn delete_vanished(
    ctx: &Context,
    account: &str,
    seen: &HashSet<String>,
    report: &mut UserReport,
) -> Result<(), String> {
    let known = ctx.state.folders(account).map_err(|e| e.to_string())?;
    for (source_name, fs) in known {
        if seen.contains(&source_name) {
            continue;
        }
        let mailbox = MailboxId(fs.target_mailbox);
        if ctx.mail.store.mailbox(mailbox).await.is_ok() && fs.target_name != "INBOX" {
            ctx.mail
                .store
                .delete_mailbox(mailbox)
                .await
                .map_err(|e| format!("delete {}: {e}", fs.target_name))?;
            report
                .notes
                .push(format!("{}: deleted (gone on the source)", fs.target_name));
        }
        ctx.state.drop_folder(fs.id).map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct FolderSync<'a> {
    ctx: &'a Context,
    source: &'a mut Source,
    account: &'a str,
    account_id: AccountId,
    plan: &'a Plan,
    uidl: Option<&'a UidlFormat>,
    report: &'a mut UserReport,
    progress: &'a dyn Progress,
}

impl FolderSync<'_> {
    async fn run(&mut self) -> Result<(), String> {
        let raw = self.plan.folder.raw.clone();
        let status = self
            .source
            .examine(&raw)
            .await
            .map_err(|e| format!("EXAMINE: {e}"))?;
        let state = self.ctx.state.clone();
        let known = state
            .folder(self.account, &raw)
            .map_err(|e| e.to_string())?;
        if self.ctx.options.dry_run {
            return self.dry_run(known, status.uidvalidity).await;
        }
        let fs = self.open_target(known, status.uidvalidity).await?;
        let mailbox = MailboxId(fs.target_mailbox);
        let mut details = FolderReport {
            source: raw.clone(),
            target: fs.target_name.clone(),
            uidvalidity: status.uidvalidity,
            uids_preserved: fs.preserve_uids,
            special_use: self.plan.role.map(|r| r.attribute().to_string()),
            copied: 0,
        };
        let mapping: BTreeMap<u32, u32> = state
            .mapping(fs.id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        if self.source.condstore
            && status.highestmodseq > 0
            && fs.highestmodseq == status.highestmodseq
            && fs.uidnext == status.uidnext
            && mapping.len() as u32 == status.exists
        {
            self.report.unchanged_folders += 1;
            self.report.folder_details.push(details);
            return Ok(());
        }
        let source_uids = if status.exists == 0 {
            Vec::new()
        } else {
            self.source
                .uids()
                .await
                .map_err(|e| format!("UID SEARCH: {e}"))?
        };
        let new: Vec<u32> = source_uids
            .iter()
            .copied()
            .filter(|u| !mapping.contains_key(u))
            .collect();
        self.progress.add_total(self.account, new.len() as u64);
        let copied = self.copy(&fs, mailbox, status.uidvalidity, &new).await?;
        details.copied = copied;
        // Flags of messages copied in earlier runs.
        if !mapping.is_empty() {
            let since = (self.source.condstore && fs.highestmodseq > 0).then_some(fs.highestmodseq);
            let flags = self
                .source
                .flags(since)
                .await
                .map_err(|e| format!("FETCH FLAGS: {e}"))?;
            self.sync_flags(mailbox, &mapping, flags).await?;
        }
        // Expunges.
        let present: HashSet<u32> = source_uids.iter().copied().collect();
        let gone: Vec<(u32, u32)> = mapping
            .iter()
            .filter(|(s, _)| !present.contains(s))
            .map(|(s, t)| (*s, *t))
            .collect();
        if !gone.is_empty() {
            if self.ctx.options.delete {
                let target_uids: Vec<u32> = gone.iter().map(|(_, t)| *t).collect();
                let (removed, _) = self
                    .ctx
                    .mail
                    .store
                    .expunge(mailbox, &target_uids)
                    .await
                    .map_err(|e| format!("expunge: {e}"))?;
                self.report.expunged += removed.len() as u64;
                let source_gone: Vec<u32> = gone.iter().map(|(s, _)| *s).collect();
                state
                    .forget(fs.id, &source_gone)
                    .map_err(|e| e.to_string())?;
            } else {
                self.report.gone_on_source += gone.len() as u64;
            }
        }
        state
            .finish_pass(fs.id, status.uidnext, status.highestmodseq)
            .map_err(|e| e.to_string())?;
        self.report.folder_details.push(details);
        Ok(())
    }

    async fn dry_run(
        &mut self,
        known: Option<FolderState>,
        uidvalidity: u32,
    ) -> Result<(), String> {
        let uids = self.source.uids().await.map_err(|e| e.to_string())?;
        let already: HashSet<u32> = match &known {
            Some(fs) if fs.source_uidvalidity == uidvalidity => self
                .ctx
                .state
                .mapping(fs.id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
            _ => HashSet::new(),
        };
        let todo = uids.iter().filter(|u| !already.contains(u)).count() as u64;
        self.report.messages += todo;
        self.report.folder_details.push(FolderReport {
            source: self.plan.folder.raw.clone(),
            target: self.plan.target.name.clone(),
            uidvalidity,
            uids_preserved: known.is_none_or(|k| k.preserve_uids),
            special_use: self.plan.role.map(|r| r.attribute().to_string()),
            copied: todo,
        });
        Ok(())
    }

    /// The folder's state and Tern mailbox, created or re-created as the source demands.
    async fn open_target(
        &mut self,
        known: Option<FolderState>,
        uidvalidity: u32,
    ) -> Result<FolderState, String> {
        let store = &self.ctx.mail.store;
        let name = &self.plan.target.name;
        if let Some(fs) = known {
            let alive = store
                .mailbox(MailboxId(fs.target_mailbox))
                .await
                .ok()
                .filter(|m| m.account == self.account_id);
            match alive {
                Some(mb) if fs.source_uidvalidity == uidvalidity => {
                    target::assign_role(&self.ctx.mail, self.account_id, &mb, self.plan.role)
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(fs);
                }
                Some(mb) => {
                    self.report.uidvalidity_resets += 1;
                    self.report.notes.push(format!(
                        "{name}: source UIDVALIDITY changed {} → {uidvalidity}; re-copied into a new mailbox",
                        fs.source_uidvalidity
                    ));
                    if mb.name == "INBOX" {
                        // INBOX cannot be deleted: empty it and recreate below.
                        let (_, recs) = store.messages(mb.id).await.map_err(|e| e.to_string())?;
                        let uids: Vec<u32> = recs.iter().map(|r| r.uid).collect();
                        store
                            .expunge(mb.id, &uids)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    store
                        .delete_mailbox(mb.id)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.ctx
                        .state
                        .drop_folder(fs.id)
                        .map_err(|e| e.to_string())?;
                }
                None => {
                    self.ctx
                        .state
                        .drop_folder(fs.id)
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        let (mb, preserve) = target::prepare_mailbox(
            &self.ctx.mail,
            self.account_id,
            name,
            uidvalidity,
            self.plan.role,
            true,
        )
        .await
        .map_err(|e| format!("create {name}: {e}"))?;
        if !preserve {
            self.report.notes.push(format!(
                "{name}: the Tern folder already held mail (UIDVALIDITY {}); messages get new UIDs there",
                mb.uidvalidity
            ));
        }
        self.ctx
            .state
            .begin_folder(
                self.account,
                &self.plan.folder.raw,
                &mb.name,
                mb.id.0,
                uidvalidity,
                preserve,
            )
            .map_err(|e| e.to_string())
    }

    /// Copies the given source UIDs; returns how many were copied.
    async fn copy(
        &mut self,
        fs: &FolderState,
        mailbox: MailboxId,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<u64, String> {
        if uids.is_empty() {
            return Ok(0);
        }
        let store = self.ctx.mail.store.clone();
        // Messages already in Tern but not recorded (a crash between the two commits), by
        // content, and the UIDs Tern holds.
        let (status, records) = store.messages(mailbox).await.map_err(|e| e.to_string())?;
        let mapped: HashSet<u32> = self
            .ctx
            .state
            .mapping(fs.id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        let mut orphans: HashMap<BlobId, Vec<u32>> = HashMap::new();
        for r in records.iter().filter(|r| !mapped.contains(&r.uid)) {
            orphans.entry(r.blob).or_default().push(r.uid);
        }
        let live: HashSet<u32> = records.iter().map(|r| r.uid).collect();
        let mut uidnext = status.uidnext;
        let is_inbox = fs.target_name == "INBOX";
        let sizes = self.source_sizes(uids).await?;
        let mut copied = 0u64;
        for batch in batches(
            uids,
            &sizes,
            self.ctx.options.batch,
            self.ctx.options.batch_bytes,
        ) {
            let messages = self
                .source
                .fetch(&batch)
                .await
                .map_err(|e| format!("FETCH: {e}"))?;
            let mut pairs = Vec::new();
            let mut news = Vec::new();
            let mut news_uids = Vec::new();
            // UIDs are decided in order; the blobs are then written (and fsync'd)
            // concurrently, and the batch committed once.
            let mut todo = Vec::with_capacity(messages.len());
            for m in messages {
                self.ctx.rate.acquire().await;
                let blob = BlobId(Sha256::digest(&m.body).into());
                if let Some(list) = orphans.get_mut(&blob)
                    && let Some(pos) = list.iter().position(|t| !fs.preserve_uids || *t == m.uid)
                {
                    pairs.push((m.uid, list.remove(pos)));
                    continue;
                }
                // A source UID that Tern already uses for another message (mail delivered to
                // Tern after a cutover that was rolled back, while the source gave the same
                // UID to new mail): copying would leave one UID naming two messages under
                // one UIDVALIDITY for the clients that know both. Stop; nothing is served
                // from this folder until an operator resolves it.
                if fs.preserve_uids && m.uid < uidnext && live.contains(&m.uid) {
                    return Err(format!(
                        "{}: source UID {} is already a different message on Tern (mail \
                         delivered to Tern after a rolled-back cutover?); not copied",
                        fs.target_name, m.uid
                    ));
                }
                let import_uid = (fs.preserve_uids && m.uid >= uidnext).then_some(m.uid);
                uidnext = import_uid.map_or(uidnext + 1, |u| u + 1);
                // The source's own UIDL (from its UIDVALIDITY and UID), whatever UID the
                // message gets here: that is what POP3 clients remember.
                let uidl = if is_inbox {
                    self.uidl.map(|f| f.render(uidvalidity, m.uid))
                } else {
                    None
                };
                todo.push((m, import_uid, uidl));
            }
            let mail = &self.ctx.mail;
            let staged = futures_util::future::join_all(
                todo.iter()
                    .map(|(m, _, _)| mail.stage_bytes(&m.body, MESSAGE_LIMIT)),
            )
            .await;
            for ((m, import_uid, pop3_uidl), st) in todo.into_iter().zip(staged) {
                match st {
                    Ok(staged) => {
                        news_uids.push(m.uid);
                        news.push(NewMessage {
                            mailbox,
                            blob: staged.blob,
                            size: staged.size,
                            flags: m.flags.clone(),
                            internaldate: m.internaldate,
                            meta: staged.meta,
                            quota_bytes: None,
                            import_uid,
                            import_modseq: if fs.preserve_uids { m.modseq } else { None },
                            pop3_uidl,
                        });
                    }
                    Err(e) => {
                        self.report.skipped += 1;
                        self.report
                            .errors
                            .push(format!("{} UID {}: {e}", fs.target_name, m.uid));
                    }
                }
            }
            let sizes: Vec<u64> = news.iter().map(|n| n.size).collect();
            if !news.is_empty() {
                let results = store
                    .append(news, AppendMode::Independent)
                    .await
                    .map_err(|e| format!("store: {e}"))?;
                for ((src, res), size) in news_uids.iter().zip(results).zip(sizes) {
                    match res {
                        Ok(a) => {
                            pairs.push((*src, a.uid));
                            copied += 1;
                            self.report.messages += 1;
                            self.report.bytes += size;
                            self.progress.copied(self.account, 1, size);
                        }
                        Err(e) => {
                            self.report.skipped += 1;
                            self.report
                                .errors
                                .push(format!("{} UID {src}: {e}", fs.target_name));
                        }
                    }
                }
            }
            let last = batch.iter().copied().max().unwrap_or(0);
            self.ctx
                .state
                .record_batch(fs.id, &pairs, last)
                .map_err(|e| e.to_string())?;
        }
        Ok(copied)
    }

    async fn source_sizes(&mut self, uids: &[u32]) -> Result<HashMap<u32, u64>, String> {
        // One cheap pass (UID RFC822.SIZE) so that batches are bounded in octets too.
        let flags = self
            .source
            .sizes(uids)
            .await
            .map_err(|e| format!("FETCH SIZE: {e}"))?;
        Ok(flags.into_iter().collect())
    }

    async fn sync_flags(
        &mut self,
        mailbox: MailboxId,
        mapping: &BTreeMap<u32, u32>,
        source_flags: Vec<(u32, Flags, Option<u64>)>,
    ) -> Result<(), String> {
        let store = &self.ctx.mail.store;
        let (_, records) = store.messages(mailbox).await.map_err(|e| e.to_string())?;
        let current: HashMap<u32, &Flags> = records.iter().map(|r| (r.uid, &r.flags)).collect();
        let mut groups: HashMap<Flags, Vec<u32>> = HashMap::new();
        for (src, flags, _) in source_flags {
            let Some(t) = mapping.get(&src) else { continue };
            if let Some(cur) = current.get(t)
                && **cur != flags
            {
                groups.entry(flags).or_default().push(*t);
            }
        }
        for (flags, uids) in groups {
            let n = uids.len() as u64;
            store
                .store_flags(
                    mailbox,
                    FlagUpdate {
                        uids,
                        op: FlagOp::Replace,
                        flags,
                        unchanged_since: None,
                    },
                )
                .await
                .map_err(|e| format!("flags: {e}"))?;
            self.report.flags_updated += n;
        }
        Ok(())
    }
}

/// Splits UIDs into fetch batches of at most `count` messages and about `bytes` octets
/// (a single larger message is a batch of its own).
pub fn batches(uids: &[u32], sizes: &HashMap<u32, u64>, count: usize, bytes: u64) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut cur_bytes = 0u64;
    for &u in uids {
        let size = sizes.get(&u).copied().unwrap_or(0);
        if !cur.is_empty() && (cur.len() >= count.max(1) || cur_bytes + size > bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(u);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batching() {
        let sizes: HashMap<u32, u64> = [(1, 10), (2, 10), (3, 100), (4, 1), (5, 1)].into();
        assert_eq!(
            batches(&[1, 2, 3, 4, 5], &sizes, 2, 50),
            vec![vec![1, 2], vec![3], vec![4, 5]]
        );
        assert_eq!(batches(&[], &sizes, 2, 50), Vec::<Vec<u32>>::new());
    }
}
