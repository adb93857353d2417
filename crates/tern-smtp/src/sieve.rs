//! Sieve at delivery (RFC 5228 and extensions), for LMTP and SMTP alike: each local account
//! with an active script gets its message where the script says.
//!
//! For every target account: the active script is compiled (cached by content hash),
//! executed against the message with an [`Environment`] built from the store (mailboxes,
//! the account's scripts for `include`), the directory (own addresses) and the gateway's
//! [`Verdict`] (spamtest, virustest), and its outcome becomes deliveries:
//! - `keep` → INBOX (Junk when the gateway said so) with the imap4flags flags;
//! - `fileinto` → that mailbox (created with `:create`, else INBOX when it does not exist);
//!   several → one copy in each, all in the one delivery commit;
//! - `discard` → nothing (the recipient's reply is still a success);
//! - `reject`/`ereject` → refused: LMTP answers that recipient `550 5.7.1 <reason>`; SMTP
//!   refuses the message when every recipient refused it, else accepts it and queues a
//!   rejection notice to the sender;
//! - `redirect` → a copy through the outbound queue, enqueued *before* local delivery, with
//!   `Delivered-To:` added; refused (and kept instead) when the message already went through
//!   this account or too many hops ([`MAX_HOPS`] `Delivered-To:`/`X-Loop:` fields);
//! - `vacation` → when [`tern_sieve::vacation_allowed`] and the store's once-per-period log
//!   agree, an RFC 3834 auto-reply from `<>`, queued after local delivery.
//!
//! ## Invariants
//! - The message is never lost: a script that does not compile, a run-time error (step or
//!   action limits), a store failure while planning, a redirect the queue refused, or a
//!   redirect with no queue configured each fall back to keeping the message in INBOX, with
//!   a warning in the log saying why.
//! - Accounts without an active script are delivered exactly as without Sieve.

use crate::envelope::BodyType;
use crate::queue::{Outbound, QueuedEnvelope, QueuedMessage, QueuedRecipient};
use crate::verdict::Verdict;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tern_directory::Account;
use tern_mail::{DeliveryError, KnownMailboxes, Mail, Recipient, Staged};
use tern_sieve::{Action, CompileError, Environment, Script, Vacation};
use tern_store::{AccountId, Appended, CreateMailbox, Flags, MailboxId, StoreError, Timestamp};

/// A message with this many `Delivered-To:` or `X-Loop:` fields is not redirected again.
pub const MAX_HOPS: usize = 8;
/// Compiled scripts kept; the cache is emptied when it grows past this.
const CACHE_ENTRIES: usize = 1024;
/// Largest generated message (vacation reply, rejection notice).
const MAX_GENERATED: u64 = 1024 * 1024;

/// The `Appended` reported for a target whose script discarded or refused the message: no
/// mailbox holds it, and the recipient still gets its final answer.
pub const NOT_STORED: Appended = Appended {
    mailbox: MailboxId(0),
    uidvalidity: 0,
    uid: 0,
    modseq: 0,
};

/// What delivery may let a script do (`[sieve]` in the config).
#[derive(Clone, Debug)]
pub struct SieveSettings {
    /// Run-time bounds (steps, actions, redirects, include depth...).
    pub limits: tern_sieve::Limits,
    /// Largest script compiled at delivery (ManageSieve refuses larger ones at upload).
    pub max_script_size: usize,
}

impl Default for SieveSettings {
    fn default() -> SieveSettings {
        SieveSettings {
            limits: tern_sieve::Limits::default(),
            max_script_size: 64 * 1024,
        }
    }
}

/// The Sieve runner of one front end: settings and the compiled-script cache.
pub struct SieveRunner {
    settings: SieveSettings,
    cache: Mutex<HashMap<[u8; 32], Result<Script, CompileError>>>,
}

/// The message and its envelope, as the front end knows them.
pub(crate) struct Delivery<'a> {
    pub id: &'a str,
    pub hostname: &'a str,
    pub staged: &'a Staged,
    pub received_at: Timestamp,
    /// Octets at the start of the blob that are the local `Return-Path:` field.
    pub return_path_len: u64,
    /// The reverse-path, "" for `<>`.
    pub from: &'a str,
    pub auth: Option<&'a str>,
    pub body: BodyType,
    pub smtputf8: bool,
    pub verdict: &'a Verdict,
    pub outbound: Option<&'a Arc<dyn Outbound>>,
    /// SMTP: whether refusing the whole message is possible (every recipient is local).
    /// `None` for LMTP, where each recipient has its own reply.
    pub smtp_can_refuse: Option<bool>,
}

/// The outcome for every target.
pub(crate) struct Delivered {
    /// One per target, as [`Mail::deliver`] answers (several copies of one account: the
    /// first success, else the first failure; a discard or refusal: [`NOT_STORED`]).
    pub results: Vec<Result<Appended, DeliveryError>>,
    /// Per target: the script refused the message with this reason (reject/ereject).
    pub rejected: Vec<Option<String>>,
    /// SMTP only: every target refused and refusing is possible: answer `550 5.7.1` this.
    pub refuse: Option<String>,
}

/// The message bytes, read from the blob store on first use (at most once per delivery).
#[derive(Default)]
struct LazyMessage {
    /// `Some(None)`: the read failed (logged once).
    read: Option<Option<tern_store::Blob>>,
}

impl LazyMessage {
    async fn get(&mut self, mail: &Mail, d: &Delivery<'_>) -> Option<tern_store::Blob> {
        if self.read.is_none() {
            self.read = Some(match mail.blobs.get(&d.staged.blob).await {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(id = %d.id, error = %e, "Sieve: cannot read the message");
                    None
                }
            });
        }
        self.read.clone().flatten()
    }

    /// The bytes if a script needed them.
    fn loaded(&self) -> Option<&tern_store::Blob> {
        self.read.as_ref().and_then(Option::as_ref)
    }
}

/// One account's plan.
#[derive(Default)]
struct Plan {
    copies: Vec<Recipient>,
    reject: Option<(String, bool)>,
    vacations: Vec<Vacation>,
}

impl SieveRunner {
    pub fn new(settings: SieveSettings) -> SieveRunner {
        SieveRunner {
            settings,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Delivers to every target (`to[i]` is the RCPT address that led to `targets[i]`):
    /// plans each account's script, then one delivery commit for every copy.
    pub(crate) async fn deliver(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        targets: &[Account],
        to: &[String],
    ) -> Delivered {
        // Read only for an account that has a script: most have none.
        let mut message = LazyMessage::default();
        let mut plans = Vec::with_capacity(targets.len());
        let mut known = KnownMailboxes::new();
        for (i, account) in targets.iter().enumerate() {
            let rcpt = to.get(i).map_or(account.name.as_str(), String::as_str);
            let plan = self
                .plan(mail, d, account, rcpt, &mut message, &mut known)
                .await;
            plans.push(plan.unwrap_or_else(|| keep_plan(account, d.verdict)));
        }
        let message = message.loaded();
        let all_refused = plans.iter().all(|p| p.reject.is_some());
        if d.smtp_can_refuse == Some(true) && all_refused {
            let reason = plans
                .iter()
                .find_map(|p| p.reject.as_ref().map(|r| r.0.clone()))
                .unwrap_or_default();
            return Delivered {
                results: targets.iter().map(|_| Ok(NOT_STORED)).collect(),
                rejected: plans
                    .iter()
                    .map(|p| p.reject.clone().map(|r| r.0))
                    .collect(),
                refuse: Some(reason),
            };
        }
        let mut copies = Vec::new();
        let mut owner = Vec::new();
        for (i, plan) in plans.iter_mut().enumerate() {
            for copy in plan.copies.drain(..) {
                copies.push(copy);
                owner.push(i);
            }
        }
        let stored = mail
            .deliver_known(d.staged, &copies, d.received_at, &known)
            .await;
        let mut results: Vec<Option<Result<Appended, DeliveryError>>> =
            targets.iter().map(|_| None).collect();
        for (i, result) in owner.into_iter().zip(stored) {
            let slot = &mut results[i];
            match (&slot, result) {
                (None, r) => *slot = Some(r),
                (Some(Err(_)), Ok(a)) => *slot = Some(Ok(a)),
                _ => {}
            }
        }
        let results: Vec<_> = results
            .into_iter()
            .map(|r| r.unwrap_or(Ok(NOT_STORED)))
            .collect();
        for (i, plan) in plans.iter().enumerate() {
            let delivered = results[i].is_ok();
            if let Some((reason, _)) = &plan.reject
                && d.smtp_can_refuse.is_some()
            {
                self.rejection_notice(mail, d, &targets[i], reason).await;
            }
            if delivered {
                for v in &plan.vacations {
                    self.vacation(mail, d, &targets[i], v, message).await;
                }
            }
        }
        Delivered {
            results,
            rejected: plans.into_iter().map(|p| p.reject.map(|r| r.0)).collect(),
            refuse: None,
        }
    }

    /// The account's plan, `None` when there is no active script (or it cannot be run: the
    /// reason is logged) and the message is simply kept. The script is read with the
    /// mailbox list (one store call); for an account without a script the list goes into
    /// `known` for the delivery. With a script it does not: `fileinto :create` may add a
    /// mailbox, so the delivery reads the list again.
    async fn plan(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        account: &Account,
        rcpt: &str,
        message: &mut LazyMessage,
        known: &mut KnownMailboxes,
    ) -> Option<Plan> {
        let id = match mail.delivery_account(account).await {
            Ok(id) => id,
            Err(e) => {
                warn_keep(d, account, &format!("store: {e}"));
                return None;
            }
        };
        let script = match mail.store.delivery_view(id).await {
            Ok(view) => {
                if view.script.is_none() {
                    known.insert(account.name.clone(), view.mailboxes);
                }
                Ok(view.script)
            }
            // E.g. the account was deleted since its id was remembered: the script alone,
            // as before; the delivery opens the account again.
            Err(_) => mail.store.active_sieve_script(id).await,
        };
        let script = match script {
            Ok(Some(s)) => s,
            Ok(None) => return None,
            Err(e) => {
                warn_keep(d, account, &format!("store: {e}"));
                return None;
            }
        };
        let compiled = match self.compiled(&script.content) {
            Ok(c) => c,
            Err(e) => {
                warn_keep(d, account, &format!("script {:?}: {e}", script.name));
                return None;
            }
        };
        let env = match SieveEnv::load(mail, id, account, d.verdict).await {
            Ok(env) => env,
            Err(e) => {
                warn_keep(d, account, &format!("store: {e}"));
                return None;
            }
        };
        let envelope = tern_sieve::Envelope {
            from: d.from.to_string(),
            to: rcpt.to_string(),
            auth: d.auth.map(str::to_string),
        };
        let Some(blob) = message.get(mail, d).await else {
            warn_keep(d, account, "cannot read the message");
            return None;
        };
        let limits = self.settings.limits.clone();
        let bytes = blob.clone();
        let run = tokio::task::spawn_blocking(move || {
            tern_sieve::execute(&compiled, (*bytes).as_ref(), &envelope, &env, &limits)
        })
        .await;
        let outcome = match run {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                warn_keep(d, account, &format!("script {:?}: {e}", script.name));
                return None;
            }
            Err(e) => {
                warn_keep(
                    d,
                    account,
                    &format!("script {:?} panicked: {e}", script.name),
                );
                return None;
            }
        };
        tracing::debug!(id = %d.id, account = %account.name, actions = ?outcome.actions,
            "Sieve outcome");
        Some(
            self.apply(mail, d, account, id, (*blob).as_ref(), outcome.actions)
                .await,
        )
    }

    /// Turns actions into copies, a refusal, redirects (enqueued now) and vacation replies.
    async fn apply(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        account: &Account,
        id: AccountId,
        message: &[u8],
        actions: Vec<Action>,
    ) -> Plan {
        let mut plan = Plan::default();
        let mut keep_flags: Option<Vec<String>> = None;
        for action in actions {
            match action {
                Action::Keep { flags } => keep_flags = Some(flags),
                Action::FileInto {
                    mailbox,
                    flags,
                    create,
                } => {
                    if create {
                        create_mailbox(mail, id, &mailbox, d, account).await;
                    }
                    add_copy(&mut plan.copies, account, Some(mailbox), &flags);
                }
                Action::Discard => {}
                Action::Reject { reason } => plan.reject = Some((reason, false)),
                Action::Ereject { reason } => plan.reject = Some((reason, true)),
                Action::Redirect { address } => {
                    if let Err(why) = self.redirect(d, account, &address, message).await {
                        warn_keep(d, account, &format!("redirect to <{address}>: {why}"));
                        keep_flags.get_or_insert_with(Vec::new);
                    }
                }
                Action::Vacation(v) => plan.vacations.push(v),
            }
        }
        if plan.reject.is_some() {
            plan.copies.clear();
            return plan;
        }
        if let Some(flags) = keep_flags {
            let mailbox = d.verdict.junk.then(|| "Junk".to_string());
            add_copy(&mut plan.copies, account, mailbox, &flags);
        }
        plan
    }

    /// Compiles `source`, or returns the cached result for the same content.
    fn compiled(&self, source: &str) -> Result<Script, CompileError> {
        let key: [u8; 32] = Sha256::digest(source.as_bytes()).into();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
        let options = tern_sieve::CompileOptions {
            max_script_size: self.settings.max_script_size,
            ..tern_sieve::CompileOptions::default()
        };
        let result = tern_sieve::compile_with(source, &options);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, result.clone());
        result
    }

    /// Enqueues a redirected copy (RFC 5228 §4.2): the original envelope sender, the blob
    /// as stored (without our `Return-Path:`), `Delivered-To:` added.
    async fn redirect(
        &self,
        d: &Delivery<'_>,
        account: &Account,
        address: &str,
        message: &[u8],
    ) -> Result<(), String> {
        let Some(outbound) = d.outbound else {
            return Err("no outbound queue configured".into());
        };
        let header = header_block(message);
        let hops = count_fields(header, "delivered-to") + count_fields(header, "x-loop");
        let own = primary_address(account);
        if hops >= MAX_HOPS {
            return Err(format!(
                "loop suspected ({hops} Delivered-To/X-Loop fields)"
            ));
        }
        if field_values(header, "delivered-to")
            .iter()
            .any(|v| v.trim().trim_matches(['<', '>']).eq_ignore_ascii_case(&own))
        {
            return Err(format!("loop: the message already went through <{own}>"));
        }
        let message = QueuedMessage {
            staged: d.staged.clone(),
            skip: d.return_path_len,
            prepend: format!("Delivered-To: {own}\r\n").into_bytes(),
            envelope: QueuedEnvelope {
                id: crate::trace::transaction_id(),
                from: d.from.to_string(),
                recipients: vec![QueuedRecipient {
                    address: address.to_string(),
                    notify: None,
                    orcpt: None,
                    home: false,
                }],
                body: d.body,
                smtputf8: d.smtputf8,
                ret: None,
                envid: None,
                authenticated: None,
            },
        };
        outbound.enqueue(message).await.map_err(|e| e.to_string())?;
        tracing::info!(id = %d.id, account = %account.name, to = %address, "Sieve redirect queued");
        Ok(())
    }

    /// Sends a vacation reply when RFC 5230's rules and the once-per-period log allow it.
    async fn vacation(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        account: &Account,
        v: &Vacation,
        message: Option<&tern_store::Blob>,
    ) {
        let Some(message) = message else { return };
        let message: &[u8] = (**message).as_ref();
        let envelope = tern_sieve::Envelope {
            from: d.from.to_string(),
            to: primary_address(account),
            auth: d.auth.map(str::to_string),
        };
        if let Err(why) = tern_sieve::vacation_allowed(message, &envelope, v, &account.addresses) {
            tracing::info!(id = %d.id, account = %account.name, reason = %why,
                "Sieve vacation: no reply");
            return;
        }
        let Some(outbound) = d.outbound else {
            tracing::warn!(id = %d.id, account = %account.name,
                "Sieve vacation: no outbound queue configured, no reply sent");
            return;
        };
        let id = match mail.store.account(&account.name, false).await {
            Ok(Some(id)) => id,
            _ => return,
        };
        match mail
            .store
            .vacation_check_and_record(id, &v.handle, &v.reply_to, v.period_seconds)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(id = %d.id, account = %account.name, to = %v.reply_to,
                    "Sieve vacation: already replied within the period");
                return;
            }
            Err(e) => {
                tracing::warn!(id = %d.id, error = %e, "Sieve vacation: store failed");
                return;
            }
        }
        let reply = crate::sieve_reply::vacation(d.hostname, account, v, message);
        self.send_generated(mail, d, outbound, &v.reply_to, reply, "vacation reply")
            .await;
    }

    /// SMTP with other recipients accepting: the sender learns of the refusal by mail.
    async fn rejection_notice(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        account: &Account,
        reason: &str,
    ) {
        if d.from.is_empty() {
            return;
        }
        let Some(outbound) = d.outbound else {
            tracing::warn!(id = %d.id, account = %account.name,
                "Sieve reject: no outbound queue configured, no notice sent");
            return;
        };
        let notice = crate::sieve_reply::rejection(d.hostname, account, d.from, reason);
        self.send_generated(mail, d, outbound, d.from, notice, "rejection notice")
            .await;
    }

    async fn send_generated(
        &self,
        mail: &Mail,
        d: &Delivery<'_>,
        outbound: &Arc<dyn Outbound>,
        to: &str,
        bytes: Vec<u8>,
        what: &str,
    ) {
        let staged = match mail.stage_bytes(&bytes, MAX_GENERATED).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(id = %d.id, error = %e, "Sieve: cannot stage the {what}");
                return;
            }
        };
        let message = QueuedMessage {
            staged,
            skip: 0,
            prepend: Vec::new(),
            envelope: QueuedEnvelope {
                id: crate::trace::transaction_id(),
                from: String::new(),
                recipients: vec![QueuedRecipient {
                    address: to.to_string(),
                    notify: None,
                    orcpt: None,
                    home: false,
                }],
                body: BodyType::EightBitMime,
                smtputf8: false,
                ret: None,
                envid: None,
                authenticated: None,
            },
        };
        match outbound.enqueue(message).await {
            Ok(()) => tracing::info!(id = %d.id, %to, "Sieve {what} queued"),
            Err(e) => tracing::warn!(id = %d.id, error = %e, "Sieve: cannot queue the {what}"),
        }
    }
}

/// What the running script sees of the world: loaded before it runs (it runs on a
/// blocking thread and cannot wait for the store).
struct SieveEnv {
    mailboxes: Vec<String>,
    scripts: HashMap<String, String>,
    verdict: Verdict,
    own: Vec<String>,
}

impl SieveEnv {
    async fn load(
        mail: &Mail,
        id: AccountId,
        account: &Account,
        verdict: &Verdict,
    ) -> Result<SieveEnv, StoreError> {
        let mailboxes = mail
            .store
            .mailboxes(id)
            .await?
            .into_iter()
            .map(|m| m.name)
            .collect();
        let mut scripts = HashMap::new();
        for info in mail.store.sieve_scripts(id).await? {
            if let Some(s) = mail.store.sieve_script(id, &info.name).await? {
                scripts.insert(s.name, s.content);
            }
        }
        Ok(SieveEnv {
            mailboxes,
            scripts,
            verdict: verdict.clone(),
            own: account.addresses.clone(),
        })
    }
}

impl Environment for SieveEnv {
    fn mailbox_exists(&self, name: &str) -> bool {
        self.mailboxes.iter().any(|m| same_mailbox(m, name))
    }

    /// Personal scripts are the account's own; there are no global scripts yet.
    fn include(&self, name: &str, global: bool) -> Option<String> {
        if global {
            return None;
        }
        self.scripts.get(name).cloned()
    }

    fn spamtest(&self) -> Option<u8> {
        self.verdict.spamtest
    }

    fn spam_percent(&self) -> Option<u8> {
        self.verdict.spam_percent
    }

    fn virustest(&self) -> Option<u8> {
        self.verdict.virustest
    }

    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::Local::now().fixed_offset()
    }

    fn own_addresses(&self) -> Vec<String> {
        self.own.clone()
    }
}

/// The RCPT address behind each target: `rcpts` gives each accepted RCPT's address and the
/// target indexes it expanded to; the first RCPT naming a target wins.
pub(crate) fn to_addresses<'a>(
    count: usize,
    rcpts: impl Iterator<Item = (&'a str, &'a [usize])>,
) -> Vec<String> {
    let mut to = vec![String::new(); count];
    for (address, targets) in rcpts {
        for &i in targets {
            if let Some(slot) = to.get_mut(i)
                && slot.is_empty()
            {
                *slot = address.to_string();
            }
        }
    }
    to
}

/// The LMTP reply for a recipient every one of whose targets the script refused.
pub(crate) fn rejection_reply(
    address: &str,
    targets: &[usize],
    rejected: &[Option<String>],
) -> Option<crate::reply::Reply> {
    let reasons: Vec<&str> = targets
        .iter()
        .map(|&i| rejected.get(i).and_then(|r| r.as_deref()))
        .collect::<Option<_>>()?;
    let reason = reasons.first()?;
    Some(crate::reply::Reply::new(
        550,
        [5, 7, 1],
        format!(
            "<{}> {}",
            crate::resolve::display(address),
            one_line(reason)
        ),
    ))
}

/// A refusal reason on one reply line.
pub(crate) fn one_line(reason: &str) -> String {
    let text: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "Message rejected by the recipient's filter".into()
    } else {
        text.chars().take(400).collect()
    }
}

fn keep_plan(account: &Account, verdict: &Verdict) -> Plan {
    let mut plan = Plan::default();
    add_copy(
        &mut plan.copies,
        account,
        verdict.junk.then(|| "Junk".to_string()),
        &[],
    );
    plan
}

/// Adds a copy unless the same mailbox already gets one (RFC 5228 §2.10.3: one message per
/// mailbox however often it is named).
fn add_copy(
    copies: &mut Vec<Recipient>,
    account: &Account,
    mailbox: Option<String>,
    flags: &[String],
) {
    let name = mailbox.as_deref().unwrap_or("INBOX");
    if copies
        .iter()
        .any(|c| same_mailbox(c.mailbox.as_deref().unwrap_or("INBOX"), name))
    {
        return;
    }
    copies.push(Recipient {
        account: account.clone(),
        mailbox,
        flags: Flags::from_names(flags.iter().map(String::as_str)),
    });
}

async fn create_mailbox(
    mail: &Mail,
    id: AccountId,
    name: &str,
    d: &Delivery<'_>,
    account: &Account,
) {
    let exists = mail
        .store
        .mailboxes(id)
        .await
        .map(|list| list.iter().any(|m| same_mailbox(&m.name, name)))
        .unwrap_or(false);
    if exists {
        return;
    }
    match mail
        .store
        .create_mailbox(id, name, CreateMailbox::default())
        .await
    {
        Ok(_) | Err(StoreError::MailboxExists) => {}
        Err(e) => tracing::warn!(id = %d.id, account = %account.name, mailbox = %name,
            error = %e, "Sieve fileinto :create failed; delivering to INBOX"),
    }
}

fn warn_keep(d: &Delivery<'_>, account: &Account, why: &str) {
    tracing::warn!(id = %d.id, account = %account.name, reason = %why,
        "Sieve failed; keeping the message in INBOX");
}

fn primary_address(account: &Account) -> String {
    account
        .addresses
        .first()
        .cloned()
        .unwrap_or_else(|| account.name.clone())
}

/// INBOX is case-insensitive; other names compare exactly.
fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// The header section of a message (through the blank line, or all of it).
pub(crate) fn header_block(message: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(message, b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| memchr::memmem::find(message, b"\n\n").map(|p| p + 1))
        .unwrap_or(message.len());
    &message[..end]
}

/// Unfolded values of every field named `name` (case-insensitive).
pub(crate) fn field_values(header: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(header);
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some(v) = current.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some(v) = current.take() {
            out.push(v);
        }
        if let Some((field, value)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            current = Some(value.trim().to_string());
        }
    }
    out.extend(current);
    out
}

fn count_fields(header: &[u8], name: &str) -> usize {
    field_values(header, name).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_unfolded_and_counted() {
        let m = b"Delivered-To: a@x.test\r\nSubject: hi\r\n there\r\nX-Loop: l\r\ndelivered-to: b@x.test\r\n\r\nDelivered-To: body@x\r\n";
        let h = header_block(m);
        assert_eq!(
            field_values(h, "delivered-to"),
            vec!["a@x.test", "b@x.test"]
        );
        assert_eq!(field_values(h, "subject"), vec!["hi there"]);
        assert_eq!(count_fields(h, "x-loop"), 1);
    }

    #[test]
    fn rcpt_addresses_per_target() {
        let a: &[usize] = &[0];
        let g: &[usize] = &[0, 1];
        let to = to_addresses(3, [("a@x", a), ("group@x", g)].into_iter());
        assert_eq!(to, vec!["a@x", "group@x", ""]);
    }

    #[test]
    fn lmtp_rejection_needs_every_target_refused() {
        let rejected = vec![Some("no thanks".to_string()), None, Some("x\r\ny".into())];
        let r = rejection_reply("a@x.test", &[0], &rejected).unwrap();
        assert_eq!(r.to_wire(), "550 5.7.1 <a@x.test> no thanks\r\n");
        assert!(rejection_reply("g@x.test", &[0, 1], &rejected).is_none());
        let r = rejection_reply("a@x.test", &[2], &rejected).unwrap();
        assert_eq!(r.to_wire(), "550 5.7.1 <a@x.test> x  y\r\n");
    }
}
