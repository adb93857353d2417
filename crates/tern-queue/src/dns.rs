//! Where mail for a domain goes (RFC 5321 §5.1): MX records in preference order, the domain
//! itself when it has none (the implicit MX), nothing when it publishes a null MX (RFC 7505).
//! Addresses by A/AAAA; TXT records for MTA-STS discovery (`_mta-sts.DOMAIN`). Resolution through hickory with the configured name servers (tests
//! run a dnsmasq on loopback; never the machine's resolver there).

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};

/// Why a destination could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The domain cannot receive mail (NXDOMAIN, null MX, no address at all): bounce.
    Permanent { status: &'static str, text: String },
    /// Try again later (timeouts, SERVFAIL, MX hosts that do not resolve yet).
    Temporary(String),
}

/// A resolver for mail routing.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// `nameservers` empty: the system's configuration.
    pub fn new(nameservers: &[SocketAddr]) -> Result<Dns, String> {
        let builder = if nameservers.is_empty() {
            Resolver::builder_tokio().map_err(|e| e.to_string())?
        } else {
            let servers = nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], servers),
                TokioRuntimeProvider::default(),
            )
        };
        let resolver = builder.build().map_err(|e| e.to_string())?;
        Ok(Dns { resolver })
    }

    /// The hosts to try for `domain`, best first (equal preferences in random order).
    pub async fn mail_hosts(&self, domain: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut mx: Vec<(u16, u32, String)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some((
                            mx.preference,
                            rand::random::<u32>(),
                            mx.exchange.to_ascii().trim_end_matches('.').to_string(),
                        )),
                        _ => None,
                    })
                    .collect();
                if mx.is_empty() {
                    return Ok(vec![domain.to_string()]);
                }
                // RFC 7505 §3: a lone MX with the root as exchange says "no mail here".
                if mx.len() == 1 && mx[0].2.is_empty() {
                    return Err(DnsError::Permanent {
                        status: "5.1.10",
                        text: format!("{domain} does not accept mail (null MX)"),
                    });
                }
                mx.retain(|m| !m.2.is_empty());
                mx.sort();
                Ok(mx.into_iter().map(|m| m.2).collect())
            }
            Err(e) if e.is_nx_domain() => Err(DnsError::Permanent {
                status: "5.1.2",
                text: format!("domain {domain} not found"),
            }),
            // NODATA: no MX, the domain itself is the implicit MX (RFC 5321 §5.1).
            Err(e) if e.is_no_records_found() => Ok(vec![domain.to_string()]),
            Err(e) => Err(DnsError::Temporary(format!("MX lookup for {domain}: {e}"))),
        }
    }

    /// The addresses of a host (empty when it has none).
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(vec![ip]);
        }
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        match self.resolver.lookup_ip(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup.iter().collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError::Temporary(format!(
                "address lookup for {host}: {e}"
            ))),
        }
    }

    /// The TXT records of `name`, each one's character-strings joined (empty when there are
    /// none). Invalid UTF-8 is replaced, which makes such a record fail to parse.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError::Temporary(format!("TXT lookup for {name}: {e}"))),
        }
    }
}
