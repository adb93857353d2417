//! Migration mode: a login of a user who is still on the legacy server (see
//! `tern_mail::homes`). Tern has authenticated the user; this logs in on the legacy IMAP
//! server as them (with the password they gave, or as the configured administrator on
//! their behalf), answers the client's LOGIN/AUTHENTICATE with the legacy server's
//! capabilities, and leaves a [`Relay`] for the connection loop, which then copies bytes
//! both ways until either side closes or the user is cut over.
//!
//! ## Invariants
//! - The relay is registered with the migration state *before* the user's home is read
//!   again: a cutover that starts in between either sees this relay (and waits for it to
//!   close) or is seen here (and the login is refused with `NO [UNAVAILABLE]`). A user is
//!   never served by both servers at once.
//! - A legacy server that is down or refuses the login gives `NO [UNAVAILABLE]`: the user
//!   already proved who they are to Tern, so this is not an authentication failure.

use super::{CmdError, CmdResult, Done};
use crate::session::Session;
use tern_directory::Account;
use tern_mail::Home;

/// What the loop needs to relay a logged-in user to the legacy server.
pub struct Relay {
    pub account: String,
    pub session: tern_legacy::Session,
    /// Registered with the migration state for as long as the relay runs.
    pub guard: Box<dyn Send + Sync>,
}

fn unavailable() -> CmdError {
    CmdError::no_code(
        "UNAVAILABLE",
        "Your mailbox is temporarily unavailable; try again later",
    )
}

pub async fn open(s: &mut Session, account: Account) -> CmdResult {
    let (Some(legacy), Some(homes)) = (s.server.legacy.clone(), s.server.mail.homes.clone()) else {
        tracing::warn!(user = %account.name,
            "IMAP login of a user on the legacy server, but no legacy IMAP server is configured");
        return Err(unavailable());
    };
    let user = legacy.user_name(&account.name);
    let Some(login) = legacy.login_for(&user, s.plaintext.take().map(|(_, password)| password)) else {
        tracing::warn!(user = %account.name,
            "IMAP relay needs the user's password or a legacy administrator; neither is there");
        return Err(unavailable());
    };
    let guard = homes.relay(&account.name);
    if s.server.mail.home(&account.name).await != Home::Legacy {
        return Err(unavailable());
    }
    match tern_legacy::imap::login(&legacy.endpoint, &login).await {
        Ok(legacy_session) => {
            tracing::info!(peer = %s.conn.peer, user = %account.name, as_ = ?login,
                "IMAP login relayed to the legacy server");
            s.relay = Some(Relay {
                account: account.name,
                session: legacy_session.session,
                guard,
            });
            Ok(Done::with_code(
                format!("CAPABILITY {}", legacy_session.capabilities),
                "Logged in",
            ))
        }
        Err(e) => {
            tracing::warn!(peer = %s.conn.peer, user = %account.name, error = %e,
                "IMAP relay to the legacy server failed");
            Err(unavailable())
        }
    }
}
