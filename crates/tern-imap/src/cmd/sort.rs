//! SORT and UID SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO).
//!
//! The search criteria select the messages; the sort keys come from the metadata cached at
//! delivery ([`tern_store::SortKeys`]: base subject, first addresses, display names, sent
//! date; only that part of the metadata is decoded), read in chunks and reduced at once to
//! the requested keys, so sorting a large
//! mailbox holds only those keys in memory. ARRIVAL and SIZE need no metadata at all.
//! Strings compare with `i;ascii-casemap` (the keys are upper-cased at delivery); DATE is
//! the sent date, falling back to INTERNALDATE (RFC 5256 §2.2); ties keep mailbox order.
//! The response is the plain `* SORT n...` (no ESORT), with `(MODSEQ m)` after a MODSEQ
//! criterion (RFC 7162 §3.1.5).

use super::condstore;
use super::search_eval::compile;
use super::search_exec::{check_charset, for_each_meta, matching, now};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{By, CommandBody, SortField, SortKey};
use crate::session::{SelectedMailbox, Session};
use std::cmp::Ordering;
use tern_store::{MessageRecord, MetaParts, SharedMeta};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Sort {
        by,
        criteria,
        charset,
        search,
    } = cmd
    else {
        return Err(CmdError::bad("SORT expected"));
    };
    check_charset(Some(&charset))?;
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
    let matched = matching(&mail, view, &compiled, now()).await?;

    let mut rows: Vec<Row> = if criteria.iter().any(|k| needs_meta(k.field)) {
        let mut rows = Vec::with_capacity(matched.len());
        // Row::new reads only the sort keys.
        let parts = MetaParts {
            sort: true,
            ..MetaParts::NONE
        };
        for_each_meta(&mail, view, &matched, parts, |idx, meta| {
            rows.push(Row::new(idx, &view.messages[idx], Some(meta), &criteria));
        })
        .await?;
        rows
    } else {
        matched
            .iter()
            .map(|&idx| Row::new(idx, &view.messages[idx], None, &criteria))
            .collect()
    };
    rows.sort_by(|a, b| compare(a, b, &criteria));

    let mut out = b"* SORT".to_vec();
    for r in &rows {
        out.push(b' ');
        out.extend_from_slice(number(view, by, r.idx).to_string().as_bytes());
    }
    if compiled.uses_modseq
        && let Some(m) = rows.iter().map(|r| view.messages[r.idx].modseq).max()
    {
        out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    s.raw(&out);
    Ok(Done::ok(if by == By::Uid {
        "UID SORT completed"
    } else {
        "SORT completed"
    }))
}

fn number(view: &SelectedMailbox, by: By, idx: usize) -> u32 {
    match by {
        By::Seq => idx as u32 + 1,
        By::Uid => view.messages[idx].uid,
    }
}

fn needs_meta(f: SortField) -> bool {
    !matches!(f, SortField::Arrival | SortField::Size)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Val {
    Num(i64),
    Text(String),
}

/// One message's keys, in criteria order.
#[derive(Clone, Debug)]
struct Row {
    idx: usize,
    keys: Vec<Val>,
}

impl Row {
    fn new(
        idx: usize,
        rec: &MessageRecord,
        meta: Option<&SharedMeta>,
        criteria: &[SortKey],
    ) -> Row {
        let text =
            |f: fn(&SharedMeta) -> &String| Val::Text(meta.map(f).cloned().unwrap_or_default());
        let keys = criteria
            .iter()
            .map(|k| match k.field {
                SortField::Arrival => Val::Num(rec.internaldate.unix),
                SortField::Size => Val::Num(rec.size as i64),
                SortField::Date => Val::Num(
                    meta.and_then(|m| m.sort.sent_date)
                        .unwrap_or(rec.internaldate.unix),
                ),
                SortField::Subject => text(|m| &m.sort.base_subject),
                SortField::From => text(|m| &m.sort.from),
                SortField::To => text(|m| &m.sort.to),
                SortField::Cc => text(|m| &m.sort.cc),
                SortField::DisplayFrom => text(|m| &m.sort.display_from),
                SortField::DisplayTo => text(|m| &m.sort.display_to),
            })
            .collect();
        Row { idx, keys }
    }
}

fn compare(a: &Row, b: &Row, criteria: &[SortKey]) -> Ordering {
    for (i, k) in criteria.iter().enumerate() {
        let o = a.keys[i].cmp(&b.keys[i]);
        let o = if k.reverse { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.idx.cmp(&b.idx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::seqset::tests::view;
    use tern_store::SortKeys;

    fn key(field: SortField, reverse: bool) -> SortKey {
        SortKey { reverse, field }
    }

    #[test]
    fn sorts_by_keys_then_mailbox_order() {
        let v = view(&[1, 2, 3, 4]);
        let metas: Vec<SharedMeta> = [
            ("B", Some(50)),
            ("A", None),
            ("B", Some(10)),
            ("A", Some(10)),
        ]
        .iter()
        .map(|(subj, date)| SharedMeta {
            sort: SortKeys {
                base_subject: subj.to_string(),
                sent_date: *date,
                ..SortKeys::default()
            }
            .into(),
            ..SharedMeta::default()
        })
        .collect();
        let order = |criteria: &[SortKey]| -> Vec<usize> {
            let mut rows: Vec<Row> = (0..4)
                .map(|i| Row::new(i, &v.messages[i], Some(&metas[i]), criteria))
                .collect();
            rows.sort_by(|a, b| compare(a, b, criteria));
            rows.iter().map(|r| r.idx).collect()
        };
        assert_eq!(order(&[key(SortField::Subject, false)]), vec![1, 3, 0, 2]);
        assert_eq!(
            order(&[key(SortField::Subject, false), key(SortField::Date, true)]),
            // Message 1 has no Date: INTERNALDATE (1.7e9 + 2 days) is the latest.
            vec![1, 3, 0, 2]
        );
        assert_eq!(order(&[key(SortField::Date, false)]), vec![2, 3, 0, 1]);
        assert_eq!(order(&[key(SortField::Size, true)]), vec![3, 2, 1, 0]);
        assert_eq!(order(&[key(SortField::From, false)]), vec![0, 1, 2, 3]);
        assert!(!needs_meta(SortField::Arrival) && needs_meta(SortField::DisplayFrom));
    }
}
