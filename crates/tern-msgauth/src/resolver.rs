//! The DNS resolver every check uses: hickory (the version mail-auth 0.13.3 links, 0.26)
//! pointed at `[dns] nameservers`, or the system's resolver when none are configured.
//!
//! Tests always configure a loopback server (tests/dnsserver.py), so they never depend on
//! the machine's resolver. UDP first, TCP for truncated answers (DKIM keys in long TXT
//! records). Negative answers are trusted (an authoritative NXDOMAIN is final).

use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use std::net::SocketAddr;
use std::time::Duration;

/// Why the resolver could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the DNS resolver: {0}")]
pub struct ResolverError(String);

/// An authenticator whose DNS goes to `nameservers` (empty: the system's resolver).
pub fn authenticator(nameservers: &[SocketAddr]) -> Result<MessageAuthenticator, ResolverError> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(5);
    opts.attempts = 2;
    if nameservers.is_empty() {
        return MessageAuthenticator::new_system_conf().map_err(|e| ResolverError(e.to_string()));
    }
    // No search domains, and absolute names only: nothing is tried under a local suffix.
    opts.ndots = 0;
    let servers = nameservers
        .iter()
        .map(|addr| {
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut server.connections {
                connection.port = addr.port();
            }
            server
        })
        .collect();
    let config = ResolverConfig::from_name_servers(servers);
    MessageAuthenticator::new(config, opts).map_err(|e| ResolverError(e.to_string()))
}
