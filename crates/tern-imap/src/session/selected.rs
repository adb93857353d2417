//! The selected mailbox as this session sees it: the MSN ↔ UID view, what the client has
//! been told (HIGHESTMODSEQ, EXISTS), and synchronization with the store.
//!
//! Invariants:
//! - `messages` is what the client believes, in UID order; MSN n is `messages[n - 1]`. It
//!   changes only together with the untagged responses that tell the client (EXISTS for
//!   additions, EXPUNGE/VANISHED for removals, FETCH for flag changes).
//! - `highestmodseq` only advances past changes the client has been told about: a sync
//!   that holds back expunges ([`ExpungePolicy::Defer`]) or flag changes
//!   ([`SyncOptions::flags`] off) leaves it where it was, so a later sync finds them again.

use super::Enabled;
use super::mailbox_ref::Rights;
use std::fmt::Write as _;
use tern_store::{
    Flags, MailStore, MailboxId, MailboxInfo, MessageRecord, ModSeq, StoreResult, Uid,
};

/// Whether pending expunges may be announced now (RFC 9051 §7.5.1: never during FETCH,
/// STORE or SEARCH by sequence number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpungePolicy {
    Announce,
    Defer,
}

/// What one sync may tell the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    pub expunge: ExpungePolicy,
    /// Report flag changes of known messages (`FETCH (FLAGS ...)`). When off (NOTIFY
    /// SELECTED without FlagChange, RFC 5465 §5.1) they are left for a later sync.
    pub flags: bool,
    /// The sync answers change events up to this MODSEQ: a snapshot that new is enough and
    /// may be shared with the other sessions the events woke
    /// ([`MailStore::changes_since_shared`]). `None`: read now.
    pub woken_at: Option<ModSeq>,
}

impl SyncOptions {
    /// Everything, with the given expunge policy (the sync after a command).
    pub fn all(expunge: ExpungePolicy) -> SyncOptions {
        SyncOptions {
            expunge,
            flags: true,
            woken_at: None,
        }
    }
}

/// What a sync announced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// UIDs of the messages just announced with EXISTS, ascending.
    pub added: Vec<Uid>,
}

pub struct SelectedMailbox {
    pub info: MailboxInfo,
    /// EXAMINE, or no rights to change state.
    pub read_only: bool,
    pub rights: Rights,
    pub messages: Vec<MessageRecord>,
    /// The HIGHESTMODSEQ the client has been brought up to.
    pub highestmodseq: ModSeq,
    pub uidnext: Uid,
    /// UIDs that are `\Recent` in this session (claimed through
    /// [`MailStore::claim_recent`] at SELECT and as new mail arrives), ascending.
    pub recent: Vec<Uid>,
    /// SEARCHRES (RFC 5182) `$`: UIDs of the last `SEARCH RETURN (SAVE)`.
    pub saved_search: Vec<Uid>,
    /// Expunged in the store but not yet announced (deferred by [`ExpungePolicy::Defer`]).
    pub pending_expunged: Vec<Uid>,
}

impl SelectedMailbox {
    pub fn id(&self) -> MailboxId {
        self.info.id
    }

    /// Number of messages the client knows (EXISTS).
    pub fn exists(&self) -> u32 {
        self.messages.len() as u32
    }

    /// MSN of a UID, if the client knows the message.
    pub fn msn_of(&self, uid: Uid) -> Option<u32> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| i as u32 + 1)
    }

    /// Record of an MSN (1-based).
    pub fn by_msn(&self, msn: u32) -> Option<&MessageRecord> {
        self.messages.get((msn as usize).checked_sub(1)?)
    }

    pub fn is_recent(&self, uid: Uid) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }

    /// Number of `\Recent` messages the client knows.
    pub fn recent_count(&self) -> u32 {
        self.recent
            .iter()
            .filter(|u| self.msn_of(**u).is_some())
            .count() as u32
    }

    /// Marks as recent every known message with UID ≥ `first` (the result of
    /// [`MailStore::claim_recent`]).
    pub fn add_recent_from(&mut self, first: Uid) {
        let start = self.messages.partition_point(|m| m.uid < first);
        for m in &self.messages[start..] {
            if let Err(i) = self.recent.binary_search(&m.uid) {
                self.recent.insert(i, m.uid);
            }
        }
    }

    /// The largest UID the client knows (for `*` in UID sets), 0 if empty.
    pub fn max_uid(&self) -> Uid {
        self.messages.last().map(|m| m.uid).unwrap_or(0)
    }

    /// Replaces one message's flags and MODSEQ after this session's own STORE.
    pub fn update_flags(&mut self, uid: Uid, flags: Flags, modseq: ModSeq) {
        if let Ok(i) = self.messages.binary_search_by_key(&uid, |m| m.uid) {
            self.messages[i].flags = flags;
            self.messages[i].modseq = modseq;
        }
    }

    /// Removes messages this session expunged itself (EXPUNGE, MOVE), writing the
    /// EXPUNGE or VANISHED responses.
    pub fn remove_expunged(&mut self, uids: &[Uid], enabled: Enabled, out: &mut Vec<u8>) {
        if uids.is_empty() {
            return;
        }
        if enabled.qresync {
            let present: Vec<Uid> = uids
                .iter()
                .copied()
                .filter(|u| self.msn_of(*u).is_some())
                .collect();
            if !present.is_empty() {
                out.extend_from_slice(b"* VANISHED ");
                out.extend_from_slice(compress_uids(&present).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            self.messages
                .retain(|m| uids.binary_search(&m.uid).is_err());
        } else {
            // Highest MSN first, so every number sent is valid when the client reads it.
            let mut msns: Vec<u32> = uids.iter().filter_map(|u| self.msn_of(*u)).collect();
            msns.sort_unstable_by(|a, b| b.cmp(a));
            for msn in msns {
                let _ = write!(Vec8(out), "* {msn} EXPUNGE\r\n");
                self.messages.remove(msn as usize - 1);
            }
        }
        self.pending_expunged
            .retain(|u| uids.binary_search(u).is_err());
    }

    /// Reads what changed since the client was last told and writes the untagged responses.
    pub async fn sync(
        &mut self,
        store: &dyn MailStore,
        enabled: Enabled,
        opts: SyncOptions,
        out: &mut Vec<u8>,
    ) -> StoreResult<SyncReport> {
        let mut report = SyncReport::default();
        let changes = match opts.woken_at {
            Some(at_least) => {
                store
                    .changes_since_shared(self.info.id, self.highestmodseq, at_least)
                    .await?
            }
            None => {
                store
                    .changes_since(self.info.id, self.highestmodseq)
                    .await?
            }
        };
        if changes.highestmodseq <= self.highestmodseq && self.pending_expunged.is_empty() {
            return Ok(report);
        }
        let policy = opts.expunge;
        for uid in &changes.expunged {
            if self.msn_of(*uid).is_some() && !self.pending_expunged.contains(uid) {
                self.pending_expunged.push(*uid);
            }
        }
        self.pending_expunged.sort_unstable();
        if policy == ExpungePolicy::Announce && !self.pending_expunged.is_empty() {
            let pending = std::mem::take(&mut self.pending_expunged);
            self.remove_expunged(&pending, enabled, out);
        }

        // New messages first (EXISTS), then flag changes of known ones.
        let max_known = self.max_uid();
        let mut flags_held = false;
        let mut flag_updates: Vec<(u32, usize)> = Vec::new();
        for rec in changes.changed {
            if rec.uid > max_known {
                if self.pending_expunged.contains(&rec.uid) {
                    continue;
                }
                self.uidnext = self.uidnext.max(rec.uid + 1);
                report.added.push(rec.uid);
                self.messages.push(rec);
            } else if let Ok(i) = self.messages.binary_search_by_key(&rec.uid, |m| m.uid) {
                let known = &mut self.messages[i];
                if known.flags != rec.flags || known.modseq != rec.modseq {
                    if !opts.flags {
                        flags_held = true;
                        continue;
                    }
                    let flags_changed = known.flags != rec.flags;
                    known.flags = rec.flags;
                    known.modseq = rec.modseq;
                    if flags_changed || enabled.condstore {
                        flag_updates.push((i as u32 + 1, i));
                    }
                }
            }
        }
        if !report.added.is_empty() {
            if !self.read_only {
                // Messages we just learned of that no other session claimed are ours.
                let first_recent = store
                    .claim_recent_upto(self.info.id, self.max_uid())
                    .await?;
                self.add_recent_from(first_recent.max(max_known + 1));
            }
            let _ = write!(Vec8(out), "* {} EXISTS\r\n", self.exists());
            if !enabled.imap4rev2 {
                let _ = write!(Vec8(out), "* {} RECENT\r\n", self.recent_count());
            }
        }
        for (msn, i) in flag_updates {
            let m = &self.messages[i];
            let _ = write!(Vec8(out), "* {msn} FETCH (");
            if enabled.qresync {
                let _ = write!(Vec8(out), "UID {} ", m.uid);
            }
            out.extend_from_slice(b"FLAGS ");
            // IMAP4rev2 has no \Recent (RFC 9051 §2.3.2).
            let recent = self.is_recent(m.uid) && !enabled.imap4rev2;
            out.extend_from_slice(render_flags(&m.flags, recent).as_bytes());
            if enabled.condstore {
                let _ = write!(Vec8(out), " MODSEQ ({})", m.modseq);
            }
            out.extend_from_slice(b")\r\n");
        }
        if self.pending_expunged.is_empty() && !flags_held {
            self.highestmodseq = self.highestmodseq.max(changes.highestmodseq);
        }
        Ok(report)
    }
}

/// `(\Seen \Flagged kw)`, with `\Recent` when asked.
pub fn render_flags(flags: &Flags, recent: bool) -> String {
    let mut out = Vec::new();
    write_flags(&mut out, flags, recent);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`render_flags`] written straight into a response buffer.
pub fn write_flags(out: &mut Vec<u8>, flags: &Flags, recent: bool) {
    out.push(b'(');
    for (i, name) in flags.names().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_bytes());
    }
    if recent {
        if !flags.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\\Recent");
    }
    out.push(b')');
}

/// Ascending UIDs → `1:3,5,7:9`.
pub fn compress_uids(uids: &[Uid]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !s.is_empty() {
            s.push(',');
        }
        if start == end {
            let _ = write!(s, "{start}");
        } else {
            let _ = write!(s, "{start}:{end}");
        }
        i += 1;
    }
    s
}

/// `write!` into a byte buffer.
struct Vec8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Vec8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_uid_runs() {
        assert_eq!(compress_uids(&[1, 2, 3, 5, 7, 8, 9]), "1:3,5,7:9");
        assert_eq!(compress_uids(&[4]), "4");
        assert_eq!(compress_uids(&[]), "");
    }

    #[test]
    fn renders_flags_with_recent() {
        let f = Flags::from_names(["\\Seen", "$Junk"]);
        assert_eq!(render_flags(&f, true), "(\\Seen $Junk \\Recent)");
        assert_eq!(render_flags(&Flags::default(), false), "()");
    }
}
