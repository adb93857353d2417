//! Running compiled SEARCH criteria over the selected mailbox (shared by SEARCH, SORT and
//! THREAD).
//!
//! Three passes, each only over the messages the previous one could not decide:
//! 1. the view records (flags, UID, size, dates, MODSEQ): no store access;
//! 2. the cached metadata, read in chunks of [`CHUNK`], only the parts the criteria look at
//!    ([`parts_needed`]: `FROM x` decodes envelopes, not body structures);
//! 3. the blob, one message at a time, while its chunk's metadata is at hand.
//!
//! Messages expunged meanwhile by another session (gone from the store, still in the view)
//! do not match criteria that need their bytes, nor their metadata unless the process's
//! metadata cache still holds it.

use super::CmdError;
use super::search_eval::{Compiled, Node, Subject, Tri, eval};
use crate::session::SelectedMailbox;
use tern_mail::Mail;
use tern_store::{MetaParts, SharedMeta, StoreError};

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
    let parts = parts_needed(&compiled.root);
    for chunk in undecided.chunks(CHUNK) {
        let metas = read_meta(mail, view, chunk, parts).await?;
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

/// The metadata parts that evaluating `node` reads (see [`super::search_eval::eval`]); the
/// others are not decoded. Every node is listed, so a new one must say what it reads.
pub fn parts_needed(node: &Node) -> MetaParts {
    let none = MetaParts::NONE;
    match node {
        Node::Const(_)
        | Node::Flag { .. }
        | Node::Keyword { .. }
        | Node::Recent(_)
        | Node::New
        | Node::InternalDay { .. }
        | Node::Larger(_)
        | Node::Smaller(_)
        | Node::Indices(_)
        | Node::ModSeq(_)
        | Node::Older(_)
        | Node::Younger(_)
        | Node::EmailId(_) => none,
        // The sent date, and the Date header's zone for the day it falls on.
        Node::SentDay { .. } => MetaParts {
            sort: true,
            envelope: true,
            ..none
        },
        Node::ThreadId(_) => MetaParts {
            thread: true,
            ..none
        },
        // The envelope answers these; other fields are read from the header block, which
        // ends where the body structure says.
        Node::Header { field, .. } => MetaParts {
            envelope: true,
            body: !matches!(field.as_str(), "subject" | "from" | "to" | "cc" | "bcc"),
            ..none
        },
        Node::Body(_) | Node::Text(_) => MetaParts { body: true, ..none },
        Node::Not(n) => parts_needed(n),
        Node::And(nodes) => nodes
            .iter()
            .fold(none, |parts, n| parts.union(parts_needed(n))),
        Node::Or(a, b) => parts_needed(a).union(parts_needed(b)),
    }
}

/// Passes 2 and 3 for one message.
async fn decide(
    mail: &Mail,
    view: &SelectedMailbox,
    compiled: &Compiled,
    idx: usize,
    meta: &SharedMeta,
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

/// The metadata of the view's messages at `indices` (those the store still has, or the
/// process's [`tern_mail::MetaCache`] still remembers), in that order.
pub async fn read_meta(
    mail: &Mail,
    view: &SelectedMailbox,
    indices: &[usize],
    parts: MetaParts,
) -> Result<Vec<(tern_store::Uid, std::sync::Arc<SharedMeta>)>, StoreError> {
    let messages: Vec<_> = indices
        .iter()
        .map(|&i| (view.messages[i].uid, view.messages[i].blob))
        .collect();
    mail.meta_cache
        .read(mail.store.as_ref(), view.id(), &messages, parts)
        .await
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Calls `f(index, meta)` for each of `indices` whose metadata the store still has,
/// reading it in chunks of [`CHUNK`] (SORT and THREAD keys). Only `parts` of each `meta`
/// are filled in; the rest is left at its default.
pub async fn for_each_meta(
    mail: &Mail,
    view: &SelectedMailbox,
    indices: &[usize],
    parts: MetaParts,
    mut f: impl FnMut(usize, &SharedMeta),
) -> Result<(), CmdError> {
    for chunk in indices.chunks(CHUNK) {
        let metas = read_meta(mail, view, chunk, parts).await?;
        let mut metas = metas.into_iter().peekable();
        for &idx in chunk {
            if let Some((_, meta)) = metas.next_if(|(u, _)| *u == view.messages[idx].uid) {
                f(idx, &meta);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::search_eval::DayCmp;

    fn header(field: &str) -> Node {
        Node::Header {
            field: field.into(),
            needle: "x".into(),
        }
    }

    #[test]
    fn criteria_decode_only_what_they_read() {
        let none = MetaParts::NONE;
        assert_eq!(parts_needed(&Node::Flag { bit: 1, set: true }), none);
        assert_eq!(
            parts_needed(&header("from")),
            MetaParts {
                envelope: true,
                ..none
            }
        );
        assert_eq!(
            parts_needed(&header("x-mailer")),
            MetaParts {
                envelope: true,
                body: true,
                ..none
            }
        );
        let sent = Node::SentDay {
            cmp: DayCmp::On,
            day: 1,
        };
        let either = Node::Or(
            Box::new(Node::Not(Box::new(sent))),
            Box::new(Node::And(vec![
                Node::ThreadId("T1".into()),
                Node::Body("y".into()),
            ])),
        );
        assert_eq!(
            parts_needed(&either),
            MetaParts {
                envelope: true,
                body: true,
                sort: true,
                thread: true,
                preview: false,
            }
        );
    }
}
