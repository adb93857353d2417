//! Migration mode: recipients that are local accounts not (yet) served by Tern. At each
//! attempt the account's home decides ([`tern_mail::Home`]):
//! - still on the legacy server: one LMTP (or SMTP) transaction to the legacy server's
//!   delivery service (`[migration] legacy_delivery`), RCPT by the name it knows the user by;
//! - being moved: wait (temporary failure; the next attempt finds it local);
//! - cut over meanwhile: delivered into Tern's own store, so nothing lands on the legacy
//!   server after its final sync.
//!
//! Replies map to outcomes as for any destination (2xx sent, 4xx retried, 5xx bounced), so
//! a legacy server that refuses mail for good produces a DSN to the sender.
use crate::Inner;
use crate::attempt::{HostResult, Outcome, temporary, try_session};
use crate::client::{SessionOptions, TlsPolicy};
use crate::db::{MessageRow, RecipientRow};
use std::net::{IpAddr, SocketAddr};
use tern_directory::Resolution;
use tern_mail::{DeliveryError, Home, Recipient};
use tern_store::{Flags, Timestamp};
use tokio::io::AsyncReadExt;

/// One outcome per recipient of `rcpts`, in order.
pub async fn attempt(inner: &Inner, message: &MessageRow, rcpts: &[&RecipientRow]) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; rcpts.len()];
    let mut legacy = Vec::new();
    for (i, r) in rcpts.iter().enumerate() {
        match inner.mail.home(&r.address).await {
            Home::Local => outcomes[i] = Some(deliver_here(inner, message, r).await),
            Home::Moving => {
                outcomes[i] = Some(temporary(
                    "4.2.0 mailbox being moved to this server; will retry".into(),
                ))
            }
            Home::Legacy => legacy.push(i),
        }
    }
    if !legacy.is_empty() {
        let subset: Vec<&RecipientRow> = legacy.iter().map(|&i| rcpts[i]).collect();
        for (i, o) in legacy
            .into_iter()
            .zip(to_legacy(inner, message, &subset).await)
        {
            outcomes[i] = Some(o);
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| temporary("4.3.0 not attempted".into())))
        .collect()
}

/// Hands the message to the legacy server's delivery service.
async fn to_legacy(inner: &Inner, message: &MessageRow, rcpts: &[&RecipientRow]) -> Vec<Outcome> {
    let all = |o: Outcome| vec![o; rcpts.len()];
    let Some(legacy) = inner.config.legacy.as_ref() else {
        return all(temporary(
            "4.3.5 the recipient is on the legacy server, but no legacy delivery is configured"
                .into(),
        ));
    };
    let addr = match legacy.host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, legacy.port),
        Err(_) => match tokio::net::lookup_host((legacy.host.as_str(), legacy.port)).await {
            Ok(mut addrs) => match addrs.next() {
                Some(a) => a,
                None => return all(temporary(format!("4.4.3 {}: no address", legacy.host))),
            },
            Err(e) => return all(temporary(format!("4.4.3 {}: {e}", legacy.host))),
        },
    };
    // RCPT by the name the legacy server knows.
    let renamed: Vec<RecipientRow> = rcpts
        .iter()
        .map(|r| {
            let mut r = (*r).clone();
            if legacy.strip_domain
                && let Some((local, _)) = r.address.rsplit_once('@')
            {
                r.address = local.to_string();
            }
            r
        })
        .collect();
    let refs: Vec<&RecipientRow> = renamed.iter().collect();
    let opts = SessionOptions {
        helo: inner.config.hostname.clone(),
        tls: TlsPolicy::Never,
        auth: None,
        connect_timeout: inner.config.connect_timeout,
        command_timeout: inner.config.command_timeout,
        lmtp: legacy.lmtp,
    };
    match try_session(inner, message, &refs, addr, &legacy.host, opts).await {
        HostResult::Done(outcomes) => outcomes,
        HostResult::Next { reason, mta } => all(Outcome::Temporary {
            reason: format!("4.4.1 {reason}"),
            mta: Some(mta),
            tls: false,
        }),
    }
}

/// Delivers into Tern's own store (the user was cut over while the message waited): the
/// spool file already starts with the `Return-Path:` field of final delivery.
async fn deliver_here(inner: &Inner, message: &MessageRow, r: &RecipientRow) -> Outcome {
    let here = inner.config.hostname.clone();
    let fail = |reason: String| Outcome::Temporary {
        reason,
        mta: Some(here.clone()),
        tls: false,
    };
    let account = match inner.mail.directory.resolve(&r.address).await {
        Ok(Resolution::Account(a)) => a,
        Ok(_) => {
            return Outcome::Permanent {
                reason: format!("5.1.1 <{}>: no such account here", r.address),
                mta: Some(here),
                tls: false,
            };
        }
        Err(e) => return fail(format!("4.4.3 directory: {e}")),
    };
    let staged = match stage_spool(inner, message).await {
        Ok(s) => s,
        Err(e) => return fail(format!("4.3.0 {e}")),
    };
    let recipient = Recipient {
        account,
        mailbox: None,
        flags: Flags::default(),
    };
    let when = Timestamp {
        unix: message.arrival,
        offset_minutes: 0,
    };
    let result = inner.mail.deliver(&staged, &[recipient], when).await;
    match result.into_iter().next() {
        Some(Ok(_)) => Outcome::Sent {
            reply: "250 2.0.0 delivered here (the mailbox moved to this server)".into(),
            mta: here,
            tls: false,
            dsn: false,
        },
        Some(Err(DeliveryError::OverQuota)) => fail("4.2.2 mailbox full".into()),
        Some(Err(DeliveryError::Disabled)) => fail("4.2.1 mailbox disabled".into()),
        Some(Err(e)) => fail(format!("4.3.0 {e}")),
        None => fail("4.3.0 no delivery result".into()),
    }
}

/// The spool file (with any prepended fields after its `Return-Path:` line) as a staged
/// message; the blob store finds it already has these bytes.
async fn stage_spool(inner: &Inner, message: &MessageRow) -> Result<tern_mail::Staged, String> {
    let path = inner.spool.path(&message.id);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| format!("spool {}: {e}", path.display()))?;
    let mut stager = inner
        .mail
        .stager(u64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let mut head = vec![0u8; message.skip as usize];
    file.read_exact(&mut head)
        .await
        .map_err(|e| format!("spool: {e}"))?;
    stager.write(&head).await.map_err(|e| e.to_string())?;
    stager
        .write(&message.prepend)
        .await
        .map_err(|e| e.to_string())?;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut chunk)
            .await
            .map_err(|e| format!("spool: {e}"))?;
        if n == 0 {
            break;
        }
        stager.write(&chunk[..n]).await.map_err(|e| e.to_string())?;
    }
    stager.finish().await.map_err(|e| e.to_string())
}
