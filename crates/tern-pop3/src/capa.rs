//! CAPA (RFC 2449 §5): what the server offers, which depends on the state and on TLS.
//!
//! ## Invariants
//! - USER, SASL and STLS are AUTHORIZATION-state capabilities and are listed only there.
//! - USER and the SASL mechanisms are listed only where plaintext credentials would be
//!   accepted (TLS active, or `allow_plaintext`): a client is never told to send a password
//!   that would be refused. STLS is listed while TLS is configured and not yet active.
//! - After STLS the client must ask again (RFC 2595 §4); the list then changes.
use crate::auth;
use crate::session::{CmdResult, Flow, Session, State};

pub(crate) fn capa(s: &mut Session) -> CmdResult {
    let lines = capabilities(
        matches!(s.state, State::Authorization { .. }),
        s.tls_active(),
        s.server.config.tls.is_some(),
        &auth::offered(s),
    );
    s.out.ok("Capability list follows");
    for line in lines {
        s.out.line(line);
    }
    s.out.dot();
    Ok(Flow::Continue)
}

/// The capability lines for a state.
fn capabilities(
    authorization: bool,
    tls_active: bool,
    tls_configured: bool,
    mechanisms: &[&str],
) -> Vec<String> {
    let mut caps: Vec<String> = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        .map(String::from)
        .to_vec();
    // RFC 2449 §6.7: the server never deletes messages on its own.
    caps.push("EXPIRE NEVER".into());
    if authorization {
        if !mechanisms.is_empty() {
            caps.push("USER".into());
            caps.push(format!("SASL {}", mechanisms.join(" ")));
        }
        if tls_configured && !tls_active {
            caps.push("STLS".into());
        }
    }
    caps.push("IMPLEMENTATION Tern".into());
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_by_state() {
        let base = "TOP UIDL RESP-CODES AUTH-RESP-CODE PIPELINING EXPIRE NEVER";
        let mechs = &["PLAIN", "LOGIN"][..];
        let table: &[(bool, bool, bool, &[&str], String)] = &[
            // Before TLS, plaintext refused: only STLS leads anywhere.
            (
                true,
                false,
                true,
                &[],
                format!("{base} STLS IMPLEMENTATION Tern"),
            ),
            // After STLS.
            (
                true,
                true,
                true,
                mechs,
                format!("{base} USER SASL PLAIN LOGIN IMPLEMENTATION Tern"),
            ),
            // Plaintext allowed, TLS available.
            (
                true,
                false,
                true,
                mechs,
                format!("{base} USER SASL PLAIN LOGIN STLS IMPLEMENTATION Tern"),
            ),
            // No TLS configured at all.
            (
                true,
                false,
                false,
                mechs,
                format!("{base} USER SASL PLAIN LOGIN IMPLEMENTATION Tern"),
            ),
            // TRANSACTION.
            (
                false,
                true,
                true,
                mechs,
                format!("{base} IMPLEMENTATION Tern"),
            ),
        ];
        for (authorization, tls_active, tls_configured, mechanisms, want) in table {
            let got = capabilities(*authorization, *tls_active, *tls_configured, mechanisms);
            assert_eq!(&got.join(" "), want);
        }
    }
}
