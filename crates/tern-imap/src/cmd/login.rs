//! LOGIN (RFC 9051 §6.2.3) and the authentication outcome shared with AUTHENTICATE.
//!
//! ## Invariants
//! - Plaintext credentials are refused before TLS unless `allow_plaintext`
//!   (`NO [PRIVACYREQUIRED]`), whether or not they are right.
//! - A failure never says why (`NO [AUTHENTICATIONFAILED] Authentication failed`); each one
//!   on the connection is answered only after a delay that doubles (1 s, 2 s, 4 s, capped),
//!   and after [`crate::server::ImapConfig::max_auth_failures`] the connection is closed.
//! - On success the store account is opened (default folders created on first login) before
//!   the state changes, so a store failure leaves the session unauthenticated.

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::{Auth, Session, State};
use std::time::Duration;
use tern_directory::Account;
use tern_mail::Home;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Login { username, password } = cmd else {
        return Err(CmdError::bad("Expected LOGIN"));
    };
    if !s.plaintext_allowed() {
        return Err(CmdError::no_code(
            "PRIVACYREQUIRED",
            "LOGIN is disabled on unencrypted connections; use STARTTLS first",
        ));
    }
    let (Ok(user), Ok(pass)) = (String::from_utf8(username), String::from_utf8(password)) else {
        return fail(s, "credentials are not UTF-8").await;
    };
    complete(s, &user, &pass, None).await
}

/// Checks credentials and, on success, logs the session in. `authzid` is the SASL
/// authorization identity: empty/absent, or naming the same account as `login`.
pub async fn complete(
    s: &mut Session,
    login: &str,
    password: &str,
    authzid: Option<&str>,
) -> CmdResult {
    let sasl = s.server.sasl.clone();
    let result = sasl.check_password(login, password, authzid).await;
    if result.is_ok() {
        s.plaintext = Some((login.to_string(), password.to_string()));
    }
    let done = super::authenticate::outcome(s, result).await;
    s.plaintext = None;
    done
}

/// Logs the session in as an account the directory (or a SASL mechanism) accepted.
pub async fn logged_in(s: &mut Session, account: Account) -> CmdResult {
    match s.server.mail.home(&account.name).await {
        Home::Local => {}
        Home::Legacy => return super::legacy::open(s, account).await,
        Home::Moving => {
            tracing::info!(peer = %s.conn.peer, user = %account.name,
                "IMAP login refused: mailbox being moved");
            return Err(CmdError::no_code(
                "UNAVAILABLE",
                "Your mailbox is being moved; try again in a minute",
            ));
        }
    }
    let account_id = s.server.mail.open_account(&account).await?;
    tracing::info!(peer = %s.conn.peer, user = %account.name, "IMAP login");
    s.state = State::Authenticated(Auth {
        account,
        account_id,
    });
    s.auth_failures = 0;
    let caps = super::capability::capabilities(s);
    Ok(Done::with_code(format!("CAPABILITY {caps}"), "Logged in"))
}

/// One failed attempt: logs why, waits, answers without saying why.
pub async fn fail(s: &mut Session, reason: &str) -> CmdResult {
    s.auth_failures += 1;
    tracing::info!(peer = %s.conn.peer, failures = s.auth_failures, %reason,
        "IMAP authentication failed");
    tokio::time::sleep(failure_delay(
        s.server.config.auth_failure_delay,
        s.auth_failures,
    ))
    .await;
    if s.auth_failures >= s.server.config.max_auth_failures {
        s.bye_after = Some("Too many authentication failures".into());
    }
    Err(CmdError::no_code(
        "AUTHENTICATIONFAILED",
        "Authentication failed",
    ))
}

/// `base`, doubled per earlier failure, at most 16 × `base`.
fn failure_delay(base: Duration, failures: u32) -> Duration {
    base * (1u32 << failures.saturating_sub(1).min(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_caps() {
        let b = Duration::from_secs(1);
        assert_eq!(failure_delay(b, 1), b);
        assert_eq!(failure_delay(b, 2), 2 * b);
        assert_eq!(failure_delay(b, 3), 4 * b);
        assert_eq!(failure_delay(b, 9), 16 * b);
    }
}
