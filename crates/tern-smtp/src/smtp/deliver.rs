//! The end of an SMTP transaction: the message made durable, the submission checks on its
//! header, one delivery commit for every local account, the queue for remote recipients,
//! then the one reply (RFC 5321 §4.1.1.4).
//!
//! ## Order and what each failure answers
//! 1. the blob: too large `552 5.3.4`, store `451 4.3.0`
//! 2. submission: exactly one `From:` field (`550 5.6.0`, RFC 5322 §3.6), every address in
//!    it owned by the authenticated account (`550 5.7.1`)
//! 3. the DATA checks (`checks`: message authentication, gateway filters): their refusal,
//!    e.g. DMARC `550 5.7.1`; their header fields are added in one re-stage
//! 4. local delivery, one commit: a direct recipient that failed fails the message (its
//!    reason: `452 4.2.2`, `450 4.2.1`, `451 4.3.0`); a group needs one member delivered
//! 5. the queue, after local delivery (a retry after a queue failure duplicates only local
//!    copies, never mail already sent on): `451 4.3.0`
//! 6. `250 2.0.0`
//!
//! Invariant: `250` is written only after steps 4 and 5 returned success for everything.

use super::checks::{CheckInput, Checked};
use super::transaction::{RcptKind, SmtpRcpt, Transaction};
use super::{SmtpServer, State};
use crate::body::{Finished, MessageBody};
use crate::envelope::Envelope;
use crate::queue::{QueuedEnvelope, QueuedMessage};
use crate::reply::Reply;
use crate::session::Session;
use crate::verdict::Verdict;
use tern_directory::Account;
use tern_mail::DeliveryError;
use tern_net::Conn;
use tern_store::Appended;

impl SmtpServer {
    pub(super) async fn finish(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        tx: Transaction,
        body: MessageBody,
        return_path_len: u64,
    ) {
        let checks = CheckInput {
            id: tx.id.clone(),
            peer: state.peer.map(|p| p.ip()),
            helo: state
                .helo
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |h| h.name.clone()),
            mail_from: tx.envelope.from.clone(),
            authenticated: state.auth.is_some(),
            recipients: tx
                .envelope
                .recipients
                .iter()
                .map(|r| r.address.clone())
                .collect(),
            user: state.auth.as_ref().map(|a| a.name.clone()),
        };
        let reply = self
            .complete(state.auth.as_ref(), &checks, tx, body, return_path_len)
            .await;
        if reply.code == 250 {
            session.reset_errors();
        }
        session.reply(&reply);
    }

    async fn complete(
        &self,
        auth: Option<&Account>,
        checks: &CheckInput,
        tx: Transaction,
        body: MessageBody,
        return_path_len: u64,
    ) -> Reply {
        let finished = match body.finish().await {
            Ok(finished) => finished,
            Err(reply) => return reply,
        };
        if let Some(account) = auth
            && let Err(reply) = self.check_from(account, &finished).await
        {
            return reply;
        }
        let Checked { finished, verdict } = match self.data_checks(checks, finished).await {
            Ok(checked) => checked,
            Err(reply) => return reply,
        };
        if !tx.targets.is_empty()
            && let Err(reply) = self
                .deliver_local(&tx.id, &tx.targets, &tx.envelope, &finished, &verdict)
                .await
        {
            return reply;
        }
        if !tx.remote.is_empty() {
            let Some(queue) = self.outbound.as_ref() else {
                // RCPT refuses remote recipients when there is no queue.
                return Reply::local_error("No outbound queue");
            };
            let envelope = QueuedEnvelope {
                id: tx.id.clone(),
                from: tx.envelope.from.clone(),
                recipients: tx.remote.clone(),
                body: tx.envelope.body,
                smtputf8: tx.envelope.smtputf8,
                ret: tx.envelope.ret,
                envid: tx.envelope.envid.clone(),
                authenticated: auth.map(|a| a.name.clone()),
            };
            let prepend = if auth.is_some() {
                self.dkim_prepend(&tx.id, &finished, return_path_len).await
            } else {
                Vec::new()
            };
            let message = QueuedMessage {
                staged: finished.staged.clone(),
                skip: return_path_len,
                prepend,
                envelope,
            };
            if let Err(e) = queue.enqueue(message).await {
                tracing::warn!(id = %tx.id, error = %e, "SMTP: queueing failed");
                return Reply::local_error("Cannot queue the message");
            }
        }
        if let Some(report) = delivered_report(&tx, &finished, return_path_len) {
            self.report_delivered(report).await;
        }
        tracing::info!(
            id = %tx.id,
            from = %tx.envelope.from,
            size = finished.staged.size,
            local = tx.targets.len(),
            remote = tx.remote.len(),
            user = auth.map_or("", |a| a.name.as_str()),
            "SMTP message accepted"
        );
        Reply::new(250, [2, 0, 0], format!("Message accepted, id {}", tx.id))
    }

    /// RFC 3461 §5.2.2.2: local recipients with NOTIFY=SUCCESS get a "delivered" DSN
    /// through the queue. A failure to send it is logged; the message is delivered all the
    /// same.
    async fn report_delivered(&self, report: crate::queue::DeliveredReport) {
        let Some(queue) = self.outbound.as_ref() else {
            return;
        };
        let id = report.id.clone();
        if let Err(e) = queue.delivered(report).await {
            tracing::warn!(%id, error = %e, "SMTP: delivered DSN not sent");
        }
    }

    /// RFC 6409 §6.1: the author must be the authenticated user (or one of its addresses).
    async fn check_from(&self, account: &Account, finished: &Finished) -> Result<(), Reply> {
        let fields = finished.headers.as_ref().map_or(0, |h| h.from_fields);
        let addresses: Vec<String> = finished
            .staged
            .meta
            .envelope
            .from
            .iter()
            .filter_map(|a| match (&a.mailbox, &a.host) {
                (Some(mailbox), Some(host)) => Some(format!("{mailbox}@{host}")),
                _ => None,
            })
            .collect();
        if fields != 1 || addresses.is_empty() {
            return Err(Reply::new(
                550,
                [5, 6, 0],
                "The message must have exactly one From header field with an address",
            ));
        }
        for address in &addresses {
            match super::mail::owns(&self.mail, account, address).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(user = %account.name, from = %address,
                        "SMTP: From address not owned");
                    return Err(Reply::new(
                        550,
                        [5, 7, 1],
                        format!("From address <{address}> not owned by {}", account.name),
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP: directory lookup failed");
                    return Err(Reply::new(
                        451,
                        [4, 4, 3],
                        "Directory unavailable, try again later",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Delivers to every local account in one commit; fails when a direct recipient, or
    /// every member of a group, failed. (Takes the transaction's parts: a `&Transaction`
    /// across an await would make the session future not `Send`.)
    async fn deliver_local(
        &self,
        id: &str,
        targets: &[Account],
        envelope: &Envelope<SmtpRcpt>,
        finished: &Finished,
        verdict: &Verdict,
    ) -> Result<(), Reply> {
        // Each account's Sieve script decides where its copies go; without one, INBOX, or
        // Junk when the gateway said "deliver to Junk" (crate::sieve).
        let results = self
            .deliver_sieve(id, targets, envelope, finished, verdict)
            .await?;
        let rcpts = &envelope.recipients;
        for (account, result) in targets.iter().zip(&results) {
            match result {
                Ok(appended) => tracing::debug!(
                    %id, account = %account.name, uid = appended.uid, "SMTP delivered"
                ),
                Err(error) => tracing::info!(
                    %id, account = %account.name, %error, "SMTP delivery failed"
                ),
            }
        }
        for rcpt in rcpts {
            let RcptKind::Local { targets, group } = &rcpt.kind else {
                continue;
            };
            if let Some(reply) = local_failure(&rcpt.address, targets, *group, &results) {
                return Err(reply);
            }
        }
        Ok(())
    }
}

/// The "delivered" DSN the transaction owes, if any (never to `<>`).
fn delivered_report(
    tx: &Transaction,
    finished: &Finished,
    skip: u64,
) -> Option<crate::queue::DeliveredReport> {
    let recipients: Vec<(String, Option<String>)> = tx
        .envelope
        .recipients
        .iter()
        .filter(|r| {
            matches!(r.kind, RcptKind::Local { .. }) && r.params.notify.is_some_and(|n| n.success)
        })
        .map(|r| (r.address.clone(), r.params.orcpt.clone()))
        .collect();
    if recipients.is_empty() || tx.envelope.from.is_empty() {
        return None;
    }
    Some(crate::queue::DeliveredReport {
        id: tx.id.clone(),
        from: tx.envelope.from.clone(),
        envid: tx.envelope.envid.clone(),
        ret: tx.envelope.ret,
        smtputf8: tx.envelope.smtputf8,
        staged: finished.staged.clone(),
        skip,
        recipients,
    })
}

/// The reply that fails the message because of this recipient, if it does.
fn local_failure(
    address: &str,
    targets: &[usize],
    group: bool,
    results: &[Result<Appended, DeliveryError>],
) -> Option<Reply> {
    let outcomes: Vec<Option<&Result<Appended, DeliveryError>>> =
        targets.iter().map(|&i| results.get(i)).collect();
    let delivered = outcomes.iter().filter(|o| matches!(o, Some(Ok(_)))).count();
    if delivered > 0 && (group || delivered == outcomes.len()) {
        return None;
    }
    let shown = crate::resolve::display(address);
    let first_failure = outcomes.iter().find_map(|o| match o {
        Some(Err(e)) => Some(Some(e)),
        None => Some(None),
        Some(Ok(_)) => None,
    });
    Some(match first_failure {
        Some(Some(DeliveryError::OverQuota)) => {
            Reply::new(452, [4, 2, 2], format!("<{shown}> mailbox full"))
        }
        Some(Some(DeliveryError::Disabled)) => {
            Reply::new(450, [4, 2, 1], format!("<{shown}> mailbox disabled"))
        }
        _ => Reply::local_error(&format!("<{shown}>")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::{MailboxId, StoreError};

    fn ok() -> Result<Appended, DeliveryError> {
        Ok(Appended {
            mailbox: MailboxId(1),
            uidvalidity: 1,
            uid: 1,
            modseq: 1,
        })
    }

    #[test]
    fn which_failures_fail_the_message() {
        let results = vec![
            ok(),
            Err(DeliveryError::OverQuota),
            Err(DeliveryError::Disabled),
            Err(DeliveryError::Store(StoreError::Backend("disk".into()))),
        ];
        let code = |targets: &[usize], group: bool| {
            local_failure("r@x.test", targets, group, &results).map(|r| r.code)
        };
        assert_eq!(code(&[0], false), None);
        assert_eq!(code(&[1], false), Some(452));
        assert_eq!(code(&[2], false), Some(450));
        assert_eq!(code(&[3], false), Some(451));
        // A missing result is never a success.
        assert_eq!(code(&[9], false), Some(451));
        assert_eq!(code(&[0, 1], true), None);
        assert_eq!(code(&[1, 3], true), Some(452));
    }
}
