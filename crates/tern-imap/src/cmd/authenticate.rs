//! AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959). The mechanisms are tern-sasl's
//! (PLAIN, LOGIN, SCRAM-SHA-256, GSSAPI, as the server's [`tern_sasl::Authenticator`]
//! offers them); the connection loop (`session::flows`) does the `+ <base64>` framing, and
//! this maps how an exchange ended to IMAP responses:
//!
//! - unknown or unoffered mechanism: `NO [CANNOT]`
//! - malformed client message: `BAD` with the mechanism's text
//! - wrong credentials: [`super::login::fail`] (delay, `NO [AUTHENTICATIONFAILED]`)
//! - authorization identity of another account: `NO [AUTHORIZATIONFAILED]`
//! - directory unreachable: `NO [UNAVAILABLE]`

use super::{CmdError, CmdResult};
use crate::session::Session;
use tern_directory::Account;
use tern_sasl::SaslError;

/// The response for a finished exchange (or password login).
pub async fn outcome(s: &mut Session, result: Result<Account, SaslError>) -> CmdResult {
    match result {
        Ok(account) => super::login::logged_in(s, account).await,
        Err(e) => Err(refusal(s, e).await),
    }
}

/// The error response for a failed exchange.
pub async fn refusal(s: &mut Session, error: SaslError) -> CmdError {
    match error {
        SaslError::UnknownMechanism => {
            CmdError::no_code("CANNOT", "Unsupported authentication mechanism")
        }
        SaslError::Malformed(text) => CmdError::bad(text),
        SaslError::Failed { reason } => match super::login::fail(s, &reason).await {
            Err(e) => e,
            Ok(_) => CmdError::no_code("AUTHENTICATIONFAILED", "Authentication failed"),
        },
        SaslError::NotAuthorized { account, authzid } => {
            tracing::info!(peer = %s.conn.peer, user = %account, %authzid,
                "IMAP authorization identity refused");
            CmdError::no_code("AUTHORIZATIONFAILED", "Not authorized to act as that user")
        }
        SaslError::Unavailable(e) => {
            tracing::warn!(error = %e, "directory unavailable during IMAP login");
            CmdError::no_code(
                "UNAVAILABLE",
                "Authentication service temporarily unavailable",
            )
        }
        other => {
            tracing::warn!(error = %other, "IMAP authentication error");
            CmdError::no_code(
                "UNAVAILABLE",
                "Authentication service temporarily unavailable",
            )
        }
    }
}
