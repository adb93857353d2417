//! One delivery attempt: a message's due recipients for one destination (a domain, or the
//! smarthost) over one SMTP session, with an outcome per recipient.
//!
//! ## Rules
//! - MX hosts in preference order, each of their addresses in turn; a host that cannot be
//!   reached, or refuses the session (greeting, EHLO, TLS), passes to the next (RFC 5321
//!   §5.1). Once a transaction started, its replies decide.
//! - Opportunistic STARTTLS to MX hosts; when the TLS handshake fails the same host is
//!   tried once more in plain text (RFC 7435: encryption is best effort there) — unless the
//!   domain has an MTA-STS policy in `enforce` mode: then only the MX hosts it names, each
//!   over TLS verified for its name, never in plain text ([`crate::sts`]).
//! - DANE (`[outbound] dane`, [`crate::dane`]): an MX host whose MX RRset, addresses and
//!   TLSA records are DNSSEC-secure gets STARTTLS as a requirement and its certificate
//!   matched against the TLSA records; a failure skips the host, never falls back to plain
//!   text. DANE takes precedence over MTA-STS for such a host (RFC 8461 §2).
//! - A message that needs an extension the server lacks (SMTPUTF8, 8BITMIME, BINARYMIME, a
//!   large enough SIZE) fails permanently for those recipients (RFC 6531 §3.4, RFC 6152,
//!   RFC 1870): Tern does not downgrade messages.
//! - 2xx → sent, 4xx → retry, 5xx → failed, per recipient.

use crate::Inner;
use crate::client::{
    ClientError, Content, Reply, Session, SessionOptions, TlsPolicy, Transaction, TxRcpt,
};
use crate::config::SmarthostTls;
use crate::dane::{self, TlsaLookup};
use crate::db::{MessageRow, RecipientRow};
use crate::dns::{DnsError, HostAddrs};
use crate::sts::{Applied, Mode, enforce};
use std::net::SocketAddr;

/// What happened to one recipient.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The server took the message (`250`). `dsn`: it supports DSN (NOTIFY passed on).
    Sent {
        reply: String,
        mta: String,
        tls: bool,
        dsn: bool,
    },
    /// Try again later.
    Temporary {
        reason: String,
        mta: Option<String>,
        tls: bool,
    },
    /// Failed for good.
    Permanent {
        reason: String,
        mta: Option<String>,
        tls: bool,
    },
}

impl Outcome {
    /// Whether the session that decided this outcome was encrypted.
    pub fn tls(&self) -> bool {
        match self {
            Outcome::Sent { tls, .. }
            | Outcome::Temporary { tls, .. }
            | Outcome::Permanent { tls, .. } => *tls,
        }
    }

    fn from_reply(reply: &Reply, mta: &str, tls: bool, dsn: bool) -> Outcome {
        let text = reply.one_line();
        let mta = mta.to_string();
        match reply.class() {
            2 => Outcome::Sent {
                reply: text,
                mta,
                tls,
                dsn,
            },
            4 => Outcome::Temporary {
                reason: text,
                mta: Some(mta),
                tls,
            },
            _ => Outcome::Permanent {
                reason: text,
                mta: Some(mta),
                tls,
            },
        }
    }
}

/// Where an attempt goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    Domain(String),
    Smarthost,
    /// Migration mode: local accounts, delivered wherever each one's home is
    /// ([`crate::home`]).
    Home,
}

impl Destination {
    pub fn key(&self) -> String {
        match self {
            Destination::Domain(d) => d.clone(),
            Destination::Smarthost => "[smarthost]".into(),
            Destination::Home => crate::HOME_DOMAIN.into(),
        }
    }
}

/// Why one host did not take the transaction.
pub(crate) enum HostResult {
    Done(Vec<Outcome>),
    Next { reason: String, mta: String },
}

/// What an attempt did.
pub struct Attempted {
    /// One per recipient, in order.
    pub outcomes: Vec<Outcome>,
    /// The MTA-STS mode applied (`enforce` or `testing`), if the domain has a policy and
    /// DANE did not govern the host that decided.
    pub mta_sts: Option<Mode>,
    /// What DANE did, if it applied to any host.
    pub dane: Option<dane::Status>,
}

/// Runs the attempt; one outcome per recipient of `rcpts`, in order.
pub async fn attempt(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    dest: &Destination,
) -> Attempted {
    if *dest == Destination::Home {
        let outcomes = crate::home::attempt(inner, message, rcpts).await;
        return Attempted {
            outcomes,
            mta_sts: None,
            dane: None,
        };
    }
    let policy = match (dest, inner.sts.as_ref()) {
        (Destination::Domain(domain), Some(sts)) => sts
            .policy(domain)
            .await
            .filter(|a| a.policy.mode != Mode::None),
        _ => None,
    };
    let (outcomes, dane) = attempt_hosts(inner, message, rcpts, dest, policy.as_ref()).await;
    let by_dane = matches!(
        dane,
        Some(dane::Status::Verified | dane::Status::EncryptOnly)
    );
    Attempted {
        outcomes,
        mta_sts: policy.filter(|_| !by_dane).map(|a| a.policy.mode),
        dane,
    }
}

async fn attempt_hosts(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    dest: &Destination,
    policy: Option<&Applied>,
) -> (Vec<Outcome>, Option<dane::Status>) {
    let all = |o: Outcome| vec![o; rcpts.len()];
    // Hosts to try, each with the TLS policy and credentials that go with it.
    let (hosts, port, smarthost, mx_secure) = match dest {
        Destination::Smarthost => {
            let Some(sh) = inner.config.smarthost.as_ref() else {
                return (all(temporary("4.3.5 no smarthost configured".into())), None);
            };
            (vec![sh.host.clone()], sh.port, Some(sh), false)
        }
        Destination::Home => unreachable!("handled above"),
        Destination::Domain(domain) => match inner.dns.routes(domain).await {
            Ok(routes) => (routes.hosts, inner.config.remote_port, None, routes.secure),
            Err(DnsError::Permanent { status, text }) => {
                let failed = Outcome::Permanent {
                    reason: format!("{status} {text}"),
                    mta: None,
                    tls: false,
                };
                return (all(failed), None);
            }
            Err(DnsError::Temporary(text)) => {
                return (all(temporary(format!("4.4.3 {text}"))), None);
            }
        },
    };
    // RFC 7672 §2.2: TLSA records count only under a secure MX RRset.
    let dane_stub = inner
        .dns
        .dnssec()
        .filter(|_| mx_secure && smarthost.is_none());
    let implicit_mx = matches!(dest, Destination::Domain(d) if hosts.len() == 1 && hosts[0] == *d);
    let mut last: Option<Outcome> = None;
    let mut any_address = false;
    // Hosts an MTA-STS policy refused before their addresses were looked up.
    let mut skipped = Vec::new();
    // Hosts DANE governed (or whose TLSA lookup failed), none of which took the message.
    let mut dane_refused = 0;
    for host in &hosts {
        let admitted = |skipped: &mut Vec<String>| match policy {
            Some(applied) => match enforce::admits(applied, &message.id, host) {
                Ok(()) => true,
                Err(reason) => {
                    skipped.push(reason);
                    false
                }
            },
            None => true,
        };
        // Without DANE the policy filters hosts before any lookup; with it, only hosts
        // DANE does not protect (which takes their TLSA lookup to know).
        if dane_stub.is_none() && !admitted(&mut skipped) {
            continue;
        }
        let addrs: HostAddrs = match inner.dns.host_addresses(host, dane_stub.is_some()).await {
            Ok(a) => a,
            Err(DnsError::Temporary(text)) | Err(DnsError::Permanent { text, .. }) => {
                last = Some(temporary(format!("4.4.3 {text}")));
                continue;
            }
        };
        let protected = match dane_stub {
            Some(stub) if addrs.secure && !addrs.ips.is_empty() => {
                match dane::lookup::tlsa(stub, port, host, &addrs).await {
                    TlsaLookup::Dane(d) => Some(d),
                    TlsaLookup::None => None,
                    TlsaLookup::Failed(why) => {
                        tracing::warn!(id = %message.id, %host, reason = %why,
                            "queue: DANE: TLSA lookup failed, host skipped");
                        dane_refused += 1;
                        last = Some(temporary(format!(
                            "4.7.5 DANE: TLSA lookup for {host} failed: {why}"
                        )));
                        continue;
                    }
                }
            }
            _ => None,
        };
        if dane_stub.is_some() && protected.is_none() && !admitted(&mut skipped) {
            continue;
        }
        for ip in &addrs.ips {
            any_address = true;
            let addr = SocketAddr::new(*ip, port);
            let result = match smarthost {
                Some(sh) => {
                    let policy = smarthost_policy(inner, sh);
                    match policy {
                        Ok(policy) => {
                            try_host(inner, message, rcpts, addr, host, policy, sh.auth.clone())
                                .await
                        }
                        Err(e) => HostResult::Done(vec![temporary(e); rcpts.len()]),
                    }
                }
                None => match (&protected, policy) {
                    (Some(d), _) => {
                        dane::deliver::try_mx(inner, message, rcpts, addr, host, d).await
                    }
                    (None, Some(applied)) => {
                        enforce::try_mx(inner, message, rcpts, addr, host, applied).await
                    }
                    (None, None) => try_mx_plain(inner, message, rcpts, addr, host).await,
                },
            };
            match result {
                HostResult::Done(outcomes) => {
                    return (outcomes, protected.as_ref().map(|d| d.status()));
                }
                HostResult::Next { reason, mta } => {
                    tracing::info!(id = %message.id, host = %mta, %addr, %reason,
                        "queue: host did not take the message");
                    last = Some(Outcome::Temporary {
                        reason,
                        mta: Some(mta),
                        tls: false,
                    });
                }
            }
        }
        if protected.is_some() {
            dane_refused += 1;
        }
    }
    let dane_status = (dane_refused > 0).then_some(dane::Status::Failed);
    if let Some(applied) = policy
        && !hosts.is_empty()
        && skipped.len() == hosts.len()
    {
        // Not one MX host may be used: wait for the domain's MX or policy to change.
        tracing::warn!(id = %message.id, domain = %applied.domain,
            "queue: MTA-STS enforce: no MX host is in the policy, deferred");
        let deferred = temporary(format!(
            "4.7.5 no MX host of {} ({}) is in its MTA-STS policy (mx: {})",
            applied.domain,
            hosts.join(", "),
            applied.policy.mx_list()
        ));
        return (all(deferred), dane_status);
    }
    if !any_address
        && skipped.is_empty()
        && dane_refused == 0
        && implicit_mx
        && let Destination::Domain(d) = dest
    {
        let failed = Outcome::Permanent {
            reason: format!("5.1.2 {d} has no MX and no address"),
            mta: None,
            tls: false,
        };
        return (all(failed), None);
    }
    let last = last.or_else(|| skipped.pop().map(temporary));
    let outcome = last.unwrap_or_else(|| temporary("4.4.4 no host to deliver to".into()));
    (all(outcome), dane_status)
}

/// An MX host without a policy: opportunistic STARTTLS, certificate not verified; a failed
/// handshake is retried once in plain text (RFC 7435).
pub(crate) async fn try_mx_plain(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    addr: SocketAddr,
    host: &str,
) -> HostResult {
    let tls = TlsPolicy::Opportunistic(inner.opportunistic.clone());
    match try_host(inner, message, rcpts, addr, host, tls, None).await {
        HostResult::Next { reason, .. } if reason.starts_with("TLS") => {
            tracing::info!(host = %host, %reason,
                "queue: TLS failed, trying the host again in plain text");
            try_host(inner, message, rcpts, addr, host, TlsPolicy::Never, None).await
        }
        other => other,
    }
}

pub(crate) fn temporary(reason: String) -> Outcome {
    Outcome::Temporary {
        reason,
        mta: None,
        tls: false,
    }
}

fn smarthost_policy(inner: &Inner, sh: &crate::config::Smarthost) -> Result<TlsPolicy, String> {
    let name = || {
        rustls::pki_types::ServerName::try_from(sh.host.clone())
            .map_err(|e| format!("4.3.5 smarthost name {}: {e}", sh.host))
    };
    let config = || {
        inner
            .smarthost_tls
            .clone()
            .ok_or_else(|| "4.3.5 smarthost TLS is not configured".to_string())
    };
    Ok(match sh.tls {
        SmarthostTls::None => TlsPolicy::Never,
        SmarthostTls::StartTls => TlsPolicy::Required(config()?, name()?),
        SmarthostTls::Implicit => TlsPolicy::Implicit(config()?, name()?),
    })
}

pub(crate) async fn try_host(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    addr: SocketAddr,
    host: &str,
    tls: TlsPolicy,
    auth: Option<(String, String)>,
) -> HostResult {
    let opts = SessionOptions {
        helo: inner.config.hostname.clone(),
        tls,
        auth,
        connect_timeout: inner.config.connect_timeout,
        command_timeout: inner.config.command_timeout,
        lmtp: false,
    };
    try_session(inner, message, rcpts, addr, host, opts).await
}

/// [`try_host`] with explicit session options (LMTP to the legacy server).
pub(crate) async fn try_session(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    addr: SocketAddr,
    host: &str,
    opts: SessionOptions,
) -> HostResult {
    let mut session = match Session::open(addr, &opts).await {
        Ok(s) => s,
        Err(ClientError::Reply(reply)) if reply.class() == 5 && opts.auth.is_some() => {
            // The relay refused our credentials: every message would fail the same way.
            return HostResult::Done(vec![
                Outcome::from_reply(&reply, host, false, false);
                rcpts.len()
            ]);
        }
        Err(e) => {
            return HostResult::Next {
                reason: e.to_string(),
                mta: host.to_string(),
            };
        }
    };
    let tls = session.is_tls();
    let ext = session.ext.clone();
    let refuse = |status: &str, what: &str| {
        HostResult::Done(vec![
            Outcome::Permanent {
                reason: format!("{status} {what}"),
                mta: Some(host.to_string()),
                tls,
            };
            rcpts.len()
        ])
    };
    let body = match message.body.as_str() {
        "8BITMIME" => Some("8BITMIME"),
        "BINARYMIME" => Some("BINARYMIME"),
        _ => None,
    };
    let unmet = if message.smtputf8 && !ext.smtputf8 {
        Some((
            "5.6.7",
            "the message needs SMTPUTF8, which the server does not support",
        ))
    } else if body == Some("8BITMIME") && !ext.eightbitmime {
        Some((
            "5.6.3",
            "the message needs 8BITMIME, which the server does not support",
        ))
    } else if body == Some("BINARYMIME") && !(ext.binarymime && ext.chunking) {
        Some((
            "5.6.3",
            "the message needs BINARYMIME, which the server does not support",
        ))
    } else if ext
        .size
        .is_some_and(|limit| limit > 0 && message.size > limit)
    {
        Some(("5.3.4", "the message is larger than the server accepts"))
    } else {
        None
    };
    if let Some((status, what)) = unmet {
        session.quit().await;
        return refuse(status, what);
    }
    let tx = Transaction {
        from: &message.sender,
        body,
        smtputf8: message.smtputf8,
        ret: message.ret.as_deref(),
        envid: message.envid.as_deref(),
        rcpts: rcpts
            .iter()
            .map(|r| TxRcpt {
                address: &r.address,
                notify: r.notify.as_deref(),
                orcpt: r.orcpt.as_deref(),
            })
            .collect(),
    };
    let path = inner.spool.path(&message.id);
    let content = Content {
        prepend: &message.prepend,
        path: &path,
        skip: message.skip,
        size: message.size,
    };
    let result = session.send(&tx, &content).await;
    let outcomes = match result {
        Ok(replies) => {
            let outcomes: Vec<Outcome> = replies
                .iter()
                .map(|r| Outcome::from_reply(r, host, tls, ext.dsn))
                .collect();
            session.quit().await;
            outcomes
        }
        Err(ClientError::Reply(reply)) => {
            session.quit().await;
            vec![Outcome::from_reply(&reply, host, tls, ext.dsn); rcpts.len()]
        }
        Err(e) => vec![
            Outcome::Temporary {
                reason: e.to_string(),
                mta: Some(host.to_string()),
                tls,
            };
            rcpts.len()
        ],
    };
    tracing::info!(id = %message.id, host = %host, %addr, tls,
        outcomes = ?outcomes.iter().map(short).collect::<Vec<_>>(), "queue: delivery attempt");
    HostResult::Done(outcomes)
}

fn short(o: &Outcome) -> &str {
    match o {
        Outcome::Sent { reply, .. } => reply,
        Outcome::Temporary { reason, .. } | Outcome::Permanent { reason, .. } => reason,
    }
}
