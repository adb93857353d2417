//! FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9; RFC 3516 BINARY; RFC 7162 CHANGEDSINCE
//! and VANISHED; RFC 8474 EMAILID/THREADID; RFC 8970 PREVIEW).
//!
//! Order of work: resolve the set against the view; apply CHANGEDSINCE; report VANISHED
//! (EARLIER); set `\Seen` in one store call when a non-PEEK body item asks for it (not in a
//! read-only mailbox); then write the responses in chunks of [`CHUNK`] messages, loading
//! metadata for a chunk in one store call (only the parts the items write) and blobs one
//! message at a time, and only when an item needs them.
//!
//! Output goes through the session's `output::Writer` (see `session::output`): body and
//! section literals that lie inside the blob are queued as references into it (memory-mapped
//! for large blobs) rather than copied, and pending output is flushed to the connection
//! between messages once it passes `output::FLUSH_AT`. Copied still: HEADER.FIELDS, short
//! literals, and BINARY[part] of an encoded part, whose decoded form is built in memory.
//!
//! A message that another session expunged meanwhile (still in this session's view, gone
//! from the store) is skipped when its blob is needed, or its metadata and the process's
//! metadata cache no longer has it; the command then ends `OK [EXPUNGEISSUED]` (RFC 5530).

use super::condstore;
use super::fetch_write::{Message, Needs, Style, WriteError, write_message};
use super::search_exec::read_meta;
use super::seqset::{self, MsnCheck};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{By, CommandBody, FetchAttr, FetchModifiers, SequenceSet};
use crate::proto::encode::{EncodeOptions, sequence_set};
use crate::session::output::Writer;
use crate::session::{Enabled, SelectedMailbox, Session};
use std::sync::Arc;
use tern_mail::Mail;
use tern_store::{FlagOp, FlagUpdate, Flags, MetaParts, SharedMeta, StoreError, Uid};

/// Messages per metadata read.
pub const CHUNK: usize = 256;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Fetch {
        by,
        set,
        items,
        modifiers,
    } = cmd
    else {
        return Err(CmdError::bad("FETCH expected"));
    };
    let items = items.0;
    check_modifiers(by, &modifiers, s.enabled)?;
    if modifiers.changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
        condstore::enable(s);
    }
    let mail = s.server.mail.clone();
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    let mut indices = seqset::resolve(view, &set, by, MsnCheck::Strict)?;
    if let Some(since) = modifiers.changed_since {
        indices.retain(|&i| view.messages[i].modseq > since);
    }
    if modifiers.vanished {
        let since = modifiers.changed_since.unwrap_or(0);
        let vanished = vanished_earlier(&mail, view, &set, since).await?;
        if !vanished.is_empty() {
            let mut line = b"VANISHED (EARLIER) ".to_vec();
            sequence_set(&mut line, &vanished);
            s.untagged(line);
        }
    }

    let needs = Needs::of(&items);
    let seen_set = if needs.sets_seen {
        mark_seen(s, &mail, &indices).await?
    } else {
        Vec::new()
    };

    let style = Style {
        enc: EncodeOptions {
            utf8: s.enabled.utf8_accept,
        },
        rev2: s.enabled.imap4rev2,
        force_uid: by == By::Uid,
        force_modseq: modifiers.changed_since.is_some(),
        condstore: s.enabled.condstore,
    };
    let (view, mut out) = s.writer();
    let result = match view {
        Some(view) => {
            let job = Job {
                mail: &mail,
                view,
                items: &items,
                needs,
                style,
                seen_set: &seen_set,
            };
            job.write(&indices, &mut out).await
        }
        None => Err(CmdError::bad("No mailbox selected")),
    };
    match result? {
        Outcome::Complete => Ok(Done::ok("FETCH completed")),
        Outcome::SomeExpunged => Ok(Done::with_code(
            "EXPUNGEISSUED",
            "Some messages were expunged meanwhile",
        )),
    }
}

/// RFC 7162 §3.2.6: VANISHED only with UID FETCH, CHANGEDSINCE, and QRESYNC enabled.
fn check_modifiers(by: By, m: &FetchModifiers, enabled: Enabled) -> Result<(), CmdError> {
    if m.vanished {
        if by != By::Uid || m.changed_since.is_none() {
            return Err(CmdError::bad(
                "VANISHED requires UID FETCH with CHANGEDSINCE",
            ));
        }
        if !enabled.qresync {
            return Err(CmdError::bad("VANISHED requires ENABLE QRESYNC"));
        }
    }
    Ok(())
}

/// UIDs in `set` expunged after `since` that the client no longer knows (those still in the
/// view will be announced by the regular VANISHED response).
async fn vanished_earlier(
    mail: &Mail,
    view: &SelectedMailbox,
    set: &SequenceSet,
    since: u64,
) -> Result<Vec<Uid>, CmdError> {
    let changes = mail.store.changes_since(view.id(), since).await?;
    let mut uids: Vec<Uid> = changes
        .expunged
        .into_iter()
        .filter(|u| view.msn_of(*u).is_none() && seqset::uid_set_contains(view, set, *u))
        .collect();
    uids.sort_unstable();
    uids.dedup();
    Ok(uids)
}

/// Sets `\Seen` on the addressed messages that lack it, in one store call, and updates the
/// view. Returns the UIDs whose flags changed (ascending). Nothing happens in a read-only
/// mailbox or without the `s` right (RFC 4314 §4).
async fn mark_seen(s: &mut Session, mail: &Mail, indices: &[usize]) -> Result<Vec<Uid>, CmdError> {
    let Some(view) = s.selected_mut() else {
        return Ok(Vec::new());
    };
    if view.read_only || !view.rights.has('s') {
        return Ok(Vec::new());
    }
    let uids: Vec<Uid> = indices
        .iter()
        .map(|&i| &view.messages[i])
        .filter(|m| !m.flags.has(Flags::SEEN))
        .map(|m| m.uid)
        .collect();
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let update = FlagUpdate {
        uids,
        op: FlagOp::Add,
        flags: Flags::from_names(["\\Seen"]),
        unchanged_since: None,
    };
    let result = mail.store.store_flags(view.id(), update).await?;
    let mut changed: Vec<Uid> = Vec::with_capacity(result.changed.len());
    for (uid, flags, modseq) in result.changed {
        view.update_flags(uid, flags, modseq);
        changed.push(uid);
    }
    changed.sort_unstable();
    Ok(changed)
}

/// The metadata parts the items write from (see `fetch_write`); the others are not decoded,
/// so `FETCH 1:* ENVELOPE` does not decode body structures.
fn meta_parts(items: &[FetchAttr]) -> MetaParts {
    let none = MetaParts::NONE;
    items.iter().fold(none, |parts, item| {
        parts.union(match item {
            FetchAttr::Flags
            | FetchAttr::Uid
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::ModSeq
            | FetchAttr::EmailId
            | FetchAttr::SaveDate
            | FetchAttr::Rfc822 => none,
            FetchAttr::Envelope => MetaParts {
                envelope: true,
                ..none
            },
            FetchAttr::ThreadId => MetaParts {
                thread: true,
                ..none
            },
            FetchAttr::Preview { .. } => MetaParts {
                preview: true,
                ..none
            },
            // Body structure, and the part offsets that sections are cut by.
            FetchAttr::Body
            | FetchAttr::BodyStructure
            | FetchAttr::Rfc822Header
            | FetchAttr::Rfc822Text
            | FetchAttr::BodySection { .. }
            | FetchAttr::Binary { .. }
            | FetchAttr::BinarySize { .. } => MetaParts { body: true, ..none },
        })
    })
}

enum Outcome {
    Complete,
    SomeExpunged,
}

/// One FETCH's response writing.
struct Job<'a> {
    mail: &'a Mail,
    view: &'a SelectedMailbox,
    items: &'a [FetchAttr],
    needs: Needs,
    style: Style,
    seen_set: &'a [Uid],
}

impl Job<'_> {
    /// Writes the responses through the session's [`Writer`]: literals cut from a message's
    /// blob are queued by reference, and once enough is pending it is written out between
    /// messages, so neither a large message nor a long response is held in the heap.
    async fn write(&self, indices: &[usize], out: &mut Writer<'_>) -> Result<Outcome, CmdError> {
        let mut skipped = false;
        for chunk in indices.chunks(CHUNK) {
            let metas = if self.needs.meta {
                let parts = meta_parts(self.items);
                read_meta(self.mail, self.view, chunk, parts).await?
            } else {
                Vec::new()
            };
            let mut metas = metas.into_iter().peekable();
            for &i in chunk {
                let rec = &self.view.messages[i];
                let meta: Option<Arc<SharedMeta>> = if self.needs.meta {
                    // `meta` answers in the order asked, omitting vanished UIDs.
                    match metas.next_if(|(u, _)| *u == rec.uid) {
                        Some((_, m)) => Some(m),
                        None => {
                            skipped = true;
                            continue;
                        }
                    }
                } else {
                    None
                };
                let blob = if self.needs.blob {
                    match self.mail.blobs.get(&rec.blob).await {
                        Ok(b) => Some(b),
                        Err(StoreError::BlobMissing(_)) => {
                            skipped = true;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                } else {
                    None
                };
                let message = Message {
                    msn: i as u32 + 1,
                    rec,
                    recent: self.view.is_recent(rec.uid),
                    meta: meta.as_deref(),
                    blob: blob.as_ref().map(|b| (**b).as_ref()),
                    flags_changed: self.seen_set.binary_search(&rec.uid).is_ok(),
                };
                out.set_blob(blob.clone());
                let written = write_message(out, self.items, &message, &self.style);
                out.set_blob(None);
                match written {
                    Ok(()) => {}
                    Err(WriteError::UnknownCte(cte)) => {
                        return Err(CmdError::no_code(
                            "UNKNOWN-CTE",
                            format!("Cannot decode content transfer encoding {cte}"),
                        ));
                    }
                }
                drop(blob);
                if out.flush_if_large().await.is_err() {
                    // The loop ends the session with the write error.
                    return Err(CmdError::Bye("Connection lost".into()));
                }
            }
        }
        Ok(if skipped {
            Outcome::SomeExpunged
        } else {
            Outcome::Complete
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_decode_only_what_they_write() {
        let none = MetaParts::NONE;
        assert_eq!(meta_parts(&[FetchAttr::Uid, FetchAttr::Flags]), none);
        assert_eq!(
            meta_parts(&[FetchAttr::Uid, FetchAttr::Envelope]),
            MetaParts {
                envelope: true,
                ..none
            }
        );
        assert_eq!(
            meta_parts(&[
                FetchAttr::BodyStructure,
                FetchAttr::ThreadId,
                FetchAttr::Rfc822Header
            ]),
            MetaParts {
                body: true,
                thread: true,
                ..none
            }
        );
    }
}
