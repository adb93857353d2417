//! Failure delays, counted per remote user address (`rip=`; IPv6 by /64).
//!
//! IMAP and POP3 delay a failed login per connection. Here one connection (one Postfix
//! smtpd process) carries the logins of many remote users one after another, so the count
//! follows the remote user's address instead, across every connection to this socket: the
//! `FAIL` for an address's n-th recent failure waits `base × 2^(n-1)`, at most 8 × `base`
//! (1, 2, 4, 8 s by default: Postfix gives the auth server 10 seconds per reply, then drops
//! the connection and answers its client `454`). Requests without an address are counted
//! per connection. Only that request's reply waits; other requests on the connection go on.
//!
//! ## Invariants
//! - An address's count is forgotten [`WINDOW`] after its last failure; a success does not
//!   reset it (another user behind the same address could otherwise clear it).
//! - The table is bounded ([`MAX_ENTRIES`]): when full, forgotten entries are dropped, and if
//!   that frees nothing the table starts over.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a failure is remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most addresses tracked at once.
pub const MAX_ENTRIES: usize = 100_000;

/// Who a failure is counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PenaltyKey {
    /// The remote user's address (IPv6 reduced to its /64).
    Address(IpAddr),
    /// A request without `rip=`: its connection.
    Connection(u32),
}

impl PenaltyKey {
    /// The key for a request from `rip` (if given) on connection `cuid`.
    pub fn new(rip: Option<IpAddr>, cuid: u32) -> PenaltyKey {
        match rip {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                PenaltyKey::Address(IpAddr::V6(net))
            }
            Some(IpAddr::V6(v6)) => {
                PenaltyKey::Address(IpAddr::V4(v6.to_ipv4_mapped().expect("checked above")))
            }
            Some(v4) => PenaltyKey::Address(v4),
            None => PenaltyKey::Connection(cuid),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The shared failure counts of one auth socket server.
#[derive(Debug)]
pub struct Penalty {
    base: Duration,
    entries: Mutex<HashMap<PenaltyKey, Entry>>,
}

impl Penalty {
    /// Delays start at `base` (zero turns them off).
    pub fn new(base: Duration) -> Penalty {
        Penalty {
            base,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failure for `key`; returns how long its reply waits.
    pub fn failure(&self, key: PenaltyKey) -> Duration {
        self.failure_at(key, Instant::now())
    }

    fn failure_at(&self, key: PenaltyKey, now: Instant) -> Duration {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| now.duration_since(e.last) < WINDOW);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= WINDOW {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        delay(self.base, entry.failures)
    }

    /// Recent failures counted for `key` (for tests and the log).
    pub fn failures(&self, key: PenaltyKey) -> u32 {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .filter(|e| e.last.elapsed() < WINDOW)
            .map_or(0, |e| e.failures)
    }
}

/// `base`, doubled per earlier failure, at most 8 × `base`.
pub fn delay(base: Duration, failures: u32) -> Duration {
    base * (1u32 << failures.saturating_sub(1).min(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_per_address_and_cap() {
        let p = Penalty::new(Duration::from_secs(1));
        let a = PenaltyKey::new(Some("192.0.2.1".parse().unwrap()), 1);
        let b = PenaltyKey::new(Some("192.0.2.2".parse().unwrap()), 1);
        let secs: Vec<u64> = (0..7).map(|_| p.failure(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 8, 8, 8]);
        // Another address starts over; the same address on another connection does not.
        assert_eq!(p.failure(b), Duration::from_secs(1));
        let a_again = PenaltyKey::new(Some("192.0.2.1".parse().unwrap()), 99);
        assert_eq!(p.failure(a_again), Duration::from_secs(8));
        assert_eq!(p.failures(a), 8);
    }

    #[test]
    fn failures_are_forgotten_after_the_window() {
        let p = Penalty::new(Duration::from_secs(1));
        let k = PenaltyKey::Connection(5);
        let t0 = Instant::now();
        assert_eq!(p.failure_at(k, t0), Duration::from_secs(1));
        assert_eq!(p.failure_at(k, t0), Duration::from_secs(2));
        assert_eq!(p.failure_at(k, t0 + WINDOW), Duration::from_secs(1));
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_v4_as_v4() {
        let k1 = PenaltyKey::new(Some("2001:db8:1:2::1".parse().unwrap()), 0);
        let k2 = PenaltyKey::new(Some("2001:db8:1:2:ffff::9".parse().unwrap()), 0);
        let k3 = PenaltyKey::new(Some("2001:db8:1:3::1".parse().unwrap()), 0);
        assert_eq!(k1, k2);
        assert_ne!(k1, k3);
        let mapped = PenaltyKey::new(Some("::ffff:192.0.2.7".parse().unwrap()), 0);
        assert_eq!(
            mapped,
            PenaltyKey::new(Some("192.0.2.7".parse().unwrap()), 0)
        );
        assert_eq!(PenaltyKey::new(None, 4), PenaltyKey::Connection(4));
    }

    #[test]
    fn the_table_stays_bounded() {
        let p = Penalty::new(Duration::ZERO);
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            p.failure(PenaltyKey::Connection(i));
        }
        assert!(p.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
