//! SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel binding.
//!
//! Hand-written rather than rsasl's: the server side is three messages and four HMACs, and
//! writing it lets the exchange fit the async, protocol-neutral [`crate::Exchange`]
//! (rsasl drives its own session and callback types) and keep one credential source, the
//! directory's stored verifier. Checked against the RFC 7677 §3 example below.
//!
//! ## Rules
//! - The server never sees the password: it keeps `StoredKey` and `ServerKey` (RFC 5802
//!   §3) with the salt and iteration count ([`ScramKeys`]), derived when the password is
//!   set. An account without them cannot use SCRAM.
//! - Channel binding: `n` and `y` are accepted (we do not offer `-PLUS`, so a client that
//!   could bind but says `y` is right); `p=` is refused.
//! - An unknown user gets a salt derived from its name with a per-process secret, so the
//!   server-first message does not reveal whether the user exists; the proof then fails.
//! - Usernames and passwords are used as UTF-8 as given: SASLprep (RFC 4013) is not
//!   applied, which is the identity for ASCII.
use crate::plain::utf8;
use crate::{Authenticator, SaslError};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use tern_directory::{Account, DirectoryResult};

type HmacSha256 = Hmac<Sha256>;

/// RFC 7677 §4: at least 4096.
pub const MIN_ITERATIONS: u32 = 4096;

/// What the server keeps for one account (RFC 5802 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramKeys {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl ScramKeys {
    /// Derives the keys from a password (done when the password is set).
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> ScramKeys {
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        ScramKeys {
            salt: salt.to_vec(),
            iterations,
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, b"Server Key"),
        }
    }
}

impl ScramKeys {
    /// Reads a stored secret, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
    /// (base64 parts; the internal directory's and PostgreSQL's layout).
    pub fn parse(secret: &str) -> Option<ScramKeys> {
        let rest = secret.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(ScramKeys {
            salt: B64.decode(salt).ok()?,
            iterations: iterations.parse().ok().filter(|i| *i >= 1)?,
            stored_key: B64.decode(stored).ok()?.try_into().ok()?,
            server_key: B64.decode(server).ok()?.try_into().ok()?,
        })
    }
}

/// The internal directory keeps a SCRAM secret next to each password set since schema 2.
#[async_trait]
impl ScramStore for tern_directory::internal::InternalDirectory {
    async fn scram_sha256(&self, login: &str) -> DirectoryResult<Option<(Account, ScramKeys)>> {
        let Some((account, secret)) =
            tern_directory::internal::InternalDirectory::scram_sha256(self, login).await?
        else {
            return Ok(None);
        };
        match ScramKeys::parse(&secret) {
            Some(keys) => Ok(Some((account, keys))),
            None => {
                tracing::warn!(account = %account.name, "unreadable SCRAM-SHA-256 secret");
                Ok(None)
            }
        }
    }
}

/// Where SCRAM verifiers come from (the internal directory).
#[async_trait]
pub trait ScramStore: Send + Sync + 'static {
    /// The account a login names and its SCRAM-SHA-256 keys; `None` if the login is
    /// unknown or has no keys.
    async fn scram_sha256(&self, login: &str) -> DirectoryResult<Option<(Account, ScramKeys)>>;
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// One exchange's state.
#[derive(Default)]
pub(crate) struct ScramServer {
    sent: Option<Sent>,
    /// Fixed server nonce (tests only).
    nonce: Option<String>,
}

struct Sent {
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    authzid: Option<String>,
    found: Option<(Account, ScramKeys)>,
}

pub(crate) enum ScramStep {
    Challenge(Vec<u8>),
    /// The account and the server-final message (`v=...`).
    Done(Account, Vec<u8>),
}

/// The parts of a client-first message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ClientFirst {
    pub gs2_header: String,
    pub authzid: Option<String>,
    pub username: String,
    pub client_nonce: String,
    pub bare: String,
}

const MALFORMED: &str = "Malformed SCRAM message";

/// `saslname`: `=2C` is `,`, `=3D` is `=`, any other `=` is an error.
fn decode_saslname(s: &str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(SaslError::Malformed(MALFORMED)),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(SaslError::Malformed(MALFORMED));
    }
    Ok(out)
}

fn printable_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

pub(crate) fn parse_client_first(msg: &str) -> Result<ClientFirst, SaslError> {
    let malformed = || SaslError::Malformed(MALFORMED);
    let (flag, rest) = msg.split_once(',').ok_or_else(malformed)?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => {
            return Err(SaslError::failed(
                "SCRAM: client requires channel binding (not offered)",
            ));
        }
        _ => return Err(malformed()),
    }
    let (authz, bare) = rest.split_once(',').ok_or_else(malformed)?;
    let authzid = match authz {
        "" => None,
        a => Some(decode_saslname(
            a.strip_prefix("a=").ok_or_else(malformed)?,
        )?),
    };
    let gs2_header = msg[..flag.len() + 1 + authz.len() + 1].to_string();
    let mut fields = bare.split(',');
    let user = fields.next().ok_or_else(malformed)?;
    if user.starts_with("m=") {
        return Err(SaslError::Malformed("SCRAM extensions are not supported"));
    }
    let username = decode_saslname(user.strip_prefix("n=").ok_or_else(malformed)?)?;
    let client_nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .filter(|n| printable_nonce(n))
        .ok_or_else(malformed)?
        .to_string();
    Ok(ClientFirst {
        gs2_header,
        authzid,
        username,
        client_nonce,
        bare: bare.to_string(),
    })
}

/// The salt shown for an unknown user: stable per name within this process.
fn fake_keys(username: &str) -> ScramKeys {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let mut s = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut s[..]);
        s
    });
    let salt = hmac(secret, username.as_bytes())[..16].to_vec();
    ScramKeys {
        salt,
        iterations: MIN_ITERATIONS,
        stored_key: [0; 32],
        server_key: [0; 32],
    }
}

fn new_nonce() -> String {
    let mut n = [0u8; 18];
    rand::Rng::fill(&mut rand::rng(), &mut n[..]);
    B64.encode(n)
}

impl ScramServer {
    #[cfg(test)]
    pub(crate) fn with_nonce(nonce: &str) -> ScramServer {
        ScramServer {
            sent: None,
            nonce: Some(nonce.to_string()),
        }
    }

    pub(crate) async fn step(
        &mut self,
        sasl: &Authenticator,
        response: Option<&[u8]>,
    ) -> Result<ScramStep, SaslError> {
        let Some(response) = response else {
            return Ok(ScramStep::Challenge(Vec::new()));
        };
        let text = utf8(response)?;
        match self.sent.take() {
            None => {
                let first = parse_client_first(&text)?;
                let store = sasl
                    .scram()
                    .ok_or_else(|| SaslError::failed("SCRAM: no verifier store"))?;
                let found = store.scram_sha256(&first.username).await?;
                let keys = match &found {
                    Some((_, k)) => k.clone(),
                    None => fake_keys(&first.username),
                };
                let nonce = format!(
                    "{}{}",
                    first.client_nonce,
                    self.nonce.clone().unwrap_or_else(new_nonce)
                );
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    B64.encode(&keys.salt),
                    keys.iterations
                );
                let challenge = server_first.clone().into_bytes();
                self.sent = Some(Sent {
                    gs2_header: first.gs2_header,
                    client_first_bare: first.bare,
                    server_first,
                    nonce,
                    authzid: first.authzid,
                    found,
                });
                Ok(ScramStep::Challenge(challenge))
            }
            Some(sent) => self.finish(sasl, sent, &text).await,
        }
    }

    async fn finish(
        &mut self,
        sasl: &Authenticator,
        sent: Sent,
        client_final: &str,
    ) -> Result<ScramStep, SaslError> {
        let malformed = || SaslError::Malformed(MALFORMED);
        let (without_proof, proof) = client_final.rsplit_once(",p=").ok_or_else(malformed)?;
        let proof = B64.decode(proof).map_err(|_| malformed())?;
        let mut fields = without_proof.split(',');
        let binding = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or_else(malformed)?;
        let nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .ok_or_else(malformed)?;
        if B64.decode(binding).ok().as_deref() != Some(sent.gs2_header.as_bytes()) {
            return Err(SaslError::failed("SCRAM: channel binding data mismatch"));
        }
        if nonce != sent.nonce {
            return Err(SaslError::failed("SCRAM: nonce mismatch"));
        }
        let Some((account, keys)) = sent.found else {
            return Err(SaslError::failed(
                "SCRAM: unknown user or no SCRAM verifier",
            ));
        };
        let auth_message = format!(
            "{},{},{}",
            sent.client_first_bare, sent.server_first, without_proof
        );
        let signature = hmac(&keys.stored_key, auth_message.as_bytes());
        if proof.len() != 32 {
            return Err(SaslError::failed("SCRAM: wrong proof"));
        }
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let stored: [u8; 32] = Sha256::digest(&client_key).into();
        if !constant_time_eq(&stored, &keys.stored_key) {
            return Err(SaslError::failed("SCRAM: wrong proof"));
        }
        if !account.enabled {
            return Err(SaslError::failed("account disabled"));
        }
        let account = sasl.authorize(account, sent.authzid.as_deref()).await?;
        let server_signature = hmac(&keys.server_key, auth_message.as_bytes());
        let server_final = format!("v={}", B64.encode(server_signature));
        Ok(ScramStep::Done(account, server_final.into_bytes()))
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A store with fixed entries (tests, and callers with a handful of service accounts).
pub struct StaticScramStore(pub Vec<(Account, ScramKeys)>);

#[async_trait]
impl ScramStore for StaticScramStore {
    async fn scram_sha256(&self, login: &str) -> DirectoryResult<Option<(Account, ScramKeys)>> {
        Ok(self
            .0
            .iter()
            .find(|(a, _)| a.name == login || a.name.split('@').next() == Some(login))
            .cloned())
    }
}

impl From<StaticScramStore> for Arc<dyn ScramStore> {
    fn from(s: StaticScramStore) -> Self {
        Arc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_parsing() {
        let f = parse_client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").unwrap();
        assert_eq!(f.gs2_header, "n,,");
        assert_eq!(f.username, "user");
        assert_eq!(f.bare, "n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let f = parse_client_first("y,a=ad=3Dmin=2Cx,n=us=2Cer,r=abc").unwrap();
        assert_eq!(f.authzid.as_deref(), Some("ad=min,x"));
        assert_eq!(f.username, "us,er");
        assert_eq!(f.gs2_header, "y,a=ad=3Dmin=2Cx,");
        for bad in [
            "",
            "n",
            "x,,n=u,r=a",
            "n,,n=,r=a",
            "n,,n=u=41,r=a",
            "n,,n=u",
            "n,,n=u,r=",
            "n,,r=a,n=u",
            "n,,m=x,n=u,r=a",
            "n,b=c,n=u,r=a",
        ] {
            assert!(parse_client_first(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse_client_first("p=tls-unique,,n=u,r=a"),
            Err(SaslError::Failed { .. })
        ));
    }
}
