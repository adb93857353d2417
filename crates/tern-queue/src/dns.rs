//! Where mail for a domain goes (RFC 5321 §5.1): MX records in preference order, the domain
//! itself when it has none (the implicit MX), nothing when it publishes a null MX (RFC 7505).
//! Addresses by A/AAAA; TXT records for MTA-STS discovery (`_mta-sts.DOMAIN`). Resolution through hickory with the configured name servers (tests
//! run a dnsmasq on loopback; never the machine's resolver there).
//!
//! With DANE on (`[outbound] dane`, [`Dns::with_dnssec`]), the routing lookups
//! ([`Dns::routes`], [`Dns::host_addresses`]) go instead to the configured name servers
//! through [`crate::dane::query`], which reads the AD bit of each reply: the routes then say
//! whether the MX RRset and each host's addresses are DNSSEC-secure, which decides whether
//! TLSA records are looked up at all (RFC 7672 §2.2).

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
    /// DANE on: the stub that reads the AD bit of the trusted, validating name servers.
    dnssec: Option<crate::dane::query::Stub>,
}

/// Where mail for a domain goes, and whether the resolver vouched for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    /// The hosts to try, best first.
    pub hosts: Vec<String>,
    /// The MX RRset (or its secure denial, for the implicit MX) was DNSSEC-secure.
    pub secure: bool,
}

/// A host's addresses, and whether the resolver vouched for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAddrs {
    pub ips: Vec<IpAddr>,
    /// Every address lookup (and the CNAMEs it followed) was DNSSEC-secure.
    pub secure: bool,
    /// Where the host's CNAMEs lead, if anywhere else (the candidate TLSA base domain,
    /// RFC 7672 §2.2.2).
    pub canonical: Option<String>,
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
        Ok(Dns {
            resolver,
            dnssec: None,
        })
    }

    /// DANE on: routing lookups and TLSA lookups go to `nameservers`, trusted to validate
    /// DNSSEC, asking for the AD bit; `timeout` per server and query.
    pub fn with_dnssec(mut self, nameservers: &[SocketAddr], timeout: std::time::Duration) -> Dns {
        self.dnssec = Some(crate::dane::query::Stub::new(nameservers.to_vec(), timeout));
        self
    }

    /// The AD-reading stub, when DANE is on.
    pub fn dnssec(&self) -> Option<&crate::dane::query::Stub> {
        self.dnssec.as_ref()
    }

    /// [`Dns::mail_hosts`], and whether the answer was DNSSEC-secure (always `false`
    /// without DANE).
    pub async fn routes(&self, domain: &str) -> Result<Routes, DnsError> {
        match &self.dnssec {
            Some(stub) => crate::dane::lookup::routes(stub, domain).await,
            None => Ok(Routes {
                hosts: self.mail_hosts(domain).await?,
                secure: false,
            }),
        }
    }

    /// [`Dns::addresses`], and whether they were DNSSEC-secure (always `false` without
    /// DANE). `strict` (the MX RRset was secure, DANE may apply): an address lookup that
    /// fails fails the host, rather than leaving the other family's addresses, so that a
    /// forged, bogus answer cannot make the host look insecure.
    pub async fn host_addresses(&self, host: &str, strict: bool) -> Result<HostAddrs, DnsError> {
        match &self.dnssec {
            Some(stub) => crate::dane::lookup::addresses(stub, host, strict).await,
            None => Ok(HostAddrs {
                ips: self.addresses(host).await?,
                secure: false,
                canonical: None,
            }),
        }
    }

    /// The hosts to try for `domain`, best first (equal preferences in random order).
    pub async fn mail_hosts(&self, domain: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => order_mx(domain, lookup.answers().iter().map(|r| &r.data)),
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

/// The hosts of an MX RRset, best first (equal preferences in random order); the domain
/// itself when there is none (implicit MX); a null MX (RFC 7505) is a permanent failure.
pub(crate) fn order_mx<'a>(
    domain: &str,
    data: impl Iterator<Item = &'a RData>,
) -> Result<Vec<String>, DnsError> {
    let mut mx: Vec<(u16, u32, String)> = data
        .filter_map(|d| match d {
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
