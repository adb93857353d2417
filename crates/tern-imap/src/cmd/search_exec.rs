//! Running compiled SEARCH criteria over the selected mailbox (shared by SEARCH, SORT and
//! THREAD).
//!
//! Three passes, each only over the messages the previous one could not decide:
//! 1. the view records (flags, UID, size, dates, MODSEQ): no store access;
//! 2. the cached metadata, read in chunks of [`CHUNK`];
//! 3. the blob, one message at a time, while its chunk's metadata is at hand.
//!
//! Messages expunged meanwhile by another session (gone from the store, still in the view)
//! do not match criteria that need their metadata or bytes.

use super::CmdError;
use super::search_eval::{Compiled, Subject, Tri, eval};
use crate::session::SelectedMailbox;
use tern_mail::Mail;
use tern_store::{MessageMeta, StoreError};

/// Messages per metadata read.
pub const CHUNK: usize = 512;

/// Charsets SEARCH, SORT and THREAD accept (RFC 9051 §6.4.4: US-ASCII and UTF-8 at least).
pub fn check_charset(charset: Option<&str>) -> Result<(), CmdError> {
    match charset {
        None => Ok(()),
        Some(c) if c.eq_ignore_ascii_case("UTF-8") || c.eq_ignore_ascii_case("US-ASCII") => Ok(()),
        Some(_) => Err(CmdError::no_code(
            "BADCHARSET (UTF-8 US-ASCII)",
            "Unsupported charset",
        )),
    }
}

/// View indices of the matching messages, ascending.
pub async fn matching(
    mail: &Mail,
    view: &SelectedMailbox,
    compiled: &Compiled,
    now: i64,
) -> Result<Vec<usize>, CmdError> {
    let mut matched = Vec::new();
    let mut undecided = Vec::new();
    for (idx, rec) in view.messages.iter().enumerate() {
        let subject = Subject {
            idx,
            rec,
            recent: view.is_recent(rec.uid),
            meta: None,
            blob: None,
            now,
        };
        match eval(&compiled.root, &subject) {
            Tri::Yes => matched.push(idx),
            Tri::No => {}
            Tri::Unknown => undecided.push(idx),
        }
    }
    for chunk in undecided.chunks(CHUNK) {
        let uids: Vec<_> = chunk.iter().map(|&i| view.messages[i].uid).collect();
        let metas = mail.store.meta(view.id(), &uids).await?;
        let mut metas = metas.into_iter().peekable();
        for &idx in chunk {
            let rec = &view.messages[idx];
            let Some((_, meta)) = metas.next_if(|(u, _)| *u == rec.uid) else {
                continue;
            };
            if decide(mail, view, compiled, idx, &meta, now).await? {
                matched.push(idx);
            }
        }
    }
    matched.sort_unstable();
    Ok(matched)
}

/// Passes 2 and 3 for one message.
async fn decide(
    mail: &Mail,
    view: &SelectedMailbox,
    compiled: &Compiled,
    idx: usize,
    meta: &MessageMeta,
    now: i64,
) -> Result<bool, CmdError> {
    let rec = &view.messages[idx];
    let mut subject = Subject {
        idx,
        rec,
        recent: view.is_recent(rec.uid),
        meta: Some(meta),
        blob: None,
        now,
    };
    match eval(&compiled.root, &subject) {
        Tri::Yes => return Ok(true),
        Tri::No => return Ok(false),
        Tri::Unknown => {}
    }
    let blob = match mail.blobs.get(&rec.blob).await {
        Ok(b) => b,
        Err(StoreError::BlobMissing(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    subject.blob = Some((*blob).as_ref());
    Ok(eval(&compiled.root, &subject) == Tri::Yes)
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Calls `f(index, meta)` for each of `indices` whose metadata the store still has,
/// reading it in chunks of [`CHUNK`] (SORT and THREAD keys).
pub async fn for_each_meta(
    mail: &Mail,
    view: &SelectedMailbox,
    indices: &[usize],
    mut f: impl FnMut(usize, &MessageMeta),
) -> Result<(), CmdError> {
    for chunk in indices.chunks(CHUNK) {
        let uids: Vec<_> = chunk.iter().map(|&i| view.messages[i].uid).collect();
        let metas = mail.store.meta(view.id(), &uids).await?;
        let mut metas = metas.into_iter().peekable();
        for &idx in chunk {
            if let Some((_, meta)) = metas.next_if(|(u, _)| *u == view.messages[idx].uid) {
                f(idx, &meta);
            }
        }
    }
    Ok(())
}
