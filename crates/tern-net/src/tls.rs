//! TLS configuration: a configured certificate, or a self-signed one generated on first start.
//!
//! The self-signed pair lives in `data_dir/tls/{cert,key}.pem` and is reused on later starts,
//! so clients that pinned it keep working across restarts. The key file is created with mode
//! 0600 before any key material is written into it.
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

/// A server TLS configuration shared by all listeners.
#[derive(Clone)]
pub struct TlsConfig {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// Installs aws-lc-rs as the process-wide rustls provider (once; later calls do nothing).
/// Every rustls user in the process (server, LDAP and S3 clients) then agrees on one provider.
pub fn install_default_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first by someone else: keep theirs.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The paths of the generated self-signed pair inside a data folder.
pub fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Loads `cert`/`key` (PEM) if given; otherwise loads or creates `data_dir/tls/cert.pem`
/// and `key.pem`, self-signed for `hostname` (and localhost, 127.0.0.1, ::1).
pub fn load_or_generate(
    data_dir: &Path,
    hostname: &str,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> io::Result<TlsConfig> {
    install_default_provider();
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => {
            let (c, k) = generated_paths(data_dir);
            if !c.exists() || !k.exists() {
                generate_self_signed(data_dir, hostname)?;
            }
            (c, k)
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tls: cert and key must be given together",
            ));
        }
    };
    from_pem_files(&cert_path, &key_path)
}

/// Builds a server configuration from a PEM certificate chain and a PEM private key.
pub fn from_pem_files(cert_path: &Path, key_path: &Path) -> io::Result<TlsConfig> {
    let certs = read_certs(cert_path)?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        invalid(format!(
            "{}: no usable private key: {e}",
            key_path.display()
        ))
    })?;
    from_der(certs, key)
}

fn read_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "{}: no certificate in file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds a server configuration from DER certificates and key.
pub fn from_der(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<TlsConfig> {
    install_default_provider();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("certificate and key do not make a TLS config: {e}")))?;
    let server_config = Arc::new(config);
    Ok(TlsConfig {
        acceptor: tokio_rustls::TlsAcceptor::from(server_config.clone()),
        server_config,
    })
}

/// Generates a self-signed pair into `data_dir/tls/`. The key is written to a temporary
/// file created 0600, fsync'd, then renamed into place; the certificate likewise, so a crash
/// mid-way never leaves a half-written pair that would be "reused".
fn generate_self_signed(data_dir: &Path, hostname: &str) -> io::Result<()> {
    let (cert_path, key_path) = generated_paths(data_dir);
    let dir = cert_path.parent().expect("tls dir has a parent");
    std::fs::create_dir_all(dir)?;

    let mut names = vec![hostname.to_string()];
    for extra in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(extra)) {
            names.push(extra.to_string());
        }
    }
    let signing_key =
        rcgen::KeyPair::generate().map_err(|e| invalid(format!("key generation: {e}")))?;
    let mut params = rcgen::CertificateParams::new(names)
        .map_err(|e| invalid(format!("certificate names: {e}")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Tern self-signed");
    let cert = params
        .self_signed(&signing_key)
        .map_err(|e| invalid(format!("self-signing: {e}")))?;

    write_file_atomically(&key_path, signing_key.serialize_pem().as_bytes(), 0o600)?;
    write_file_atomically(&cert_path, cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok(())
}

fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        load_or_generate(dir.path(), "mail.example.test", None, None).unwrap();
        let (cert, key) = generated_paths(dir.path());
        let first = std::fs::read(&cert).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "key file mode");
        }
        load_or_generate(dir.path(), "mail.example.test", None, None).unwrap();
        assert_eq!(first, std::fs::read(&cert).unwrap(), "certificate reused");
    }

    #[test]
    fn configured_pair_is_loaded_and_half_pair_refused() {
        let dir = tempfile::tempdir().unwrap();
        load_or_generate(dir.path(), "h.example.test", None, None).unwrap();
        let (cert, key) = generated_paths(dir.path());
        let other = tempfile::tempdir().unwrap();
        load_or_generate(other.path(), "x", Some(&cert), Some(&key)).unwrap();
        assert!(!other.path().join("tls").exists(), "nothing generated");
        assert!(load_or_generate(other.path(), "x", Some(&cert), None).is_err());
    }

    #[test]
    fn garbage_pem_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let err = load_or_generate(dir.path(), "x", Some(&cert), Some(&key)).unwrap_err();
        assert!(err.to_string().contains("c.pem"), "{err}");
    }
}
