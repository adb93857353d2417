//! SMTP's side of Sieve at delivery ([`crate::sieve`]): the envelope as SMTP knows it, and
//! the refusal at DATA when every local recipient's script rejected the message and no
//! remote recipient needs it (`550 5.7.1 <reason>`).

use super::SmtpServer;
use super::transaction::{RcptKind, SmtpRcpt};
use crate::body::Finished;
use crate::envelope::Envelope;
use crate::reply::Reply;
use crate::sieve::{Delivery, one_line, to_addresses};
use crate::verdict::Verdict;
use tern_directory::Account;
use tern_mail::DeliveryError;
use tern_store::Appended;

impl SmtpServer {
    /// Delivers to every local target through its Sieve script; one result per target.
    pub(super) async fn deliver_sieve(
        &self,
        id: &str,
        targets: &[Account],
        envelope: &Envelope<SmtpRcpt>,
        finished: &Finished,
        verdict: &Verdict,
    ) -> Result<Vec<Result<Appended, DeliveryError>>, Reply> {
        let all_local = envelope
            .recipients
            .iter()
            .all(|r| matches!(r.kind, RcptKind::Local { .. }));
        let delivery = Delivery {
            id,
            hostname: &self.config.hostname,
            staged: &finished.staged,
            received_at: finished.received_at,
            return_path_len: finished.return_path_len,
            from: &envelope.from,
            auth: envelope.auth_param.as_deref().filter(|a| *a != "<>"),
            body: envelope.body,
            smtputf8: envelope.smtputf8,
            verdict,
            outbound: self.outbound.as_ref(),
            smtp_can_refuse: Some(all_local),
        };
        let to = to_addresses(
            targets.len(),
            envelope.recipients.iter().filter_map(|r| match &r.kind {
                RcptKind::Local { targets, .. } => Some((r.address.as_str(), targets.as_slice())),
                _ => None,
            }),
        );
        let delivered = self
            .sieve
            .deliver(&self.mail, &delivery, targets, &to)
            .await;
        if let Some(reason) = delivered.refuse {
            tracing::info!(%id, reason = %reason, "SMTP: refused by the recipients' Sieve scripts");
            return Err(Reply::new(550, [5, 7, 1], one_line(&reason)));
        }
        Ok(delivered.results)
    }
}
