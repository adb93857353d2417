//! Message authentication in the SMTP front end (`tern-msgauth` does the work):
//! - MX: SPF, DKIM, ARC and DMARC of every message from an unauthenticated client, one DATA
//!   check (`checks`): the `Authentication-Results:` field at the top, forged ones claiming
//!   our hostname removed (RFC 8601 §5), DMARC `p=reject` → `550 5.7.1`, `p=quarantine` →
//!   Junk, as [`tern_msgauth::VerifyConfig`] says.
//! - Submission: the `DKIM-Signature:` fields for mail an authenticated user sends to remote
//!   recipients, signed over the octets the queue will transmit and handed over in
//!   [`crate::QueuedMessage::prepend`]. Local copies are not signed (they never leave).

use super::checks::CheckInput;
use super::{Mode, SmtpServer};
use crate::body::Finished;
use crate::prepend::{HeaderEdits, MessageView};
use crate::reply::Reply;
use crate::verdict::Verdict;
use std::net::{IpAddr, Ipv4Addr};
use tern_msgauth::{Action, Client};

impl SmtpServer {
    /// Whether the inbound checks run for this message: MX, verification configured, and a
    /// client that did not authenticate.
    pub(super) fn msgauth_applies(&self, input: &CheckInput) -> bool {
        self.config.mode == Mode::Mx && self.config.verifier.is_some() && !input.authenticated
    }

    /// The inbound check (see the module doc).
    pub(super) async fn msgauth_check(
        &self,
        input: &CheckInput,
        view: &MessageView,
        edits: &mut HeaderEdits,
        verdict: &mut Verdict,
    ) -> Result<(), Reply> {
        if !self.msgauth_applies(input) {
            return Ok(());
        }
        let Some(verifier) = self.config.verifier.as_ref() else {
            return Ok(());
        };
        let client = Client {
            ip: input.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            helo: &input.helo,
            mail_from: &input.mail_from,
        };
        let outcome = verifier.verify(&client, view.content()).await;
        for range in &outcome.forged {
            if edits.remove(view, range.clone()) {
                tracing::info!(id = %input.id, "SMTP: removed an Authentication-Results field \
                    claiming this host (RFC 8601 §5)");
            }
        }
        edits.add_field(outcome.header.as_bytes());
        let s = &outcome.summary;
        tracing::info!(id = %input.id, spf = s.spf, dkim = s.dkim, arc = s.arc, dmarc = s.dmarc,
            from_domain = %s.from_domain, action = ?outcome.action, "SMTP message authentication");
        match outcome.action {
            Action::Deliver => Ok(()),
            Action::Junk => {
                verdict.junk = true;
                Ok(())
            }
            Action::Reject(text) => Err(Reply::new(550, [5, 7, 1], text)),
        }
    }

    /// The `DKIM-Signature:` fields for the copy sent to remote recipients: signed with the
    /// keys of the `From:` domain over `blob[skip..]` (what the queue transmits after the
    /// prepend). Empty when signing is off or the domain has no key. A signing failure is
    /// logged and the message goes unsigned (the signature is optional to its delivery).
    pub(super) async fn dkim_prepend(&self, id: &str, finished: &Finished, skip: u64) -> Vec<u8> {
        let Some(keys) = self.config.dkim_keys.as_ref() else {
            return Vec::new();
        };
        let Some(domain) = finished
            .staged
            .meta
            .envelope
            .from
            .first()
            .and_then(|a| a.host.clone())
        else {
            return Vec::new();
        };
        if !keys.can_sign(&domain) {
            return Vec::new();
        }
        let blob = match self.mail.blobs.get(&finished.staged.blob).await {
            Ok(blob) => blob,
            Err(e) => {
                tracing::warn!(%id, error = %e, "DKIM: cannot read the message back; unsigned");
                return Vec::new();
            }
        };
        // Hashing a large body is CPU work: off the async threads.
        let keys = keys.clone();
        let signing = domain.clone();
        let signed = tokio::task::spawn_blocking(move || {
            let bytes = (*blob).as_ref();
            let transmitted = &bytes[usize::try_from(skip).unwrap_or(0).min(bytes.len())..];
            keys.sign(&signing, transmitted)
        })
        .await;
        let Ok(signed) = signed else {
            tracing::warn!(%id, "DKIM signing task failed; sent unsigned");
            return Vec::new();
        };
        match signed {
            Ok(fields) => {
                tracing::debug!(%id, %domain, "DKIM signed");
                fields
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "DKIM signing failed; sent unsigned");
                Vec::new()
            }
        }
    }
}
