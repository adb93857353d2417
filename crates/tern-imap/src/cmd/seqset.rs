//! Resolving a command's [`SequenceSet`] against the selected mailbox's view (what the
//! client has been told), shared by FETCH, STORE, COPY/MOVE, UID EXPUNGE and SEARCH.
//!
//! Rules (RFC 9051 §6.4.8, §9 `seq-number`):
//! - Message sequence numbers above EXISTS are a client error (`BAD Invalid message sequence
//!   number`), except in a range that uses `*`, which is clamped to EXISTS (so `1:*` in an
//!   empty mailbox addresses nothing instead of failing).
//! - UIDs that do not exist are silently ignored; `n:*` always includes the highest UID even
//!   when `n` is above it.
//! - `$` (RFC 5182 SEARCHRES) is the saved search result: the messages, not their numbers,
//!   so it survives expunges; saved UIDs the client no longer knows are ignored.
//!
//! Invariant: every function returns indices into `view.messages`, ascending, without
//! duplicates.

use super::CmdError;
use crate::proto::command::{By, SeqBound, SequenceSet};
use crate::session::SelectedMailbox;
use tern_store::Uid;

/// How strictly message sequence numbers above EXISTS are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsnCheck {
    /// FETCH, STORE, COPY, MOVE: `BAD` for a number above EXISTS.
    Strict,
    /// SEARCH criteria: numbers above EXISTS simply match nothing.
    Lenient,
}

/// The view indices addressed by `set`, ascending and deduplicated.
pub fn resolve(
    view: &SelectedMailbox,
    set: &SequenceSet,
    by: By,
    check: MsnCheck,
) -> Result<Vec<usize>, CmdError> {
    let ranges = match set {
        SequenceSet::Saved => return Ok(saved_indices(view)),
        SequenceSet::Ranges(r) => r,
    };
    let mut out: Vec<usize> = Vec::new();
    let mut sorted = true;
    for &(a, b) in ranges {
        let (lo, hi) = match by {
            By::Seq => match msn_range(view.exists(), a, b, check)? {
                Some(r) => r,
                None => continue,
            },
            By::Uid => match uid_range(view, a, b) {
                Some(r) => r,
                None => continue,
            },
        };
        if out.last().is_some_and(|&last| lo <= last) {
            sorted = false;
        }
        out.extend(lo..=hi);
    }
    if !sorted {
        out.sort_unstable();
        out.dedup();
    }
    Ok(out)
}

/// Inclusive view-index range of one MSN range, `None` when it addresses nothing.
fn msn_range(
    exists: u32,
    a: SeqBound,
    b: SeqBound,
    check: MsnCheck,
) -> Result<Option<(usize, usize)>, CmdError> {
    let star = matches!(a, SeqBound::Star) || matches!(b, SeqBound::Star);
    let num = |x: SeqBound| match x {
        SeqBound::Num(n) => n,
        SeqBound::Star => exists,
    };
    let (x, y) = (num(a), num(b));
    let (lo, hi) = (x.min(y), x.max(y));
    if lo == 0 && !(star && exists == 0) {
        return Err(CmdError::bad("Invalid message sequence number: 0"));
    }
    if hi > exists && !star && check == MsnCheck::Strict {
        return Err(CmdError::bad(format!(
            "Invalid message sequence number: {hi} (only {exists} messages)"
        )));
    }
    let hi = hi.min(exists);
    if lo == 0 || lo > hi {
        return Ok(None);
    }
    Ok(Some((lo as usize - 1, hi as usize - 1)))
}

/// Inclusive view-index range of the known UIDs within one UID range.
fn uid_range(view: &SelectedMailbox, a: SeqBound, b: SeqBound) -> Option<(usize, usize)> {
    let max = view.max_uid();
    let num = |x: SeqBound| match x {
        SeqBound::Num(n) => n,
        SeqBound::Star => max,
    };
    let (x, y) = (num(a), num(b));
    let (lo, hi) = (x.min(y), x.max(y));
    let start = view.messages.partition_point(|m| m.uid < lo);
    let end = view.messages.partition_point(|m| m.uid <= hi);
    (start < end).then(|| (start, end - 1))
}

fn saved_indices(view: &SelectedMailbox) -> Vec<usize> {
    let mut out: Vec<usize> = view
        .saved_search
        .iter()
        .filter_map(|u| view.msn_of(*u))
        .map(|msn| msn as usize - 1)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether a UID (known to the client or not, e.g. an expunged one for VANISHED) is in a
/// UID set; `*` is the highest UID the mailbox has used. `$` holds the saved UIDs.
pub fn uid_set_contains(view: &SelectedMailbox, set: &SequenceSet, uid: Uid) -> bool {
    match set {
        SequenceSet::Saved => view.saved_search.contains(&uid),
        SequenceSet::Ranges(_) => {
            let largest = view.max_uid().max(view.uidnext.saturating_sub(1));
            crate::proto::seqset::contains(set, uid, largest)
        }
    }
}

/// The UIDs of view indices.
pub fn uids_of(view: &SelectedMailbox, indices: &[usize]) -> Vec<Uid> {
    indices.iter().map(|&i| view.messages[i].uid).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::session::mailbox_ref::Rights;
    use SeqBound::{Num, Star};
    use tern_store::{AccountId, BlobId, Flags, MailboxId, MailboxInfo, MessageRecord, Timestamp};

    /// A view holding messages with the given UIDs (flags empty, size = uid * 100).
    pub(crate) fn view(uids: &[Uid]) -> SelectedMailbox {
        SelectedMailbox {
            info: MailboxInfo {
                id: MailboxId(1),
                account: AccountId(1),
                name: "INBOX".into(),
                special_use: None,
                uidvalidity: 7,
            },
            read_only: false,
            rights: Rights::all(),
            messages: uids
                .iter()
                .map(|&uid| MessageRecord {
                    uid,
                    modseq: u64::from(uid),
                    flags: Flags::default(),
                    internaldate: Timestamp {
                        unix: 1_700_000_000 + i64::from(uid) * 86_400,
                        offset_minutes: 0,
                    },
                    size: u64::from(uid) * 100,
                    blob: BlobId([uid as u8; 32]),
                })
                .collect(),
            highestmodseq: uids.iter().copied().max().unwrap_or(0).into(),
            uidnext: uids.iter().copied().max().unwrap_or(0) + 1,
            recent: Vec::new(),
            saved_search: Vec::new(),
            pending_expunged: Vec::new(),
        }
    }

    /// (ranges as written, view indices expected)
    type Case = (&'static [(SeqBound, SeqBound)], &'static [usize]);

    fn set(r: &[(SeqBound, SeqBound)]) -> SequenceSet {
        SequenceSet::Ranges(r.to_vec())
    }

    fn msn(v: &SelectedMailbox, s: &SequenceSet) -> Result<Vec<usize>, CmdError> {
        resolve(v, s, By::Seq, MsnCheck::Strict)
    }

    #[test]
    fn sequence_numbers() {
        let v = view(&[3, 5, 9, 10, 20]);
        let cases: &[Case] = &[
            (&[(Num(1), Num(1))], &[0]),
            (&[(Num(2), Num(4))], &[1, 2, 3]),
            (&[(Num(4), Num(2))], &[1, 2, 3]),
            (&[(Num(1), Star)], &[0, 1, 2, 3, 4]),
            (&[(Star, Star)], &[4]),
            (&[(Star, Num(4))], &[3, 4]),
            (&[(Num(9), Star)], &[4]),
            (&[(Num(3), Num(5)), (Num(1), Num(3))], &[0, 1, 2, 3, 4]),
            (&[(Num(5), Num(5)), (Num(1), Num(1))], &[0, 4]),
        ];
        for (ranges, want) in cases {
            assert_eq!(msn(&v, &set(ranges)).unwrap(), *want, "{ranges:?}");
        }
        assert!(matches!(
            msn(&v, &set(&[(Num(6), Num(6))])),
            Err(CmdError::Bad { .. })
        ));
        assert!(matches!(
            msn(&v, &set(&[(Num(2), Num(7))])),
            Err(CmdError::Bad { .. })
        ));
        assert!(matches!(
            msn(&v, &set(&[(Num(0), Num(2))])),
            Err(CmdError::Bad { .. })
        ));
        let lenient = resolve(&v, &set(&[(Num(4), Num(9))]), By::Seq, MsnCheck::Lenient);
        assert_eq!(lenient.unwrap(), vec![3, 4]);
    }

    #[test]
    fn empty_mailbox() {
        let v = view(&[]);
        assert_eq!(
            msn(&v, &set(&[(Num(1), Star)])).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(msn(&v, &set(&[(Star, Star)])).unwrap(), Vec::<usize>::new());
        assert!(msn(&v, &set(&[(Num(1), Num(1))])).is_err());
        let uid = resolve(&v, &set(&[(Num(1), Star)]), By::Uid, MsnCheck::Strict);
        assert_eq!(uid.unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn uids() {
        let v = view(&[3, 5, 9, 10, 20]);
        let cases: &[Case] = &[
            (&[(Num(1), Num(4))], &[0]),
            (&[(Num(4), Num(4))], &[]),
            (&[(Num(5), Num(10))], &[1, 2, 3]),
            (&[(Num(10), Num(5))], &[1, 2, 3]),
            (&[(Num(1), Star)], &[0, 1, 2, 3, 4]),
            // RFC 9051 §6.4.8: "559:*" includes the last message even above its UID.
            (&[(Num(559), Star)], &[4]),
            (&[(Num(21), Num(30))], &[]),
            (
                &[(Num(20), Num(20)), (Num(3), Num(3)), (Num(3), Num(5))],
                &[0, 1, 4],
            ),
        ];
        for (ranges, want) in cases {
            let got = resolve(&v, &set(ranges), By::Uid, MsnCheck::Strict).unwrap();
            assert_eq!(got, *want, "{ranges:?}");
        }
    }

    #[test]
    fn saved_result() {
        let mut v = view(&[3, 5, 9]);
        v.saved_search = vec![9, 4, 3];
        for by in [By::Seq, By::Uid] {
            let got = resolve(&v, &SequenceSet::Saved, by, MsnCheck::Strict).unwrap();
            assert_eq!(got, vec![0, 2]);
        }
        assert!(uid_set_contains(&v, &SequenceSet::Saved, 4));
        assert!(uid_set_contains(&v, &set(&[(Num(4), Num(4))]), 4));
        assert!(!uid_set_contains(&v, &set(&[(Num(1), Num(2))]), 4));
        assert_eq!(uids_of(&v, &[0, 2]), vec![3, 9]);
    }
}
