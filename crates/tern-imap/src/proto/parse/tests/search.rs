//! SEARCH, SORT, THREAD.

use super::*;
use crate::proto::datetime::days_from_civil;
use CommandBody as B;
use SearchKey as K;

fn search(
    by: By,
    return_opts: Option<Vec<SearchReturn>>,
    charset: Option<&str>,
    criteria: Vec<SearchKey>,
) -> CommandBody {
    B::Search {
        by,
        search: SearchCommand {
            return_opts,
            charset: charset.map(s),
            criteria,
        },
    }
}

fn day(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d)
}

#[test]
fn search_examples() {
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.4.4
        (
            "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            search(
                By::Seq,
                Some(vec![SearchReturn::Min, SearchReturn::Count]),
                None,
                vec![
                    K::Flagged,
                    K::Since(day(1994, 2, 1)),
                    K::Not(Box::new(K::From(b"Smith".to_vec()))),
                ],
            ),
        ),
        (
            "A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            search(
                By::Seq,
                Some(vec![]),
                None,
                vec![
                    K::Flagged,
                    K::Since(day(1994, 2, 1)),
                    K::Not(Box::new(K::From(b"Smith".to_vec()))),
                ],
            ),
        ),
        (
            "A284 SEARCH TEXT \"string not in mailbox\"",
            search(
                By::Seq,
                None,
                None,
                vec![K::Text(b"string not in mailbox".to_vec())],
            ),
        ),
        (
            "A285 SEARCH CHARSET UTF-8 TEXT {15}\r\nНью Йорк",
            search(
                By::Seq,
                None,
                Some("UTF-8"),
                vec![K::Text("Нью Йорк".as_bytes().to_vec())],
            ),
        ),
        (
            "A301 SEARCH RETURN (SAVE) FROM \"Eric\"",
            search(
                By::Seq,
                Some(vec![SearchReturn::Save]),
                None,
                vec![K::From(b"Eric".to_vec())],
            ),
        ),
        (
            "A302 UID SEARCH RETURN (MIN MAX ALL COUNT) UID $ SEEN",
            search(
                By::Uid,
                Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::All,
                    SearchReturn::Count,
                ]),
                None,
                vec![K::Uid(SequenceSet::Saved), K::Seen],
            ),
        ),
        (
            "a SEARCH $",
            search(By::Seq, None, None, vec![K::SeqSet(SequenceSet::Saved)]),
        ),
        (
            "a SEARCH 1:3,7 OR SEEN (DELETED UNDRAFT) UID 5:*",
            search(
                By::Seq,
                None,
                None,
                vec![
                    K::SeqSet(set(&[(1, 3), (7, 7)])),
                    K::Or(
                        Box::new(K::Seen),
                        Box::new(K::And(vec![K::Deleted, K::Undraft])),
                    ),
                    K::Uid(set(&[(5, 0)])),
                ],
            ),
        ),
        (
            "a SEARCH all answered deleted draft flagged new old recent seen unanswered undeleted undraft unflagged unseen",
            search(
                By::Seq,
                None,
                None,
                vec![
                    K::All,
                    K::Answered,
                    K::Deleted,
                    K::Draft,
                    K::Flagged,
                    K::New,
                    K::Old,
                    K::Recent,
                    K::Seen,
                    K::Unanswered,
                    K::Undeleted,
                    K::Undraft,
                    K::Unflagged,
                    K::Unseen,
                ],
            ),
        ),
        (
            "a SEARCH BCC a BODY b CC c FROM d SUBJECT e TEXT f TO g HEADER X-Spam \"yes\" KEYWORD $Junk UNKEYWORD Foo",
            search(
                By::Seq,
                None,
                None,
                vec![
                    K::Bcc(b"a".to_vec()),
                    K::Body(b"b".to_vec()),
                    K::Cc(b"c".to_vec()),
                    K::From(b"d".to_vec()),
                    K::Subject(b"e".to_vec()),
                    K::Text(b"f".to_vec()),
                    K::To(b"g".to_vec()),
                    K::Header(s("X-Spam"), b"yes".to_vec()),
                    K::Keyword(s("$Junk")),
                    K::Unkeyword(s("Foo")),
                ],
            ),
        ),
        (
            "a SEARCH BEFORE \"1-Jan-2000\" ON 29-Feb-2000 SENTBEFORE 01-jan-1970 SENTON 2-Dec-2026 SENTSINCE 31-Dec-1969 LARGER 100 SMALLER 4294967296",
            search(
                By::Seq,
                None,
                None,
                vec![
                    K::Before(day(2000, 1, 1)),
                    K::On(day(2000, 2, 29)),
                    K::SentBefore(0),
                    K::SentOn(day(2026, 12, 2)),
                    K::SentSince(-1),
                    K::Larger(100),
                    K::Smaller(4_294_967_296),
                ],
            ),
        ),
        // RFC 7162 §3.1.5
        (
            "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
            search(By::Seq, None, None, vec![K::ModSeq(620162338)]),
        ),
        (
            "a SEARCH MODSEQ 5",
            search(By::Seq, None, None, vec![K::ModSeq(5)]),
        ),
        // RFC 5032, RFC 8474
        (
            "a SEARCH OLDER 3600 YOUNGER 60 EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
            search(
                By::Seq,
                None,
                None,
                vec![
                    K::Older(3600),
                    K::Younger(60),
                    K::EmailId(s("M6d99ac3275bb4e")),
                    K::ThreadId(s("T64b478a75b7ea9")),
                ],
            ),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line:?}");
    }
}

#[test]
fn eight_bit_search_strings_are_bytes() {
    let cmd = parse_command(&Frame::from_bytes(
        &b"A286 SEARCH CHARSET WINDOWS-1252 SUBJECT \"\x8ap\""[..],
    ))
    .unwrap();
    assert_eq!(
        cmd.body,
        search(
            By::Seq,
            None,
            Some("WINDOWS-1252"),
            vec![K::Subject(b"\x8ap".to_vec())]
        )
    );
}

#[test]
fn sort_and_thread() {
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 5256 §3
        (
            "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
            B::Sort {
                by: By::Seq,
                criteria: vec![SortKey {
                    reverse: false,
                    field: SortField::Subject,
                }],
                charset: s("UTF-8"),
                search: SearchCommand {
                    return_opts: None,
                    charset: Some(s("UTF-8")),
                    criteria: vec![K::Since(day(1994, 2, 1))],
                },
            },
        ),
        (
            "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
            B::Sort {
                by: By::Seq,
                criteria: vec![
                    SortKey {
                        reverse: false,
                        field: SortField::Subject,
                    },
                    SortKey {
                        reverse: true,
                        field: SortField::Date,
                    },
                ],
                charset: s("UTF-8"),
                search: SearchCommand {
                    return_opts: None,
                    charset: Some(s("UTF-8")),
                    criteria: vec![K::All],
                },
            },
        ),
        (
            "a UID SORT (ARRIVAL CC FROM SIZE TO DISPLAYFROM REVERSE DISPLAYTO) US-ASCII UNSEEN",
            B::Sort {
                by: By::Uid,
                criteria: vec![
                    SortKey {
                        reverse: false,
                        field: SortField::Arrival,
                    },
                    SortKey {
                        reverse: false,
                        field: SortField::Cc,
                    },
                    SortKey {
                        reverse: false,
                        field: SortField::From,
                    },
                    SortKey {
                        reverse: false,
                        field: SortField::Size,
                    },
                    SortKey {
                        reverse: false,
                        field: SortField::To,
                    },
                    SortKey {
                        reverse: false,
                        field: SortField::DisplayFrom,
                    },
                    SortKey {
                        reverse: true,
                        field: SortField::DisplayTo,
                    },
                ],
                charset: s("US-ASCII"),
                search: SearchCommand {
                    return_opts: None,
                    charset: Some(s("US-ASCII")),
                    criteria: vec![K::Unseen],
                },
            },
        ),
        // RFC 5267 §3.2
        (
            "a SORT RETURN (MIN MAX) (DATE) UTF-8 ALL",
            B::Sort {
                by: By::Seq,
                criteria: vec![SortKey {
                    reverse: false,
                    field: SortField::Date,
                }],
                charset: s("UTF-8"),
                search: SearchCommand {
                    return_opts: Some(vec![SearchReturn::Min, SearchReturn::Max]),
                    charset: Some(s("UTF-8")),
                    criteria: vec![K::All],
                },
            },
        ),
        // RFC 5256 §3
        (
            "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
            B::Thread {
                by: By::Seq,
                algorithm: ThreadAlgorithm::OrderedSubject,
                charset: s("UTF-8"),
                search: SearchCommand {
                    return_opts: None,
                    charset: Some(s("UTF-8")),
                    criteria: vec![K::Since(day(2000, 3, 5))],
                },
            },
        ),
        (
            "A284 UID THREAD REFERENCES US-ASCII TEXT \"gewp\"",
            B::Thread {
                by: By::Uid,
                algorithm: ThreadAlgorithm::References,
                charset: s("US-ASCII"),
                search: SearchCommand {
                    return_opts: None,
                    charset: Some(s("US-ASCII")),
                    criteria: vec![K::Text(b"gewp".to_vec())],
                },
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line:?}");
    }
}
