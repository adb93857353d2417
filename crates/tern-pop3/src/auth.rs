//! The AUTHORIZATION state: USER/PASS (RFC 1939 §7), AUTH (RFC 5034), and the login they
//! share: authenticate, lock the maildrop, snapshot INBOX, enter TRANSACTION.
//!
//! ## Invariants
//! - Plaintext credentials are refused before TLS unless `allow_plaintext`: USER is refused
//!   at once (so no password follows it in the clear), AUTH PLAIN/LOGIN before any challenge.
//! - USER always answers `+OK`, whether or not the name exists (no account probing).
//! - A failed PASS forgets the USER name (RFC 1939 §7: the client starts again with USER).
//! - Login order: credentials, authorization identity, store account (default folders on
//!   first login), lock, snapshot. A failure at any step leaves the session in
//!   AUTHORIZATION with nothing held.
use crate::error::Pop3Error;
use crate::maildrop::Maildrop;
use crate::session::{CmdResult, Flow, Session, State};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tern_directory::Account;
use tern_mail::Home;
use tern_sasl::Step;

/// `USER name`.
pub(crate) fn user(s: &mut Session, name: String) -> CmdResult {
    if !s.plaintext_allowed() {
        return Err(Pop3Error::PlaintextDisallowed);
    }
    s.state = State::Authorization { user: Some(name) };
    s.out.ok("Send your password");
    Ok(Flow::Continue)
}

/// `PASS password`, after USER.
pub(crate) async fn pass(s: &mut Session, password: String) -> CmdResult {
    let State::Authorization { user } = &mut s.state else {
        return Err(Pop3Error::WrongState);
    };
    let Some(user) = user.take() else {
        return Err(Pop3Error::NoUser);
    };
    if !s.plaintext_allowed() {
        return Err(Pop3Error::PlaintextDisallowed);
    }
    login(s, &user, &password, None).await
}

/// `AUTH [mechanism [initial-response]]` (RFC 5034 §4).
pub(crate) async fn auth(
    s: &mut Session,
    mechanism: Option<String>,
    initial: Option<String>,
) -> CmdResult {
    let Some(mechanism) = mechanism else {
        // The mechanism listing of the RFC 1734 era, which some clients still send.
        s.out.ok("Supported SASL mechanisms follow");
        for m in offered(s) {
            s.out.line(m);
        }
        s.out.dot();
        return Ok(Flow::Continue);
    };
    if let State::Authorization { user } = &mut s.state {
        *user = None;
    }
    if !s.plaintext_allowed() && s.server.sasl.offers(&mechanism) {
        return Err(Pop3Error::PlaintextDisallowed);
    }
    let mut exchange = s.server.sasl.start(&mechanism)?;
    let mut response = match initial.as_deref() {
        None => None,
        // RFC 5034 §4: "=" is an initial response of zero length.
        Some("=") => Some(Vec::new()),
        Some(b64) => Some(decode(b64.as_bytes())?),
    };
    loop {
        match exchange.step(response.as_deref()).await? {
            Step::Challenge(challenge) => {
                s.out.raw(b"+ ");
                s.out.raw(BASE64.encode(challenge).as_bytes());
                s.out.raw(b"\r\n");
                let line = s.next_input().await??;
                if line == b"*" {
                    return Err(Pop3Error::AuthCancelled);
                }
                response = Some(decode(&line)?);
            }
            Step::Done(success) => {
                let plaintext = success.plaintext.map(|p| (p.login, p.password));
                return enter(s, success.account, plaintext).await;
            }
        }
    }
}

/// The SASL mechanisms usable on this connection now.
pub(crate) fn offered(s: &Session) -> Vec<&'static str> {
    if s.plaintext_allowed() {
        s.server.sasl.mechanism_names()
    } else {
        Vec::new()
    }
}

fn decode(line: &[u8]) -> Result<Vec<u8>, Pop3Error> {
    BASE64
        .decode(line.trim_ascii())
        .map_err(|_| Pop3Error::Base64)
}

/// Checks credentials and, on success, takes the maildrop and enters TRANSACTION.
/// `authzid` is the SASL authorization identity: absent, or naming the same account.
async fn login(s: &mut Session, login: &str, password: &str, authzid: Option<&str>) -> CmdResult {
    let sasl = s.server.sasl.clone();
    let account = match sasl.check_password(login, password, authzid).await {
        Ok(account) => account,
        Err(tern_sasl::SaslError::NotAuthorized { account, authzid }) => {
            tracing::info!(peer = %s.peer(), user = %account, %authzid,
                "POP3 authorization identity refused");
            return Err(Pop3Error::NotAuthorized);
        }
        Err(e) => return Err(e.into()),
    };
    enter(s, account, Some((login.to_string(), password.to_string()))).await
}

/// Takes the maildrop of an authenticated account and enters TRANSACTION; in migration
/// mode, a user still on the legacy server is relayed there instead (`crate::legacy`).
/// `plaintext`: the login and password the client gave, if it gave one.
async fn enter(
    s: &mut Session,
    account: Account,
    plaintext: Option<(String, String)>,
) -> CmdResult {
    let mail = s.server.mail.clone();
    match mail.home(&account.name).await {
        Home::Local => {}
        Home::Legacy => return crate::legacy::open(s, account, plaintext).await,
        Home::Moving => {
            tracing::info!(peer = %s.peer(), user = %account.name,
                "POP3 login refused: mailbox being moved");
            return Err(Pop3Error::Moving);
        }
    }
    let account_id = mail.open_account(&account).await?;
    let Some(lock) = s.server.locks.try_lock(account_id) else {
        tracing::info!(peer = %s.peer(), user = %account.name, "POP3 maildrop in use");
        return Err(Pop3Error::InUse);
    };
    let maildrop = Maildrop::load(mail.store.as_ref(), &account.name, account_id, lock).await?;
    let (count, octets) = maildrop.stat();
    tracing::info!(peer = %s.peer(), user = %account.name, messages = count, "POP3 login");
    s.state = State::Transaction(Box::new(maildrop));
    s.auth_failures = 0;
    s.out.ok(format!(
        "Mailbox locked and ready, {count} messages ({octets} octets)"
    ));
    Ok(Flow::Continue)
}
