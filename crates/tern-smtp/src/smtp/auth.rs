//! AUTH (RFC 4954) for submission: the tern-sasl mechanisms against the directory.
//!
//! ## Replies
//! - not submission `503 5.5.1`; before EHLO, after a successful AUTH, or inside a
//!   transaction `503 5.5.1` (§4)
//! - before TLS (unless `allow_plaintext`): `530 5.7.0 Must issue a STARTTLS command first`
//!   when STARTTLS is available, `538 5.7.11` (§6, encryption required for the mechanism)
//!   when it is not
//! - unknown mechanism `504 5.5.4`; undecodable base64 `501 5.5.2`; `*` cancels with
//!   `501 5.0.0`; an over-long response line `500 5.5.6` (§4)
//! - wrong credentials, disabled account, or an authorization identity naming another
//!   account: `535 5.7.8` after a delay that doubles with each failure; past
//!   `max_auth_failures` the session ends with `421 4.7.0`
//! - the directory cannot answer: `454 4.7.0` (§6)
//! - success: `235 2.7.0`
//!
//! Invariant: [`State::auth`] is set here and nowhere else, only after the directory
//! accepted the credentials, and it is what allows relaying.

use super::sasl::mechanism_name;
use super::{Flow, Mode, SmtpServer, State};
use crate::reply::Reply;
use crate::session::{Session, SessionEnd};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;
use tern_directory::Account;
use tern_net::{Conn, Shutdown};
use tern_sasl::{Authenticator, SaslError, Step};

/// RFC 4954 §4: a server must accept SASL response lines of at least 12288 octets.
const MAX_RESPONSE_LINE: usize = 12288;

/// How an exchange ended without credentials to check.
enum Abort {
    Reply(Reply),
    End(SessionEnd),
    /// The exchange ended in a refusal or the directory could not answer.
    Sasl(SaslError),
}

impl From<SessionEnd> for Abort {
    fn from(end: SessionEnd) -> Abort {
        Abort::End(end)
    }
}

impl SmtpServer {
    pub(super) async fn auth(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        shutdown: &mut Shutdown,
        mechanism: u64,
        initial: String,
    ) -> Result<Flow, SessionEnd> {
        if let Some(reply) = self.auth_refusal(state) {
            session.protocol_error(&reply)?;
            return Ok(Flow::Continue);
        }
        let sasl = self.sasl();
        let outcome = match exchange(session, shutdown, &sasl, mechanism, &initial).await {
            Ok(account) => Ok(account),
            Err(Abort::Reply(reply)) => {
                session.reply(&reply);
                return Ok(Flow::Continue);
            }
            Err(Abort::End(end)) => return Err(end),
            Err(Abort::Sasl(SaslError::Failed { reason })) => Err(reason),
            Err(Abort::Sasl(SaslError::NotAuthorized { authzid, .. })) => {
                Err(format!("authorization identity {authzid} refused"))
            }
            Err(Abort::Sasl(e)) => {
                tracing::warn!(error = %e, "SMTP AUTH: directory unavailable");
                session.reply(&Reply::new(
                    454,
                    [4, 7, 0],
                    "Temporary authentication failure",
                ));
                return Ok(Flow::Continue);
            }
        };
        match outcome {
            Ok(account) => {
                tracing::info!(peer = ?state.peer, user = %account.name, "SMTP AUTH");
                state.auth = Some(account);
                state.auth_failures = 0;
                session.reply(&Reply::new(235, [2, 7, 0], "Authentication successful"));
                Ok(Flow::Continue)
            }
            Err(reason) => self.auth_failed(session, state, shutdown, &reason).await,
        }
    }

    /// The SASL layer: the configured one, or PLAIN and LOGIN against the directory.
    pub(super) fn sasl(&self) -> Authenticator {
        self.config
            .sasl
            .clone()
            .unwrap_or_else(|| Authenticator::new(self.mail.directory.clone()))
    }

    /// Why AUTH cannot be used now, if it cannot.
    fn auth_refusal(&self, state: &State) -> Option<Reply> {
        if self.config.mode != Mode::Submission {
            return Some(Reply::bad_sequence("AUTH not available on this port"));
        }
        if state.helo.as_ref().is_none_or(|h| !h.extended) {
            return Some(Reply::bad_sequence("Send EHLO first"));
        }
        if state.auth.is_some() {
            return Some(Reply::bad_sequence("Already authenticated"));
        }
        if state.tx.is_some() {
            return Some(Reply::bad_sequence(
                "AUTH not permitted during a mail transaction",
            ));
        }
        if !self.plaintext_ok(state) {
            return Some(if self.config.tls.is_some() {
                must_starttls()
            } else {
                Reply::new(
                    538,
                    [5, 7, 11],
                    "Encryption required for requested authentication mechanism",
                )
            });
        }
        None
    }

    /// A failed attempt: the growing delay, `535`, and the end of the session past the limit.
    async fn auth_failed(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        shutdown: &mut Shutdown,
        reason: &str,
    ) -> Result<Flow, SessionEnd> {
        state.auth_failures += 1;
        tracing::info!(peer = ?state.peer, %reason, failures = state.auth_failures,
            "SMTP AUTH failed");
        let delay = failure_delay(self.config.auth_failure_delay, state.auth_failures);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return Err(SessionEnd::Shutdown),
        }
        session.reply(&Reply::new(
            535,
            [5, 7, 8],
            "Authentication credentials invalid",
        ));
        if state.auth_failures >= self.config.max_auth_failures {
            session.reply(&Reply::new(
                421,
                [4, 7, 0],
                format!(
                    "{} too many failed authentications, closing connection",
                    self.config.hostname
                ),
            ));
            return Ok(Flow::Quit);
        }
        Ok(Flow::Continue)
    }
}

/// `530 5.7.0 Must issue a STARTTLS command first` (RFC 3207 §4).
pub(super) fn must_starttls() -> Reply {
    Reply::new(530, [5, 7, 0], "Must issue a STARTTLS command first")
}

/// `base`, doubled for each failure after the first, at most 16 times `base`.
fn failure_delay(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1u32 << failures.saturating_sub(1).min(4))
}

/// Runs the SASL exchange: `334` challenges and the client's responses.
async fn exchange(
    session: &mut Session<Conn>,
    shutdown: &mut Shutdown,
    sasl: &Authenticator,
    mechanism: u64,
    initial: &str,
) -> Result<Account, Abort> {
    let name = mechanism_name(mechanism).ok_or(Abort::Reply(unknown_mechanism()))?;
    let mut exchange = sasl.start(name).map_err(sasl_abort)?;
    let mut response = match initial {
        "" => None,
        // RFC 4954 §4: "=" is an initial response of zero length.
        "=" => Some(Vec::new()),
        b64 => Some(decode(b64.as_bytes())?),
    };
    loop {
        match exchange
            .step(response.as_deref())
            .await
            .map_err(sasl_abort)?
        {
            Step::Challenge(challenge) => {
                session.reply(&Reply::plain(334, BASE64.encode(challenge)));
                let Some(line) = session.read_line(shutdown, MAX_RESPONSE_LINE).await? else {
                    return Err(Abort::Reply(Reply::new(
                        500,
                        [5, 5, 6],
                        "Authentication exchange line is too long",
                    )));
                };
                if line.trim_ascii() == b"*" {
                    return Err(Abort::Reply(Reply::new(
                        501,
                        [5, 0, 0],
                        "Authentication cancelled",
                    )));
                }
                response = Some(decode(&line)?);
            }
            Step::Done(success) => return Ok(success.account),
        }
    }
}

fn decode(b64: &[u8]) -> Result<Vec<u8>, Abort> {
    BASE64.decode(b64.trim_ascii()).map_err(|_| {
        Abort::Reply(Reply::new(
            501,
            [5, 5, 2],
            "Cannot decode the authentication response",
        ))
    })
}

fn unknown_mechanism() -> Reply {
    Reply::new(504, [5, 5, 4], "Unrecognized authentication type")
}

/// Syntax problems become replies here; the outcome of a check goes back to `auth`.
fn sasl_abort(error: SaslError) -> Abort {
    match error {
        SaslError::UnknownMechanism => Abort::Reply(unknown_mechanism()),
        SaslError::Malformed(text) => Abort::Reply(Reply::new(501, [5, 5, 2], text)),
        other => Abort::Sasl(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        let got: Vec<u64> = (1..=7)
            .map(|n| failure_delay(base, n).as_millis() as u64)
            .collect();
        assert_eq!(got, [100, 200, 400, 800, 1600, 1600, 1600]);
    }
}
