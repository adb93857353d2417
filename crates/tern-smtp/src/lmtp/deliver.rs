//! The end of an LMTP transaction: one delivery commit for all recipients, then one reply
//! per accepted RCPT in RCPT order (RFC 2033 §4.2). The body itself is [`crate::body`].
//!
//! Invariant: a `250` is written only for a recipient whose delivery the store reported
//! committed; every other outcome is a 4xx/5xx naming the recipient.

use super::LmtpServer;
use super::transaction::{AcceptedRcpt, Transaction};
use crate::body::MessageBody;
use crate::queue::{QueuedEnvelope, QueuedMessage};
use crate::reply::Reply;
use crate::resolve::display;
use crate::session::Session;
use crate::sieve::{Delivery, rejection_reply, to_addresses};
use crate::verdict::Verdict;
use tern_mail::DeliveryError;
use tern_store::Appended;
use tokio::io::{AsyncRead, AsyncWrite};

impl LmtpServer {
    /// Ends a transaction: makes the message durable, delivers it to every target in one
    /// commit, and buffers one reply per accepted RCPT.
    pub(super) async fn finish<S>(
        &self,
        session: &mut Session<S>,
        tx: Transaction,
        body: MessageBody,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let finished = match body.finish().await {
            Ok(finished) => finished,
            Err(reply) => {
                for rcpt in &tx.envelope.recipients {
                    session.reply(&for_recipient(&reply, &rcpt.address));
                }
                return;
            }
        };
        let staged = &finished.staged;
        // Each account's Sieve script decides where its copies go (INBOX without one).
        let sieve = Delivery {
            id: &tx.id,
            hostname: &self.config.hostname,
            staged,
            received_at: finished.received_at,
            return_path_len: finished.return_path_len,
            from: &tx.envelope.from,
            auth: None,
            body: tx.envelope.body,
            smtputf8: tx.envelope.smtputf8,
            verdict: &Verdict::default(),
            outbound: self.outbound.as_ref(),
            smtp_can_refuse: None,
        };
        let to = to_addresses(
            tx.targets.len(),
            tx.envelope
                .recipients
                .iter()
                .map(|r| (r.address.as_str(), r.targets.as_slice())),
        );
        let delivered = self
            .sieve
            .deliver(&self.mail, &sieve, &tx.targets, &to)
            .await;
        let results = delivered.results;
        // Per account at debug level (a group can be thousands); one summary at info.
        for (account, result) in tx.targets.iter().zip(&results) {
            match result {
                Ok(appended) => tracing::debug!(
                    id = %tx.id, account = %account.name, uid = appended.uid, "LMTP delivered"
                ),
                Err(error) => tracing::info!(
                    id = %tx.id, account = %account.name, %error, "LMTP delivery failed"
                ),
            }
        }
        tracing::info!(
            id = %tx.id,
            from = %tx.envelope.from,
            size = staged.size,
            accounts = tx.targets.len(),
            delivered = results.iter().filter(|r| r.is_ok()).count(),
            "LMTP message"
        );
        let queued = match relayed_message(&tx, finished.staged.clone(), finished.return_path_len) {
            None => true,
            Some(message) => self.queue_relayed(message).await,
        };
        for rcpt in &tx.envelope.recipients {
            match rejection_reply(&rcpt.address, &rcpt.targets, &delivered.rejected) {
                Some(refused) => session.reply(&refused),
                None => session.reply(&with_relayed(rcpt, &results, queued)),
            }
        }
    }

    /// Migration mode: hands the message to the queue for the accounts not cut over yet
    /// (it reaches them on the legacy server). `true` once the queue took it durably.
    async fn queue_relayed(&self, message: QueuedMessage) -> bool {
        let Some(queue) = self.outbound.as_ref() else {
            return false;
        };
        let (id, count) = (
            message.envelope.id.clone(),
            message.envelope.recipients.len(),
        );
        match queue.enqueue(message).await {
            Ok(()) => {
                tracing::info!(%id, recipients = count,
                    "LMTP: queued for accounts on the legacy server");
                true
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "LMTP: queueing for the legacy server failed");
                false
            }
        }
    }
}

/// The queue's message for the transaction's relayed accounts, if it has any.
fn relayed_message(
    tx: &Transaction,
    staged: tern_mail::Staged,
    return_path_len: u64,
) -> Option<QueuedMessage> {
    if tx.relayed.is_empty() {
        return None;
    }
    Some(QueuedMessage {
        staged,
        skip: return_path_len,
        prepend: Vec::new(),
        envelope: QueuedEnvelope {
            id: tx.id.clone(),
            from: tx.envelope.from.clone(),
            recipients: tx.relayed.clone(),
            body: tx.envelope.body,
            smtputf8: tx.envelope.smtputf8,
            ret: tx.envelope.ret,
            envid: tx.envelope.envid.clone(),
            authenticated: None,
        },
    })
}

/// The reply for a recipient some of whose accounts are still on the legacy server:
/// those count as delivered once the queue has the message.
fn with_relayed(
    rcpt: &AcceptedRcpt,
    results: &[Result<Appended, DeliveryError>],
    queued: bool,
) -> Reply {
    let address = display(&rcpt.address);
    let relayed = !rcpt.relayed.is_empty();
    if rcpt.targets.is_empty() {
        return if relayed && queued {
            Reply::new(250, [2, 0, 0], format!("<{address}> queued for delivery"))
        } else {
            Reply::local_error(&format!("<{address}>"))
        };
    }
    let local = recipient_reply(rcpt, results);
    match (local.code, relayed) {
        (250, false) => local,
        (250, true) if queued || rcpt.group => local,
        (_, true) if queued && rcpt.group => Reply::new(
            250,
            [2, 0, 0],
            format!("<{address}> delivered to some members, queued for the others"),
        ),
        (250, true) => Reply::local_error(&format!("<{address}>")),
        _ => local,
    }
}

/// The final reply for one RCPT. A group's reply is `250` when at least one member got the
/// message (as a list expansion takes responsibility; member failures are logged), so that
/// a front MTA's retry cannot duplicate the message to members who already have it.
fn recipient_reply(rcpt: &AcceptedRcpt, results: &[Result<Appended, DeliveryError>]) -> Reply {
    let address = display(&rcpt.address);
    let outcomes: Vec<Option<&Result<Appended, DeliveryError>>> =
        rcpt.targets.iter().map(|&i| results.get(i)).collect();
    let delivered = outcomes.iter().filter(|o| matches!(o, Some(Ok(_)))).count();
    if delivered > 0 && (rcpt.group || delivered == outcomes.len()) {
        let text = if rcpt.group {
            format!(
                "<{address}> delivered to {delivered} of {} members",
                outcomes.len()
            )
        } else {
            format!("<{address}> delivered")
        };
        return Reply::new(250, [2, 0, 0], text);
    }
    let first_failure = outcomes.iter().find_map(|o| match o {
        Some(Err(e)) => Some(Some(e)),
        None => Some(None),
        Some(Ok(_)) => None,
    });
    match first_failure {
        Some(Some(DeliveryError::OverQuota)) => {
            Reply::new(452, [4, 2, 2], format!("<{address}> mailbox full"))
        }
        Some(Some(DeliveryError::Disabled)) => {
            Reply::new(450, [4, 2, 1], format!("<{address}> mailbox disabled"))
        }
        Some(Some(error)) => {
            tracing::warn!(%error, rcpt = %address, "LMTP: delivery failed");
            Reply::local_error(&format!("<{address}>"))
        }
        // A result missing from the store's answer: never claim success for it.
        Some(None) | None => Reply::local_error(&format!("<{address}>")),
    }
}

/// `reply` with the recipient named in front (one reply per recipient must say whose it is).
fn for_recipient(reply: &Reply, address: &str) -> Reply {
    let text = reply.lines.first().map(String::as_str).unwrap_or("");
    Reply::new(
        reply.code,
        reply.status.unwrap_or([4, 0, 0]),
        format!("<{}> {text}", display(address)),
    )
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

    fn rcpt(targets: Vec<usize>, group: bool) -> AcceptedRcpt {
        AcceptedRcpt {
            address: "r@x.test".into(),
            targets,
            group,
            relayed: Vec::new(),
        }
    }

    #[test]
    fn relayed_recipients_count_once_queued() {
        let results = vec![ok(), Err(DeliveryError::OverQuota)];
        let mut only = rcpt(vec![], false);
        only.relayed = vec![0];
        assert_eq!(with_relayed(&only, &results, true).code, 250);
        assert_eq!(with_relayed(&only, &results, false).code, 451);
        let mut group = rcpt(vec![1], true);
        group.relayed = vec![0];
        assert_eq!(with_relayed(&group, &results, true).code, 250);
        assert_eq!(with_relayed(&group, &results, false).code, 452);
        let mut mixed = rcpt(vec![0], false);
        mixed.relayed = vec![0];
        assert_eq!(with_relayed(&mixed, &results, false).code, 451);
        assert_eq!(
            with_relayed(&rcpt(vec![0], false), &results, false).code,
            250
        );
    }

    #[test]
    fn per_recipient_replies() {
        let results = vec![
            ok(),
            Err(DeliveryError::OverQuota),
            Err(DeliveryError::Disabled),
            Err(DeliveryError::Store(StoreError::Backend("disk".into()))),
        ];
        let cases: &[(AcceptedRcpt, u16, [u8; 3])] = &[
            (rcpt(vec![0], false), 250, [2, 0, 0]),
            (rcpt(vec![1], false), 452, [4, 2, 2]),
            (rcpt(vec![2], false), 450, [4, 2, 1]),
            (rcpt(vec![3], false), 451, [4, 3, 0]),
            // Missing result: not a success.
            (rcpt(vec![9], false), 451, [4, 3, 0]),
            (rcpt(vec![0, 1], true), 250, [2, 0, 0]),
            (rcpt(vec![1, 3], true), 452, [4, 2, 2]),
        ];
        for (r, code, status) in cases {
            let reply = recipient_reply(r, &results);
            assert_eq!((reply.code, reply.status), (*code, Some(*status)), "{r:?}");
            assert!(reply.lines[0].starts_with("<r@x.test>"), "{reply:?}");
        }
        let group = recipient_reply(&rcpt(vec![0, 1], true), &results);
        assert_eq!(group.lines[0], "<r@x.test> delivered to 1 of 2 members");
    }

    #[test]
    fn failure_names_recipient() {
        let r = for_recipient(&Reply::too_large(10), "a@b");
        assert_eq!(
            r.to_wire(),
            "552 5.3.4 <a@b> message exceeds the size limit of 10 octets\r\n"
        );
    }
}
