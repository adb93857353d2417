//! Telling the sender (RFC 3461 §6): a "failed" DSN for recipients that failed for good, a
//! "delayed" DSN once for recipients still pending after `delay_warning`, a "relayed" DSN
//! for NOTIFY=SUCCESS recipients handed to a server without DSN support — each only when
//! the recipient's NOTIFY asks for it (absent NOTIFY: FAILURE,DELAY), and never for a
//! message from `<>`.
//!
//! A DSN to a local sender is delivered to its INBOX; to a remote sender it is queued here
//! (from `<>`). A final state is marked reported only after its DSN was delivered or
//! queued, so a crash in between repeats the DSN rather than losing it.

use crate::db::{MessageRow, RcptState, RecipientRow};
use crate::dsn::{self, DsnInput, DsnKind, DsnRecipient, Original};
use crate::{Inner, domain_of, now};
use std::io::Read;
use std::sync::Arc;
use tern_directory::Resolution;
use tern_mail::Recipient;
use tern_smtp::envelope::BodyType;
use tern_smtp::{QueuedEnvelope, QueuedMessage, QueuedRecipient};
use tern_store::{Flags, Timestamp};

/// Whether a recipient's NOTIFY asks for `condition` (`default` when NOTIFY was absent).
pub fn wants(notify: Option<&str>, condition: &str, default: bool) -> bool {
    match notify {
        None => default,
        Some(list) => list
            .split(',')
            .any(|c| c.trim().eq_ignore_ascii_case(condition)),
    }
}

/// Issues what the message's recipients' states call for, then deletes the message when
/// nothing is left to do.
pub async fn report(inner: &Arc<Inner>, id: &str) {
    let db = inner.db.clone();
    let key = id.to_string();
    let Ok(Ok(Some(m))) = tokio::task::spawn_blocking(move || db.load(&key)).await else {
        return;
    };
    let at = now();
    let finals: Vec<&RecipientRow> = m
        .recipients
        .iter()
        .filter(|r| r.state != RcptState::Pending && !r.reported)
        .collect();
    let failed: Vec<&RecipientRow> = finals
        .iter()
        .copied()
        .filter(|r| r.state == RcptState::Failed && wants(r.notify.as_deref(), "FAILURE", true))
        .collect();
    let relayed: Vec<&RecipientRow> = finals
        .iter()
        .copied()
        .filter(|r| r.state == RcptState::Sent && r.success_dsn)
        .collect();
    let warn_after = inner.config.delay_warning.as_secs() as i64;
    let delayed: Vec<&RecipientRow> = m
        .recipients
        .iter()
        .filter(|r| {
            r.state == RcptState::Pending
                && !r.delay_warned
                && r.attempts > 0
                && at - m.arrival >= warn_after
        })
        .collect();
    if !m.sender.is_empty() {
        for (kind, rcpts) in [(DsnKind::Failed, &failed), (DsnKind::Relayed, &relayed)] {
            if rcpts.is_empty() {
                continue;
            }
            if let Err(e) = issue(inner, &m, kind, rcpts, at).await {
                tracing::warn!(id = %m.id, error = %e, "queue: cannot issue a DSN (will retry)");
                return;
            }
        }
        let warn: Vec<&RecipientRow> = delayed
            .iter()
            .copied()
            .filter(|r| wants(r.notify.as_deref(), "DELAY", true))
            .collect();
        if !warn.is_empty()
            && let Err(e) = issue(inner, &m, DsnKind::Delayed, &warn, at).await
        {
            tracing::warn!(id = %m.id, error = %e, "queue: cannot issue a delay DSN");
            return;
        }
    }
    let db = inner.db.clone();
    let key = m.id.clone();
    let reported: Vec<u32> = finals.iter().map(|r| r.idx).collect();
    let warned: Vec<u32> = delayed.iter().map(|r| r.idx).collect();
    let done = tokio::task::spawn_blocking(move || db.finish(&key, &reported, &warned)).await;
    match done {
        Ok(Ok(true)) => {
            if let Err(e) = inner.spool.remove(&m.id) {
                tracing::warn!(id = %m.id, error = %e, "queue: cannot remove the spool file");
            }
            tracing::info!(id = %m.id, "queue: entry done");
        }
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::warn!(id = %m.id, error = %e, "queue: cannot update entry"),
        Err(e) => tracing::warn!(id = %m.id, error = %e, "queue: update task failed"),
    }
}

/// The RFC 3463 status a stored reason carries: `550 5.1.1 ...` → 5.1.1, `550 ...` → 5.0.0,
/// `4.4.7 ...` → 4.4.7.
pub fn status_from(reason: &str, fallback: &str) -> String {
    let mut words = reason.split(' ');
    let first = words.next().unwrap_or("");
    let is_status = |w: &str| {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if first.len() == 3 && first.bytes().all(|b| b.is_ascii_digit()) {
        match words.next() {
            Some(w) if is_status(w) && w.starts_with(&first[..1]) => w.to_string(),
            _ => dsn::status_of(first.parse().unwrap_or(500), None),
        }
    } else if is_status(first) {
        first.to_string()
    } else {
        fallback.to_string()
    }
}

async fn issue(
    inner: &Arc<Inner>,
    m: &MessageRow,
    kind: DsnKind,
    rcpts: &[&RecipientRow],
    at: i64,
) -> Result<(), String> {
    let path = inner.spool.path(&m.id);
    let skip = m.skip;
    let mut content = m.prepend.clone();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(path)?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(skip))?;
        let mut buf = Vec::new();
        f.take(dsn::MAX_RETURNED as u64 + 1).read_to_end(&mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("spool: {e}"))?;
    content.extend_from_slice(&file);
    let fallback = match kind {
        DsnKind::Failed => "5.0.0",
        DsnKind::Delayed => "4.0.0",
        DsnKind::Relayed => "2.0.0",
    };
    let recipients: Vec<DsnRecipient> = rcpts
        .iter()
        .map(|r| DsnRecipient {
            address: r.address.clone(),
            orcpt: r.orcpt.clone(),
            status: match kind {
                DsnKind::Relayed => "2.0.0".into(),
                _ => status_from(r.last_reply.as_deref().unwrap_or(""), fallback),
            },
            remote_mta: r.remote_mta.clone(),
            diagnostic: r.last_reply.clone(),
            last_attempt: (r.attempts > 0).then_some(at),
        })
        .collect();
    let unique = format!("{}-{}", m.id, kind_tag(kind));
    let bytes = dsn::build(&DsnInput {
        hostname: &inner.config.hostname,
        kind,
        original: Original {
            sender: &m.sender,
            envid: m.envid.as_deref(),
            arrival: m.arrival,
            ret: m.ret.as_deref(),
            content: &content,
        },
        recipients: &recipients,
        will_retry_until: (kind == DsnKind::Delayed)
            .then(|| m.arrival + inner.config.max_lifetime.as_secs() as i64),
        now: at,
        unique: &unique,
        global: m.smtputf8,
    });
    deliver(inner, &m.sender, bytes).await?;
    tracing::info!(id = %m.id, to = %m.sender, action = kind_tag(kind),
        recipients = rcpts.len(), "queue: DSN issued");
    Ok(())
}

fn kind_tag(kind: DsnKind) -> &'static str {
    match kind {
        DsnKind::Failed => "failed",
        DsnKind::Delayed => "delayed",
        DsnKind::Relayed => "relayed",
    }
}

/// Delivers a DSN: into the local sender's INBOX, or through the queue from `<>`.
async fn deliver(inner: &Arc<Inner>, to: &str, dsn: Vec<u8>) -> Result<(), String> {
    let domain = domain_of(to);
    let mail = &inner.mail;
    if inner.config.is_local(&domain) {
        let accounts = match mail
            .directory
            .resolve(to)
            .await
            .map_err(|e| e.to_string())?
        {
            Resolution::Account(a) => vec![a],
            Resolution::Group(members) => {
                let mut accounts = Vec::new();
                for member in members {
                    if let Ok(Resolution::Account(a)) = mail.directory.resolve(&member).await {
                        accounts.push(a);
                    }
                }
                accounts
            }
            Resolution::NotFound => Vec::new(),
        };
        if accounts.is_empty() {
            tracing::warn!(%to, "queue: the DSN's local recipient does not exist; dropped");
            return Ok(());
        }
        // Final delivery adds Return-Path (RFC 5321 §4.4): a DSN's is the null path.
        let mut bytes = b"Return-Path: <>\r\n".to_vec();
        bytes.extend_from_slice(&dsn);
        let staged = mail
            .stage_bytes(&bytes, u64::MAX)
            .await
            .map_err(|e| e.to_string())?;
        let recipients: Vec<Recipient> = accounts
            .into_iter()
            .map(|account| Recipient {
                account,
                mailbox: None,
                flags: Flags::default(),
            })
            .collect();
        let when = Timestamp {
            unix: now(),
            offset_minutes: 0,
        };
        for result in mail.deliver(&staged, &recipients, when).await {
            result.map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    let staged = mail
        .stage_bytes(&dsn, u64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let body = if dsn.is_ascii() {
        BodyType::SevenBit
    } else {
        BodyType::EightBitMime
    };
    let message = QueuedMessage {
        staged,
        skip: 0,
        prepend: Vec::new(),
        envelope: QueuedEnvelope {
            id: "dsn".into(),
            from: String::new(),
            recipients: vec![QueuedRecipient {
                address: to.to_string(),
                notify: None,
                orcpt: None,
                home: false,
            }],
            body,
            smtputf8: false,
            ret: None,
            envid: None,
            authenticated: None,
        },
    };
    crate::enqueue(inner, message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_conditions() {
        assert!(wants(None, "FAILURE", true));
        assert!(!wants(None, "SUCCESS", false));
        assert!(!wants(Some("NEVER"), "FAILURE", true));
        assert!(wants(Some("SUCCESS,FAILURE"), "failure", true));
        assert!(!wants(Some("SUCCESS"), "DELAY", true));
    }

    #[test]
    fn statuses_from_stored_reasons() {
        assert_eq!(status_from("550 5.1.1 no such user", "5.0.0"), "5.1.1");
        assert_eq!(status_from("554 transaction failed", "5.0.0"), "5.0.0");
        assert_eq!(status_from("450 4.2.0 busy", "4.0.0"), "4.2.0");
        assert_eq!(status_from("4.4.7 delivery time expired", "5.0.0"), "4.4.7");
        assert_eq!(status_from("5.1.10 null MX", "5.0.0"), "5.1.10");
        assert_eq!(status_from("connection refused", "4.0.0"), "4.0.0");
    }
}
