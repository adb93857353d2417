//! One address of a DANE-protected MX host (RFC 7672 §2.2, §3): STARTTLS required, the
//! TLSA base domain as SNI, the certificate matched against the host's usable TLSA records
//! (or, when it has none, not authenticated). A failure moves on to the next host with a
//! `4.7.5` reason (RFC 3463: cryptographic failure); nothing falls back to plain text.

use super::HostDane;
use crate::Inner;
use crate::attempt::{HostResult, try_host};
use crate::client::TlsPolicy;
use crate::db::{MessageRow, RecipientRow};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;

pub(crate) async fn try_mx(
    inner: &Inner,
    message: &MessageRow,
    rcpts: &[&RecipientRow],
    addr: SocketAddr,
    host: &str,
    dane: &HostDane,
) -> HostResult {
    let refused = |why: String| {
        tracing::warn!(id = %message.id, %host, %addr, base = %dane.base, reason = %why,
            "queue: DANE: host refused");
        HostResult::Next {
            reason: format!("4.7.5 DANE: {host}: {why}"),
            mta: host.to_string(),
        }
    };
    let sni = match ServerName::try_from(dane.base.clone()) {
        Ok(n) => n,
        Err(e) => return refused(format!("{} is not a host name: {e}", dane.base)),
    };
    let (config, verdict) = if dane.records.is_empty() {
        (inner.opportunistic.clone(), None)
    } else {
        match super::verify::config(dane.records.clone(), dane.names.clone()) {
            Ok((config, verdict)) => (config, Some(verdict)),
            Err(e) => return refused(e),
        }
    };
    let result = try_host(
        inner,
        message,
        rcpts,
        addr,
        host,
        TlsPolicy::Required(config, sni),
        None,
    )
    .await;
    let verdict = verdict.and_then(|v| v.lock().unwrap_or_else(|p| p.into_inner()).take());
    match result {
        HostResult::Next { reason, mta } => match verdict {
            Some(Err(cert)) => refused(format!("certificate: {cert}")),
            _ if reason.starts_with("TLS") => refused(reason),
            _ => HostResult::Next { reason, mta },
        },
        done => {
            match verdict {
                Some(Ok(m)) => tracing::info!(id = %message.id, %host, %addr,
                    base = %dane.base, record = %m.record,
                    "queue: DANE: certificate matched a TLSA record"),
                _ => tracing::info!(id = %message.id, %host, %addr, base = %dane.base,
                    unusable = dane.unusable,
                    "queue: DANE: no usable TLSA record, TLS not authenticated"),
            }
            done
        }
    }
}
