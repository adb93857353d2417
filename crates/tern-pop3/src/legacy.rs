//! Migration mode: a login of a user who is still on the legacy server (see
//! `tern_mail::homes`). Tern has authenticated the user; this logs in on the legacy POP3
//! server as them (their password, or the configured administrator on their behalf),
//! answers `+OK`, and leaves a [`Relay`] for the session loop, which copies bytes both ways
//! until either side closes or the user is cut over. The legacy server's maildrop lock
//! applies: its `[IN-USE]` becomes ours.
//!
//! Invariant (as for IMAP): the relay is registered with the migration state before the
//! user's home is read again, so a cutover either waits for this relay or refuses it.
use crate::error::Pop3Error;
use crate::session::{CmdResult, Flow, Session};
use tern_directory::Account;
use tern_mail::Home;

/// What the loop needs to relay a logged-in user to the legacy server.
pub(crate) struct Relay {
    pub(crate) account: String,
    pub(crate) session: tern_legacy::Session,
    pub(crate) guard: Box<dyn Send + Sync>,
}

pub(crate) async fn open(
    s: &mut Session,
    account: Account,
    plaintext: Option<(String, String)>,
) -> CmdResult {
    let (Some(legacy), Some(homes)) = (s.server.legacy.clone(), s.server.mail.homes.clone()) else {
        return Err(Pop3Error::Unavailable(format!(
            "{}: on the legacy server, but no legacy POP3 server is configured",
            account.name
        )));
    };
    let user = legacy.user_name(&account.name);
    let Some(login) = legacy.login_for(&user, plaintext.map(|(_, password)| password)) else {
        return Err(Pop3Error::Unavailable(format!(
            "{}: no password and no legacy administrator to log in with",
            account.name
        )));
    };
    let guard = homes.relay(&account.name);
    if s.server.mail.home(&account.name).await != Home::Legacy {
        return Err(Pop3Error::Moving);
    }
    match tern_legacy::pop3::login(&legacy.endpoint, &login).await {
        Ok(session) => {
            tracing::info!(peer = %s.peer(), user = %account.name, as_ = ?login,
                "POP3 login relayed to the legacy server");
            s.relay = Some(Relay {
                account: account.name,
                session,
                guard,
            });
            s.out.ok("Logged in");
            Ok(Flow::Continue)
        }
        Err(tern_legacy::LegacyError::Refused(text)) if text.contains("[IN-USE]") => {
            Err(Pop3Error::InUse)
        }
        Err(e) => Err(Pop3Error::Unavailable(format!("{}: {e}", account.name))),
    }
}
