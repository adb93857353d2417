//! # tern-queue: the outbound queue
//!
//! Implements [`tern_smtp::Outbound`]: submission (and Sieve redirects/vacation) hand it
//! messages for remote recipients; it stores them durably, delivers them by MX (or through a
//! smarthost) with its own SMTP client, retries with exponential backoff up to a lifetime,
//! and reports to the sender with RFC 3464 DSNs.
//!
//! # Layout
//! - [`db`]: `data_dir/queue.db` (SQLite, WAL, `synchronous=FULL`): messages and per-recipient
//!   state (pending/sent/failed, attempts, next attempt, last reply).
//! - [`spool`]: `data_dir/queue/ID`, a hard link to (or copy of) the message's blob, so the
//!   blob store's garbage collection cannot take a queued message's bytes.
//! - [`dns`]: MX / implicit MX / null MX, A/AAAA (hickory).
//! - [`client`]: the SMTP client (hand-written; reply parser fuzzed).
//! - [`sts`]: MTA-STS (RFC 8461): policy discovery, the policy cache, enforcement per MX.
//! - [`dane`]: DANE for SMTP (RFC 7672): TLSA lookups through a trusted validating
//!   resolver's AD bit, the certificate matcher, delivery to DANE-protected MX hosts.
//! - [`attempt`]: one session to one destination for a message's due recipients.
//! - [`report`]: DSNs (failed, delayed, relayed) to the sender: local senders get them in
//!   their INBOX, remote ones through this queue.
//! - [`dsn`]: the DSN message format.
//! - [`worker`]: the scheduler: due entries, concurrency per destination and in total,
//!   graceful shutdown.
//!
//! ## Invariants
//! - `enqueue` returns `Ok` only after the spool file and then the queue row are durable:
//!   a `250` the client saw survives `kill -9` and power loss.
//! - A recipient is marked `sent` in a commit right after the server's `250` to the message
//!   content; a crash between the two is the only way a message is sent twice (SMTP's own
//!   at-least-once window).
//! - No DSN for a message from the null sender, and a DSN is itself sent from `<>`.
//! - One `tern serve` process works a queue at a time; `tern queue` (another process) only
//!   reads it, reschedules and deletes entries.
#![forbid(unsafe_code)]

pub mod attempt;
pub mod client;
pub mod config;
pub mod dane;
pub mod db;
pub mod dns;
pub mod dsn;
pub mod home;
pub mod report;
pub mod spool;
pub mod sts;
pub mod worker;

pub use config::{QueueConfig, Smarthost, SmarthostTls};
pub use db::{MessageRow, QueueDb, RcptState, RecipientRow};

use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tern_mail::Mail;
use tern_smtp::envelope::{BodyType, DsnRet, Notify};
use tern_smtp::{Outbound, QueueError, QueuedMessage};
use tern_store::BlobId;
use tokio::sync::Semaphore;

/// How long one DNS query for DANE waits for each name server.
const DANE_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The destination key of recipients delivered wherever their home is (migration mode).
pub const HOME_DOMAIN: &str = "[home]";

/// Gives the path of a blob's file when the blob store keeps blobs as files (for the spool's
/// hard link); `None`: copy the bytes. Called on the blocking pool: it may `stat`.
pub type BlobPath = Arc<dyn Fn(&BlobId) -> Option<PathBuf> + Send + Sync>;

/// Why the queue could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("queue database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("queue spool: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// The queue's shared state.
pub struct Inner {
    pub config: QueueConfig,
    pub db: QueueDb,
    pub spool: spool::Spool,
    pub mail: Mail,
    pub dns: dns::Dns,
    blob_path: Option<BlobPath>,
    pub opportunistic: Arc<rustls::ClientConfig>,
    pub smarthost_tls: Option<Arc<rustls::ClientConfig>>,
    /// MTA-STS (`None`: `[outbound] mta_sts = false`).
    pub sts: Option<sts::Sts>,
    /// Messages an attempt is working on (never two tasks on one message).
    in_flight: Mutex<HashSet<String>>,
    per_destination: Mutex<HashMap<String, Arc<Semaphore>>>,
    total: Arc<Semaphore>,
    /// Wakes the worker when something was enqueued.
    wake: tokio::sync::Notify,
}

/// The outbound queue (cheap to clone).
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

impl Queue {
    /// Opens `data_dir/queue.db` and `data_dir/queue/`, removing spool files left without a
    /// row by a crash. Call before the server accepts mail.
    pub fn open(
        config: QueueConfig,
        mail: Mail,
        blob_path: Option<BlobPath>,
    ) -> Result<Queue, OpenError> {
        let db = QueueDb::open(&config.db_path())?;
        let spool = spool::Spool::open(config.spool_dir())?;
        let keep: HashSet<String> = db.ids()?.into_iter().collect();
        let swept = spool.sweep(&keep)?;
        if swept > 0 {
            tracing::info!(swept, "queue: removed spool files without a queue entry");
        }
        let mut dns = dns::Dns::new(&config.nameservers).map_err(OpenError::Config)?;
        if config.dane {
            if config.nameservers.is_empty() {
                return Err(OpenError::Config(
                    "outbound.dane needs [dns] nameservers: the resolvers trusted to validate DNSSEC"
                        .into(),
                ));
            }
            dns = dns.with_dnssec(&config.nameservers, DANE_QUERY_TIMEOUT);
        }
        let smarthost_tls = match &config.smarthost {
            Some(sh) if sh.tls != SmarthostTls::None => {
                Some(client::tls::verified(sh.ca_file.as_deref()).map_err(OpenError::Config)?)
            }
            _ => None,
        };
        let sts = if config.mta_sts {
            let roots =
                client::tls::roots(config.tls_ca_file.as_deref()).map_err(OpenError::Config)?;
            Some(
                sts::Sts::new(db.clone(), dns.clone(), roots, config.connect_timeout)
                    .map_err(OpenError::Config)?,
            )
        } else {
            None
        };
        let total = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Queue {
            inner: Arc::new(Inner {
                config,
                db,
                spool,
                mail,
                dns,
                blob_path,
                opportunistic: client::tls::opportunistic(),
                smarthost_tls,
                sts,
                in_flight: Mutex::new(HashSet::new()),
                per_destination: Mutex::new(HashMap::new()),
                total,
                wake: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Starts the delivery worker; it stops when `shutdown` fires (attempts in progress
    /// get `grace` to finish).
    pub fn spawn(
        &self,
        shutdown: tern_net::Shutdown,
        grace: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(worker::run(self.inner.clone(), shutdown, grace))
    }

    pub fn db(&self) -> &QueueDb {
        &self.inner.db
    }
}

#[async_trait]
impl Outbound for Queue {
    async fn enqueue(&self, message: QueuedMessage) -> Result<(), QueueError> {
        let id = enqueue(&self.inner, message).await?;
        tracing::info!(%id, "queue: message queued");
        Ok(())
    }

    async fn delivered(&self, report: tern_smtp::DeliveredReport) -> Result<(), QueueError> {
        report::delivered(&self.inner, report)
            .await
            .map_err(QueueError::Backend)
    }
}

/// A new queue id: milliseconds since the epoch and 32 random bits, in hex (sorts by time).
fn new_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{ms:011x}{:08x}", rand::random::<u32>())
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3461 NOTIFY as stored (and sent on): `NEVER` or a comma list.
pub fn notify_text(n: &Notify) -> String {
    if n.never {
        return "NEVER".into();
    }
    let mut parts = Vec::new();
    if n.success {
        parts.push("SUCCESS");
    }
    if n.failure {
        parts.push("FAILURE");
    }
    if n.delay {
        parts.push("DELAY");
    }
    parts.join(",")
}

fn body_text(b: BodyType) -> &'static str {
    match b {
        BodyType::SevenBit => "7BIT",
        BodyType::EightBitMime => "8BITMIME",
        BodyType::BinaryMime => "BINARYMIME",
    }
}

/// The domain of an address (after the last `@`), lower-case.
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

pub(crate) async fn enqueue(
    inner: &Arc<Inner>,
    message: QueuedMessage,
) -> Result<String, QueueError> {
    let backend = |e: String| QueueError::Backend(e);
    let id = new_id();
    let blob = message.staged.blob;
    // 1. The bytes, durably under the queue's own name.
    let linked = match inner.blob_path.clone() {
        Some(blob_path) => {
            let spool = inner.spool.clone();
            let id = id.clone();
            // `blob_path` may look at the disk: on the blocking pool with the link.
            tokio::task::spawn_blocking(move || {
                blob_path(&blob).map(|path| {
                    spool.link(&id, &path).map_err(
                        |e| tracing::info!(error = %e, "queue: cannot link the blob, copying"),
                    )
                })
            })
            .await
            .map_err(|e| backend(e.to_string()))?
            .is_some_and(|r| r.is_ok())
        }
        None => false,
    };
    if !linked {
        let bytes = inner
            .mail
            .blobs
            .get(&blob)
            .await
            .map_err(|e| backend(e.to_string()))?;
        let spool = inner.spool.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || spool.write(&id, (*bytes).as_ref()))
            .await
            .map_err(|e| backend(e.to_string()))?
            .map_err(|e| backend(e.to_string()))?;
    }
    // 2. The row, committed.
    let env = &message.envelope;
    let arrival = now();
    let row = MessageRow {
        id: id.clone(),
        txid: env.id.clone(),
        sender: env.from.clone(),
        envid: env.envid.clone(),
        ret: env.ret.map(|r| match r {
            DsnRet::Full => "FULL".to_string(),
            DsnRet::Headers => "HDRS".to_string(),
        }),
        body: body_text(env.body).into(),
        smtputf8: env.smtputf8,
        skip: message.skip,
        size: (message.prepend.len() as u64) + message.staged.size.saturating_sub(message.skip),
        prepend: message.prepend.clone(),
        arrival,
        authenticated: env.authenticated.clone(),
        recipients: env
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| RecipientRow {
                idx: i as u32,
                address: r.address.clone(),
                domain: if r.home {
                    HOME_DOMAIN.to_string()
                } else {
                    domain_of(&r.address)
                },
                notify: r.notify.as_ref().map(notify_text),
                orcpt: r.orcpt.clone(),
                state: RcptState::Pending,
                attempts: 0,
                next_attempt: arrival,
                last_reply: None,
                remote_mta: None,
                tls: false,
                delay_warned: false,
                reported: false,
                success_dsn: false,
                home: r.home,
                mta_sts: None,
                dane: None,
            })
            .collect(),
    };
    let db = inner.db.clone();
    let committed = tokio::task::spawn_blocking(move || db.insert(&row))
        .await
        .map_err(|e| backend(e.to_string()))?;
    if let Err(e) = committed {
        let _ = inner.spool.remove(&id);
        return Err(backend(e.to_string()));
    }
    inner.wake.notify_one();
    Ok(id)
}
