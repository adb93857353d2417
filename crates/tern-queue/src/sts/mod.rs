//! MTA-STS (RFC 8461): which policy applies to mail for a domain, and how MX delivery obeys
//! it. TLSRPT (RFC 8460) is not implemented: what a report would hold is logged instead.
//!
//! # Layout
//! - [`policy`]: the TXT record and policy formats and MX matching (no I/O, fuzzed).
//! - [`fetch`]: the HTTPS fetch of `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`.
//! - [`cache`]: the durable policy cache (a table of `queue.db`).
//! - [`enforce`]: one MX host tried under a policy (`enforce`, `testing`).
//!
//! # Discovery ([`Sts::policy`], RFC 8461 §3, §5.1)
//! 1. The cached policy of the domain, if it has not expired (`fetched_at + max_age`).
//! 2. The `_mta-sts.DOMAIN` TXT record, through the queue's resolver.
//! 3. A record whose `id` equals the cached policy's, fetched less than [`REFRESH_AFTER`]
//!    ago: the cached policy. A new `id` (or an older fetch, to keep a policy in use from
//!    expiring, §10.2): fetch, parse, cache, use.
//! 4. No usable record, a DNS failure, or a failed fetch: the cached policy while it has not
//!    expired (§3.3: "if no 'live' policy can be discovered ... but a valid (non-expired)
//!    policy exists in the sender's cache, the sender MUST apply that cached policy"),
//!    else none. A failed fetch for an `id` is not repeated for [`FETCH_PAUSE`].
//!
//! ## Invariants
//! - A policy is only ever cached after a fetch over TLS verified for `mta-sts.DOMAIN`.
//! - Discovery for one domain runs one at a time (striped locks), so a burst of messages to
//!   a domain costs one fetch.
//! - Under `enforce`, nothing is sent to an MX host in plain text or over TLS that was not
//!   verified for the host's name, and hosts the policy does not name are not contacted.

pub mod cache;
pub mod enforce;
pub mod fetch;
pub mod policy;

pub use policy::{Mode, MxPattern, Policy};

use crate::db::QueueDb;
use crate::dns::Dns;
use cache::CachedPolicy;
use rustls::RootCertStore;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A cached policy whose TXT id is unchanged is fetched again after this long anyway.
pub const REFRESH_AFTER: i64 = 24 * 3600;
/// After a failed fetch, the same domain and id are not fetched again for this long.
pub const FETCH_PAUSE: i64 = 5 * 60;
/// The deadline of one policy fetch (connect, TLS, request, response).
pub const FETCH_DEADLINE: Duration = Duration::from_secs(60);
const STRIPES: usize = 16;
/// Failed fetches remembered at most.
const MAX_PAUSED: usize = 10_000;

/// The policy applied to one domain.
#[derive(Clone, Debug)]
pub struct Applied {
    pub domain: String,
    /// The TXT `id` the policy was fetched under.
    pub id: String,
    pub policy: Policy,
}

/// Policy discovery and the TLS settings MTA-STS delivery uses.
pub struct Sts {
    db: QueueDb,
    dns: Dns,
    /// The system's roots plus `[outbound] tls_ca_file`.
    roots: Arc<RootCertStore>,
    /// Verifying config on `roots` (the policy fetch, `enforce` sessions).
    verified: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    stripes: Vec<tokio::sync::Mutex<()>>,
    /// domain → (TXT id, unix time until which a fetch is not retried).
    paused: Mutex<HashMap<String, (String, i64)>>,
}

enum Txt {
    Record(policy::StsRecord),
    /// No record, or no usable one.
    None(String),
    /// The lookup failed.
    Failed(String),
}

impl Sts {
    pub fn new(
        db: QueueDb,
        dns: Dns,
        roots: Arc<RootCertStore>,
        connect_timeout: Duration,
    ) -> Result<Sts, String> {
        let verified = crate::client::tls::verified_with(roots.clone())?;
        Ok(Sts {
            db,
            dns,
            roots,
            verified,
            connect_timeout,
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            paused: Mutex::new(HashMap::new()),
        })
    }

    pub fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    pub fn verified(&self) -> Arc<rustls::ClientConfig> {
        self.verified.clone()
    }

    /// The policy in force for mail to `domain` now (see the module doc); `None`: none.
    pub async fn policy(&self, domain: &str) -> Option<Applied> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let _one_at_a_time = self.stripes[stripe(&domain)].lock().await;
        let now = crate::now();
        let (cached, fetched_at) = match self.cached(&domain, now).await {
            Some((applied, at)) => (Some(applied), at),
            None => (None, 0),
        };
        let record = match self.lookup(&domain).await {
            Txt::Record(r) => r,
            Txt::None(why) | Txt::Failed(why) => {
                if cached.is_some() {
                    tracing::info!(%domain, reason = %why,
                        "queue: MTA-STS: no live policy record, applying the cached policy");
                }
                return cached;
            }
        };
        if let Some(c) = &cached
            && c.id == record.id
            && now - fetched_at < REFRESH_AFTER
        {
            return cached;
        }
        if self.is_paused(&domain, &record.id, now) {
            return cached;
        }
        match self.fetch(&domain).await {
            Ok((text, policy)) => {
                let row = CachedPolicy {
                    domain: domain.clone(),
                    id: record.id.clone(),
                    text,
                    fetched_at: now,
                    expires: now.saturating_add(policy.max_age as i64),
                };
                let db = self.db.clone();
                let stored = tokio::task::spawn_blocking(move || db.sts_put(&row)).await;
                if !matches!(stored, Ok(Ok(()))) {
                    tracing::warn!(%domain, "queue: MTA-STS: cannot cache the policy");
                }
                tracing::info!(%domain, id = %record.id, mode = %policy.mode,
                    mx = %policy.mx_list(), max_age = policy.max_age,
                    "queue: MTA-STS policy fetched");
                Some(Applied {
                    domain,
                    id: record.id,
                    policy,
                })
            }
            Err(why) => {
                tracing::warn!(%domain, id = %record.id, reason = %why,
                    cached = cached.is_some(),
                    "queue: MTA-STS policy fetch failed (the cached policy applies, if any)");
                self.pause(&domain, &record.id, now);
                cached
            }
        }
    }

    /// The cached policy and when it was fetched, if it has not expired and still parses
    /// (others are removed).
    async fn cached(&self, domain: &str, now: i64) -> Option<(Applied, i64)> {
        let db = self.db.clone();
        let key = domain.to_string();
        let row = match tokio::task::spawn_blocking(move || db.sts_get(&key)).await {
            Ok(Ok(row)) => row?,
            _ => {
                tracing::warn!(%domain, "queue: MTA-STS: cannot read the policy cache");
                return None;
            }
        };
        let usable = (row.expires > now)
            .then(|| policy::parse_policy(&row.text).ok())
            .flatten();
        if usable.is_none() {
            let db = self.db.clone();
            let key = domain.to_string();
            let _ = tokio::task::spawn_blocking(move || db.sts_remove(&key)).await;
        }
        usable.map(|policy| {
            let applied = Applied {
                domain: row.domain,
                id: row.id,
                policy,
            };
            (applied, row.fetched_at)
        })
    }

    async fn lookup(&self, domain: &str) -> Txt {
        let name = format!("_mta-sts.{domain}");
        match self.dns.txt(&name).await {
            Ok(records) => match policy::select_record(&records) {
                Ok(Some(r)) => Txt::Record(r),
                Ok(None) => Txt::None(format!("no v=STSv1 TXT record at {name}")),
                Err(e) => Txt::None(format!("{name}: {e}")),
            },
            Err(crate::dns::DnsError::Temporary(e)) => Txt::Failed(e),
            Err(crate::dns::DnsError::Permanent { text, .. }) => Txt::Failed(text),
        }
    }

    async fn fetch(&self, domain: &str) -> Result<(String, Policy), String> {
        let text = fetch::fetch(
            &self.dns,
            self.verified.clone(),
            domain,
            self.connect_timeout,
            FETCH_DEADLINE,
        )
        .await
        .map_err(|e| e.to_string())?;
        let policy = policy::parse_policy(&text).map_err(|e| format!("invalid policy: {e}"))?;
        Ok((text, policy))
    }

    fn is_paused(&self, domain: &str, id: &str, now: i64) -> bool {
        let paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused
            .get(domain)
            .is_some_and(|(paused_id, until)| paused_id == id && *until > now)
    }

    fn pause(&self, domain: &str, id: &str, now: i64) {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.retain(|_, (_, until)| *until > now);
        if paused.len() >= MAX_PAUSED {
            paused.clear();
        }
        paused.insert(domain.to_string(), (id.to_string(), now + FETCH_PAUSE));
    }
}

fn stripe(domain: &str) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    domain.hash(&mut h);
    (h.finish() as usize) % STRIPES
}
