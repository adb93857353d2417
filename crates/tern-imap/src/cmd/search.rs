//! SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4) with RFC 4731 ESEARCH result
//! options, RFC 5182 SEARCHRES (`SAVE`, `$`) and RFC 7162 MODSEQ.
//!
//! Responses:
//! - without RETURN, and IMAP4rev2 not enabled: `* SEARCH n...` (RFC 3501), followed by
//!   `(MODSEQ m)` when a MODSEQ criterion was used and something matched;
//! - with RETURN, or always once IMAP4rev2 is enabled: `* ESEARCH (TAG "t") [UID] [MIN n]
//!   [MAX n] [ALL set] [COUNT n] [MODSEQ m]`; `RETURN ()` means ALL; MIN, MAX and ALL are
//!   left out when nothing matched (RFC 4731 §3.1); `RETURN (SAVE)` alone sends no ESEARCH.
//! - SAVE stores the result for `$`: only MIN and/or MAX when those are the only other
//!   options (RFC 5182 §2.4). A failed SEARCH with SAVE empties `$` (RFC 5182 §2.1).

use super::condstore;
use super::search_eval::compile;
use super::search_exec::{check_charset, matching, now};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{By, CommandBody, SearchCommand, SearchReturn};
use crate::proto::encode::{quoted, sequence_set};
use crate::session::Session;
use tern_store::{ModSeq, Uid};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Search { by, search } = cmd else {
        return Err(CmdError::bad("SEARCH expected"));
    };
    let save = search
        .return_opts
        .as_ref()
        .is_some_and(|r| r.contains(&SearchReturn::Save));
    let result = execute(s, by, &search).await;
    if result.is_err()
        && save
        && let Some(view) = s.selected_mut()
    {
        view.saved_search.clear();
    }
    result
}

/// One matching message, as the responses need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub msn: u32,
    pub uid: Uid,
    pub modseq: ModSeq,
}

async fn execute(s: &mut Session, by: By, search: &SearchCommand) -> CmdResult {
    check_charset(search.charset.as_deref())?;
    let mail = s.server.mail.clone();
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    let compiled = compile(&search.criteria, view)?;
    if compiled.uses_modseq {
        condstore::enable(s);
    }
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    let hits: Vec<Hit> = matching(&mail, view, &compiled, now())
        .await?
        .into_iter()
        .map(|i| Hit {
            msn: i as u32 + 1,
            uid: view.messages[i].uid,
            modseq: view.messages[i].modseq,
        })
        .collect();

    let esearch = search.return_opts.is_some() || s.enabled.imap4rev2;
    let mut out = Vec::new();
    if esearch {
        let opts = search.return_opts.clone().unwrap_or_default();
        let tag = current_tag(s);
        let saved = write_esearch(
            &mut out,
            tag.as_deref(),
            by,
            &opts,
            &hits,
            compiled.uses_modseq,
        );
        if let (Some(saved), Some(view)) = (saved, s.selected_mut()) {
            view.saved_search = saved;
        }
    } else {
        write_search(&mut out, by, &hits, compiled.uses_modseq);
    }
    s.raw(&out);
    Ok(Done::ok(if by == By::Uid {
        "UID SEARCH completed"
    } else {
        "SEARCH completed"
    }))
}

/// The tag of the running command, for the ESEARCH correlator.
fn current_tag(s: &Session) -> Option<String> {
    (!s.tag.is_empty()).then(|| s.tag.clone())
}

fn number(by: By, h: &Hit) -> u32 {
    match by {
        By::Seq => h.msn,
        By::Uid => h.uid,
    }
}

/// `* SEARCH 2 5 9 [(MODSEQ m)]`.
pub fn write_search(out: &mut Vec<u8>, by: By, hits: &[Hit], with_modseq: bool) {
    out.extend_from_slice(b"* SEARCH");
    for h in hits {
        out.push(b' ');
        out.extend_from_slice(number(by, h).to_string().as_bytes());
    }
    if with_modseq && let Some(m) = hits.iter().map(|h| h.modseq).max() {
        out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the ESEARCH response (unless SAVE is the only option) and returns the UIDs to
/// save when SAVE was asked for.
pub fn write_esearch(
    out: &mut Vec<u8>,
    tag: Option<&str>,
    by: By,
    opts: &[SearchReturn],
    hits: &[Hit],
    with_modseq: bool,
) -> Option<Vec<Uid>> {
    let save = opts.contains(&SearchReturn::Save);
    let mut want: Vec<SearchReturn> = opts
        .iter()
        .copied()
        .filter(|o| *o != SearchReturn::Save)
        .collect();
    let only_save = save && want.is_empty();
    if want.is_empty() {
        want.push(SearchReturn::All);
    }
    let has = |o: SearchReturn| want.contains(&o);
    let (min, max) = (hits.first(), hits.last());
    // What MIN/MAX-only options refer to (for SAVE and MODSEQ).
    let extremes_only = !has(SearchReturn::All) && !has(SearchReturn::Count);
    let referenced: Vec<&Hit> = if extremes_only {
        let mut r: Vec<&Hit> = Vec::new();
        if has(SearchReturn::Min) {
            r.extend(min);
        }
        if has(SearchReturn::Max) {
            r.extend(max.filter(|m| Some(*m) != min || !has(SearchReturn::Min)));
        }
        r
    } else {
        hits.iter().collect()
    };
    let saved = save.then(|| {
        if only_save {
            hits.iter().map(|h| h.uid).collect()
        } else {
            let mut u: Vec<Uid> = referenced.iter().map(|h| h.uid).collect();
            u.sort_unstable();
            u.dedup();
            u
        }
    });
    if only_save {
        return saved;
    }
    out.extend_from_slice(b"* ESEARCH");
    if let Some(tag) = tag {
        out.extend_from_slice(b" (TAG ");
        quoted(out, tag.as_bytes());
        out.push(b')');
    }
    if by == By::Uid {
        out.extend_from_slice(b" UID");
    }
    if let (Some(min), true) = (min, has(SearchReturn::Min)) {
        out.extend_from_slice(format!(" MIN {}", number(by, min)).as_bytes());
    }
    if let (Some(max), true) = (max, has(SearchReturn::Max)) {
        out.extend_from_slice(format!(" MAX {}", number(by, max)).as_bytes());
    }
    if has(SearchReturn::All) && !hits.is_empty() {
        out.extend_from_slice(b" ALL ");
        let nums: Vec<u32> = hits.iter().map(|h| number(by, h)).collect();
        sequence_set(out, &nums);
    }
    if has(SearchReturn::Count) {
        out.extend_from_slice(format!(" COUNT {}", hits.len()).as_bytes());
    }
    if with_modseq && let Some(m) = referenced.iter().map(|h| h.modseq).max() {
        out.extend_from_slice(format!(" MODSEQ {m}").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    saved
}

#[cfg(test)]
mod tests {
    use super::*;
    use SearchReturn::*;

    fn hits(uids: &[(u32, u32, u64)]) -> Vec<Hit> {
        uids.iter()
            .map(|&(msn, uid, modseq)| Hit { msn, uid, modseq })
            .collect()
    }

    fn es(by: By, opts: &[SearchReturn], h: &[Hit], modseq: bool) -> (String, Option<Vec<Uid>>) {
        let mut out = Vec::new();
        let saved = write_esearch(&mut out, Some("A282"), by, opts, h, modseq);
        (String::from_utf8(out).unwrap(), saved)
    }

    #[test]
    fn esearch_forms() {
        let h = hits(&[(2, 20, 5), (10, 100, 9), (11, 110, 7)]);
        // RFC 9051 §6.4.4 examples.
        assert_eq!(
            es(By::Seq, &[Min, Count], &h, false).0,
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
        );
        assert_eq!(
            es(By::Seq, &[], &h, false).0,
            "* ESEARCH (TAG \"A282\") ALL 2,10:11\r\n"
        );
        assert_eq!(
            es(By::Uid, &[Min, Max, All, Count], &h, true).0,
            "* ESEARCH (TAG \"A282\") UID MIN 20 MAX 110 ALL 20,100,110 COUNT 3 MODSEQ 9\r\n"
        );
        assert_eq!(
            es(By::Seq, &[Min, Max, Count], &[], true).0,
            "* ESEARCH (TAG \"A282\") COUNT 0\r\n"
        );
        assert_eq!(
            es(By::Seq, &[Max], &h, true).0,
            "* ESEARCH (TAG \"A282\") MAX 11 MODSEQ 7\r\n"
        );
    }

    #[test]
    fn save_semantics() {
        let h = hits(&[(2, 20, 5), (10, 100, 9), (11, 110, 7)]);
        let (out, saved) = es(By::Seq, &[Save], &h, false);
        assert_eq!(out, "");
        assert_eq!(saved, Some(vec![20, 100, 110]));
        assert_eq!(es(By::Seq, &[Save, Min], &h, false).1, Some(vec![20]));
        assert_eq!(
            es(By::Seq, &[Save, Min, Max], &h, false).1,
            Some(vec![20, 110])
        );
        assert_eq!(
            es(By::Seq, &[Save, Min, Count], &h, false).1,
            Some(vec![20, 100, 110])
        );
        assert_eq!(es(By::Seq, &[Min], &h, false).1, None);
        let one = hits(&[(4, 40, 1)]);
        assert_eq!(
            es(By::Seq, &[Save, Min, Max], &one, false).1,
            Some(vec![40])
        );
    }

    #[test]
    fn plain_search() {
        let h = hits(&[(2, 20, 5), (10, 100, 9)]);
        let mut out = Vec::new();
        write_search(&mut out, By::Uid, &h, true);
        assert_eq!(out, b"* SEARCH 20 100 (MODSEQ 9)\r\n");
        out.clear();
        write_search(&mut out, By::Seq, &[], true);
        assert_eq!(out, b"* SEARCH\r\n");
    }
}
