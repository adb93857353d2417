//! # tern-msgauth: message authentication for Tern's SMTP
//!
//! Inbound (the MX): SPF (RFC 7208) of the HELO and MAIL FROM identities against the
//! client's address, DKIM (RFC 6376) signatures, DMARC (RFC 7489, with mail-auth's
//! DMARCbis policy discovery) alignment with the `From:` domain, and ARC (RFC 8617) chains,
//! all by mail-auth 0.13.3, written as one `Authentication-Results:` field (RFC 8601) and
//! turned into an action (deliver, Junk, reject) per the configured DMARC handling.
//! Outbound (submission): DKIM signatures made with the keys `tern dkim generate` wrote.
//!
//! A crate of its own, not a module of `tern-smtp`: it carries the heavy dependency
//! (mail-auth, its hickory resolver and crypto), it is used by two crates (`tern-smtp`
//! verifies and signs, the `tern` binary generates and lists keys), and it knows nothing of
//! SMTP sessions: it takes bytes and an envelope and returns fields and decisions.
//!
//! # Layout
//! - [`resolver`]: the DNS resolver, from `[dns] nameservers` (never the system's in tests).
//! - [`verify`]: [`Verifier`]: SPF, DKIM, ARC, DMARC → [`Outcome`].
//! - [`fields`]: the header-section scanner that finds `Authentication-Results:` fields
//!   claiming this host's authserv-id (RFC 8601 §5), to be removed.
//! - [`keys`]: the key store on disk (`data_dir/dkim/DOMAIN/SELECTOR.key`), generation.
//! - [`record`]: the DNS TXT record of a key (`v=DKIM1; k=rsa; p=...`).
//! - [`sign`]: [`KeyStore::sign`]: DKIM-Signature fields for a message as transmitted.
//!
//! ## Invariants
//! - Nothing here trusts the message's own claims: an `Authentication-Results:` with our
//!   authserv-id is reported as forged, ARC is only an input to local policy for the sealers
//!   the operator named.
//! - DNS failures are never a pass: they are `temperror` and never reject (a `4xx` or a
//!   delivery, as configured), so a DNS outage cannot bounce mail.
//! - A private key file is created with mode 0600 and never printed.
#![forbid(unsafe_code)]

pub mod fields;
pub mod keys;
pub mod record;
pub mod resolver;
pub mod sign;
pub mod verify;

pub use keys::{Algorithm, KeyError, KeyInfo, KeyStore};
pub use verify::{Action, Client, DmarcHandling, Outcome, Verifier, VerifyConfig};
