//! AUTHENTICATE (RFC 5804 §2.1): tern-sasl's mechanisms framed as ManageSieve strings, and
//! the login.
//!
//! The mechanisms are the server's [`tern_sasl::Authenticator`]'s (PLAIN, LOGIN,
//! SCRAM-SHA-256, GSSAPI, as `tern serve` configures them); this file only frames them:
//! each server challenge is a string (quoted or literal) of base64 on a line of its own, the
//! client answers with a string, `"*"` cancels (`NO`). A mechanism's final server data
//! (SCRAM's `v=`) goes in the success reply, `OK (SASL "base64")`, as RFC 5804 §2.1 allows
//! ([`tern_sasl::Exchange::final_data_in_success`]), not as one more challenge.
//!
//! ## Invariants
//! - PLAIN and LOGIN (the mechanisms that send the password itself) are refused before TLS
//!   unless `allow_plaintext`, before any challenge (`NO (ENCRYPT-NEEDED)`), and are not
//!   advertised there; SCRAM-SHA-256 and GSSAPI, which never show the password, are.
//! - A failure never says why ("Authentication failed"); the reason goes to the log.
//! - Only [`tern_sasl::Step::Done`] logs a session in (credentials, account enabled,
//!   authorization identity checked there); then the store account is opened. A failure at
//!   any step leaves the session unauthenticated.
use crate::error::SieveError;
use crate::framing::Token;
use crate::response::Code;
use crate::session::{CmdResult, Flow, Login, Session, State};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tern_sasl::{Mechanism, SaslError, Step, Success};

/// `AUTHENTICATE mechanism [initial-response]`.
pub(crate) async fn authenticate(
    s: &mut Session,
    mechanism: &str,
    initial: Option<Vec<u8>>,
) -> CmdResult {
    let sasl = s.server.sasl.clone();
    if !s.plaintext_allowed()
        && sasl.offers(mechanism)
        && Mechanism::from_name(mechanism).is_some_and(Mechanism::sends_password)
    {
        return Err(SieveError::PlaintextDisallowed);
    }
    let mut exchange = sasl.start(mechanism)?.final_data_in_success();
    let mut response = initial.map(|b64| decode(&b64)).transpose()?;
    loop {
        let step = exchange.step(response.as_deref()).await;
        match step.map_err(|e| refused(s, e))? {
            Step::Challenge(challenge) => {
                s.out.challenge(&BASE64.encode(challenge));
                let tokens = s.next_command().await??;
                let reply = match tokens.as_slice() {
                    [Token::Str(r)] => r.clone(),
                    // Base64 is atom-safe: accept a client that does not quote it.
                    [Token::Atom(r)] => r.as_bytes().to_vec(),
                    _ => return Err(SieveError::Syntax("expected a SASL response string".into())),
                };
                if reply == b"*" {
                    return Err(SieveError::AuthCancelled);
                }
                response = Some(decode(&reply)?);
            }
            Step::Done(success) => return logged_in(s, *success).await,
        }
    }
}

/// The SASL layer's refusal as a ManageSieve error (logging what the client is not told).
fn refused(s: &Session, e: SaslError) -> SieveError {
    if let SaslError::NotAuthorized { account, authzid } = &e {
        tracing::info!(peer = %s.peer(), user = %account, %authzid,
            "ManageSieve authorization identity refused");
    }
    e.into()
}

fn decode(b64: &[u8]) -> Result<Vec<u8>, SieveError> {
    BASE64
        .decode(b64.trim_ascii())
        .map_err(|_| SieveError::Base64)
}

/// The mechanisms to advertise on this connection now (the `SASL` capability).
pub(crate) fn offered(s: &Session) -> Vec<&'static str> {
    let plaintext = s.plaintext_allowed();
    s.server
        .sasl
        .mechanisms()
        .into_iter()
        .filter(|m| plaintext || !m.sends_password())
        .map(Mechanism::name)
        .collect()
}

/// A finished exchange: open the store account and enter the authenticated state.
async fn logged_in(s: &mut Session, success: Success) -> CmdResult {
    let Success { account, data, .. } = success;
    let id = s.server.mail.open_account(&account).await?;
    tracing::info!(peer = %s.peer(), user = %account.name, "ManageSieve login");
    s.state = State::Authenticated(Box::new(Login { account, id }));
    s.auth_failures = 0;
    let code = data.map(|d| Code::Sasl(BASE64.encode(d)));
    s.out.ok(code.as_ref(), "Logged in");
    Ok(Flow::Continue)
}
