//! TLS settings for the client.
//!
//! - Opportunistic STARTTLS to MX hosts (RFC 3207, RFC 7435): encrypt whenever offered, verify
//!   nothing. An MX host's certificate names cannot be checked without DANE or MTA-STS (which
//!   say which names to expect), and refusing an unverifiable certificate would only push the
//!   session back to plain text. The session is logged and recorded as TLS.
//! - The smarthost: verified against the system's roots plus the configured CA file, for the
//!   configured host name, because credentials are sent over it.
//! - MTA-STS (RFC 8461, `crate::sts`): `enforce` verifies the MX host's certificate for its
//!   name against the system's roots plus `[outbound] tls_ca_file` (so does the policy
//!   fetch); `testing` runs the same verification but only records its verdict
//!   ([`audited`]), delivering as opportunistic TLS would.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Accepts any certificate (opportunistic encryption only).
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The config for opportunistic STARTTLS.
pub fn opportunistic() -> Arc<ClientConfig> {
    let provider = provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// The system's roots plus the certificates of `ca_file` (PEM).
pub fn roots(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut reader = std::io::Cursor::new(pem);
        for cert in rustls_pemfile::certs(&mut reader) {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(Arc::new(roots))
}

/// A verifying config: the system's roots plus `ca_file` (PEM).
pub fn verified(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    verified_with(roots(ca_file)?)
}

/// A verifying config on the given roots.
pub fn verified_with(roots: Arc<RootCertStore>) -> Result<Arc<ClientConfig>, String> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where [`audited`] leaves the verification error of the last handshake (`None`: the
/// certificate was valid for the name, or no handshake happened).
pub type Verdict = Arc<Mutex<Option<String>>>;

/// Verifies like [`verified_with`] but accepts every certificate, recording a failure in
/// the verdict (MTA-STS `testing`: deliver as opportunistic TLS would, log what `enforce`
/// would have refused).
#[derive(Debug)]
struct Audit {
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
    verdict: Verdict,
}

impl ServerCertVerifier for Audit {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let mut verdict = self.verdict.lock().unwrap_or_else(|p| p.into_inner());
        *verdict = result.err().map(|e| e.to_string());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier.supported_verify_schemes()
    }
}

/// A config that checks certificates against `roots` without refusing any, and the verdict
/// it records (one config per session: the verdict is the session's).
pub fn audited(roots: Arc<RootCertStore>) -> Result<(Arc<ClientConfig>, Verdict), String> {
    let provider = provider();
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
    let verdict = Verdict::default();
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Audit {
            verifier,
            verdict: verdict.clone(),
        }))
        .with_no_client_auth();
    Ok((Arc::new(config), verdict))
}
