//! Matching a server's certificate chain against TLSA records (RFC 6698 §2.1, RFC 7671 §5,
//! RFC 7672 §3.1), and the rustls [`ServerCertVerifier`] that applies it to a handshake.
//!
//! - DANE-EE(3): the server certificate (selector 0) or its SubjectPublicKeyInfo
//!   (selector 1) matches the record; its names and validity dates are not checked (RFC
//!   7671 §5.1, RFC 7672 §3.1.1).
//! - DANE-TA(2): a certificate the server sent after its own (or, for a `2 0 0` record, the
//!   record's certificate itself) matches the record; the server certificate chains to it
//!   (signatures, validity dates, basic constraints, serverAuth: webpki with that one trust
//!   anchor); and it names the TLSA base domain or the MX host (RFC 7672 §3.2.2; webpki:
//!   subjectAltName dNSName, wildcards in the leftmost label). A `2 1 x` key that the chain
//!   does not carry as a certificate cannot anchor anything here.
//! - Records that are not usable ([`Tlsa::is_usable`]) are ignored; any usable record that
//!   matches authenticates the server (RFC 6698 §4.1).
//!
//! The handshake's own signatures are always verified (with the provider's algorithms): a
//! matching certificate proves nothing unless the server holds its key.
//! Everything here reads the peer's certificates: untrusted input, fuzzed with the DNS side
//! by `fuzz_targets/dane.rs`.

use super::tlsa::{CERT, DANE_EE, DANE_TA, FULL, SPKI, Tlsa};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};

/// The record that authenticated a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub record: Tlsa,
}

/// Authenticates `ee` (with the `intermediates` the server sent after it) by `records`;
/// `names`: the reference identifiers for DANE-TA (TLSA base domain, MX host).
pub fn authenticate(
    records: &[Tlsa],
    ee: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    names: &[String],
    now: UnixTime,
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Result<Matched, String> {
    let usable: Vec<&Tlsa> = records.iter().filter(|r| r.is_usable()).collect();
    if usable.is_empty() {
        return Err("no usable TLSA record".into());
    }
    let ee_cert = webpki::EndEntityCert::try_from(ee)
        .map_err(|e| format!("the server certificate does not parse: {e}"))?;
    let ee_spki = ee_cert.subject_public_key_info();
    for r in usable.iter().filter(|r| r.usage == DANE_EE) {
        let selected: &[u8] = match r.selector {
            CERT => ee.as_ref(),
            _ => ee_spki.as_ref(),
        };
        if r.matches(selected) {
            return Ok(Matched {
                record: (*r).clone(),
            });
        }
    }
    let anchors: Vec<&&Tlsa> = usable.iter().filter(|r| r.usage == DANE_TA).collect();
    if anchors.is_empty() {
        return Err(format!(
            "the server certificate matches no TLSA record ({})",
            list(&usable)
        ));
    }
    // Candidate trust anchors: what the server sent after its certificate, and the
    // certificates `2 0 0` records carry.
    let mut candidates: Vec<CertificateDer<'static>> = intermediates
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    for r in &anchors {
        if r.selector == CERT && r.matching == FULL {
            candidates.push(CertificateDer::from(r.data.clone()));
        }
    }
    let mut why = None;
    for candidate in &candidates {
        let Ok(parsed) = webpki::EndEntityCert::try_from(candidate) else {
            continue;
        };
        let spki = parsed.subject_public_key_info();
        let Some(record) = anchors.iter().find(|r| {
            r.matches(match r.selector {
                SPKI => spki.as_ref(),
                _ => candidate.as_ref(),
            })
        }) else {
            continue;
        };
        let anchor = match webpki::anchor_from_trusted_cert(candidate) {
            Ok(a) => a,
            Err(e) => {
                why = Some(format!("the trust anchor ({record}) does not parse: {e}"));
                continue;
            }
        };
        let anchors = [anchor];
        let chained = ee_cert.verify_for_usage(
            algs,
            &anchors,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        );
        if let Err(e) = chained.map(|_| ()) {
            why = Some(format!(
                "the server certificate does not chain to the trust anchor ({record}): {e}"
            ));
            continue;
        }
        let named = names.iter().any(|n| {
            ServerName::try_from(n.as_str())
                .is_ok_and(|name| ee_cert.verify_is_valid_for_subject_name(&name).is_ok())
        });
        if !named {
            why = Some(format!(
                "the server certificate (DANE-TA {record}) names none of {}",
                names.join(", ")
            ));
            continue;
        }
        return Ok(Matched {
            record: (**record).clone(),
        });
    }
    Err(why.unwrap_or_else(|| {
        format!(
            "no certificate of the chain matches the TLSA records ({})",
            list(&usable)
        )
    }))
}

fn list(records: &[&Tlsa]) -> String {
    records
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the last handshake's certificate check concluded: the matching record, or why
/// nothing matched (`None`: no handshake got that far).
pub type Verdict = Arc<Mutex<Option<Result<Matched, String>>>>;

/// The verifier of one DANE session.
#[derive(Debug)]
pub struct DaneVerifier {
    records: Vec<Tlsa>,
    names: Vec<String>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    verdict: Verdict,
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = authenticate(
            &self.records,
            end_entity,
            intermediates,
            &self.names,
            now,
            self.provider.signature_verification_algorithms.all,
        );
        let ok = result.is_ok();
        *self.verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        if ok {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client config for one session authenticated by `records` (TLS 1.2 and 1.3), and the
/// verdict its handshake leaves.
pub fn config(
    records: Vec<Tlsa>,
    names: Vec<String>,
) -> Result<(Arc<rustls::ClientConfig>, Verdict), String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verdict = Verdict::default();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(DaneVerifier {
            records,
            names,
            provider,
            verdict: verdict.clone(),
        }))
        .with_no_client_auth();
    Ok((Arc::new(config), verdict))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dane::tlsa::{SHA2_256, SHA2_512};
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    use sha2::Digest;

    struct Ca {
        params: CertificateParams,
        key: KeyPair,
        der: CertificateDer<'static>,
    }

    fn ca(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca { params, key, der }
    }

    /// A server certificate for `names`, signed by `ca` (self-signed without one).
    fn server(names: &[&str], ca: Option<&Ca>, expired: bool) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        match ca {
            Some(ca) => {
                let issuer = Issuer::from_params(&ca.params, &ca.key);
                params.signed_by(&key, &issuer).unwrap().der().clone()
            }
            None => params.self_signed(&key).unwrap().der().clone(),
        }
    }

    fn spki(cert: &CertificateDer<'_>) -> Vec<u8> {
        webpki::EndEntityCert::try_from(cert)
            .unwrap()
            .subject_public_key_info()
            .as_ref()
            .to_vec()
    }

    fn rec(usage: u8, selector: u8, matching: u8, selected: &[u8]) -> Tlsa {
        let data = match matching {
            SHA2_256 => sha2::Sha256::digest(selected).to_vec(),
            SHA2_512 => sha2::Sha512::digest(selected).to_vec(),
            _ => selected.to_vec(),
        };
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    fn check(
        records: Vec<Tlsa>,
        chain: Vec<CertificateDer<'static>>,
        names: &[&str],
    ) -> Result<Matched, String> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        authenticate(
            &records,
            &chain[0],
            &chain[1..],
            &names,
            UnixTime::now(),
            provider.signature_verification_algorithms.all,
        )
    }

    const MX: &[&str] = &["mx.example.test"];

    #[test]
    fn dane_ee_every_selector_and_matching_type() {
        // Self-signed, another name, long expired: DANE-EE looks at nothing but the match.
        let cert = server(&["elsewhere.invalid"], None, true);
        let key = spki(&cert);
        for (selector, selected) in [(CERT, cert.as_ref()), (SPKI, &key[..])] {
            for matching in [FULL, SHA2_256, SHA2_512] {
                let r = rec(DANE_EE, selector, matching, selected);
                let m = check(vec![r.clone()], vec![cert.clone()], MX)
                    .unwrap_or_else(|e| panic!("{r}: {e}"));
                assert_eq!(m.record, r);
            }
        }
    }

    #[test]
    fn dane_ee_mismatch_and_other_records() {
        let cert = server(&["mx.example.test"], None, false);
        let other = server(&["mx.example.test"], None, false);
        let wrong = rec(DANE_EE, SPKI, SHA2_256, &spki(&other));
        let err = check(vec![wrong.clone()], vec![cert.clone()], MX).unwrap_err();
        assert!(err.contains("matches no TLSA record"), "{err}");
        // A PKIX-EE record with the right digest is unusable for SMTP.
        let pkix = rec(1, SPKI, SHA2_256, &spki(&cert));
        let err = check(vec![pkix.clone()], vec![cert.clone()], MX).unwrap_err();
        assert_eq!(err, "no usable TLSA record");
        // One matching record among others is enough.
        let right = rec(DANE_EE, SPKI, SHA2_256, &spki(&cert));
        let m = check(vec![pkix, wrong, right.clone()], vec![cert], MX).unwrap();
        assert_eq!(m.record, right);
    }

    #[test]
    fn dane_ta_needs_the_anchor_in_the_chain_and_the_name() {
        let ca = ca("Tern test CA");
        let cert = server(&["mx.example.test"], Some(&ca), false);
        let ta = rec(DANE_TA, SPKI, SHA2_256, &spki(&ca.der));
        // The chain carries the CA: authenticated, for the MX host's name.
        let m = check(vec![ta.clone()], vec![cert.clone(), ca.der.clone()], MX).unwrap();
        assert_eq!(m.record, ta);
        let full = rec(DANE_TA, CERT, SHA2_512, ca.der.as_ref());
        check(vec![full], vec![cert.clone(), ca.der.clone()], MX).unwrap();
        // The TLSA base domain is a reference identifier too.
        check(
            vec![ta.clone()],
            vec![cert.clone(), ca.der.clone()],
            &["other.example.test", "mx.example.test"],
        )
        .unwrap();
        // Without the CA in the chain, a digest cannot anchor anything...
        let err = check(vec![ta.clone()], vec![cert.clone()], MX).unwrap_err();
        assert!(err.contains("no certificate of the chain matches"), "{err}");
        // ...but a `2 0 0` record carries the anchor itself.
        let carried = rec(DANE_TA, CERT, FULL, ca.der.as_ref());
        check(vec![carried], vec![cert.clone()], MX).unwrap();
        // Another name: refused.
        let err = check(
            vec![ta.clone()],
            vec![cert.clone(), ca.der.clone()],
            &["mx.other.test"],
        )
        .unwrap_err();
        assert!(err.contains("names none of mx.other.test"), "{err}");
    }

    #[test]
    fn dane_ta_refuses_other_issuers_and_expired_certificates() {
        let ca1 = ca("CA one");
        let ca2 = ca("CA two");
        let ta = rec(DANE_TA, SPKI, SHA2_256, &spki(&ca1.der));
        // Signed by another CA that the server also sends: the anchor is there but the
        // certificate does not chain to it.
        let by_ca2 = server(&["mx.example.test"], Some(&ca2), false);
        let err = check(
            vec![ta.clone()],
            vec![by_ca2, ca2.der.clone(), ca1.der.clone()],
            MX,
        )
        .unwrap_err();
        assert!(err.contains("does not chain to the trust anchor"), "{err}");
        let expired = server(&["mx.example.test"], Some(&ca1), true);
        let err = check(vec![ta.clone()], vec![expired, ca1.der.clone()], MX).unwrap_err();
        assert!(err.contains("does not chain"), "{err}");
    }

    #[test]
    fn garbage_certificates_are_refused_not_panicked_on() {
        let r = rec(DANE_EE, SPKI, SHA2_256, b"x");
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(check(vec![r.clone()], vec![junk.clone()], MX).is_err());
        let ta = rec(DANE_TA, CERT, FULL, &[0x30, 0x00]);
        let cert = server(&["mx.example.test"], None, false);
        assert!(check(vec![ta], vec![cert, junk], MX).is_err());
    }
}
