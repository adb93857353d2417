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

#[cfg(test)]
mod tests {
    use crate::keys::{Algorithm, KeyStore, generate};
    use crate::record::{dns_name, txt_value};
    use mail_auth::common::parse::TxtRecordParser as _;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::{AuthenticatedMessage, DkimResult, Parameters, ResolverCache, Txt};
    use std::borrow::Borrow;
    use std::collections::HashMap;
    use std::hash::Hash;
    use std::sync::{Arc, Mutex};

    /// A TXT "cache" holding the published keys, so verification needs no DNS server.
    #[derive(Default)]
    struct Published(Mutex<HashMap<Box<str>, Txt>>);

    impl ResolverCache<Box<str>, Txt> for Published {
        fn get<Q>(&self, name: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            self.0.lock().unwrap().get(name).cloned()
        }
        fn remove<Q>(&self, name: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            self.0.lock().unwrap().remove(name)
        }
        fn insert(&self, key: Box<str>, value: Txt, _: std::time::Instant) {
            self.0.lock().unwrap().insert(key, value);
        }
    }

    /// What submission signs: the Received field, then the message; each key of the domain
    /// makes one signature, and mail-auth verifies both against the published records.
    #[tokio::test]
    async fn signatures_verify_against_the_published_records() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = generate(dir.path(), "example.test", "r1", Algorithm::RsaSha256, 2048).unwrap();
        let ed = generate(
            dir.path(),
            "example.test",
            "e1",
            Algorithm::Ed25519Sha256,
            0,
        )
        .unwrap();
        let store = KeyStore::load(dir.path()).unwrap();
        assert!(store.can_sign("Example.Test") && !store.can_sign("other.test"));
        let transmitted = b"Received: from client.example.test ([127.0.0.1])\r\n\
            \tby mail.example.test (Tern) with ESMTPSA id 1; Fri, 4 Dec 2026 10:00:00 +0000\r\n\
            From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\nSubject: signed\r\n\
            Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\n\
            Hello,  world \r\n\r\n\r\n";
        let fields = store.sign("example.test", transmitted).unwrap();
        assert_eq!(store.sign("other.test", transmitted).unwrap(), b"");
        let text = String::from_utf8(fields.clone()).unwrap();
        assert_eq!(text.matches("DKIM-Signature:").count(), 2, "{text}");
        assert!(text.contains("a=rsa-sha256") && text.contains("a=ed25519-sha256"));
        assert!(text.contains("c=relaxed/relaxed"), "{text}");
        assert!(!text.to_ascii_lowercase().contains("received"), "{text}");

        let published = Published::default();
        for key in [&rsa, &ed] {
            let record = DomainKey::parse(txt_value(key).as_bytes()).unwrap();
            let value = Txt::DomainKey(Arc::new(record));
            let name = dns_name(key);
            published.insert(
                name.clone().into(),
                value.clone(),
                std::time::Instant::now(),
            );
            published.insert(
                name.trim_end_matches('.').into(),
                value,
                std::time::Instant::now(),
            );
        }
        // Port 9 on loopback: nothing is asked, every key is in `published`.
        let auth = crate::resolver::authenticator(&["127.0.0.1:9".parse().unwrap()]).unwrap();
        let mut signed = fields.clone();
        signed.extend_from_slice(transmitted);
        let message = AuthenticatedMessage::parse(&signed).unwrap();
        let results = auth
            .verify_dkim(Parameters::new(&message).with_txt_cache(&published))
            .await;
        assert_eq!(results.len(), 2);
        for r in &results {
            assert_eq!(r.result(), &DkimResult::Pass, "{r:?}");
        }
        // A changed body fails both (mail-auth says "neutral" for a body hash mismatch;
        // `verify` reports it as fail).
        let mut altered = fields;
        altered.extend_from_slice(&transmitted[..transmitted.len() - 6]);
        altered.extend_from_slice(b"!\r\n");
        let message = AuthenticatedMessage::parse(&altered).unwrap();
        let results = auth
            .verify_dkim(Parameters::new(&message).with_txt_cache(&published))
            .await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r.result(), DkimResult::Neutral(_) | DkimResult::Fail(_))),
            "{results:?}"
        );
    }
}
