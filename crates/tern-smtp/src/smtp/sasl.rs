//! Submission AUTH's mechanisms (RFC 4954) are tern-sasl's ([`tern_sasl::Authenticator`]:
//! PLAIN, LOGIN, SCRAM-SHA-256, GSSAPI as configured); `auth` frames them as `334`
//! challenges. This maps smtp-proto's mechanism bits to their names.
//!
//! Every mechanism is offered only where plaintext authentication is allowed (TLS, or
//! `allow_plaintext`), as PLAIN and LOGIN always were.

use smtp_proto::{AUTH_GSSAPI, AUTH_LOGIN, AUTH_PLAIN, AUTH_SCRAM_SHA_256};

/// The SASL name of a mechanism as `smtp-proto` identifies it; `None` for those Tern does
/// not implement.
pub(crate) fn mechanism_name(mechanism: u64) -> Option<&'static str> {
    Some(match mechanism {
        AUTH_PLAIN => "PLAIN",
        AUTH_LOGIN => "LOGIN",
        AUTH_SCRAM_SHA_256 => "SCRAM-SHA-256",
        AUTH_GSSAPI => "GSSAPI",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        use smtp_proto::{AUTH_CRAM_MD5, AUTH_SCRAM_SHA_256_PLUS};
        assert_eq!(mechanism_name(AUTH_PLAIN), Some("PLAIN"));
        assert_eq!(mechanism_name(AUTH_SCRAM_SHA_256), Some("SCRAM-SHA-256"));
        for m in [AUTH_CRAM_MD5, AUTH_SCRAM_SHA_256_PLUS, 0] {
            assert_eq!(mechanism_name(m), None, "{m}");
        }
    }
}
