//! The lookups of RFC 7672 §2.2 through the AD-reading stub: the MX RRset, each host's
//! addresses (following CNAMEs, for the TLSA base domain), and the host's TLSA RRset.

use super::answer::{self, Answer};
use super::query::Stub;
use super::{HostDane, TlsaLookup};
use crate::dns::{DnsError, HostAddrs, Routes, order_mx};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use std::net::IpAddr;

fn fqdn(name: &str) -> Result<Name, String> {
    let mut n = Name::from_utf8(name.trim_end_matches('.')).map_err(|e| format!("{name}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

fn text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

async fn ask(stub: &Stub, name: &Name, rtype: RecordType) -> answer::Reply {
    match stub.query(name, rtype).await {
        Ok(reply) => answer::classify(name, rtype, &reply),
        Err(e) => answer::Reply {
            answer: Answer::Failed(e),
            secure: false,
        },
    }
}

/// The MX hosts of `domain` (RFC 5321 §5.1, RFC 7505) and whether the MX RRset (or, for
/// the implicit MX, its denial) was secure.
pub async fn routes(stub: &Stub, domain: &str) -> Result<Routes, DnsError> {
    let name = fqdn(domain).map_err(|e| DnsError::Permanent {
        status: "5.1.2",
        text: format!("bad domain name {e}"),
    })?;
    let reply = ask(stub, &name, RecordType::MX).await;
    let hosts = match &reply.answer {
        Answer::Records { data, .. } => order_mx(domain, data.iter())?,
        // NODATA: the domain itself is the implicit MX (RFC 5321 §5.1).
        Answer::NoData => vec![domain.to_string()],
        Answer::NxDomain => {
            return Err(DnsError::Permanent {
                status: "5.1.2",
                text: format!("domain {domain} not found"),
            });
        }
        // For a validating resolver SERVFAIL is also "bogus": deferred, never guessed at.
        Answer::Failed(e) => {
            return Err(DnsError::Temporary(format!("MX lookup for {domain}: {e}")));
        }
    };
    Ok(Routes {
        hosts,
        secure: reply.secure,
    })
}

/// The addresses of `host` (AAAA then A, as hickory orders them), whether both lookups
/// were secure, and where its CNAMEs lead.
pub async fn addresses(stub: &Stub, host: &str, strict: bool) -> Result<HostAddrs, DnsError> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        return Ok(HostAddrs {
            ips: vec![ip],
            secure: false,
            canonical: None,
        });
    }
    let name = fqdn(host).map_err(DnsError::Temporary)?;
    let (v6, v4) = tokio::join!(
        ask(stub, &name, RecordType::AAAA),
        ask(stub, &name, RecordType::A)
    );
    let mut ips = Vec::new();
    let mut secure = true;
    let mut canonical = None;
    let mut failed = Vec::new();
    for reply in [&v6, &v4] {
        secure &= reply.secure;
        match &reply.answer {
            Answer::Records { owner, data } => {
                if *owner != name {
                    canonical = Some(text(owner));
                }
                ips.extend(data.iter().filter_map(|d| match d {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                }));
            }
            Answer::NoData | Answer::NxDomain => {}
            Answer::Failed(e) => failed.push(e.clone()),
        }
    }
    if !failed.is_empty() && (strict || ips.is_empty()) {
        return Err(DnsError::Temporary(format!(
            "address lookup for {host}: {}",
            failed.join("; ")
        )));
    }
    Ok(HostAddrs {
        ips,
        secure: secure && failed.is_empty(),
        canonical,
    })
}

/// The TLSA records of `host` for `port` (RFC 7672 §2.2.2): at the end of the host's CNAME
/// chain first (its address lookup was secure, which covers the chain), then at the host
/// itself. Only for hosts whose MX RRset and addresses are secure.
pub async fn tlsa(stub: &Stub, port: u16, host: &str, addrs: &HostAddrs) -> TlsaLookup {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut bases = Vec::new();
    if let Some(c) = &addrs.canonical
        && *c != host
    {
        bases.push(c.clone());
    }
    bases.push(host.clone());
    for base in &bases {
        let name = match fqdn(&format!("_{port}._tcp.{base}")) {
            Ok(n) => n,
            Err(e) => return TlsaLookup::Failed(e),
        };
        let reply = ask(stub, &name, RecordType::TLSA).await;
        match reply.answer {
            Answer::Records { data, .. } if reply.secure => {
                let all = answer::tlsa_records(&data);
                let total = all.len();
                let records: Vec<_> = all.into_iter().filter(|r| r.is_usable()).collect();
                let mut names = vec![base.clone()];
                if *base != host {
                    names.push(host.clone());
                }
                return TlsaLookup::Dane(HostDane {
                    base: base.clone(),
                    names,
                    unusable: total - records.len(),
                    records,
                });
            }
            // Insecure records are ignored; no records: look at the next candidate.
            Answer::Records { .. } | Answer::NoData | Answer::NxDomain => {}
            // SERVFAIL from the validating resolver (bogus or indeterminate), a timeout:
            // the host must not be used (RFC 7672 §2.2).
            Answer::Failed(e) => return TlsaLookup::Failed(format!("{name}: {e}")),
        }
    }
    TlsaLookup::None
}
