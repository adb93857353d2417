//! One MX host tried under a domain's MTA-STS policy (RFC 8461 §4, §5).
//!
//! - `enforce`: a host the policy does not name is not contacted ([`admits`]); the others get
//!   STARTTLS as a requirement with the certificate verified for the host's name (system
//!   roots plus `[outbound] tls_ca_file`). Any failure moves on to the next host; nothing
//!   falls back to plain text. The failure reasons carry `4.7.5` (RFC 3463: cryptographic
//!   failure) when TLS was the problem.
//! - `testing`: delivery exactly as without a policy (opportunistic STARTTLS, a failed
//!   handshake retried in plain text), with the host's name for SNI and the certificate
//!   checked without consequence; whatever `enforce` would have refused is logged at WARN
//!   with "MTA-STS testing" (TLSRPT is not implemented, the log is the report).

use super::{Applied, Mode};
use crate::Inner;
use crate::attempt::{HostResult, try_host};
use crate::client::TlsPolicy;
use crate::db::{MessageRow, RecipientRow};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;

/// Whether `host` may be used at all; `Err`: the reason it may not (enforce only). Under
/// `testing`, a host outside the policy is logged and used.
pub fn admits(applied: &Applied, id: &str, host: &str) -> Result<(), String> {
    if applied.policy.allows(host) {
        return Ok(());
    }
    let why = format!(
        "MX host {host} is not in the MTA-STS policy of {} (mx: {})",
        applied.domain,
        applied.policy.mx_list()
    );
    match applied.policy.mode {
        Mode::Enforce => {
            tracing::warn!(%id, domain = %applied.domain, %host, policy_id = %applied.id,
                "queue: MTA-STS enforce: MX host not in the policy, skipped");
            Err(format!("4.7.5 {why}"))
        }
        Mode::Testing => {
            tracing::warn!(%id, domain = %applied.domain, %host, policy_id = %applied.id,
                "queue: MTA-STS testing: would have failed: {why}");
            Ok(())
        }
        Mode::None => Ok(()),
    }
}

/// Tries one address of an MX host under the policy.
pub(crate) async fn try_mx(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    addr: SocketAddr,
    host: &str,
    applied: &Applied,
) -> HostResult {
    let Some(sts) = inner.sts.as_ref() else {
        return crate::attempt::try_mx_plain(inner, message, rcpts, addr, host).await;
    };
    let name = ServerName::try_from(host.to_string());
    match applied.policy.mode {
        Mode::Enforce => {
            let name = match name {
                Ok(n) => n,
                Err(e) => {
                    return HostResult::Next {
                        reason: format!("4.7.5 MTA-STS: {host} is not a host name: {e}"),
                        mta: host.to_string(),
                    };
                }
            };
            let tls = TlsPolicy::Required(sts.verified(), name);
            match try_host(inner, message, rcpts, addr, host, tls, None).await {
                HostResult::Next { reason, mta } => {
                    tracing::warn!(id = %message.id, domain = %applied.domain, %host, %addr,
                        %reason, "queue: MTA-STS enforce: host refused");
                    let reason = if reason.starts_with("TLS") {
                        format!(
                            "4.7.5 MTA-STS policy of {} (enforce): {reason}",
                            applied.domain
                        )
                    } else {
                        reason
                    };
                    HostResult::Next { reason, mta }
                }
                done => done,
            }
        }
        Mode::Testing => {
            let audit = name
                .map_err(|e| e.to_string())
                .and_then(|name| Ok((crate::client::tls::audited(sts.roots())?, name)));
            let ((config, verdict), name) = match audit {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(id = %message.id, %host, error = %e,
                        "queue: MTA-STS testing: cannot check this host");
                    return crate::attempt::try_mx_plain(inner, message, rcpts, addr, host).await;
                }
            };
            let would_fail = |why: &str| {
                tracing::warn!(id = %message.id, domain = %applied.domain, %host, %addr,
                    policy_id = %applied.id, "queue: MTA-STS testing: would have failed: {why}");
            };
            let tls = TlsPolicy::Audited(config, name);
            match try_host(inner, message, rcpts, addr, host, tls, None).await {
                HostResult::Next { reason, .. } if reason.starts_with("TLS") => {
                    would_fail(&reason);
                    try_host(inner, message, rcpts, addr, host, TlsPolicy::Never, None).await
                }
                other => {
                    let verdict = verdict.lock().unwrap_or_else(|p| p.into_inner()).take();
                    match (&other, verdict) {
                        (HostResult::Done(o), _) if o.first().is_some_and(|o| !o.tls()) => {
                            would_fail("no TLS (STARTTLS not offered or refused)")
                        }
                        (_, Some(cert)) => would_fail(&format!("certificate: {cert}")),
                        _ => {}
                    }
                    other
                }
            }
        }
        Mode::None => crate::attempt::try_mx_plain(inner, message, rcpts, addr, host).await,
    }
}
