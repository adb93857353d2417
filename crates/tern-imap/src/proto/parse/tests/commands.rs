//! Commands other than FETCH/STORE/SEARCH/SORT/THREAD. Examples are the `C:` lines of
//! RFC 9051 §6, RFC 3501 §6 and the extension RFCs named per row.

use super::*;
use CommandBody as B;

#[test]
fn simple_commands_and_tags() {
    let cases: Vec<(&str, &str, CommandBody)> = vec![
        ("a001 CAPABILITY", "a001", B::Capability),
        ("a002 NOOP", "a002", B::Noop),
        ("A023 LOGOUT", "A023", B::Logout),
        ("a001 STARTTLS", "a001", B::StartTls),
        ("A341 CLOSE", "A341", B::Close),
        ("A202 EXPUNGE", "A202", B::Expunge),
        ("FXXZ CHECK", "FXXZ", B::Check),
        ("A01 UNSELECT", "A01", B::Unselect),
        ("A001 NAMESPACE", "A001", B::Namespace),
        ("a002 idle", "a002", B::Idle),
        ("tag.1]x noop", "tag.1]x", B::Noop),
    ];
    for (line, tag, want) in cases {
        let cmd = parse_command(&Frame::from_bytes(line)).unwrap();
        assert_eq!((cmd.tag.as_str(), cmd.body), (tag, want), "{line}");
    }
}

#[test]
fn login_authenticate_id_enable_compress() {
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.2.3
        (
            "a001 LOGIN SMITH SESAME",
            B::Login {
                username: b"SMITH".to_vec(),
                password: b"SESAME".to_vec(),
            },
        ),
        (
            "a LOGIN \"fred\" \"p a\\\"ss\"",
            B::Login {
                username: b"fred".to_vec(),
                password: b"p a\"ss".to_vec(),
            },
        ),
        (
            "a LOGIN {4}\r\nfred {6+}\r\nsecret",
            B::Login {
                username: b"fred".to_vec(),
                password: b"secret".to_vec(),
            },
        ),
        (
            "a LOGIN fred@example.test \"\"",
            B::Login {
                username: b"fred@example.test".to_vec(),
                password: vec![],
            },
        ),
        // RFC 9051 §6.2.2, RFC 4959
        (
            "A001 AUTHENTICATE GSSAPI",
            B::Authenticate {
                mechanism: s("GSSAPI"),
                initial: None,
            },
        ),
        (
            "a authenticate plain AGZyZWQAc2VjcmV0",
            B::Authenticate {
                mechanism: s("PLAIN"),
                initial: Some(b"\0fred\0secret".to_vec()),
            },
        ),
        (
            "a AUTHENTICATE EXTERNAL =",
            B::Authenticate {
                mechanism: s("EXTERNAL"),
                initial: Some(vec![]),
            },
        ),
        // RFC 2971
        (
            "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)",
            B::Id(Some(vec![
                (s("name"), Some(s("sodr"))),
                (s("version"), Some(s("19.34"))),
                (s("vendor"), None),
            ])),
        ),
        ("a ID NIL", B::Id(None)),
        ("a ID ()", B::Id(Some(vec![]))),
        // RFC 5161, RFC 9051 §6.3.1
        (
            "t2 ENABLE CONDSTORE qresync",
            B::Enable(strings(&["CONDSTORE", "QRESYNC"])),
        ),
        (
            "t ENABLE UTF8=ACCEPT IMAP4rev2",
            B::Enable(strings(&["UTF8=ACCEPT", "IMAP4REV2"])),
        ),
        // RFC 4978
        ("a COMPRESS deflate", B::Compress(s("DEFLATE"))),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
}

#[test]
fn select_examine_with_condstore_and_qresync() {
    let plain = SelectParams::default();
    let cases: Vec<(&str, CommandBody)> = vec![
        (
            "A142 SELECT INBOX",
            B::Select {
                mailbox: s("INBOX"),
                mode: SelectMode::Select,
                params: plain.clone(),
            },
        ),
        (
            "A142 SELECT inbox",
            B::Select {
                mailbox: s("INBOX"),
                mode: SelectMode::Select,
                params: plain.clone(),
            },
        ),
        (
            "A932 EXAMINE blurdybloop",
            B::Select {
                mailbox: s("blurdybloop"),
                mode: SelectMode::Examine,
                params: plain.clone(),
            },
        ),
        // RFC 7162 §3.1.8
        (
            "a SELECT INBOX (CONDSTORE)",
            B::Select {
                mailbox: s("INBOX"),
                mode: SelectMode::Select,
                params: SelectParams {
                    condstore: true,
                    qresync: None,
                },
            },
        ),
        // RFC 7162 §3.2.5.2
        (
            "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
            B::Select {
                mailbox: s("INBOX"),
                mode: SelectMode::Select,
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uidvalidity: 67890007,
                        modseq: 20050715194045000,
                        known_uids: Some(set(&[(41, 41), (43, 211), (214, 541)])),
                        seq_match: None,
                    }),
                },
            },
        ),
        (
            "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22500)))",
            B::Select {
                mailbox: s("INBOX"),
                mode: SelectMode::Select,
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uidvalidity: 67890007,
                        modseq: 90060115194045000,
                        known_uids: Some(set(&[(1, 29997)])),
                        seq_match: Some((
                            set(&[(5000, 5000), (7500, 7500)]),
                            set(&[(15000, 15000), (22500, 22500)]),
                        )),
                    }),
                },
            },
        ),
        (
            "a EXAMINE x (QRESYNC (1 2) CONDSTORE)",
            B::Select {
                mailbox: s("x"),
                mode: SelectMode::Examine,
                params: SelectParams {
                    condstore: true,
                    qresync: Some(QresyncParams {
                        uidvalidity: 1,
                        modseq: 2,
                        known_uids: None,
                        seq_match: None,
                    }),
                },
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
}

#[test]
fn mailbox_management() {
    let cases: Vec<(&str, CommandBody)> = vec![
        (
            "A003 CREATE owatagusiam/",
            B::Create {
                mailbox: s("owatagusiam/"),
                special_use: vec![],
            },
        ),
        (
            "A004 CREATE owatagusiam/blurdybloop",
            B::Create {
                mailbox: s("owatagusiam/blurdybloop"),
                special_use: vec![],
            },
        ),
        // RFC 6154 §5.2
        (
            "t1 CREATE \"Everything\" (USE (\\All))",
            B::Create {
                mailbox: s("Everything"),
                special_use: strings(&["\\All"]),
            },
        ),
        (
            "t1 CREATE MySpecial (USE (\\Drafts \\Sent))",
            B::Create {
                mailbox: s("MySpecial"),
                special_use: strings(&["\\Drafts", "\\Sent"]),
            },
        ),
        ("A683 DELETE blurdybloop", B::Delete(s("blurdybloop"))),
        (
            "A683 RENAME blurdybloop sarasoop",
            B::Rename {
                from: s("blurdybloop"),
                to: s("sarasoop"),
            },
        ),
        (
            "A684 RENAME INBOX \"Old Mail\"",
            B::Rename {
                from: s("INBOX"),
                to: s("Old Mail"),
            },
        ),
        (
            "A002 SUBSCRIBE #news.comp.mail.mime",
            B::Subscribe(s("#news.comp.mail.mime")),
        ),
        (
            "A002 UNSUBSCRIBE #news.comp.mail.mime",
            B::Unsubscribe(s("#news.comp.mail.mime")),
        ),
        (
            "a CREATE Entw&APw-rfe",
            B::Create {
                mailbox: s("Entwürfe"),
                special_use: vec![],
            },
        ),
        ("a DELETE {5}\r\nInbox", B::Delete(s("INBOX"))),
        // RFC 9051 §6.3.11, RFC 8438, RFC 7162, RFC 8474
        (
            "A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
            B::Status {
                mailbox: s("blurdybloop"),
                items: vec![StatusItem::UidNext, StatusItem::Messages],
            },
        ),
        (
            "a STATUS INBOX (messages recent uidnext uidvalidity unseen deleted size highestmodseq appendlimit mailboxid)",
            B::Status {
                mailbox: s("INBOX"),
                items: vec![
                    StatusItem::Messages,
                    StatusItem::Recent,
                    StatusItem::UidNext,
                    StatusItem::UidValidity,
                    StatusItem::Unseen,
                    StatusItem::Deleted,
                    StatusItem::Size,
                    StatusItem::HighestModSeq,
                    StatusItem::AppendLimit,
                    StatusItem::MailboxId,
                ],
            },
        ),
        (
            "A003 COPY 2:4 MEETING",
            B::Copy {
                by: By::Seq,
                set: set(&[(2, 4)]),
                mailbox: s("MEETING"),
            },
        ),
        (
            "a UID MOVE 42:69 foo",
            B::Move {
                by: By::Uid,
                set: set(&[(42, 69)]),
                mailbox: s("foo"),
            },
        ),
        (
            "a MOVE $ Trash",
            B::Move {
                by: By::Seq,
                set: SequenceSet::Saved,
                mailbox: s("Trash"),
            },
        ),
        (
            "a UID EXPUNGE 3000:3002",
            B::UidExpunge(set(&[(3000, 3002)])),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
    // UTF8=ACCEPT: names are UTF-8, `&` is literal.
    assert_eq!(
        body_utf8("a CREATE \"Entwürfe & Co\""),
        B::Create {
            mailbox: s("Entwürfe & Co"),
            special_use: vec![]
        }
    );
}

fn list(f: impl FnOnce(&mut ListCommand)) -> CommandBody {
    let mut l = ListCommand::default();
    f(&mut l);
    B::List(l)
}

#[test]
fn list_and_lsub() {
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.3.9
        ("A101 LIST \"\" \"\"", list(|l| l.patterns = strings(&[""]))),
        (
            "A102 LIST #news.comp.mail.misc \"\"",
            list(|l| {
                l.reference = s("#news.comp.mail.misc");
                l.patterns = strings(&[""]);
            }),
        ),
        (
            "A202 LIST ~/Mail/ %",
            list(|l| {
                l.reference = s("~/Mail/");
                l.patterns = strings(&["%"]);
            }),
        ),
        ("a LIST \"\" *", list(|l| l.patterns = strings(&["*"]))),
        (
            "a LIST \"\" inbox",
            list(|l| l.patterns = strings(&["INBOX"])),
        ),
        (
            "a LIST \"\" Inbox/%",
            list(|l| l.patterns = strings(&["INBOX/%"])),
        ),
        (
            "a LIST \"\" &AOk-t&AOk-/*",
            list(|l| l.patterns = strings(&["été/*"])),
        ),
        // RFC 5258 §5
        (
            "A01 LIST (SUBSCRIBED) \"\" \"*\"",
            list(|l| {
                l.extended = true;
                l.select_subscribed = true;
                l.patterns = strings(&["*"]);
            }),
        ),
        (
            "A02 LIST (SUBSCRIBED REMOTE) \"\" \"*\" RETURN (CHILDREN)",
            list(|l| {
                l.extended = true;
                l.select_subscribed = true;
                l.select_remote = true;
                l.return_children = true;
                l.patterns = strings(&["*"]);
            }),
        ),
        (
            "A03 LIST \"\" (\"foo\" \"foo/*\")",
            list(|l| {
                l.extended = true;
                l.patterns = strings(&["foo", "foo/*"]);
            }),
        ),
        (
            "A04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
            list(|l| {
                l.extended = true;
                l.select_subscribed = true;
                l.select_recursive_match = true;
                l.return_children = true;
                l.patterns = strings(&["%"]);
            }),
        ),
        (
            "A05 LIST () \"\" % RETURN ()",
            list(|l| {
                l.extended = true;
                l.patterns = strings(&["%"]);
            }),
        ),
        (
            "A06 LIST \"\" % RETURN (SUBSCRIBED)",
            list(|l| {
                l.extended = true;
                l.return_subscribed = true;
                l.patterns = strings(&["%"]);
            }),
        ),
        // RFC 5819 §2
        (
            "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
            list(|l| {
                l.extended = true;
                l.patterns = strings(&["%"]);
                l.return_status = Some(vec![StatusItem::Messages, StatusItem::Unseen]);
            }),
        ),
        // RFC 6154 §5.1
        (
            "t1 LIST (SPECIAL-USE) \"\" \"*\"",
            list(|l| {
                l.extended = true;
                l.select_special_use = true;
                l.patterns = strings(&["*"]);
            }),
        ),
        (
            "t3 LIST \"\" \"%\" RETURN (SPECIAL-USE)",
            list(|l| {
                l.extended = true;
                l.return_special_use = true;
                l.patterns = strings(&["%"]);
            }),
        ),
        // RFC 3501 §6.3.9
        (
            "A002 LSUB \"#news.\" \"comp.mail.*\"",
            B::Lsub {
                reference: s("#news."),
                pattern: s("comp.mail.*"),
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line}");
    }
}
