//! The directory cache (the NSCD of the old stack): a [`Directory`] in front of another.
//!
//! ## What is cached, for how long
//! - `lookup(login)`: the account for `positive_ttl`, "no such login" for `negative_ttl`.
//! - `resolve(address)`: the same TTLs (`NotFound` is negative).
//! - `authenticate(login, password)`: on success, a *verifier* of the password,
//!   HMAC-SHA256(process key, salt ‖ login ‖ 0 ‖ password) with a random 32-byte key drawn
//!   at start and a random salt per entry, kept for `credential_ttl`. The password itself is
//!   never kept, and the verifier is useless outside this process (the key lives in memory
//!   only). A cached credential still needs the account to be current: a hit looks the
//!   account up through the positive cache, so a user disabled in the directory is refused
//!   once `positive_ttl` has run out, whatever `credential_ttl` says. Failed logins are not
//!   cached (the directory's own lockout counting must see them).
//! - `accounts()`: not cached (admin listings want the truth).
//!
//! ## Bounds and invalidation
//! - Each table (logins, addresses, credentials) keeps at most `max_entries`, evicting the
//!   least recently used.
//! - [`CachedDirectory::flush`] drops everything, or every entry about one login/address
//!   (the account's other spellings and addresses included).
//!
//! ## Serve-stale
//! With `serve_stale` set, when the directory is unavailable ([`DirectoryError::Unavailable`])
//! an expired entry younger than `ttl + serve_stale` is served (logged, counted); a cached
//! credential likewise for `credential_ttl + serve_stale`. Past that, or without it, the
//! error goes to the caller (a temporary failure to the client).
use crate::{Account, AuthOutcome, Directory, DirectoryError, DirectoryResult, Resolution};
use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The cache's settings (`[directory.cache]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    pub positive_ttl: Duration,
    pub negative_ttl: Duration,
    pub credential_ttl: Duration,
    pub max_entries: usize,
    /// `None`: never serve an expired entry.
    pub serve_stale: Option<Duration>,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            positive_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(60),
            credential_ttl: Duration::from_secs(300),
            max_entries: 100_000,
            serve_stale: None,
        }
    }
}

/// Counters since start (`tern directory stats`, and the periodic log line).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub lookup_hits: u64,
    pub lookup_misses: u64,
    pub resolve_hits: u64,
    pub resolve_misses: u64,
    pub auth_hits: u64,
    pub auth_misses: u64,
    /// Expired entries served while the directory was unavailable.
    pub stale_served: u64,
    /// Directory calls that failed (any kind).
    pub errors: u64,
    pub evictions: u64,
    pub flushes: u64,
    /// Calls that went to the directory, and their total / worst latency.
    pub directory_calls: u64,
    pub directory_latency_us_total: u64,
    pub directory_latency_us_max: u64,
    /// Entries held now, all tables together.
    pub entries: u64,
}

#[derive(Default)]
struct Counters {
    lookup_hits: AtomicU64,
    lookup_misses: AtomicU64,
    resolve_hits: AtomicU64,
    resolve_misses: AtomicU64,
    auth_hits: AtomicU64,
    auth_misses: AtomicU64,
    stale_served: AtomicU64,
    errors: AtomicU64,
    evictions: AtomicU64,
    flushes: AtomicU64,
    calls: AtomicU64,
    latency_total: AtomicU64,
    latency_max: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A bounded map evicting the least recently used key.
struct Lru<V> {
    map: HashMap<String, (V, u64)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    max: usize,
}

impl<V> Lru<V> {
    fn new(max: usize) -> Lru<V> {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            max: max.max(1),
        }
    }

    fn get(&mut self, key: &str) -> Option<&V> {
        self.tick += 1;
        let tick = self.tick;
        let (_, t) = self.map.get_mut(key)?;
        self.order.remove(t);
        *t = tick;
        self.order.insert(tick, key.to_string());
        self.map.get(key).map(|(v, _)| v)
    }

    /// Inserts; returns how many entries were evicted.
    fn insert(&mut self, key: String, value: V) -> u64 {
        self.tick += 1;
        if let Some((_, old)) = self.map.remove(&key) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, key.clone());
        self.map.insert(key, (value, self.tick));
        let mut evicted = 0;
        while self.map.len() > self.max {
            let Some((_, k)) = self.order.pop_first() else {
                break;
            };
            self.map.remove(&k);
            evicted += 1;
        }
        evicted
    }

    fn remove(&mut self, key: &str) {
        if let Some((_, t)) = self.map.remove(key) {
            self.order.remove(&t);
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&str, &V) -> bool) {
        let gone: Vec<String> = self
            .map
            .iter()
            .filter(|(k, (v, _))| !keep(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            self.remove(&k);
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

#[derive(Clone)]
struct Cached<V> {
    value: V,
    at: Instant,
    ttl: Duration,
}

impl<V> Cached<V> {
    fn fresh(&self, now: Instant) -> bool {
        now.duration_since(self.at) < self.ttl
    }
    fn usable_stale(&self, now: Instant, stale: Option<Duration>) -> bool {
        stale.is_some_and(|s| now.duration_since(self.at) < self.ttl + s)
    }
}

struct Credential {
    salt: [u8; 16],
    mac: [u8; 32],
    /// The account the login authenticated as.
    account: String,
    at: Instant,
}

struct Tables {
    logins: Lru<Cached<Option<Account>>>,
    addresses: Lru<Cached<Resolution>>,
    credentials: Lru<Credential>,
}

/// A [`Directory`] that remembers what another one said.
pub struct CachedDirectory {
    inner: Arc<dyn Directory>,
    cfg: CacheConfig,
    key: [u8; 32],
    tables: Mutex<Tables>,
    counters: Counters,
}

/// The key of a login or address: trimmed, lower-case (directories compare them so).
fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// HMAC-SHA256 (RFC 2104), written out: two SHA-256 passes over the padded key.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, b) in key.iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner);
    outer.finalize().into()
}

/// Compares without an early exit (no timing hint about how much matched).
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl CachedDirectory {
    pub fn new(inner: Arc<dyn Directory>, cfg: CacheConfig) -> CachedDirectory {
        let max = cfg.max_entries;
        CachedDirectory {
            inner,
            cfg,
            key: rand::random(),
            tables: Mutex::new(Tables {
                logins: Lru::new(max),
                addresses: Lru::new(max),
                credentials: Lru::new(max),
            }),
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &CacheConfig {
        &self.cfg
    }

    /// The directory behind the cache.
    pub fn inner(&self) -> &Arc<dyn Directory> {
        &self.inner
    }

    /// Forgets everything (`None`), or everything about one login or address: its
    /// entries, and those of the account it names (other spellings, other addresses).
    pub fn flush(&self, what: Option<&str>) {
        bump(&self.counters.flushes);
        let mut t = self.tables.lock().expect("cache lock");
        let Some(what) = what else {
            t.logins.clear();
            t.addresses.clear();
            t.credentials.clear();
            return;
        };
        let key = norm(what);
        // The account names this key stands for, so every spelling goes.
        let mut names: Vec<String> = vec![key.clone()];
        if let Some((c, _)) = t.logins.map.get(&key)
            && let Some(a) = &c.value
        {
            names.push(a.name.clone());
        }
        if let Some((c, _)) = t.addresses.map.get(&key)
            && let Resolution::Account(a) = &c.value
        {
            names.push(a.name.clone());
        }
        let about = |a: &Account| {
            names
                .iter()
                .any(|n| a.name == *n || a.addresses.iter().any(|x| x == n))
        };
        t.logins
            .retain(|k, c| k != key && !c.value.as_ref().is_some_and(about));
        t.addresses
            .retain(|k, c| k != key && !matches!(&c.value, Resolution::Account(a) if about(a)));
        t.credentials
            .retain(|k, c| k != key && !names.contains(&c.account));
    }

    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let entries = {
            let t = self.tables.lock().expect("cache lock");
            (t.logins.len() + t.addresses.len() + t.credentials.len()) as u64
        };
        CacheStats {
            lookup_hits: g(&c.lookup_hits),
            lookup_misses: g(&c.lookup_misses),
            resolve_hits: g(&c.resolve_hits),
            resolve_misses: g(&c.resolve_misses),
            auth_hits: g(&c.auth_hits),
            auth_misses: g(&c.auth_misses),
            stale_served: g(&c.stale_served),
            errors: g(&c.errors),
            evictions: g(&c.evictions),
            flushes: g(&c.flushes),
            directory_calls: g(&c.calls),
            directory_latency_us_total: g(&c.latency_total),
            directory_latency_us_max: g(&c.latency_max),
            entries,
        }
    }

    /// Times a directory call and counts its failure.
    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = DirectoryResult<T>>,
    ) -> DirectoryResult<T> {
        let start = Instant::now();
        let r = f.await;
        let us = start.elapsed().as_micros() as u64;
        let c = &self.counters;
        bump(&c.calls);
        c.latency_total.fetch_add(us, Ordering::Relaxed);
        c.latency_max.fetch_max(us, Ordering::Relaxed);
        if r.is_err() {
            bump(&c.errors);
        }
        r
    }

    fn mac(&self, salt: &[u8; 16], login: &str, password: &str) -> [u8; 32] {
        hmac_sha256(
            &self.key,
            &[salt, login.as_bytes(), &[0], password.as_bytes()],
        )
    }

    fn remember_login(&self, key: String, value: Option<Account>) {
        let ttl = if value.is_some() {
            self.cfg.positive_ttl
        } else {
            self.cfg.negative_ttl
        };
        let mut t = self.tables.lock().expect("cache lock");
        let n = t.logins.insert(
            key,
            Cached {
                value,
                at: Instant::now(),
                ttl,
            },
        );
        self.counters.evictions.fetch_add(n, Ordering::Relaxed);
    }

    /// The cached lookup: fresh entry, else the directory, else (unavailable) a stale one.
    async fn cached_lookup(&self, key: &str) -> DirectoryResult<Option<Account>> {
        let now = Instant::now();
        let stale = {
            let mut t = self.tables.lock().expect("cache lock");
            match t.logins.get(key) {
                Some(c) if c.fresh(now) => {
                    bump(&self.counters.lookup_hits);
                    return Ok(c.value.clone());
                }
                Some(c) if c.usable_stale(now, self.cfg.serve_stale) => Some(c.value.clone()),
                _ => None,
            }
        };
        bump(&self.counters.lookup_misses);
        match self.timed(self.inner.lookup(key)).await {
            Ok(v) => {
                self.remember_login(key.to_string(), v.clone());
                Ok(v)
            }
            Err(DirectoryError::Unavailable(why)) if stale.is_some() => {
                bump(&self.counters.stale_served);
                tracing::warn!(login = %key, error = %why, "directory unavailable: serving a stale cache entry");
                Ok(stale.expect("checked"))
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Directory for CachedDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> DirectoryResult<AuthOutcome> {
        let key = norm(login);
        let now = Instant::now();
        // (matches, fresh) of a cached credential for this login.
        let cached = {
            let mut t = self.tables.lock().expect("cache lock");
            t.credentials.get(&key).map(|c| {
                let ok = same(&c.mac, &self.mac(&c.salt, &key, password));
                let age = now.duration_since(c.at);
                (ok, age < self.cfg.credential_ttl, age, c.account.clone())
            })
        };
        if let Some((true, fresh, age, name)) = &cached {
            let in_stale_window = self
                .cfg
                .serve_stale
                .is_some_and(|s| *age < self.cfg.credential_ttl + s);
            if *fresh {
                // The password is right; is the account still what it was?
                match self.cached_lookup(&key).await {
                    Ok(Some(account)) if account.enabled && account.name == *name => {
                        bump(&self.counters.auth_hits);
                        return Ok(AuthOutcome::Ok(account));
                    }
                    Ok(Some(account)) if !account.enabled => {
                        self.tables
                            .lock()
                            .expect("cache lock")
                            .credentials
                            .remove(&key);
                        bump(&self.counters.auth_hits);
                        return Ok(AuthOutcome::Failed {
                            reason: account
                                .disabled_reason
                                .unwrap_or_else(|| "account disabled".into()),
                        });
                    }
                    Ok(_) => {
                        // Gone, or another account now: ask the directory afresh below.
                        self.tables
                            .lock()
                            .expect("cache lock")
                            .credentials
                            .remove(&key);
                    }
                    Err(e) => return Err(e),
                }
            } else if in_stale_window {
                // Expired: try the directory, fall back on the stale credential below.
                bump(&self.counters.auth_misses);
                match self.timed(self.inner.authenticate(login, password)).await {
                    Err(DirectoryError::Unavailable(why)) => {
                        if let Ok(Some(account)) = self.cached_lookup(&key).await
                            && account.enabled
                            && account.name == *name
                        {
                            bump(&self.counters.stale_served);
                            tracing::warn!(%login, error = %why, "directory unavailable: accepting a stale cached credential");
                            return Ok(AuthOutcome::Ok(account));
                        }
                        return Err(DirectoryError::Unavailable(why));
                    }
                    other => return self.after_auth(key, password, other),
                }
            }
        }
        bump(&self.counters.auth_misses);
        let r = self.timed(self.inner.authenticate(login, password)).await;
        self.after_auth(key, password, r)
    }

    async fn lookup(&self, login: &str) -> DirectoryResult<Option<Account>> {
        self.cached_lookup(&norm(login)).await
    }

    async fn resolve(&self, address: &str) -> DirectoryResult<Resolution> {
        let key = norm(address);
        let now = Instant::now();
        let stale = {
            let mut t = self.tables.lock().expect("cache lock");
            match t.addresses.get(&key) {
                Some(c) if c.fresh(now) => {
                    bump(&self.counters.resolve_hits);
                    return Ok(c.value.clone());
                }
                Some(c) if c.usable_stale(now, self.cfg.serve_stale) => Some(c.value.clone()),
                _ => None,
            }
        };
        bump(&self.counters.resolve_misses);
        match self.timed(self.inner.resolve(&key)).await {
            Ok(v) => {
                let ttl = if v == Resolution::NotFound {
                    self.cfg.negative_ttl
                } else {
                    self.cfg.positive_ttl
                };
                let mut t = self.tables.lock().expect("cache lock");
                let n = t.addresses.insert(
                    key,
                    Cached {
                        value: v.clone(),
                        at: Instant::now(),
                        ttl,
                    },
                );
                self.counters.evictions.fetch_add(n, Ordering::Relaxed);
                Ok(v)
            }
            Err(DirectoryError::Unavailable(why)) if stale.is_some() => {
                bump(&self.counters.stale_served);
                tracing::warn!(address = %key, error = %why, "directory unavailable: serving a stale cache entry");
                Ok(stale.expect("checked"))
            }
            Err(e) => Err(e),
        }
    }

    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        self.timed(self.inner.accounts()).await
    }
}

impl CachedDirectory {
    /// Records what the directory said about a login attempt.
    fn after_auth(
        &self,
        key: String,
        password: &str,
        r: DirectoryResult<AuthOutcome>,
    ) -> DirectoryResult<AuthOutcome> {
        match &r {
            Ok(AuthOutcome::Ok(account)) => {
                let salt: [u8; 16] = rand::random();
                let mac = self.mac(&salt, &key, password);
                let mut t = self.tables.lock().expect("cache lock");
                let mut n = t.credentials.insert(
                    key.clone(),
                    Credential {
                        salt,
                        mac,
                        account: account.name.clone(),
                        at: Instant::now(),
                    },
                );
                n += t.logins.insert(
                    key,
                    Cached {
                        value: Some(account.clone()),
                        at: Instant::now(),
                        ttl: self.cfg.positive_ttl,
                    },
                );
                self.counters.evictions.fetch_add(n, Ordering::Relaxed);
            }
            Ok(AuthOutcome::Failed { .. }) => {
                self.tables
                    .lock()
                    .expect("cache lock")
                    .credentials
                    .remove(&key);
            }
            Err(_) => {}
        }
        r
    }
}

#[cfg(test)]
mod tests;
