//! `MessageNew (fetch-att ...)` for the selected mailbox (RFC 5465 §5.2): after the EXISTS
//! that announces new messages, one `* n FETCH (...)` each with the attributes the client
//! asked for, written by the FETCH command's writer ([`write_message`]).
//!
//! Unlike FETCH, nothing here sets `\Seen`: §5.2 tells clients not to ask for attributes
//! that would, and an unsolicited response should not change the mailbox.

use crate::cmd::CmdError;
use crate::cmd::condstore;
use crate::cmd::fetch::CHUNK;
use crate::cmd::fetch_write::{Message, Needs, Style, WriteError, write_message};
use crate::proto::command::FetchAttr;
use crate::session::{SelectedMailbox, Session};
use std::sync::Arc;
use tern_mail::Mail;
use tern_store::{SharedMeta, StoreError, Uid};

/// Writes the MessageNew FETCH for each of `uids` (just announced with EXISTS) that is
/// still in the view, if NOTIFY asked for one.
pub async fn fetch_new(s: &mut Session, uids: &[Uid]) -> Result<(), CmdError> {
    let Some(items) = s
        .notify
        .as_ref()
        .and_then(|n| n.selected_events())
        .and_then(|e| e.fetch.clone())
    else {
        return Ok(());
    };
    if items.contains(&FetchAttr::ModSeq) {
        // RFC 7162 §3.1: asking for MODSEQ enables CONDSTORE, as FETCH does.
        condstore::enable(s);
    }
    let style = Style {
        enc: s.encode_opts(),
        rev2: s.enabled.imap4rev2,
        force_uid: false,
        force_modseq: false,
        condstore: s.enabled.condstore,
    };
    let mail = s.server.mail.clone();
    let mut out = std::mem::take(&mut s.out);
    let result = match s.selected() {
        Some(view) => write_all(&mail, view, &items, &style, uids, &mut out).await,
        None => Ok(()),
    };
    s.out = out;
    result
}

async fn write_all(
    mail: &Mail,
    view: &SelectedMailbox,
    items: &[FetchAttr],
    style: &Style,
    uids: &[Uid],
    out: &mut Vec<u8>,
) -> Result<(), CmdError> {
    let needs = Needs::of(items);
    for chunk in uids.chunks(CHUNK) {
        let metas = if needs.meta {
            mail.store.meta(view.id(), chunk).await?
        } else {
            Vec::new()
        };
        let mut metas = metas.into_iter().peekable();
        for &uid in chunk {
            let meta: Option<Arc<SharedMeta>> = if needs.meta {
                // `meta` answers in the order asked, omitting expunged UIDs.
                match metas.next_if(|(u, _)| *u == uid) {
                    Some((_, m)) => Some(Arc::new(SharedMeta::from(Arc::unwrap_or_clone(m)))),
                    None => continue,
                }
            } else {
                None
            };
            let Some(msn) = view.msn_of(uid) else {
                continue;
            };
            let rec = &view.messages[msn as usize - 1];
            let blob = if needs.blob {
                match mail.blobs.get(&rec.blob).await {
                    Ok(b) => Some(b),
                    Err(StoreError::BlobMissing(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
            } else {
                None
            };
            let message = Message {
                msn,
                rec,
                recent: view.is_recent(uid),
                meta: meta.as_deref(),
                blob: blob.as_ref().map(|b| (**b).as_ref()),
                flags_changed: false,
            };
            if let Err(WriteError::UnknownCte(cte)) = write_message(out, items, &message, style) {
                // Nothing was written for it; the client can still FETCH it and get the
                // UNKNOWN-CTE error there.
                tracing::debug!(uid, cte, "NOTIFY MessageNew FETCH skipped");
            }
        }
    }
    Ok(())
}
