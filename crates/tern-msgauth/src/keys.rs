//! The DKIM key store: one private key per file, `DIR/DOMAIN/SELECTOR.key` (DIR is
//! `[dkim] key_dir`, default `data_dir/dkim`), PEM-encoded PKCS#8 (`BEGIN PRIVATE KEY`), so
//! OpenSSL, OpenDKIM and rspamd read the same files. The algorithm is the key's own (RSA or
//! Ed25519); nothing else is stored: the selector is the file name, the domain its folder.
//!
//! Every key of a domain signs (RFC 8463 §4 suggests an RSA and an Ed25519 signature side by
//! side; during a rotation the old and the new selector both sign until the old file is
//! removed).
//!
//! ## Invariants
//! - Key files are created with mode 0600 (in a 0700 folder) and written with
//!   `create_new`: generating never overwrites an existing key.
//! - Domain and selector names are DNS labels (letters, digits, `-`, `_`, dots between
//!   labels), so no name can escape the key folder.
//! - Loading reads every `*.key` file; a file that is not a usable key is an error naming
//!   the file (a server must not start signing with half its keys).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The header fields signed when present (RFC 6376 §5.4.1's recommendations; `From` is
/// required).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "In-Reply-To",
    "References",
];

/// A signing algorithm (RFC 6376 §3.3, RFC 8463).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RsaSha256,
    Ed25519Sha256,
}

impl Algorithm {
    /// The `k=` tag of the DNS record.
    pub fn key_type(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa",
            Algorithm::Ed25519Sha256 => "ed25519",
        }
    }

    /// The `a=` tag of a signature.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

/// What the key store knows about one key (public parts only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub domain: String,
    pub selector: String,
    pub algorithm: Algorithm,
    /// RSA modulus size; 256 for Ed25519.
    pub bits: usize,
    /// The `p=` value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32-octet key
    /// (Ed25519, RFC 8463 §4.2).
    pub public_key: String,
    pub path: PathBuf,
}

/// Key store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("{0:?} is not a valid domain name")]
    BadDomain(String),
    #[error("{0:?} is not a valid selector")]
    BadSelector(String),
    #[error("RSA keys are 2048, 3072 or 4096 bits, not {0}")]
    BadBits(usize),
    #[error("a key for selector {selector:?} of {domain} already exists ({path})")]
    Exists {
        domain: String,
        selector: String,
        path: PathBuf,
    },
    #[error("{path}: not a usable DKIM private key: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("key generation failed: {0}")]
    Generate(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |error| KeyError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Whether `name` is a DNS name of LDH labels (underscores allowed, as in selectors).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
        })
}

/// Normalizes and checks a domain (lower case, no trailing dot).
pub fn domain_name(domain: &str) -> Result<String, KeyError> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    if valid_name(&d) && d.contains('.') {
        Ok(d)
    } else {
        Err(KeyError::BadDomain(domain.to_string()))
    }
}

/// Checks a selector.
pub fn selector_name(selector: &str) -> Result<String, KeyError> {
    let s = selector.to_ascii_lowercase();
    if valid_name(&s) {
        Ok(s)
    } else {
        Err(KeyError::BadSelector(selector.to_string()))
    }
}

/// Generates a key for `domain` under `selector` into `dir` and returns what to publish.
pub fn generate(
    dir: &Path,
    domain: &str,
    selector: &str,
    algorithm: Algorithm,
    bits: usize,
) -> Result<KeyInfo, KeyError> {
    let domain = domain_name(domain)?;
    let selector = selector_name(selector)?;
    let pkcs8: Vec<u8> = match algorithm {
        Algorithm::RsaSha256 => {
            let size = match bits {
                2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                other => return Err(KeyError::BadBits(other)),
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size)
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let der: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            der.as_ref().to_vec()
        }
        Algorithm::Ed25519Sha256 => {
            Ed25519Key::generate_pkcs8().map_err(|e| KeyError::Generate(e.to_string()))?
        }
    };
    let folder = dir.join(&domain);
    create_private_dir(dir)?;
    create_private_dir(&folder)?;
    let path = folder.join(format!("{selector}.key"));
    let mut file = match private_file(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyError::Exists {
                domain,
                selector,
                path,
            });
        }
        Err(e) => return Err(io(&path)(e)),
    };
    file.write_all(pem("PRIVATE KEY", &pkcs8).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&path))?;
    let loaded = load_key(&path, &domain, &selector)?;
    Ok(loaded.info)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) => Err(io(dir)(e)),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(io(dir))
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// PEM with 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A loaded key: its public description and the signer built from it.
pub(crate) struct LoadedKey {
    pub info: KeyInfo,
    pub signer: KeySigner,
}

/// A configured mail-auth signer (domain, selector, headers, relaxed/relaxed).
pub(crate) enum KeySigner {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

fn load_key(path: &Path, domain: &str, selector: &str) -> Result<LoadedKey, KeyError> {
    let bad = |reason: String| KeyError::BadKey {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read(path).map_err(io(path))?;
    let der = PrivatePkcs8KeyDer::from_pem_slice(&text).map_err(|e| bad(e.to_string()))?;
    let bytes = der.secret_pkcs8_der();
    let (algorithm, bits, public_key, signer) =
        if let Ok(pair) = aws_lc_rs::rsa::KeyPair::from_pkcs8(bytes) {
            let spki: PublicKeyX509Der<'static> =
                pair.public_key().as_der().map_err(|e| bad(e.to_string()))?;
            let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der.clone_key()))
                .map_err(|e| bad(e.to_string()))?;
            let signer = DkimSigner::from_key(key)
                .domain(domain)
                .selector(selector)
                .headers(SIGNED_HEADERS.iter().copied())
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed);
            (
                Algorithm::RsaSha256,
                pair.public_modulus_len() * 8,
                BASE64.encode(spki.as_ref()),
                KeySigner::Rsa(signer),
            )
        } else {
            let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(bytes)
                .map_err(|e| bad(format!("neither RSA nor Ed25519 ({e})")))?;
            let public = key.public_key();
            let signer = DkimSigner::from_key(key)
                .domain(domain)
                .selector(selector)
                .headers(SIGNED_HEADERS.iter().copied())
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed);
            (
                Algorithm::Ed25519Sha256,
                256,
                BASE64.encode(public),
                KeySigner::Ed25519(signer),
            )
        };
    Ok(LoadedKey {
        info: KeyInfo {
            domain: domain.to_string(),
            selector: selector.to_string(),
            algorithm,
            bits,
            public_key,
            path: path.to_path_buf(),
        },
        signer,
    })
}

/// Every key under `dir`, loaded, by domain. A missing `dir` is an empty store.
pub struct KeyStore {
    pub(crate) by_domain: BTreeMap<String, Vec<LoadedKey>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys().map(|k| (&k.domain, &k.selector)))
            .finish()
    }
}

impl KeyStore {
    /// Loads `dir/DOMAIN/SELECTOR.key` for every domain folder and key file.
    pub fn load(dir: &Path) -> Result<KeyStore, KeyError> {
        let mut by_domain: BTreeMap<String, Vec<LoadedKey>> = BTreeMap::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeyStore { by_domain });
            }
            Err(e) => return Err(io(dir)(e)),
        };
        let mut folders: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if path.is_dir() && domain_name(&name).is_ok_and(|d| d == name) {
                folders.push((name, path));
            }
        }
        folders.sort();
        for (domain, folder) in folders {
            let mut files: Vec<(String, PathBuf)> = Vec::new();
            for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
                let entry = entry.map_err(io(&folder))?;
                let path = entry.path();
                let Some(selector) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".key"))
                    .map(str::to_string)
                else {
                    continue;
                };
                if selector_name(&selector).is_ok_and(|s| s == selector) {
                    files.push((selector, path));
                }
            }
            files.sort();
            for (selector, path) in files {
                let key = load_key(&path, &domain, &selector)?;
                by_domain.entry(domain.clone()).or_default().push(key);
            }
        }
        Ok(KeyStore { by_domain })
    }

    /// Every key, by domain then selector.
    pub fn keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.by_domain.values().flatten().map(|k| &k.info)
    }

    /// The keys of one domain (exact match, case-insensitive).
    pub fn domain(&self, domain: &str) -> impl Iterator<Item = &KeyInfo> {
        self.by_domain
            .get(&domain.trim_end_matches('.').to_ascii_lowercase())
            .into_iter()
            .flatten()
            .map(|k| &k.info)
    }

    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(domain_name("Example.TEST.").unwrap(), "example.test");
        for bad in ["", "x", "../etc", "a..b", "a/b.test", "-a.test", "a b.test"] {
            assert!(domain_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(selector_name("s2026").unwrap(), "s2026");
        assert_eq!(selector_name("a_b.c").unwrap(), "a_b.c");
        for bad in ["", "..", "a/b", "a.", ".a"] {
            assert!(selector_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generate_load_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = generate(dir.path(), "Example.test", "s1", Algorithm::RsaSha256, 2048).unwrap();
        assert_eq!(rsa.bits, 2048);
        assert_eq!(rsa.domain, "example.test");
        let ed = generate(
            dir.path(),
            "example.test",
            "ed",
            Algorithm::Ed25519Sha256,
            0,
        )
        .unwrap();
        assert_eq!(BASE64.decode(&ed.public_key).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&rsa.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            generate(dir.path(), "example.test", "s1", Algorithm::RsaSha256, 2048),
            Err(KeyError::Exists { .. })
        ));
        assert!(matches!(
            generate(dir.path(), "example.test", "x", Algorithm::RsaSha256, 1024),
            Err(KeyError::BadBits(1024))
        ));
        let store = KeyStore::load(dir.path()).unwrap();
        let keys: Vec<&KeyInfo> = store.keys().collect();
        assert_eq!(keys, vec![&ed, &rsa]);
        assert_eq!(store.domain("EXAMPLE.test.").count(), 2);
        std::fs::write(dir.path().join("example.test/broken.key"), "nope").unwrap();
        assert!(matches!(
            KeyStore::load(dir.path()),
            Err(KeyError::BadKey { .. })
        ));
        assert!(
            KeyStore::load(&dir.path().join("absent"))
                .unwrap()
                .is_empty()
        );
    }
}
