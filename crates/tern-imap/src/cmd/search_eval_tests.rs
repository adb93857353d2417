//! Tests of search compilation and evaluation (table-driven over one small view).

use super::*;
use crate::cmd::seqset::tests::view;
use crate::proto::command::{SeqBound, SequenceSet};
use tern_store::{Address, BodyPart, Envelope, MessageMeta, SortKeys, ThreadKeys};

const MSG: &[u8] = b"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.test>\r\n\
To: team@example.test\r\nSubject: Quarterly budget\r\nX-Prio: high\r\n\r\nThe numbers are in.\r\n";

fn addr(name: Option<&str>, mailbox: &str) -> Address {
    Address {
        name: name.map(Into::into),
        adl: None,
        mailbox: Some(mailbox.into()),
        host: Some("example.test".into()),
    }
}

fn meta() -> SharedMeta {
    let body_start = MSG.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    MessageMeta {
        envelope: Envelope {
            date: Some("Tue, 01 Dec 2026 23:30:00 -0500".into()),
            subject: Some("Quarterly budget".into()),
            from: vec![addr(Some("=?UTF-8?Q?J=C3=BCrgen?="), "j")],
            to: vec![addr(None, "team")],
            ..Envelope::default()
        },
        body: BodyPart {
            content_type: "text".into(),
            subtype: "plain".into(),
            body_start: body_start as u64,
            end: MSG.len() as u64,
            ..BodyPart::default()
        },
        sort: SortKeys {
            // 2026-12-02 04:30 UTC = 2026-12-01 23:30 -0500
            sent_date: Some(1_796_185_800),
            ..SortKeys::default()
        },
        thread: ThreadKeys {
            message_id: Some("m1@example.test".into()),
            ..ThreadKeys::default()
        },
        preview: String::new(),
    }
    .into()
}

/// Evaluates `keys` on message `idx` of a 5-message view (UIDs 3 5 9 10 20; UID 5 is
/// \Seen \Flagged $Work, UID 9 recent; internal dates 1 day apart), with the given data.
fn run(keys: Vec<SearchKey>, idx: usize, meta: Option<&SharedMeta>, blob: Option<&[u8]>) -> Tri {
    let mut v = view(&[3, 5, 9, 10, 20]);
    v.messages[1].flags = Flags::from_names(["\\Seen", "\\Flagged", "$Work"]);
    v.recent = vec![9];
    v.saved_search = vec![10];
    let c = compile(&keys, &v).unwrap();
    let rec = &v.messages[idx];
    let s = Subject {
        idx,
        rec,
        recent: v.is_recent(rec.uid),
        meta,
        blob,
        now: rec.internaldate.unix + 3600,
    };
    eval(&c.root, &s)
}

fn ranges(r: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(
        r.iter()
            .map(|&(a, b)| (SeqBound::Num(a), SeqBound::Num(b)))
            .collect(),
    )
}

#[test]
fn record_keys() {
    use SearchKey as K;
    use Tri::{No, Yes};
    let day = |idx: usize| {
        let v = view(&[3, 5, 9, 10, 20]);
        local_day(v.messages[idx].internaldate)
    };
    let cases: Vec<(Vec<SearchKey>, usize, Tri)> = vec![
        (vec![], 0, Yes),
        (vec![K::All], 0, Yes),
        (vec![K::Seen], 1, Yes),
        (vec![K::Seen], 0, No),
        (vec![K::Unseen, K::Unflagged], 0, Yes),
        (vec![K::Keyword("$work".into())], 1, Yes),
        (vec![K::Unkeyword("$Work".into())], 1, No),
        (vec![K::Keyword("\\Flagged".into())], 1, Yes),
        (vec![K::Recent], 2, Yes),
        (vec![K::New], 2, Yes),
        (vec![K::Old], 2, No),
        (vec![K::Old], 0, Yes),
        (vec![K::Larger(899)], 2, Yes),
        (vec![K::Larger(900)], 2, No),
        (vec![K::Smaller(501)], 1, Yes),
        (vec![K::Uid(ranges(&[(4, 9)]))], 1, Yes),
        (vec![K::Uid(ranges(&[(4, 9)]))], 0, No),
        (vec![K::SeqSet(ranges(&[(5, 5)]))], 4, Yes),
        (vec![K::SeqSet(ranges(&[(4, 100)]))], 4, Yes),
        (vec![K::SeqSet(SequenceSet::Saved)], 3, Yes),
        (vec![K::SeqSet(SequenceSet::Saved)], 2, No),
        (vec![K::ModSeq(9)], 2, Yes),
        (vec![K::ModSeq(10)], 2, No),
        (vec![K::On(day(2))], 2, Yes),
        (vec![K::Before(day(2))], 1, Yes),
        (vec![K::Before(day(2))], 2, No),
        (vec![K::Since(day(2))], 2, Yes),
        (vec![K::Since(day(2))], 1, No),
        (vec![K::Younger(3600)], 0, Yes),
        (vec![K::Younger(3599)], 0, No),
        (vec![K::Older(3599)], 0, Yes),
        (vec![K::Not(Box::new(K::Seen))], 1, No),
        (vec![K::Or(Box::new(K::Seen), Box::new(K::Recent))], 2, Yes),
        (vec![K::Or(Box::new(K::Seen), Box::new(K::Recent))], 0, No),
        (vec![K::And(vec![K::Seen, K::Flagged])], 1, Yes),
        (vec![K::EmailId(format!("M{}", "05".repeat(12)))], 1, Yes),
        (vec![K::EmailId("Mxyz".into())], 1, No),
    ];
    for (keys, idx, want) in cases {
        assert_eq!(
            run(keys.clone(), idx, None, None),
            want,
            "{keys:?} on {idx}"
        );
    }
}

#[test]
fn cheap_keys_decide_before_content() {
    use SearchKey as K;
    let from = || K::From(b"jurgen".to_vec());
    // Unknown without the blob, but a failing flag key decides anyway.
    assert_eq!(run(vec![from()], 0, None, None), Tri::Unknown);
    assert_eq!(run(vec![K::Seen, from()], 0, None, None), Tri::No);
    assert_eq!(
        run(
            vec![K::Or(Box::new(K::Unseen), Box::new(from()))],
            0,
            None,
            None
        ),
        Tri::Yes
    );
    assert_eq!(
        run(vec![K::Not(Box::new(from()))], 0, None, None),
        Tri::Unknown
    );
    assert_eq!(run(vec![K::SentOn(0)], 0, None, None), Tri::Unknown);
}

#[test]
fn content_keys() {
    use SearchKey as K;
    use Tri::{No, Yes};
    let m = meta();
    let cases: Vec<(SearchKey, Tri)> = vec![
        (K::From(b"J\xc3\xbcRGEN".to_vec()), Yes),
        (K::From(b"j@example".to_vec()), Yes),
        (K::From(b"team".to_vec()), No),
        (K::To(b"TEAM@".to_vec()), Yes),
        (K::Cc(b"".to_vec()), No),
        (K::Subject(b"budget".to_vec()), Yes),
        (K::Header("x-prio".into(), b"HIGH".to_vec()), Yes),
        (K::Header("X-Prio".into(), b"".to_vec()), Yes),
        (K::Header("X-Other".into(), b"".to_vec()), No),
        (K::Body(b"numbers ARE".to_vec()), Yes),
        (K::Body(b"budget".to_vec()), No),
        (K::Text(b"budget".to_vec()), Yes),
        (K::Text(b"numbers".to_vec()), Yes),
        (K::Text(b"absent".to_vec()), No),
        // The Date header's own day (-0500), not the UTC day (Dec 2).
        (
            K::SentOn(crate::proto::datetime::days_from_civil(2026, 12, 1)),
            Yes,
        ),
        (
            K::SentBefore(crate::proto::datetime::days_from_civil(2026, 12, 2)),
            Yes,
        ),
        (
            K::SentSince(crate::proto::datetime::days_from_civil(2026, 12, 2)),
            No,
        ),
        (K::ThreadId(objectid::thread_id(&m).unwrap()), Yes),
        (K::ThreadId("T0".into()), No),
    ];
    for (key, want) in cases {
        assert_eq!(
            run(vec![key.clone()], 0, Some(&m), Some(MSG)),
            want,
            "{key:?}"
        );
    }
    // Envelope fields decide without the blob; other header fields need it.
    let from = K::From(b"j\xc3\xbcrgen <j@".to_vec());
    assert_eq!(run(vec![from], 0, Some(&m), None), Yes);
    assert_eq!(
        run(vec![K::Subject(b"BUDGET".to_vec())], 0, Some(&m), None),
        Yes
    );
    assert_eq!(run(vec![K::Bcc(b"".to_vec())], 0, Some(&m), None), No);
    let prio = K::Header("X-Prio".into(), b"high".to_vec());
    assert_eq!(run(vec![prio], 0, Some(&m), None), Tri::Unknown);
    assert_eq!(date_zone("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"), -420);
    assert_eq!(date_zone("1 Jan 2000 00:00 +0530"), 330);
    assert_eq!(date_zone("garbage"), 0);
}

#[test]
fn modseq_criterion_is_noted() {
    let v = view(&[1]);
    let keys = vec![SearchKey::Not(Box::new(SearchKey::ModSeq(3)))];
    assert!(compile(&keys, &v).unwrap().uses_modseq);
    assert!(!compile(&[SearchKey::All], &v).unwrap().uses_modseq);
}
