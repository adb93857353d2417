//! FETCH and STORE.

use super::*;
use CommandBody as B;

fn fetch(
    by: By,
    set: SequenceSet,
    items: Vec<FetchAttr>,
    modifiers: FetchModifiers,
) -> CommandBody {
    B::Fetch {
        by,
        set,
        items: FetchItems(items),
        modifiers,
    }
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn body_sec(peek: bool, section: Section, partial: Option<(u64, u64)>) -> FetchAttr {
    FetchAttr::BodySection {
        peek,
        section,
        partial,
    }
}

#[test]
fn fetch_items_macros_sections_partials() {
    use FetchAttr as F;
    let none = FetchModifiers::default();
    let hf = |not, f: &[&str]| {
        Some(SectionText::HeaderFields {
            not,
            fields: strings(f),
        })
    };
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.4.5
        (
            "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
            fetch(
                By::Seq,
                set(&[(2, 4)]),
                vec![
                    F::Flags,
                    body_sec(false, sec(&[], hf(false, &["DATE", "FROM"])), None),
                ],
                none.clone(),
            ),
        ),
        (
            "A999 UID FETCH 4827313:4828442 FLAGS",
            fetch(
                By::Uid,
                set(&[(4827313, 4828442)]),
                vec![F::Flags],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 ALL",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 fast",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![F::Flags, F::InternalDate, F::Rfc822Size],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1:* FULL",
            fetch(
                By::Seq,
                set(&[(1, 0)]),
                vec![
                    F::Flags,
                    F::InternalDate,
                    F::Rfc822Size,
                    F::Envelope,
                    F::Body,
                ],
                none.clone(),
            ),
        ),
        (
            "a FETCH * (ENVELOPE INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT BODY BODYSTRUCTURE UID)",
            fetch(
                By::Seq,
                set(&[(0, 0)]),
                vec![
                    F::Envelope,
                    F::InternalDate,
                    F::Rfc822Size,
                    F::Rfc822,
                    F::Rfc822Header,
                    F::Rfc822Text,
                    F::Body,
                    F::BodyStructure,
                    F::Uid,
                ],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 BODY[]",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![body_sec(false, sec(&[], None), None)],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 body.peek[]<0.1024>",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![body_sec(true, sec(&[], None), Some((0, 1024)))],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 (BODY[1.2.3] BODY[1.MIME] BODY[2.HEADER] BODY[3.TEXT] BODY[TEXT]<10.20> BODY[HEADER])",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![
                    body_sec(false, sec(&[1, 2, 3], None), None),
                    body_sec(false, sec(&[1], Some(SectionText::Mime)), None),
                    body_sec(false, sec(&[2], Some(SectionText::Header)), None),
                    body_sec(false, sec(&[3], Some(SectionText::Text)), None),
                    body_sec(false, sec(&[], Some(SectionText::Text)), Some((10, 20))),
                    body_sec(false, sec(&[], Some(SectionText::Header)), None),
                ],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 BODY.PEEK[1.HEADER.FIELDS.NOT (Received \"X-Spam\")]",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![body_sec(
                    true,
                    sec(&[1], hf(true, &["Received", "X-Spam"])),
                    None,
                )],
                none.clone(),
            ),
        ),
        // RFC 3516
        (
            "a FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.5> BINARY.SIZE[1] BINARY[])",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![
                    F::Binary {
                        peek: false,
                        part: vec![1, 2],
                        partial: None,
                    },
                    F::Binary {
                        peek: true,
                        part: vec![],
                        partial: Some((0, 5)),
                    },
                    F::BinarySize { part: vec![1] },
                    F::Binary {
                        peek: false,
                        part: vec![],
                        partial: None,
                    },
                ],
                none.clone(),
            ),
        ),
        // RFC 8474, RFC 8970, RFC 8514
        (
            "a FETCH 1 (EMAILID THREADID SAVEDATE PREVIEW)",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![
                    F::EmailId,
                    F::ThreadId,
                    F::SaveDate,
                    F::Preview { lazy: false },
                ],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1:3 (UID PREVIEW (LAZY))",
            fetch(
                By::Seq,
                set(&[(1, 3)]),
                vec![F::Uid, F::Preview { lazy: true }],
                none.clone(),
            ),
        ),
        (
            "a FETCH 1 PREVIEW (LAZY)",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![F::Preview { lazy: true }],
                none.clone(),
            ),
        ),
        // RFC 7162 §3.1.4.2 (CHANGEDSINCE implies MODSEQ), §3.2.6
        (
            "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
            fetch(
                By::Uid,
                set(&[(1, 0)]),
                vec![F::Flags, F::ModSeq],
                FetchModifiers {
                    changed_since: Some(12345),
                    vanished: false,
                },
            ),
        ),
        (
            "a FETCH 1 (MODSEQ FLAGS) (CHANGEDSINCE 1)",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![F::ModSeq, F::Flags],
                FetchModifiers {
                    changed_since: Some(1),
                    vanished: false,
                },
            ),
        ),
        (
            "A04 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 20050715194045000 VANISHED)",
            fetch(
                By::Uid,
                set(&[(300, 500)]),
                vec![F::Flags, F::ModSeq],
                FetchModifiers {
                    changed_since: Some(20050715194045000),
                    vanished: true,
                },
            ),
        ),
        (
            "a FETCH 1 PREVIEW (CHANGEDSINCE 7)",
            fetch(
                By::Seq,
                set(&[(1, 1)]),
                vec![F::Preview { lazy: false }, F::ModSeq],
                FetchModifiers {
                    changed_since: Some(7),
                    vanished: false,
                },
            ),
        ),
        (
            "a FETCH $ FLAGS",
            fetch(By::Seq, SequenceSet::Saved, vec![F::Flags], none.clone()),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
}

#[test]
fn store_forms() {
    let store = |by, set, op, silent, flags: &[&str], unchanged_since| B::Store {
        by,
        set,
        op,
        silent,
        flags: strings(flags),
        unchanged_since,
    };
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.4.6
        (
            "A003 STORE 2:4 +FLAGS (\\Deleted)",
            store(
                By::Seq,
                set(&[(2, 4)]),
                StoreOp::Add,
                false,
                &["\\Deleted"],
                None,
            ),
        ),
        (
            "a STORE 1 -FLAGS.SILENT (\\Seen $Junk)",
            store(
                By::Seq,
                set(&[(1, 1)]),
                StoreOp::Remove,
                true,
                &["\\Seen", "$Junk"],
                None,
            ),
        ),
        (
            "a STORE 1 FLAGS ()",
            store(By::Seq, set(&[(1, 1)]), StoreOp::Replace, false, &[], None),
        ),
        (
            "a STORE 1 flags \\Seen \\Flagged",
            store(
                By::Seq,
                set(&[(1, 1)]),
                StoreOp::Replace,
                false,
                &["\\Seen", "\\Flagged"],
                None,
            ),
        ),
        // RFC 7162 §3.1.3
        (
            "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
            store(
                By::Uid,
                set(&[(6, 6), (4, 4), (8, 8)]),
                StoreOp::Add,
                true,
                &["\\Deleted"],
                Some(12121230045),
            ),
        ),
        (
            "a STORE 7 (UNCHANGEDSINCE 0) FLAGS (x)",
            store(
                By::Seq,
                set(&[(7, 7)]),
                StoreOp::Replace,
                false,
                &["x"],
                Some(0),
            ),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
}
