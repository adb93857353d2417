//! MAIL FROM (RFC 5321 §4.1.1.2): opens a transaction.
//!
//! ## Checks, in order
//! - EHLO/HELO first (`503 5.5.1`), no transaction open (`503 5.5.1`)
//! - submission: TLS first unless `allow_plaintext` (`530 5.7.0 Must issue a STARTTLS command
//!   first`), then AUTH (`530 5.7.0 Authentication required`, RFC 4954 §6, RFC 6409 §4.3)
//! - parameters and declared SIZE ([`Envelope::from_mail_with`]: `555 5.5.4`, `552 5.3.4`)
//! - reverse-path syntax (`501 5.1.7`; non-ASCII without SMTPUTF8 `553 5.6.7`)
//! - submission: the reverse-path belongs to the authenticated account (`553 5.7.1`,
//!   RFC 6409 §6.1); the null sender is allowed (MDNs, RFC 8098 §2.1), the `From:` check at
//!   the end of the message still applies.
//! - the abuse limits' message rates (`450 4.7.1`, [`crate::limits`])

use super::transaction::Transaction;
use super::{Mode, SmtpServer, State, relay};
use crate::envelope::{Envelope, Extensions};
use crate::reply::Reply;
use crate::session::{Session, SessionEnd};
use smtp_proto::MailFrom;
use tern_directory::{Account, DirectoryError, Resolution};
use tern_mail::Mail;
use tern_net::Conn;

impl SmtpServer {
    pub(super) async fn mail_from(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        from: MailFrom<String>,
    ) -> Result<(), SessionEnd> {
        if state.helo.is_none() {
            return session.protocol_error(&Reply::bad_sequence("Send EHLO first"));
        }
        if state.tx.is_some() {
            return session.protocol_error(&Reply::bad_sequence("Nested MAIL command"));
        }
        if self.config.mode == Mode::Submission {
            if !self.plaintext_ok(state) && self.config.tls.is_some() {
                return session.protocol_error(&super::auth::must_starttls());
            }
            if state.auth.is_none() {
                return session.protocol_error(&Reply::new(
                    530,
                    [5, 7, 0],
                    "Authentication required",
                ));
            }
        }
        let extensions = Extensions {
            dsn: true,
            auth: self.config.mode == Mode::Submission,
        };
        let envelope =
            match Envelope::from_mail_with(&from, self.config.max_message_size, extensions) {
                Ok(envelope) => envelope,
                Err(reply) => return self.refuse(session, reply),
            };
        if let Err(reply) = relay::check_sender(&envelope.from, envelope.smtputf8) {
            return self.refuse(session, reply);
        }
        if let Some(account) = state.auth.as_ref()
            && !envelope.from.is_empty()
        {
            match owns(&self.mail, account, &envelope.from).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(user = %account.name, from = %envelope.from,
                        "SMTP: sender address not owned");
                    return self.refuse(
                        session,
                        Reply::new(
                            553,
                            [5, 7, 1],
                            format!(
                                "<{}>: sender address not owned by {}",
                                envelope.from, account.name
                            ),
                        ),
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP: directory lookup failed");
                    session.reply(&Reply::new(
                        451,
                        [4, 4, 3],
                        "Directory unavailable, try again later",
                    ));
                    return Ok(());
                }
            }
        }
        // Message rate per client address and per account (`450 4.7.1`, crate::limits).
        let ip = state.peer.map(|p| p.ip());
        let user = state.auth.as_ref().map(|a| a.name.as_str());
        if let Err(reply) = self.config.abuse.message(ip, user) {
            session.reply(&reply);
            return Ok(());
        }
        session.reply(&envelope.accepted_reply());
        state.tx = Some(Transaction::new(self.transaction_id(), envelope));
        Ok(())
    }

    /// A 5xx counts against the error budget; a 4xx does not.
    pub(super) fn refuse(
        &self,
        session: &mut Session<Conn>,
        reply: Reply,
    ) -> Result<(), SessionEnd> {
        if reply.code >= 500 {
            session.protocol_error(&reply)
        } else {
            session.reply(&reply);
            Ok(())
        }
    }
}

/// Whether `address` is one of `account`'s: listed in its addresses, or resolved by the
/// directory to the same account (aliases, subaddresses such as `user+tag@`).
pub(super) async fn owns(
    mail: &Mail,
    account: &Account,
    address: &str,
) -> Result<bool, DirectoryError> {
    let lower = address.to_lowercase();
    if lower == account.name || account.addresses.contains(&lower) {
        return Ok(true);
    }
    Ok(match mail.directory.resolve(address).await? {
        Resolution::Account(found) => found.name == account.name,
        Resolution::Group(_) | Resolution::NotFound => false,
    })
}
