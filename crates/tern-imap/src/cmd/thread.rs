//! THREAD and UID THREAD (RFC 5256 §3–§5): ORDEREDSUBJECT and REFERENCES.
//!
//! The search criteria select the messages; their threading keys (base subject, reply
//! flag, Message-ID, References, In-Reply-To) and sent dates come from the metadata
//! cached at delivery, read in chunks. The algorithms are in [`super::thread_algo`].

use super::condstore;
use super::search_eval::compile;
use super::search_exec::{check_charset, for_each_meta, matching, now};
use super::thread_algo::{self, ThreadMsg};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{By, CommandBody, ThreadAlgorithm};
use crate::session::Session;
use tern_store::MetaParts;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Thread {
        by,
        algorithm,
        charset,
        search,
    } = cmd
    else {
        return Err(CmdError::bad("THREAD expected"));
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
    let mut msgs = Vec::with_capacity(matched.len());
    // Only the sort and thread keys are read below: the rest is not decoded.
    let parts = MetaParts {
        sort: true,
        thread: true,
        ..MetaParts::NONE
    };
    for_each_meta(&mail, view, &matched, parts, |idx, meta| {
        let rec = &view.messages[idx];
        msgs.push(ThreadMsg {
            num: match by {
                By::Seq => idx as u32 + 1,
                By::Uid => rec.uid,
            },
            seq: idx,
            date: meta.sort.sent_date.unwrap_or(rec.internaldate.unix),
            subject: meta.sort.base_subject.clone(),
            is_reply: meta.thread.is_reply,
            message_id: meta.thread.message_id.clone(),
            references: meta.thread.references.clone(),
            in_reply_to: meta.thread.in_reply_to.clone(),
        });
    })
    .await?;
    let forest = match algorithm {
        ThreadAlgorithm::OrderedSubject => thread_algo::ordered_subject(msgs),
        ThreadAlgorithm::References => thread_algo::references(msgs),
    };
    let mut out = b"* THREAD".to_vec();
    let mut threads = Vec::new();
    forest.render(&mut threads);
    if !threads.is_empty() {
        out.push(b' ');
        out.extend_from_slice(&threads);
    }
    out.extend_from_slice(b"\r\n");
    s.raw(&out);
    Ok(Done::ok(if by == By::Uid {
        "UID THREAD completed"
    } else {
        "THREAD completed"
    }))
}
