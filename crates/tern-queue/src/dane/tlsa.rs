//! TLSA records (RFC 6698 §2.1, mnemonics from RFC 7218) and which of them SMTP can use
//! (RFC 7672 §3.1).

use std::fmt;

/// Certificate usage DANE-TA(2): the chain must contain (or the record carries) a trust
/// anchor the server certificate chains to, and the certificate must name the server.
pub const DANE_TA: u8 = 2;
/// Certificate usage DANE-EE(3): the server certificate itself; names and dates ignored
/// (RFC 7671 §5.1).
pub const DANE_EE: u8 = 3;
/// Selector Cert(0): the whole certificate (DER).
pub const CERT: u8 = 0;
/// Selector SPKI(1): the SubjectPublicKeyInfo (DER).
pub const SPKI: u8 = 1;
/// Matching type Full(0): the selected bytes themselves.
pub const FULL: u8 = 0;
/// Matching type SHA2-256(1).
pub const SHA2_256: u8 = 1;
/// Matching type SHA2-512(2).
pub const SHA2_512: u8 = 2;

/// One TLSA record.
#[derive(Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// Whether SMTP may use the record (RFC 7672 §3.1): DANE-TA or DANE-EE (PKIX-TA(0) and
    /// PKIX-EE(1) are unusable for SMTP, §3.1.3), a known selector and matching type (RFC
    /// 6698 §4.1: unknown parameters make a record unusable), and data of the digest's
    /// length (a malformed record cannot match anything).
    pub fn is_usable(&self) -> bool {
        matches!(self.usage, DANE_TA | DANE_EE)
            && matches!(self.selector, CERT | SPKI)
            && match self.matching {
                FULL => !self.data.is_empty(),
                SHA2_256 => self.data.len() == 32,
                SHA2_512 => self.data.len() == 64,
                _ => false,
            }
    }

    /// Whether the record matches `selected` (the certificate or SPKI its selector names).
    pub fn matches(&self, selected: &[u8]) -> bool {
        use sha2::Digest;
        match self.matching {
            FULL => self.data == selected,
            SHA2_256 => self.data[..] == sha2::Sha256::digest(selected)[..],
            SHA2_512 => self.data[..] == sha2::Sha512::digest(selected)[..],
            _ => false,
        }
    }
}

/// Presentation form, the data shortened: `3 1 1 5ba3d8...` (for logs and reasons).
impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.usage, self.selector, self.matching)?;
        for b in self.data.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        if self.data.len() > 8 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(usage: u8, selector: u8, matching: u8, len: usize) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data: vec![0x5b; len],
        }
    }

    #[test]
    fn usable_records() {
        assert!(rec(3, 1, 1, 32).is_usable());
        assert!(rec(3, 0, 2, 64).is_usable());
        assert!(rec(2, 0, 0, 300).is_usable());
        assert!(rec(2, 1, 1, 32).is_usable());
        // PKIX-TA / PKIX-EE: unusable for SMTP.
        assert!(!rec(0, 1, 1, 32).is_usable());
        assert!(!rec(1, 1, 1, 32).is_usable());
        // Unknown parameters, wrong digest lengths, empty data.
        assert!(!rec(4, 1, 1, 32).is_usable());
        assert!(!rec(3, 2, 1, 32).is_usable());
        assert!(!rec(3, 1, 3, 32).is_usable());
        assert!(!rec(3, 1, 1, 31).is_usable());
        assert!(!rec(3, 1, 2, 32).is_usable());
        assert!(!rec(3, 1, 0, 0).is_usable());
        assert_eq!(rec(3, 1, 1, 32).to_string(), "3 1 1 5b5b5b5b5b5b5b5b...");
    }

    #[test]
    fn matching_types() {
        use sha2::Digest;
        let spki = b"not really an SPKI, any bytes will do";
        let full = Tlsa {
            usage: 3,
            selector: 1,
            matching: FULL,
            data: spki.to_vec(),
        };
        let s256 = Tlsa {
            matching: SHA2_256,
            data: sha2::Sha256::digest(spki).to_vec(),
            ..full.clone()
        };
        let s512 = Tlsa {
            matching: SHA2_512,
            data: sha2::Sha512::digest(spki).to_vec(),
            ..full.clone()
        };
        for r in [&full, &s256, &s512] {
            assert!(r.matches(spki), "{r}");
            assert!(!r.matches(b"something else"), "{r}");
        }
    }
}
