//! argon2id password hashes (PHC strings) and their verification.
//!
//! Verification uses the parameters stored in each hash, so raising the cost later does not
//! lock anyone out. Unknown users are verified against a dummy hash made with the current
//! parameters, so the time an attempt takes does not reveal whether the login exists.
use argon2::password_hash::{PasswordHasher, phc::Output, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

thread_local! {
    /// argon2 working memory of this thread, reused across verifications.
    static WORK_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    /// argon2's defaults (OWASP's recommendation): 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashParams {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl HashParams {
    /// The cheapest parameters argon2 accepts: for tests only.
    pub fn insecure_fast() -> HashParams {
        HashParams {
            memory_kib: Params::MIN_M_COST.max(64),
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// Outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    Match,
    Mismatch,
    /// The stored string is not a hash this build can check.
    Unreadable,
}

/// Hashes and verifies with fixed parameters; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    params: HashParams,
    dummy: Arc<OnceLock<String>>,
}

impl Hasher {
    pub fn new(params: HashParams) -> Result<Hasher, String> {
        // Validate once, so hashing cannot fail later for parameter reasons.
        argon(params)?;
        Ok(Hasher {
            params,
            dummy: Arc::new(OnceLock::new()),
        })
    }

    /// A new PHC string (`$argon2id$v=19$m=...`) with a random salt. CPU-heavy: call from a
    /// blocking thread.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let argon = argon(self.params)?;
        argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing failed: {e}"))
    }

    /// Checks a password against a PHC string. CPU-heavy: call from a blocking thread.
    ///
    /// The argon2 working memory (19 MiB with the default cost) is kept per thread and reused
    /// instead of allocated for every check: allocating it per login fragmented the heap and
    /// kept hundreds of MiB resident after a burst of logins (measured by bench/). The
    /// computation and the constant-time comparison are argon2's and password-hash's own.
    pub fn verify(&self, password: &str, stored: &str) -> Verified {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verified::Unreadable;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Verified::Unreadable;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return Verified::Unreadable;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return Verified::Unreadable;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(_) => return Verified::Unreadable,
        };
        let blocks_needed = params.block_count();
        let argon = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let hashed = WORK_MEMORY.with(|memory| {
            let mut memory = memory.borrow_mut();
            if memory.len() < blocks_needed {
                memory.resize(blocks_needed, Block::default());
            }
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut out,
                &mut memory[..blocks_needed],
            )
        });
        if hashed.is_err() {
            return Verified::Unreadable;
        }
        match Output::new(&out) {
            // `Output`'s equality is constant-time.
            Ok(computed) if &computed == expected => Verified::Match,
            Ok(_) => Verified::Mismatch,
            Err(_) => Verified::Unreadable,
        }
    }

    /// Spends the time of a real verification and fails: for unknown users and accounts
    /// without a password.
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self.dummy.get_or_init(|| {
            self.hash("tern dummy password, never valid")
                .unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
    }
}

/// PBKDF2 iterations of new SCRAM-SHA-256 secrets (RFC 7677 §4: at least 4096). Only
/// clients pay them at each login; the server only computes HMACs.
pub const SCRAM_ITERATIONS: u32 = 4096;

/// A SCRAM-SHA-256 secret (RFC 5802 §3) for a password with a random 16-octet salt:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts, PostgreSQL's
/// layout). The password itself cannot be recovered from it. CPU work: blocking thread.
pub fn scram_sha256_secret(password: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use hmac::Mac;
    use sha2::Digest;
    let mut salt = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt[..]);
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, SCRAM_ITERATIONS, &mut salted);
    let mac = |data: &[u8]| {
        let mut m =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&salted).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes()
    };
    let stored_key = sha2::Sha256::digest(mac(b"Client Key"));
    let server_key = mac(b"Server Key");
    format!(
        "SCRAM-SHA-256${SCRAM_ITERATIONS}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

fn argon(p: HashParams) -> Result<Argon2<'static>, String> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| format!("invalid argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = Hasher::new(HashParams::insecure_fast()).unwrap();
        let stored = h.hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert_eq!(h.verify("correct horse", &stored), Verified::Match);
        assert_eq!(h.verify("Correct horse", &stored), Verified::Mismatch);
        assert_eq!(h.verify("x", "not a hash"), Verified::Unreadable);
        // Salted: the same password hashes differently each time.
        assert_ne!(stored, h.hash("correct horse").unwrap());
        // A hash made with other parameters still verifies.
        let other = Hasher::new(HashParams {
            memory_kib: 128,
            iterations: 2,
            parallelism: 2,
        })
        .unwrap();
        assert_eq!(h.verify("pw", &other.hash("pw").unwrap()), Verified::Match);
        h.verify_dummy("anything");
        assert!(
            Hasher::new(HashParams {
                memory_kib: 1,
                iterations: 1,
                parallelism: 1
            })
            .is_err()
        );
    }
}
