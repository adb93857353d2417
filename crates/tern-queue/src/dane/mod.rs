//! DANE for SMTP (RFC 7672, with RFC 6698, RFC 7218 and RFC 7671 for TLSA), on by
//! `[outbound] dane = true`, which declares that the `[dns] nameservers` validate DNSSEC
//! and are reached over a path nobody can tamper with (a resolver on loopback).
//!
//! DNSSEC is not validated here: like Postfix's `smtp_dns_support_level = dnssec`, Tern
//! trusts the AD bit of that resolver's replies ([`query`]). Keeping the root trust anchor
//! current and validating signatures is the resolver's job (Unbound, BIND, Knot Resolver).
//!
//! # Layout
//! - [`query`]: the stub that asks with DO and AD set and reads the reply's AD bit.
//! - [`answer`]: classifying a reply (records through CNAMEs, NODATA, NXDOMAIN, failure) and
//!   its TLSA records (no I/O, fuzzed).
//! - [`tlsa`]: the TLSA record and which records SMTP can use.
//! - [`lookup`]: MX, addresses and TLSA as RFC 7672 §2.2 asks for them.
//! - [`verify`]: the certificate matcher and the rustls verifier built on it.
//! - [`deliver`]: one MX host tried under DANE.
//!
//! # When DANE applies (RFC 7672 §2.2)
//! 1. The MX RRset is secure (for a domain without MX, the secure denial of it).
//! 2. The MX host's address records are secure (then a failed A or AAAA lookup fails the
//!    host, so that a forged, bogus answer cannot make the host look insecure).
//! 3. The host's TLSA RRset, at `_PORT._tcp.` + the end of the host's CNAME chain, else the
//!    host name (PORT is 25; tests change `[outbound] port`), is secure and not empty.
//!
//! Then the host is *DANE-protected*: STARTTLS is required, with the TLSA base domain as
//! SNI, and the certificate must match a usable record ([`verify`]). When every record is
//! unusable (PKIX-TA/PKIX-EE, unknown parameters), TLS is still required but the
//! certificate is not authenticated (§2.2: "Any connection to the MTA MUST be made via TLS,
//! but authentication is not required"). A DANE-protected host that fails is skipped, never
//! retried in plain text; a TLSA lookup that fails (SERVFAIL, which a validating resolver
//! also answers for bogus data, or a timeout) skips the host too. Insecure or absent TLSA
//! records leave the host to MTA-STS or opportunistic TLS, as without DANE.
//!
//! DANE takes precedence over MTA-STS (RFC 8461 §2): a DANE-protected host is neither
//! filtered by the domain's policy nor verified against the web PKI.
//!
//! ## Invariants
//! - Nothing is sent to a DANE-protected host in plain text, or over TLS whose certificate
//!   did not match one of its usable TLSA records (when it has any).
//! - TLSA records are only ever used from a reply with the AD bit, and only looked up when
//!   the MX RRset and the host's addresses came with it.

pub mod answer;
pub mod deliver;
pub mod lookup;
pub mod query;
pub mod tlsa;
pub mod verify;

use tlsa::Tlsa;

/// A DANE-protected MX host: what its TLSA RRset requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostDane {
    /// The TLSA base domain (SNI, and a reference identifier for DANE-TA).
    pub base: String,
    /// The names a DANE-TA certificate may carry: the base domain and the MX host.
    pub names: Vec<String>,
    /// The usable records; empty: TLS required without authentication.
    pub records: Vec<Tlsa>,
    /// How many records of the RRset were unusable.
    pub unusable: usize,
}

/// The outcome of a host's TLSA lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsaLookup {
    /// Not DANE-protected: no TLSA records, or none the resolver vouched for.
    None,
    Dane(HostDane),
    /// The lookup failed: the host must not be used now.
    Failed(String),
}

/// What DANE did for a recipient's last attempt (kept per recipient, `tern queue show`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Delivered over TLS whose certificate matched a TLSA record of the host.
    Verified,
    /// The host's TLSA records were all unusable: TLS was required, not authenticated.
    EncryptOnly,
    /// DANE-protected hosts (or hosts whose TLSA lookup failed) were skipped and no other
    /// host took the message: deferred (the reason says why).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::EncryptOnly => "encrypt-only",
            Status::Failed => "failed",
        }
    }
}

impl HostDane {
    /// The status a session this host took decides.
    pub fn status(&self) -> Status {
        if self.records.is_empty() {
            Status::EncryptOnly
        } else {
            Status::Verified
        }
    }
}

/// Entry points for `fuzz/fuzz_targets/dane.rs` (not an API).
#[doc(hidden)]
pub mod fuzzing {
    use super::answer::{self, Answer};
    use super::tlsa::Tlsa;
    use super::verify::{self, Matched};
    use hickory_resolver::proto::op::Message;
    use hickory_resolver::proto::rr::{Name, RecordType};
    use rustls::pki_types::{CertificateDer, UnixTime};

    /// The question the fuzzed replies answer.
    pub const QUESTION: &str = "_25._tcp.mx.example.test.";

    /// Decodes `wire` as a reply (hickory-proto) and classifies it as the answer to the TLSA
    /// question [`QUESTION`]: the classification, the owner of the records (if any) and
    /// their TLSA records.
    pub fn tlsa_reply(wire: &[u8]) -> Option<(answer::Reply, Option<String>, Vec<Tlsa>)> {
        let message = Message::from_vec(wire).ok()?;
        let name = Name::from_ascii(QUESTION).ok()?;
        let reply = answer::classify(&name, RecordType::TLSA, &message);
        let (owner, records) = match &reply.answer {
            Answer::Records { owner, data } => (Some(owner.to_ascii()), answer::tlsa_records(data)),
            _ => (None, Vec::new()),
        };
        Some((reply, owner, records))
    }

    /// [`verify::authenticate`] of `chain` (server certificate first) for `mx.example.test`.
    pub fn authenticate(records: &[Tlsa], chain: &[Vec<u8>]) -> Result<Matched, String> {
        let chain: Vec<CertificateDer<'_>> =
            chain.iter().map(|c| CertificateDer::from(&c[..])).collect();
        let Some((ee, rest)) = chain.split_first() else {
            return Err("no certificate".into());
        };
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        verify::authenticate(
            records,
            ee,
            rest,
            &["mx.example.test".to_string()],
            UnixTime::now(),
            provider.signature_verification_algorithms.all,
        )
    }

    /// The SubjectPublicKeyInfo of a certificate webpki parses.
    pub fn spki(cert: &[u8]) -> Option<Vec<u8>> {
        let der = CertificateDer::from(cert);
        let parsed = webpki::EndEntityCert::try_from(&der).ok()?;
        Some(parsed.subject_public_key_info().as_ref().to_vec())
    }
}
