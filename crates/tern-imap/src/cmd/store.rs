//! STORE and UID STORE (RFC 9051 §6.4.6) with RFC 7162 UNCHANGEDSINCE.
//!
//! The change is one store call; then the view takes the new flags and MODSEQs and the
//! client gets `* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])` for every addressed message,
//! unless `.SILENT`. UID is included for UID STORE and once CONDSTORE is enabled; MODSEQ
//! once CONDSTORE is enabled — then also for `.SILENT` (RFC 7162 §3.1.3). With `.SILENT`,
//! a message whose resulting flags differ from what the client asked for (another session
//! changed it too) still gets its FETCH, so the client's cache stays right.
//!
//! Messages that failed UNCHANGEDSINCE are listed in `OK [MODIFIED set]` (sequence numbers
//! for STORE, UIDs for UID STORE) and get no FETCH from this command.
//!
//! Rights (RFC 4314 §4): `\Seen` needs `s`, `\Deleted` needs `t`, other flags `w`. Flags
//! the user may not change are dropped from `+FLAGS`/`-FLAGS` (NO [NOPERM] if none
//! remain); replacing with `FLAGS` needs all three rights.

use super::condstore;
use super::seqset::{self, MsnCheck};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{By, CommandBody, StoreOp};
use crate::proto::encode::sequence_set;
use crate::session::Session;
use crate::session::mailbox_ref::Rights;
use crate::session::selected::render_flags;
use tern_store::{FlagOp, FlagUpdate, Flags, ModSeq, Uid};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Store {
        by,
        set,
        op,
        silent,
        flags,
        unchanged_since,
    } = cmd
    else {
        return Err(CmdError::bad("STORE expected"));
    };
    if unchanged_since.is_some() {
        condstore::enable(s);
    }
    let mail = s.server.mail.clone();
    let enabled = s.enabled;
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    if view.read_only {
        return Err(CmdError::no("Mailbox is read-only"));
    }
    let indices = seqset::resolve(view, &set, by, MsnCheck::Strict)?;
    let requested = Flags::from_names(flags.iter().map(String::as_str));
    let flags = permitted(requested, op, view.rights)?;
    if indices.is_empty() {
        return Ok(Done::ok("STORE completed"));
    }
    let uids = seqset::uids_of(view, &indices);
    // What the client expects each message to end up with (for the .SILENT check).
    let expected: Vec<(Uid, Flags)> = indices
        .iter()
        .map(|&i| {
            let m = &view.messages[i];
            (m.uid, apply(op, &m.flags, &flags))
        })
        .collect();
    let update = FlagUpdate {
        uids,
        op: match op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        },
        flags,
        unchanged_since,
    };
    let result = mail.store.store_flags(view.id(), update).await?;

    let Some(view) = s.selected_mut() else {
        return Err(CmdError::bad("No mailbox selected"));
    };
    // (uid, flags, modseq, changed by us)
    let mut reported: Vec<(Uid, Flags, ModSeq, bool)> = Vec::new();
    for (uid, f, m) in result.changed {
        view.update_flags(uid, f.clone(), m);
        reported.push((uid, f, m, true));
    }
    if !silent {
        for (uid, f, m) in result.unchanged {
            view.update_flags(uid, f.clone(), m);
            reported.push((uid, f, m, false));
        }
    }
    reported.sort_unstable_by_key(|r| r.0);

    let mut out = Vec::new();
    for (uid, f, modseq, _) in &reported {
        let Some(msn) = view.msn_of(*uid) else {
            continue;
        };
        let differs = expected
            .binary_search_by_key(uid, |e| e.0)
            .map(|i| {
                let mut want = expected[i].1.clone();
                want.normalize();
                let mut got = f.clone();
                got.normalize();
                want != got
            })
            .unwrap_or(true);
        let send_flags = !silent || differs;
        if !send_flags && !enabled.condstore {
            continue;
        }
        out.extend_from_slice(format!("* {msn} FETCH (").as_bytes());
        let mut items = 0;
        if send_flags {
            out.extend_from_slice(b"FLAGS ");
            let recent = view.is_recent(*uid) && !enabled.imap4rev2;
            out.extend_from_slice(render_flags(f, recent).as_bytes());
            items += 1;
        }
        if by == By::Uid || enabled.condstore {
            if items > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(format!("UID {uid}").as_bytes());
            items += 1;
        }
        if enabled.condstore {
            if items > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(format!("MODSEQ ({modseq})").as_bytes());
        }
        out.extend_from_slice(b")\r\n");
    }

    let mut modified: Vec<u32> = match by {
        By::Uid => result.modified.clone(),
        By::Seq => result
            .modified
            .iter()
            .filter_map(|u| view.msn_of(*u))
            .collect(),
    };
    s.raw(&out);
    if modified.is_empty() {
        Ok(Done::ok("STORE completed"))
    } else {
        modified.sort_unstable();
        let mut code = b"MODIFIED ".to_vec();
        sequence_set(&mut code, &modified);
        Ok(Done::with_code(
            String::from_utf8_lossy(&code),
            "Conditional STORE failed for some messages",
        ))
    }
}

/// The flags this user may change (see the module doc).
fn permitted(requested: Flags, op: StoreOp, rights: Rights) -> Result<Flags, CmdError> {
    let nonperm = || CmdError::no_code("NOPERM", "Not allowed to change these flags");
    if op == StoreOp::Replace {
        return if rights.has('s') && rights.has('t') && rights.has('w') {
            Ok(requested)
        } else {
            Err(nonperm())
        };
    }
    let mut allowed = requested.clone();
    if !rights.has('s') {
        allowed.system &= !Flags::SEEN;
    }
    if !rights.has('t') {
        allowed.system &= !Flags::DELETED;
    }
    if !rights.has('w') {
        allowed.system &= Flags::SEEN | Flags::DELETED;
        allowed.keywords.clear();
    }
    if allowed.is_empty() && !requested.is_empty() {
        return Err(nonperm());
    }
    Ok(allowed)
}

/// The flags after applying `op` (for what the client expects).
fn apply(op: StoreOp, current: &Flags, flags: &Flags) -> Flags {
    match op {
        StoreOp::Add => current.union(flags),
        StoreOp::Remove => current.difference(flags),
        StoreOp::Replace => flags.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_filter_flags() {
        let f = Flags::from_names(["\\Seen", "\\Deleted", "$Work"]);
        let all = Rights::all();
        assert_eq!(permitted(f.clone(), StoreOp::Add, all).unwrap(), f);
        let seen_only = Rights::parse("lrs");
        assert_eq!(
            permitted(f.clone(), StoreOp::Remove, seen_only).unwrap(),
            Flags::from_names(["\\Seen"])
        );
        assert!(permitted(f.clone(), StoreOp::Replace, seen_only).is_err());
        assert!(permitted(Flags::from_names(["$Work"]), StoreOp::Add, seen_only).is_err());
        assert_eq!(
            permitted(Flags::default(), StoreOp::Replace, all).unwrap(),
            Flags::default()
        );
    }

    #[test]
    fn expected_flags() {
        let cur = Flags::from_names(["\\Seen", "a"]);
        let f = Flags::from_names(["b"]);
        assert_eq!(
            apply(StoreOp::Add, &cur, &f),
            Flags::from_names(["\\Seen", "a", "b"])
        );
        assert_eq!(
            apply(StoreOp::Remove, &cur, &Flags::from_names(["A"])),
            Flags::from_names(["\\Seen"])
        );
        assert_eq!(apply(StoreOp::Replace, &cur, &f), f);
    }
}
