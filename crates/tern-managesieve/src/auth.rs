//! AUTHENTICATE (RFC 5804 §2.1): the SASL exchange over strings, and the login.
//!
//! ## Invariants
//! - PLAIN and LOGIN are refused before TLS unless `allow_plaintext`, before any challenge
//!   (`NO (ENCRYPT-NEEDED)`).
//! - A failure never says why ("Authentication failed"); the reason goes to the log.
//! - Login order: credentials, authorization identity, store account. A failure at any step
//!   leaves the session unauthenticated.
use crate::error::SieveError;
use crate::framing::Token;
use crate::sasl::{Exchange, MECHANISMS, Step};
use crate::session::{CmdResult, Flow, Login, Session, State};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tern_directory::AuthOutcome;

/// `AUTHENTICATE mechanism [initial-response]`.
pub(crate) async fn authenticate(
    s: &mut Session,
    mechanism: &str,
    initial: Option<Vec<u8>>,
) -> CmdResult {
    if !s.plaintext_allowed() && MECHANISMS.contains(&mechanism) {
        return Err(SieveError::PlaintextDisallowed);
    }
    let mut exchange = Exchange::new(mechanism)?;
    let mut response = initial.map(|b64| decode(&b64)).transpose()?;
    loop {
        match exchange.step(response.as_deref())? {
            Step::Challenge(challenge) => {
                s.out.challenge(&BASE64.encode(challenge));
                let tokens = s.next_command().await??;
                let reply = match tokens.as_slice() {
                    [Token::Str(r)] => r.clone(),
                    _ => return Err(SieveError::Syntax("expected a SASL response string".into())),
                };
                if reply == b"*" {
                    return Err(SieveError::AuthCancelled);
                }
                response = Some(decode(&reply)?);
            }
            Step::Done {
                authzid,
                authcid,
                password,
            } => return login(s, &authcid, &password, authzid.as_deref()).await,
        }
    }
}

fn decode(b64: &[u8]) -> Result<Vec<u8>, SieveError> {
    BASE64
        .decode(b64.trim_ascii())
        .map_err(|_| SieveError::Base64)
}

async fn login(s: &mut Session, login: &str, password: &str, authzid: Option<&str>) -> CmdResult {
    let mail = s.server.mail.clone();
    let account = match mail.directory.authenticate(login, password).await? {
        AuthOutcome::Ok(account) if account.enabled => account,
        AuthOutcome::Ok(_) => return Err(SieveError::AuthFailed("account disabled".into())),
        AuthOutcome::Failed { reason } => return Err(SieveError::AuthFailed(reason)),
    };
    if let Some(authz) = authzid {
        let same = mail
            .directory
            .lookup(authz)
            .await?
            .is_some_and(|a| a.name == account.name);
        if !same {
            tracing::info!(peer = %s.peer(), user = %account.name, authzid = %authz,
                "ManageSieve authorization identity refused");
            return Err(SieveError::NotAuthorized);
        }
    }
    let id = mail.open_account(&account).await?;
    tracing::info!(peer = %s.peer(), user = %account.name, "ManageSieve login");
    s.state = State::Authenticated(Box::new(Login { account, id }));
    s.auth_failures = 0;
    s.out.ok(None, "Logged in");
    Ok(Flow::Continue)
}
