//! `tern import`: messages from files into one account, streamed.
//!
//! Each message streams into a blob ([`tern_mail::Stager`]) as it is read, so neither the
//! file nor a message is held in memory. Messages are committed in batches of
//! [`BATCH`]; a batch is one store commit. The account is opened as a login would open it
//! (default folders), folders are created as needed (special-use from their names).
use crate::mbox::{Event, MboxFormat, Splitter, from_line_date, status_flags};
use crate::names;
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::time::Instant;
use tern_directory::Account;
use tern_mail::{Mail, Stager};
use tern_store::{
    AccountId, AppendMode, CreateMailbox, Flags, MailboxId, NewMessage, StoreError, Timestamp,
};

/// Messages per commit.
pub const BATCH: usize = 200;
/// Largest message accepted from a file.
const MESSAGE_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub user: String,
    pub folders: u32,
    pub messages: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub errors: Vec<String>,
    pub seconds: f64,
}

impl ImportReport {
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}: {} folders, {} messages, {} bytes imported, {} skipped, {:.1}s\n",
            self.user, self.folders, self.messages, self.bytes, self.skipped, self.seconds
        );
        for e in &self.errors {
            s.push_str(&format!("  error: {e}\n"));
        }
        s
    }
}

/// Resolves the account and opens it (with default folders).
pub async fn open(mail: &Mail, address: &str) -> Result<(Account, AccountId), String> {
    let (account, _) = crate::target::account(mail, address)
        .await
        .map_err(|e| e.to_string())?;
    let id = mail
        .open_account(&account)
        .await
        .map_err(|e| e.to_string())?;
    Ok((account, id))
}

/// The mailbox of that name, created if missing (with `uidvalidity` if given, and the role
/// its name implies when no other folder has it).
pub async fn folder(
    mail: &Mail,
    account: AccountId,
    name: &str,
    uidvalidity: Option<u32>,
) -> Result<(MailboxId, bool), StoreError> {
    if let Some(mb) = crate::target::find(mail, account, name).await? {
        // A folder that never held mail (a default folder) takes the given UIDVALIDITY.
        if let Some(v) = uidvalidity
            && v != mb.uidvalidity
        {
            let status = mail.store.status(mb.id).await?;
            if status.messages == 0 && status.uidnext <= 1 {
                mail.store.delete_mailbox(mb.id).await?;
                let opts = CreateMailbox {
                    special_use: mb.special_use,
                    uidvalidity: Some(v),
                };
                let created = mail.store.create_mailbox(account, name, opts).await?;
                return Ok((created.id, true));
            }
        }
        return Ok((mb.id, mb.uidvalidity == uidvalidity.unwrap_or(0)));
    }
    let role = names::role_from_name(name);
    let taken = match role {
        Some(r) => mail
            .store
            .mailboxes(account)
            .await?
            .iter()
            .any(|m| m.special_use == Some(r)),
        None => false,
    };
    let opts = CreateMailbox {
        special_use: if taken { None } else { role },
        uidvalidity,
    };
    let mb = mail.store.create_mailbox(account, name, opts).await?;
    Ok((mb.id, true))
}

/// Collects messages and commits them in batches.
pub struct Batcher<'a> {
    mail: &'a Mail,
    pending: Vec<NewMessage>,
    pub report: ImportReport,
    started: Instant,
}

impl<'a> Batcher<'a> {
    pub fn new(mail: &'a Mail, user: &str) -> Batcher<'a> {
        Batcher {
            mail,
            pending: Vec::new(),
            report: ImportReport {
                user: user.to_string(),
                ..ImportReport::default()
            },
            started: Instant::now(),
        }
    }

    pub async fn stager(&self) -> Result<Stager, String> {
        self.mail
            .stager(MESSAGE_LIMIT)
            .await
            .map_err(|e| e.to_string())
    }

    /// Adds a finished message; commits when a batch is full.
    pub async fn add(
        &mut self,
        stager: Stager,
        mailbox: MailboxId,
        flags: Flags,
        internaldate: Timestamp,
        import_uid: Option<u32>,
        what: &str,
    ) {
        match stager.finish().await {
            Ok(staged) => self.pending.push(NewMessage {
                mailbox,
                blob: staged.blob,
                size: staged.size,
                flags,
                internaldate,
                meta: staged.meta,
                quota_bytes: None,
                import_uid,
                import_modseq: None,
                pop3_uidl: None,
            }),
            Err(e) => {
                self.report.skipped += 1;
                self.report.errors.push(format!("{what}: {e}"));
            }
        }
        if self.pending.len() >= BATCH {
            self.flush().await;
        }
    }

    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let sizes: Vec<u64> = batch.iter().map(|m| m.size).collect();
        match self.mail.store.append(batch, AppendMode::Independent).await {
            Ok(results) => {
                for (r, size) in results.into_iter().zip(sizes) {
                    match r {
                        Ok(_) => {
                            self.report.messages += 1;
                            self.report.bytes += size;
                        }
                        Err(e) => {
                            self.report.skipped += 1;
                            self.report.errors.push(e.to_string());
                        }
                    }
                }
            }
            Err(e) => {
                self.report.skipped += sizes.len() as u64;
                self.report.errors.push(format!("store: {e}"));
            }
        }
    }

    pub async fn done(mut self) -> ImportReport {
        self.flush().await;
        self.report.seconds = self.started.elapsed().as_secs_f64();
        self.report
    }
}

/// Header fields the mbox importer reads while a message streams by.
#[derive(Default)]
struct HeaderScan {
    done: bool,
    line: Vec<u8>,
    status: String,
    x_status: String,
    date: Option<i64>,
}

impl HeaderScan {
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if self.done {
                return;
            }
            self.line.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                let text = String::from_utf8_lossy(&line);
                let t = text.trim_end();
                if t.is_empty() {
                    self.done = true;
                } else if let Some((name, value)) = t.split_once(':') {
                    let value = value.trim();
                    match name.to_ascii_lowercase().as_str() {
                        "status" => self.status = value.to_string(),
                        "x-status" => self.x_status = value.to_string(),
                        "date" => {
                            self.date = chrono::DateTime::parse_from_rfc2822(value)
                                .ok()
                                .map(|d| d.timestamp())
                        }
                        _ => {}
                    }
                }
            } else if self.line.len() > 4096 {
                self.line.clear();
            }
        }
    }
}

/// Imports one mbox file into `folder_name` of the account.
pub async fn import_mbox(
    mail: &Mail,
    address: &str,
    path: &Path,
    folder_name: &str,
    format: MboxFormat,
) -> Result<ImportReport, String> {
    let (account, account_id) = open(mail, address).await?;
    let (mailbox, _) = folder(mail, account_id, folder_name, None)
        .await
        .map_err(|e| format!("{folder_name}: {e}"))?;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut batcher = Batcher::new(mail, &account.name);
    batcher.report.folders = 1;
    let mut splitter = Splitter::new(format);
    let mut buf = vec![0u8; 256 * 1024];
    // Current message: its stager, From_ date, header scan, and a write error if any.
    let mut current: Option<(Stager, Option<i64>, HeaderScan, Option<String>)> = None;
    let mut finished: Vec<(Stager, Option<i64>, HeaderScan, Option<String>)> = Vec::new();
    let mut number = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // Events are collected per chunk (the splitter's callback cannot await).
        let mut events: Vec<Ev> = Vec::new();
        let mut sink = |e: Event<'_>| events.push(Ev::from(e));
        if n == 0 {
            splitter.finish(&mut sink);
        } else {
            splitter.push(&buf[..n], &mut sink);
        }
        for ev in events {
            match ev {
                Ev::Begin(from) => {
                    if let Some(c) = current.take() {
                        finished.push(c);
                    }
                    let stager = batcher.stager().await?;
                    current = Some((stager, from_line_date(&from), HeaderScan::default(), None));
                }
                Ev::Data(d) => {
                    if let Some((stager, _, scan, err)) = current.as_mut() {
                        scan.feed(&d);
                        if err.is_none()
                            && let Err(e) = stager.write(&d).await
                        {
                            *err = Some(e.to_string());
                        }
                    }
                }
                Ev::End => {
                    if let Some(c) = current.take() {
                        finished.push(c);
                    }
                }
            }
            for (stager, from_date, scan, err) in finished.drain(..) {
                number += 1;
                let what = format!("{} message {number}", path.display());
                if let Some(e) = err {
                    batcher.report.skipped += 1;
                    batcher.report.errors.push(format!("{what}: {e}"));
                    continue;
                }
                let unix = from_date
                    .or(scan.date)
                    .unwrap_or_else(|| chrono::Utc::now().timestamp());
                let flags = status_flags(&scan.status, &scan.x_status);
                let date = Timestamp {
                    unix,
                    offset_minutes: 0,
                };
                batcher.add(stager, mailbox, flags, date, None, &what).await;
            }
        }
        if n == 0 {
            break;
        }
    }
    if splitter.skipped > 0 {
        batcher.report.errors.push(format!(
            "{}: {} bytes before the first From_ line skipped",
            path.display(),
            splitter.skipped
        ));
    }
    Ok(batcher.done().await)
}

/// An owned [`Event`].
enum Ev {
    Begin(Vec<u8>),
    Data(Vec<u8>),
    End,
}

impl From<Event<'_>> for Ev {
    fn from(e: Event<'_>) -> Ev {
        match e {
            Event::Begin(f) => Ev::Begin(f.to_vec()),
            Event::Data(d) => Ev::Data(d.into_owned()),
            Event::End => Ev::End,
        }
    }
}
