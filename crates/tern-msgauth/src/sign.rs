//! DKIM signing (RFC 6376 §5) of a submitted message, over the octets as they will be
//! transmitted (the queue sends the signature fields, then the blob after the local
//! `Return-Path:`), relaxed/relaxed, the header fields of [`crate::keys::SIGNED_HEADERS`]
//! that the message has, with every key of the signing domain (RSA-SHA256 and/or
//! Ed25519-SHA256).
//!
//! Invariant: the result is complete `DKIM-Signature:` fields, each CRLF-terminated and
//! folded by mail-auth, to put in front of exactly the bytes that were signed.

use crate::keys::{KeySigner, KeyStore};
use mail_auth::common::headers::HeaderWriter as _;

/// Why a message could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("DKIM signing with {selector}._domainkey.{domain} failed: {reason}")]
pub struct SignError {
    pub domain: String,
    pub selector: String,
    pub reason: String,
}

impl KeyStore {
    /// Whether `domain` has a key.
    pub fn can_sign(&self, domain: &str) -> bool {
        self.domain(domain).next().is_some()
    }

    /// The `DKIM-Signature:` fields for `message` with every key of `domain` (empty when
    /// the domain has none).
    pub fn sign(&self, domain: &str, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut out = Vec::new();
        let Some(keys) = self
            .by_domain
            .get(&domain.trim_end_matches('.').to_ascii_lowercase())
        else {
            return Ok(out);
        };
        for key in keys {
            let signature = match &key.signer {
                KeySigner::Rsa(signer) => signer.sign(message),
                KeySigner::Ed25519(signer) => signer.sign(message),
            }
            .map_err(|e| SignError {
                domain: key.info.domain.clone(),
                selector: key.info.selector.clone(),
                reason: e.to_string(),
            })?;
            out.extend_from_slice(signature.to_header().as_bytes());
        }
        Ok(out)
    }
}
