//! The gateway filter tables (`[spam]` for rspamd, `[virus]` for clamd, `[milter]`) and
//! the abuse limits (`[ratelimit]`): their schema, serde types and defaults.
//!
//! ```toml
//! [spam]                        # absent: no spam filter
//! rspamd = "127.0.0.1:11333"    # a normal worker (required)
//! timeout = "20s"
//! on_failure = "open"           # "open": deliver unfiltered (logged) | "closed": 451 4.7.1
//! on_reject = "reject"          # rspamd "reject": "reject" (550 5.7.1) | "junk" | "headers"
//! on_spam = "junk"              # "add header" / "rewrite subject": "junk" | "headers" | "reject"
//! submission = false            # also scan authenticated submissions
//! [virus]
//! clamd = "127.0.0.1:3310"      # required
//! timeout = "60s"
//! on_failure = "open"
//! on_virus = "reject"           # "reject" (554 5.7.1) | "junk" | "headers"
//! submission = false
//! [milter]
//! servers = ["127.0.0.1:8891"]  # inet milters, run in order
//! timeout = "60s"
//! on_failure = "open"
//! submission = false
//! [ratelimit]                   # absent keys: no limit
//! connections_per_ip = 60       # per minute
//! concurrent_per_ip = 20
//! messages_per_ip = 600         # per hour
//! submissions_per_account = 500 # per hour
//! bad_rcpt_delay = "1s"         # n-th unknown recipient waits n times this
//! max_bad_rcpts = 10            # then 421 4.7.0
//! exempt_loopback = true        # the default; tests set false
//! ```
use super::schema::{Field, Kind};
use super::units::Dur;
use serde::Deserialize;
use std::time::Duration;
use tern_smtp::gateway::{
    Clamd, Gateway, Milter, MilterFilter, OnFailure, Policy, Rspamd, SpamFilter, VirusFilter,
};
use tern_smtp::limits::RateLimitConfig;

pub const FAILURE: &[&str] = &["open", "closed"];
pub const POLICIES: &[&str] = &["reject", "junk", "headers"];

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

pub const SPAM: &[Field] = &[
    f("rspamd", Kind::Addr),
    f("timeout", Kind::Duration),
    f("on_failure", Kind::OneOf(FAILURE)),
    f("on_reject", Kind::OneOf(POLICIES)),
    f("on_spam", Kind::OneOf(POLICIES)),
    f("submission", Kind::Bool),
];
pub const VIRUS: &[Field] = &[
    f("clamd", Kind::Addr),
    f("timeout", Kind::Duration),
    f("on_failure", Kind::OneOf(FAILURE)),
    f("on_virus", Kind::OneOf(POLICIES)),
    f("submission", Kind::Bool),
];
pub const MILTER: &[Field] = &[
    f("servers", Kind::AddrList),
    f("timeout", Kind::Duration),
    f("on_failure", Kind::OneOf(FAILURE)),
    f("submission", Kind::Bool),
];
pub const RATELIMIT: &[Field] = &[
    f("connections_per_ip", Kind::UInt(1_000_000)),
    f("concurrent_per_ip", Kind::UInt(1_000_000)),
    f("messages_per_ip", Kind::UInt(100_000_000)),
    f("submissions_per_account", Kind::UInt(100_000_000)),
    f("bad_rcpt_delay", Kind::Duration),
    f("max_bad_rcpts", Kind::UInt(100_000)),
    f("exempt_loopback", Kind::Bool),
];

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Spam {
    pub rspamd: Option<String>,
    pub timeout: Option<Dur>,
    pub on_failure: Option<String>,
    pub on_reject: Option<String>,
    pub on_spam: Option<String>,
    pub submission: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Virus {
    pub clamd: Option<String>,
    pub timeout: Option<Dur>,
    pub on_failure: Option<String>,
    pub on_virus: Option<String>,
    pub submission: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MilterTable {
    pub servers: Vec<String>,
    pub timeout: Option<Dur>,
    pub on_failure: Option<String>,
    pub submission: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    pub connections_per_ip: Option<u64>,
    pub concurrent_per_ip: Option<u64>,
    pub messages_per_ip: Option<u64>,
    pub submissions_per_account: Option<u64>,
    pub bad_rcpt_delay: Option<Dur>,
    pub max_bad_rcpts: Option<u64>,
    pub exempt_loopback: Option<bool>,
}

/// Rules across keys: a table without its server address.
pub fn check(
    spam: Option<&Spam>,
    virus: Option<&Virus>,
    milter: Option<&MilterTable>,
    errors: &mut Vec<super::schema::KeyError>,
) {
    let mut need = |present: bool, key: &str, what: &str| {
        if !present {
            errors.push(super::schema::KeyError {
                key: key.into(),
                reason: format!(
                    "required when [{}] is present ({what})",
                    key.split('.').next().unwrap_or(key)
                ),
            });
        }
    };
    if let Some(s) = spam {
        need(
            s.rspamd.is_some(),
            "spam.rspamd",
            "the rspamd normal worker, addr:port",
        );
    }
    if let Some(v) = virus {
        need(
            v.clamd.is_some(),
            "virus.clamd",
            "clamd's TCP socket, addr:port",
        );
    }
    if let Some(m) = milter {
        need(
            !m.servers.is_empty(),
            "milter.servers",
            "at least one milter, addr:port",
        );
    }
}

fn failure(v: &Option<String>) -> OnFailure {
    match v.as_deref() {
        Some("closed") => OnFailure::Tempfail,
        _ => OnFailure::Accept,
    }
}

fn policy(v: &Option<String>, default: Policy) -> Policy {
    match v.as_deref() {
        Some("reject") => Policy::Reject,
        Some("junk") => Policy::Junk,
        Some("headers") => Policy::Headers,
        _ => default,
    }
}

fn dur(v: &Option<Dur>, default: u64) -> Duration {
    v.map_or(Duration::from_secs(default), |d| d.0)
}

/// The gateway as configured (filters whose address is missing were reported by [`check`]).
pub fn gateway(
    spam: Option<&Spam>,
    virus: Option<&Virus>,
    milter: Option<&MilterTable>,
) -> Gateway {
    Gateway {
        spam: spam.and_then(|s| {
            Some(SpamFilter {
                rspamd: Rspamd {
                    addr: s.rspamd.clone()?,
                    timeout: dur(&s.timeout, 20),
                },
                on_failure: failure(&s.on_failure),
                on_reject: policy(&s.on_reject, Policy::Reject),
                on_spam: policy(&s.on_spam, Policy::Junk),
                submission: s.submission.unwrap_or(false),
            })
        }),
        virus: virus.and_then(|v| {
            Some(VirusFilter {
                clamd: Clamd {
                    addr: v.clamd.clone()?,
                    timeout: dur(&v.timeout, 60),
                },
                on_failure: failure(&v.on_failure),
                on_virus: policy(&v.on_virus, Policy::Reject),
                submission: v.submission.unwrap_or(false),
            })
        }),
        milter: milter
            .filter(|m| !m.servers.is_empty())
            .map(|m| MilterFilter {
                milters: m
                    .servers
                    .iter()
                    .map(|addr| Milter {
                        addr: addr.clone(),
                        timeout: dur(&m.timeout, 60),
                    })
                    .collect(),
                on_failure: failure(&m.on_failure),
                submission: m.submission.unwrap_or(false),
            }),
    }
}

/// The abuse limits with defaults applied: no limits, loopback exempt.
pub fn rate_limits(r: &RateLimit) -> RateLimitConfig {
    let n = |v: Option<u64>| v.filter(|&n| n > 0).map(|n| n.min(u32::MAX as u64) as u32);
    RateLimitConfig {
        connections_per_ip: n(r.connections_per_ip),
        concurrent_per_ip: n(r.concurrent_per_ip),
        messages_per_ip: n(r.messages_per_ip),
        submissions_per_account: n(r.submissions_per_account),
        bad_rcpt_delay: r.bad_rcpt_delay.map_or(Duration::ZERO, |d| d.0),
        max_bad_rcpts: n(r.max_bad_rcpts).unwrap_or(0),
        exempt_loopback: r.exempt_loopback.unwrap_or(true),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn tables_parse_and_resolve() {
        let c = parse(
            "t.toml",
            r#"
[spam]
rspamd = "127.0.0.1:11333"
on_reject = "junk"
on_failure = "closed"
[virus]
clamd = "127.0.0.1:3310"
timeout = "5s"
[milter]
servers = ["127.0.0.1:8891", "127.0.0.1:8892"]
[ratelimit]
connections_per_ip = 10
bad_rcpt_delay = "2s"
exempt_loopback = false
"#,
        )
        .unwrap();
        let g = super::gateway(c.spam.as_ref(), c.virus.as_ref(), c.milter.as_ref());
        let spam = g.spam.unwrap();
        assert_eq!(spam.on_reject, super::Policy::Junk);
        assert_eq!(spam.on_spam, super::Policy::Junk);
        assert_eq!(spam.on_failure, super::OnFailure::Tempfail);
        let virus = g.virus.unwrap();
        assert_eq!(virus.on_virus, super::Policy::Reject);
        assert_eq!(virus.clamd.timeout, std::time::Duration::from_secs(5));
        assert_eq!(g.milter.unwrap().milters.len(), 2);
        let r = super::rate_limits(&c.ratelimit);
        assert_eq!(r.connections_per_ip, Some(10));
        assert_eq!(r.messages_per_ip, None);
        assert!(!r.exempt_loopback);
    }

    #[test]
    fn errors() {
        let e = parse(
            "t.toml",
            "[spam]\non_reject = \"bounce\"\n[virus]\ntimeout = 3\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("spam.on_reject"), "{e}");
        assert!(e.contains("spam.rspamd: required"), "{e}");
        assert!(e.contains("virus.clamd: required"), "{e}");
    }
}
