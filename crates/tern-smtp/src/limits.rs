//! Abuse limits for the SMTP front ends (MX and submission share one [`AbuseLimits`]):
//! per client address, connections per minute and concurrent connections, messages per
//! hour; per authenticated account, submissions per hour; and a tarpit for unknown
//! recipients.
//!
//! ## Replies (all temporary, so a legitimate client retries later)
//! - too many connections per minute, or concurrent: `421 4.7.0` instead of the greeting,
//!   then close (RFC 5321 §3.1 allows a 421 greeting)
//! - too many messages from the address, or submissions by the account: `450 4.7.1` to
//!   MAIL FROM (the session stays usable)
//! - unknown recipients: each `550 5.1.1` comes after a delay that grows with their number
//!   in the session (`bad_rcpt_delay` × n, at most [`MAX_TARPIT`]); the
//!   `max_bad_rcpts`-th gets `421 4.7.0` and the connection is closed
//! - (too many recipients in one message stays `452 4.5.3`, `max_recipients`)
//!
//! ## Invariants
//! - Rates are token buckets (governor, GCRA) keyed by address: a client gets its whole
//!   allowance as a burst, then one more every window/allowance. IPv6 clients are keyed by
//!   their /64, so one host cannot dodge the limit by rotating its interface identifier.
//! - Loopback clients are limited like any other unless `exempt_loopback` says otherwise.
//! - Memory is bounded by active clients: idle buckets are dropped every
//!   [`RETAIN_EVERY`] checks; the concurrent-connection map holds only open connections.

use crate::reply::Reply;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest single tarpit delay.
pub const MAX_TARPIT: Duration = Duration::from_secs(30);
/// Idle rate-limit entries are dropped after this many checks.
const RETAIN_EVERY: u64 = 4096;

/// The limits as configured (`[ratelimit]`); `None` or 0 is "no limit".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub connections_per_ip: Option<u32>,
    pub concurrent_per_ip: Option<u32>,
    /// Messages (MAIL FROM) per client address per hour.
    pub messages_per_ip: Option<u32>,
    /// Messages per authenticated account per hour (submission).
    pub submissions_per_account: Option<u32>,
    /// The delay before the first `550 5.1.1`; the n-th waits n times this.
    pub bad_rcpt_delay: Duration,
    /// Unknown recipients per connection before `421 4.7.0`; 0 = no limit.
    pub max_bad_rcpts: u32,
    /// Loopback clients (127.0.0.0/8, ::1) are not limited.
    pub exempt_loopback: bool,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            connections_per_ip: None,
            concurrent_per_ip: None,
            messages_per_ip: None,
            submissions_per_account: None,
            bad_rcpt_delay: Duration::ZERO,
            max_bad_rcpts: 0,
            exempt_loopback: false,
        }
    }
}

type Keyed<K> = DefaultKeyedRateLimiter<K>;

/// The shared limiter state.
pub struct AbuseLimits {
    config: RateLimitConfig,
    connections: Option<Keyed<IpAddr>>,
    messages: Option<Keyed<IpAddr>>,
    submissions: Option<Keyed<String>>,
    concurrent: Mutex<HashMap<IpAddr, u32>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for AbuseLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbuseLimits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Held for the life of a connection: counts it against its address's concurrency limit.
pub struct ConnectionGuard {
    limits: Arc<AbuseLimits>,
    key: Option<IpAddr>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut map = self
            .limits
            .concurrent
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&key);
            }
        }
    }
}

fn quota(n: Option<u32>, per: Duration) -> Option<Quota> {
    let n = NonZeroU32::new(n?)?;
    Quota::with_period(per / n.get()).map(|q| q.allow_burst(n))
}

/// The key a client's address is counted under: IPv4 as is, IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

impl AbuseLimits {
    pub fn new(config: RateLimitConfig) -> Arc<AbuseLimits> {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        Arc::new(AbuseLimits {
            connections: quota(config.connections_per_ip, minute).map(RateLimiter::keyed),
            messages: quota(config.messages_per_ip, hour).map(RateLimiter::keyed),
            submissions: quota(config.submissions_per_account, hour).map(RateLimiter::keyed),
            concurrent: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
            config,
        })
    }

    /// No limits at all (tests, and the default configuration).
    pub fn none() -> Arc<AbuseLimits> {
        AbuseLimits::new(RateLimitConfig::default())
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.config.exempt_loopback && ip.is_loopback()
    }

    fn tick(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            for l in [&self.connections, &self.messages].into_iter().flatten() {
                l.retain_recent();
                l.shrink_to_fit();
            }
            if let Some(l) = &self.submissions {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
    }

    /// A new connection from `ip`: the guard to hold while it lasts, or the `421` to send
    /// instead of the greeting.
    pub fn connect(self: &Arc<Self>, ip: IpAddr, hostname: &str) -> Result<ConnectionGuard, Reply> {
        if self.exempt(ip) {
            return Ok(ConnectionGuard {
                limits: self.clone(),
                key: None,
            });
        }
        self.tick();
        let k = key(ip);
        if let Some(max) = self.config.concurrent_per_ip.filter(|&n| n > 0) {
            let mut map = self.concurrent.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(k).or_insert(0);
            if *n >= max {
                tracing::info!(%ip, open = *n, "SMTP: concurrent connection limit");
                return Err(Reply::new(
                    421,
                    [4, 7, 0],
                    format!(
                        "{hostname} Too many concurrent connections from your address, try again later"
                    ),
                ));
            }
            *n += 1;
        }
        // From here on the guard undoes the count, whatever follows.
        let guard = ConnectionGuard {
            limits: self.clone(),
            key: self.config.concurrent_per_ip.filter(|&n| n > 0).map(|_| k),
        };
        if let Some(l) = &self.connections
            && l.check_key(&k).is_err()
        {
            tracing::info!(%ip, "SMTP: connection rate limit");
            return Err(Reply::new(
                421,
                [4, 7, 0],
                format!("{hostname} Too many connections from your address, try again later"),
            ));
        }
        Ok(guard)
    }

    /// A MAIL FROM from `ip`, authenticated as `account` if any: `Err` is the `450 4.7.1`.
    pub fn message(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), Reply> {
        self.tick();
        if let (Some(l), Some(account)) = (&self.submissions, account)
            && l.check_key(&account.to_ascii_lowercase()).is_err()
        {
            tracing::info!(user = account, "SMTP: submission rate limit");
            return Err(Reply::new(
                450,
                [4, 7, 1],
                "Too many messages sent from this account, try again later",
            ));
        }
        if let (Some(l), Some(ip)) = (&self.messages, ip)
            && !self.exempt(ip)
            && l.check_key(&key(ip)).is_err()
        {
            tracing::info!(%ip, "SMTP: message rate limit");
            return Err(Reply::new(
                450,
                [4, 7, 1],
                "Too many messages from your address, try again later",
            ));
        }
        Ok(())
    }

    /// What to do about the `n`-th (1-based) unknown recipient of a connection from `ip`:
    /// how long to wait before answering, and whether to close with `421` instead.
    pub fn bad_recipient(&self, ip: Option<IpAddr>, n: u32) -> (Duration, bool) {
        if ip.is_some_and(|ip| self.exempt(ip)) {
            return (Duration::ZERO, false);
        }
        let close = self.config.max_bad_rcpts > 0 && n >= self.config.max_bad_rcpts;
        let delay = self.config.bad_rcpt_delay.saturating_mul(n).min(MAX_TARPIT);
        (delay, close)
    }
}

/// The `421` that ends a connection with too many unknown recipients.
pub fn too_many_bad_recipients(hostname: &str) -> Reply {
    Reply::new(
        421,
        [4, 7, 0],
        format!("{hostname} Too many unknown recipients, closing connection"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connection_rate_and_concurrency() {
        let l = AbuseLimits::new(RateLimitConfig {
            connections_per_ip: Some(3),
            concurrent_per_ip: Some(2),
            ..RateLimitConfig::default()
        });
        let a = l.connect(ip("127.0.0.1"), "mx").unwrap();
        let b = l.connect(ip("127.0.0.1"), "mx").unwrap();
        let refused = l.connect(ip("127.0.0.1"), "mx").err().unwrap();
        assert_eq!((refused.code, refused.status), (421, Some([4, 7, 0])));
        assert!(refused.lines[0].contains("concurrent"));
        // Another address has its own allowance.
        let _c = l.connect(ip("192.0.2.7"), "mx").unwrap();
        drop((a, b));
        // The concurrent slots are free again, but the rate (3 per minute) is spent.
        let _d = l.connect(ip("127.0.0.1"), "mx").unwrap();
        let refused = l.connect(ip("127.0.0.1"), "mx").err().unwrap();
        assert!(refused.lines[0].contains("Too many connections"));
        assert!(l.concurrent.lock().unwrap().get(&ip("127.0.0.1")) == Some(&1));
    }

    #[test]
    fn ipv6_by_prefix_and_loopback_exemption() {
        let l = AbuseLimits::new(RateLimitConfig {
            connections_per_ip: Some(1),
            exempt_loopback: true,
            ..RateLimitConfig::default()
        });
        assert!(l.connect(ip("2001:db8::1"), "mx").is_ok());
        assert!(l.connect(ip("2001:db8::2"), "mx").is_err(), "same /64");
        assert!(l.connect(ip("2001:db8:0:1::1"), "mx").is_ok());
        for _ in 0..5 {
            assert!(l.connect(ip("127.0.0.1"), "mx").is_ok());
        }
    }

    #[test]
    fn messages_and_submissions() {
        let l = AbuseLimits::new(RateLimitConfig {
            messages_per_ip: Some(2),
            submissions_per_account: Some(1),
            ..RateLimitConfig::default()
        });
        let a = Some(ip("192.0.2.1"));
        assert!(l.message(a, None).is_ok());
        assert!(l.message(a, None).is_ok());
        let r = l.message(a, None).unwrap_err();
        assert_eq!((r.code, r.status), (450, Some([4, 7, 1])));
        let b = Some(ip("192.0.2.2"));
        assert!(l.message(b, Some("Alice@x.test")).is_ok());
        let r = l.message(b, Some("alice@x.test")).unwrap_err();
        assert!(r.lines[0].contains("account"));
    }

    #[test]
    fn tarpit_grows_then_closes() {
        let l = AbuseLimits::new(RateLimitConfig {
            bad_rcpt_delay: Duration::from_secs(2),
            max_bad_rcpts: 3,
            ..RateLimitConfig::default()
        });
        let a = Some(ip("192.0.2.1"));
        assert_eq!(l.bad_recipient(a, 1), (Duration::from_secs(2), false));
        assert_eq!(l.bad_recipient(a, 2), (Duration::from_secs(4), false));
        assert!(l.bad_recipient(a, 3).1);
        assert_eq!(l.bad_recipient(a, 100).0, MAX_TARPIT);
        let none = AbuseLimits::none();
        assert_eq!(none.bad_recipient(a, 100), (Duration::ZERO, false));
    }
}
