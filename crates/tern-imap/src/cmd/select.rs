//! SELECT and EXAMINE (RFC 9051 §6.3.2–6.3.3) with CONDSTORE and QRESYNC parameters
//! (RFC 7162 §3.1.8, §3.2.5) and OBJECTID (RFC 8474).
//!
//! ## Invariants
//! - Selecting closes the previously selected mailbox first (`* OK [CLOSED]`); a failed
//!   SELECT leaves the session in the authenticated state (RFC 9051 §6.3.2).
//! - The view ([`SelectedMailbox::messages`]) is the store snapshot whose counters are
//!   announced; `\Recent` is claimed only by a read-write SELECT.
//! - QRESYNC output (`VANISHED (EARLIER)`, then FETCH of changed messages) comes after the
//!   usual untagged responses and before the tagged OK, restricted to the known UIDs.
//! - `VANISHED (EARLIER)` is exact when the store's expunge history reaches back to the
//!   client's MODSEQ ([`tern_store::MailStore::oldest_modseq`] ≤ it); otherwise it names
//!   every known UID that is not in the mailbox, except below the point where the client's
//!   seq-match data shows it already knows every expunge (RFC 7162 §3.2.5.2).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, QresyncParams, SelectMode, SequenceSet};
use crate::proto::seqset;
use crate::session::SelectedMailbox;
use crate::session::mailbox_ref::{MailboxRef, Rights, mailbox_object_id, resolve};
use crate::session::selected::render_flags;
use crate::session::{Session, State};
use std::fmt::Write as _;
use tern_store::{Flags, MessageRecord, Uid};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Select {
        mailbox,
        mode,
        params,
    } = cmd
    else {
        return Err(CmdError::bad("Expected SELECT or EXAMINE"));
    };
    if params.qresync.is_some() && !s.enabled.qresync {
        // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
        return Err(CmdError::bad("QRESYNC is not enabled"));
    }
    if matches!(s.state, State::Selected(..)) {
        s.deselect();
        // RFC 7162 §3.2.11 / RFC 9051 §7.1: the old mailbox is closed before the new one opens.
        s.untagged("OK [CLOSED] Previous mailbox closed");
    }
    if params.condstore {
        s.enabled.condstore = true;
    }
    let mref = resolve(s, &mailbox).await?;
    mref.require('r')?;
    let read_only = mode == SelectMode::Examine || !mref.rights.can_write();
    let store = s.server.mail.store.clone();
    let (status, messages) = store.messages(mref.info.id).await?;

    let recent: Vec<Uid> = if read_only {
        // EXAMINE does not claim \Recent; the newest `recent` messages are above the
        // store's boundary (RFC 3501 §6.3.2).
        let skip = messages.len().saturating_sub(status.recent as usize);
        messages[skip..].iter().map(|m| m.uid).collect()
    } else {
        let newest = messages.last().map_or(0, |m| m.uid);
        let first = store.claim_recent_upto(mref.info.id, newest).await?;
        messages
            .iter()
            .filter(|m| m.uid >= first)
            .map(|m| m.uid)
            .collect()
    };

    let view = SelectedMailbox {
        info: mref.info.clone(),
        read_only,
        rights: mref.rights,
        messages,
        highestmodseq: status.highestmodseq,
        uidnext: status.uidnext,
        recent,
        saved_search: Vec::new(),
        pending_expunged: Vec::new(),
    };
    write_select_responses(s, &mref, &view, status.uidvalidity);
    if let Some(q) = &params.qresync
        && q.uidvalidity == status.uidvalidity
    {
        qresync(s, &view, q).await?;
    }

    let auth = match std::mem::replace(&mut s.state, State::Logout) {
        State::Authenticated(a) => a,
        other => {
            s.state = other;
            return Err(CmdError::bad("Not authenticated"));
        }
    };
    s.state = State::Selected(auth, Box::new(view));
    let (code, verb) = match (read_only, mode) {
        (false, _) => ("READ-WRITE", "SELECT"),
        (true, SelectMode::Select) => ("READ-ONLY", "SELECT"),
        (true, SelectMode::Examine) => ("READ-ONLY", "EXAMINE"),
    };
    Ok(Done::with_code(code, format!("{verb} completed")))
}

/// FLAGS, PERMANENTFLAGS, EXISTS, RECENT/UNSEEN (IMAP4rev1 only), UIDVALIDITY, UIDNEXT,
/// HIGHESTMODSEQ, MAILBOXID, and the LIST response IMAP4rev2 asks for.
fn write_select_responses(s: &mut Session, mref: &MailboxRef, view: &SelectedMailbox, uidv: u32) {
    let mut keywords: Vec<&str> = Vec::new();
    for m in &view.messages {
        for k in &m.flags.keywords {
            if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                keywords.push(k);
            }
        }
    }
    keywords.sort_unstable_by_key(|k| k.to_ascii_lowercase());
    let mut flags = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for k in &keywords {
        flags.push(' ');
        flags.push_str(k);
    }
    s.untagged(format!("FLAGS ({flags})"));
    let permanent = if view.read_only {
        String::new()
    } else {
        permanent_flags(mref.rights, &keywords)
    };
    s.untagged(format!("OK [PERMANENTFLAGS ({permanent})] Flags permitted"));
    s.untagged(format!("{} EXISTS", view.exists()));
    if !s.enabled.imap4rev2 {
        s.untagged(format!("{} RECENT", view.recent.len()));
        if let Some(i) = view.messages.iter().position(|m| !m.flags.has(Flags::SEEN)) {
            s.untagged(format!("OK [UNSEEN {}] First unseen message", i + 1));
        }
    }
    s.untagged(format!("OK [UIDVALIDITY {uidv}] UIDs valid"));
    s.untagged(format!("OK [UIDNEXT {}] Predicted next UID", view.uidnext));
    s.untagged(format!(
        "OK [HIGHESTMODSEQ {}] Highest modification sequence",
        view.highestmodseq
    ));
    s.untagged(format!(
        "OK [MAILBOXID ({})] Mailbox ID",
        mailbox_object_id(view.info.id)
    ));
    if s.enabled.imap4rev2 {
        // RFC 9051 §6.3.2: the LIST response carries the mailbox's canonical name.
        let name = s.wire_mailbox(&mref.name);
        s.untagged(format!("LIST () \"/\" {name}"));
    }
}

/// What STORE may set permanently with these rights (RFC 4314 §4: `s` for \Seen, `t` for
/// \Deleted, `w` for the other flags and keywords).
fn permanent_flags(rights: Rights, keywords: &[&str]) -> String {
    let mut p: Vec<&str> = Vec::new();
    if rights.has('w') {
        p.extend(["\\Answered", "\\Flagged"]);
    }
    if rights.has('t') {
        p.push("\\Deleted");
    }
    if rights.has('s') {
        p.push("\\Seen");
    }
    if rights.has('w') {
        p.push("\\Draft");
        p.extend(keywords.iter().copied());
        p.push("\\*");
    }
    p.join(" ")
}

/// RFC 7162 §3.2.5.2: what changed since the client's cached state.
async fn qresync(
    s: &mut Session,
    view: &SelectedMailbox,
    q: &QresyncParams,
) -> Result<(), CmdError> {
    let store = s.server.mail.store.clone();
    let id = view.info.id;
    let largest = view.uidnext.saturating_sub(1);
    let known = match &q.known_uids {
        Some(set @ SequenceSet::Ranges(_)) => {
            normalize(seqset::resolve(set, largest).unwrap_or_default(), largest)
        }
        _ => vec![(1, largest)],
    };
    let in_known = |uid: Uid| known.iter().any(|&(lo, hi)| lo <= uid && uid <= hi);
    let changes = store.changes_since(id, q.modseq).await?;
    // Expunges after MODSEQ m are all recorded for every m ≥ oldest.
    let oldest = store.oldest_modseq(id).await?;

    let vanished: Vec<(Uid, Uid)> = if q.modseq >= oldest {
        to_ranges(changes.expunged.iter().copied().filter(|u| in_known(*u)))
    } else {
        // The expunge history does not reach back that far: every known UID that is not in
        // the mailbox may have been expunged (RFC 7162 §3.2.5.2 allows reporting more),
        // except those the seq-match data shows the client already knows about.
        let from = match &q.seq_match {
            Some((seqs, uids)) => known_expunges_below(view, seqs, uids),
            None => 1,
        };
        gaps(&clip_below(&known, from), &view.messages)
    };
    if !vanished.is_empty() {
        let mut line = String::from("VANISHED (EARLIER) ");
        for (i, (lo, hi)) in vanished.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            if lo == hi {
                let _ = write!(line, "{lo}");
            } else {
                let _ = write!(line, "{lo}:{hi}");
            }
        }
        s.untagged(line);
    }
    for rec in &changes.changed {
        if !in_known(rec.uid) {
            continue;
        }
        let Some(msn) = view.msn_of(rec.uid) else {
            continue;
        };
        let current = &view.messages[msn as usize - 1];
        // IMAP4rev2 has no \Recent (RFC 9051 §2.3.2).
        let recent = view.is_recent(current.uid) && !s.enabled.imap4rev2;
        s.untagged(fetch_line(msn, current, recent));
    }
    Ok(())
}

/// RFC 7162 §3.2.5.2 seq-match data: the client says message number `seqs[i]` had UID
/// `uids[i]` (both ascending). Where the mailbox still has that UID at that number, no
/// message with a lower UID can have been expunged since (an expunge would have moved it
/// down, and new messages only get higher UIDs). Returns the UID above the last such pair
/// before the first that no longer matches: expunges below it are known to the client.
/// `*` is not allowed in either set; mismatched lengths end the comparison.
fn known_expunges_below(view: &SelectedMailbox, seqs: &SequenceSet, uids: &SequenceSet) -> Uid {
    let (Some(seqs), Some(uids)) = (
        seqset::resolve(seqs, view.exists()),
        seqset::resolve(uids, view.max_uid()),
    ) else {
        return 1;
    };
    let numbers = |ranges: Vec<(u32, u32)>| ranges.into_iter().flat_map(|(lo, hi)| lo..=hi);
    let mut from = 1;
    let (mut last_seq, mut last_uid) = (0, 0);
    for (seq, uid) in numbers(seqs).zip(numbers(uids)) {
        if seq <= last_seq || uid <= last_uid {
            break;
        }
        (last_seq, last_uid) = (seq, uid);
        match view.by_msn(seq) {
            Some(m) if m.uid == uid => from = uid.saturating_add(1),
            _ => break,
        }
    }
    from
}

/// `ranges` (sorted, merged) without the numbers below `from`.
fn clip_below(ranges: &[(u32, u32)], from: u32) -> Vec<(u32, u32)> {
    ranges
        .iter()
        .filter(|&&(_, hi)| hi >= from)
        .map(|&(lo, hi)| (lo.max(from), hi))
        .collect()
}

/// `n FETCH (UID u FLAGS (...) MODSEQ (m))`.
fn fetch_line(msn: u32, m: &MessageRecord, recent: bool) -> String {
    format!(
        "{msn} FETCH (UID {} FLAGS {} MODSEQ ({}))",
        m.uid,
        render_flags(&m.flags, recent),
        m.modseq
    )
}

/// Sorted, merged ranges clipped to `1..=largest`.
fn normalize(mut ranges: Vec<(u32, u32)>, largest: u32) -> Vec<(u32, u32)> {
    ranges.retain(|&(lo, _)| lo <= largest);
    for r in &mut ranges {
        r.0 = r.0.max(1);
        r.1 = r.1.min(largest);
    }
    ranges.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Ascending UIDs → ranges.
fn to_ranges(uids: impl Iterator<Item = Uid>) -> Vec<(Uid, Uid)> {
    let mut out: Vec<(Uid, Uid)> = Vec::new();
    for u in uids {
        match out.last_mut() {
            Some(last) if u == last.1 + 1 => last.1 = u,
            _ => out.push((u, u)),
        }
    }
    out
}

/// The parts of `known` (sorted, merged) not occupied by a message.
fn gaps(known: &[(u32, u32)], messages: &[MessageRecord]) -> Vec<(Uid, Uid)> {
    let mut out = Vec::new();
    for &(lo, hi) in known {
        let mut next = lo;
        let start = messages.partition_point(|m| m.uid < lo);
        for m in messages[start..].iter().take_while(|m| m.uid <= hi) {
            if m.uid > next {
                out.push((next, m.uid - 1));
            }
            next = m.uid + 1;
        }
        if next <= hi {
            out.push((next, hi));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::{BlobId, Timestamp};

    fn rec(uid: Uid) -> MessageRecord {
        MessageRecord {
            uid,
            modseq: 1,
            flags: Flags::default(),
            internaldate: Timestamp {
                unix: 0,
                offset_minutes: 0,
            },
            size: 1,
            blob: BlobId([0; 32]),
        }
    }

    #[test]
    fn vanished_gaps_cover_missing_known_uids() {
        let msgs: Vec<_> = [2, 3, 7].into_iter().map(rec).collect();
        assert_eq!(gaps(&[(1, 9)], &msgs), vec![(1, 1), (4, 6), (8, 9)]);
        assert_eq!(gaps(&[(2, 3)], &msgs), vec![]);
        assert_eq!(
            normalize(vec![(5, 9), (1, 2), (3, 4), (20, 30)], 10),
            vec![(1, 9)]
        );
        assert_eq!(to_ranges([1, 2, 4].into_iter()), vec![(1, 2), (4, 4)]);
    }

    fn view(uids: &[Uid]) -> SelectedMailbox {
        SelectedMailbox {
            info: tern_store::MailboxInfo {
                id: tern_store::MailboxId(1),
                account: tern_store::AccountId(1),
                name: "INBOX".into(),
                special_use: None,
                uidvalidity: 1,
            },
            read_only: true,
            rights: Rights::all(),
            messages: uids.iter().copied().map(rec).collect(),
            highestmodseq: 1,
            uidnext: uids.last().map_or(1, |u| u + 1),
            recent: Vec::new(),
            saved_search: Vec::new(),
            pending_expunged: Vec::new(),
        }
    }

    fn set(ranges: &[(u32, u32)]) -> SequenceSet {
        use crate::proto::command::SeqBound;
        SequenceSet::Ranges(
            ranges
                .iter()
                .map(|&(a, b)| (SeqBound::Num(a), SeqBound::Num(b)))
                .collect(),
        )
    }

    #[test]
    fn seq_match_marks_where_the_client_knows_every_expunge() {
        // Now: MSN 1..7 = UIDs 1 2 4 5 6 7 10.
        let v = view(&[1, 2, 4, 5, 6, 7, 10]);
        // The client's MSN 1,2,3,5 were UIDs 1,2,4,6: all still so, nothing below 7 is news.
        assert_eq!(
            known_expunges_below(&v, &set(&[(1, 3), (5, 5)]), &set(&[(1, 2), (4, 4), (6, 6)])),
            7
        );
        // Its MSN 3 was UID 3, now UID 4: UID 3 went since; only below 2 is known.
        assert_eq!(
            known_expunges_below(&v, &set(&[(1, 1), (3, 3)]), &set(&[(1, 1), (3, 3)])),
            2
        );
        // First pair wrong: nothing is known.
        assert_eq!(
            known_expunges_below(&v, &set(&[(2, 2)]), &set(&[(3, 3)])),
            1
        );
        // Not ascending, or beyond the mailbox: the comparison stops there.
        assert_eq!(
            known_expunges_below(&v, &set(&[(2, 2), (1, 1)]), &set(&[(2, 2), (1, 1)])),
            3
        );
        assert_eq!(
            known_expunges_below(&v, &set(&[(7, 9)]), &set(&[(10, 12)])),
            11
        );
        assert_eq!(clip_below(&[(1, 3), (5, 9)], 4), vec![(5, 9)]);
        assert_eq!(clip_below(&[(1, 3), (5, 9)], 7), vec![(7, 9)]);
    }

    #[test]
    fn permanent_flags_follow_rights() {
        assert_eq!(permanent_flags(Rights::parse("lrs"), &[]), "\\Seen");
        assert_eq!(
            permanent_flags(Rights::all(), &["$Junk"]),
            "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*"
        );
    }
}
