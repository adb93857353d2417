//! APPEND (MULTIAPPEND, literal8), QUOTA, ACL, METADATA and NOTIFY examples.

use super::*;
use CommandBody as B;

#[test]
fn append_forms() {
    let msg = |flags: &[&str], date: Option<(i64, i16)>, data: &[u8], binary: bool| AppendMessage {
        flags: strings(flags),
        date,
        data: data.to_vec(),
        binary,
    };
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9051 §6.3.12 (body shortened)
        (
            "A003 APPEND saved-messages (\\Seen) {12}\r\nHello Joe!\r\n",
            B::Append {
                mailbox: s("saved-messages"),
                messages: vec![msg(&["\\Seen"], None, b"Hello Joe!\r\n", false)],
            },
        ),
        (
            "A003 APPEND INBOX {3+}\r\nabc",
            B::Append {
                mailbox: s("INBOX"),
                messages: vec![msg(&[], None, b"abc", false)],
            },
        ),
        (
            "a APPEND Drafts (\\Draft $Label1) \"17-Jul-1996 02:44:25 -0700\" {1}\r\nx",
            B::Append {
                mailbox: s("Drafts"),
                messages: vec![msg(
                    &["\\Draft", "$Label1"],
                    Some((837_596_665, -420)),
                    b"x",
                    false,
                )],
            },
        ),
        (
            "a APPEND x \" 7-Jul-1996 02:44:25 +0000\" {1}\r\nx",
            B::Append {
                mailbox: s("x"),
                messages: vec![msg(&[], Some((836_707_465, 0)), b"x", false)],
            },
        ),
        // RFC 3502 MULTIAPPEND §6
        (
            "A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Seen) {2}\r\nde",
            B::Append {
                mailbox: s("saved-messages"),
                messages: vec![
                    msg(&["\\Seen"], None, b"abc", false),
                    msg(&["\\Seen"], None, b"de", false),
                ],
            },
        ),
        (
            "a APPEND x () {1}\r\na {1}\r\nb",
            B::Append {
                mailbox: s("x"),
                messages: vec![msg(&[], None, b"a", false), msg(&[], None, b"b", false)],
            },
        ),
        // RFC 3516 literal8
        (
            "a APPEND x ~{3}\r\na\0b",
            B::Append {
                mailbox: s("x"),
                messages: vec![msg(&[], None, b"a\0b", true)],
            },
        ),
        // RFC 6855 §4 (UTF8=ACCEPT)
        (
            "a APPEND x (\\Seen) UTF8 (~{2}\r\nab) UTF8 (~{1+}\r\nc)",
            B::Append {
                mailbox: s("x"),
                messages: vec![
                    msg(&["\\Seen"], None, b"ab", true),
                    msg(&[], None, b"c", true),
                ],
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line:?}");
    }
}

#[test]
fn quota_acl_metadata_notify() {
    let md = |max_size, depth| MetadataOptions { max_size, depth };
    let cases: Vec<(&str, CommandBody)> = vec![
        // RFC 9208 §4
        (
            "G0001 GETQUOTA \"!partition/sda4\"",
            B::GetQuota(s("!partition/sda4")),
        ),
        ("G0002 GETQUOTAROOT INBOX", B::GetQuotaRoot(s("INBOX"))),
        (
            "S0000 SETQUOTA \"#user/alice\" (STORAGE 510)",
            B::SetQuota {
                root: s("#user/alice"),
                limits: vec![(s("STORAGE"), 510)],
            },
        ),
        (
            "S1 SETQUOTA \"\" (storage 1 message 2)",
            B::SetQuota {
                root: s(""),
                limits: vec![(s("STORAGE"), 1), (s("MESSAGE"), 2)],
            },
        ),
        (
            "S2 SETQUOTA x ()",
            B::SetQuota {
                root: s("x"),
                limits: vec![],
            },
        ),
        // RFC 4314 §3
        ("A001 GETACL INBOX", B::GetAcl(s("INBOX"))),
        (
            "A002 SETACL INBOX/Drafts Chris +cda",
            B::SetAcl {
                mailbox: s("INBOX/Drafts"),
                identifier: s("Chris"),
                rights: s("+cda"),
            },
        ),
        (
            "A035 SETACL INBOX/Drafts John lrQswicda",
            B::SetAcl {
                mailbox: s("INBOX/Drafts"),
                identifier: s("John"),
                rights: s("lrQswicda"),
            },
        ),
        (
            "A036 SETACL INBOX/Drafts anyone -w",
            B::SetAcl {
                mailbox: s("INBOX/Drafts"),
                identifier: s("anyone"),
                rights: s("-w"),
            },
        ),
        (
            "A004 DELETEACL INBOX/Drafts Chris",
            B::DeleteAcl {
                mailbox: s("INBOX/Drafts"),
                identifier: s("Chris"),
            },
        ),
        (
            "a LISTRIGHTS ~/Mail/saved smith",
            B::ListRights {
                mailbox: s("~/Mail/saved"),
                identifier: s("smith"),
            },
        ),
        ("A003 MYRIGHTS INBOX", B::MyRights(s("INBOX"))),
        // RFC 5464 §4.2, §4.3
        (
            "a GETMETADATA \"\" /shared/comment",
            B::GetMetadata {
                mailbox: s(""),
                options: md(None, Some(0)),
                entries: strings(&["/shared/comment"]),
            },
        ),
        (
            "a GETMETADATA INBOX (/shared/comment /private/comment)",
            B::GetMetadata {
                mailbox: s("INBOX"),
                options: md(None, Some(0)),
                entries: strings(&["/shared/comment", "/private/comment"]),
            },
        ),
        (
            "a GETMETADATA \"INBOX\" (MAXSIZE 1024) (\"/shared/comment\" \"/private/comment\")",
            B::GetMetadata {
                mailbox: s("INBOX"),
                options: md(Some(1024), Some(0)),
                entries: strings(&["/shared/comment", "/private/comment"]),
            },
        ),
        (
            "a GETMETADATA (MAXSIZE 1024) \"INBOX\" \"/shared/comment\"",
            B::GetMetadata {
                mailbox: s("INBOX"),
                options: md(Some(1024), Some(0)),
                entries: strings(&["/shared/comment"]),
            },
        ),
        (
            "a GETMETADATA \"INBOX\" (DEPTH 1) (/private/filters/values /shared/filters/values)",
            B::GetMetadata {
                mailbox: s("INBOX"),
                options: md(None, Some(1)),
                entries: strings(&["/private/filters/values", "/shared/filters/values"]),
            },
        ),
        (
            "a GETMETADATA (DEPTH infinity MAXSIZE 5) \"\" /shared",
            B::GetMetadata {
                mailbox: s(""),
                options: md(Some(5), None),
                entries: strings(&["/shared"]),
            },
        ),
        (
            "a SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)",
            B::SetMetadata {
                mailbox: s("INBOX"),
                entries: vec![(
                    s("/private/comment"),
                    Some(b"My new comment across\r\ntwo lines.".to_vec()),
                )],
            },
        ),
        (
            "a SETMETADATA INBOX (/private/comment NIL)",
            B::SetMetadata {
                mailbox: s("INBOX"),
                entries: vec![(s("/private/comment"), None)],
            },
        ),
        (
            "a SETMETADATA \"\" (/shared/comment \"Shared comment\" /shared/x ~{2}\r\n\0\x01)",
            B::SetMetadata {
                mailbox: s(""),
                entries: vec![
                    (s("/shared/comment"), Some(b"Shared comment".to_vec())),
                    (s("/shared/x"), Some(vec![0, 1])),
                ],
            },
        ),
        // RFC 5465 §8 (events parenthesized as the grammar requires)
        ("a NOTIFY NONE", B::Notify(NotifyCommand::None)),
        (
            "a notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew))",
            B::Notify(NotifyCommand::Set {
                status: true,
                groups: vec![
                    NotifyGroup {
                        filter: NotifyFilter::Selected,
                        events: vec![
                            NotifyEvent::MessageNew(Some(FetchItems(vec![
                                FetchAttr::Uid,
                                FetchAttr::BodySection {
                                    peek: true,
                                    section: Section {
                                        part: vec![],
                                        text: Some(SectionText::HeaderFields {
                                            not: false,
                                            fields: strings(&["from", "to", "subject"]),
                                        }),
                                    },
                                    partial: None,
                                },
                            ]))),
                            NotifyEvent::MessageExpunge,
                        ],
                    },
                    NotifyGroup {
                        filter: NotifyFilter::Subtree(strings(&["Lists"])),
                        events: vec![NotifyEvent::MessageNew(None)],
                    },
                ],
            }),
        ),
        (
            "a NOTIFY SET (personal (MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange FlagChange AnnotationChange)) (mailboxes (INBOX foo) NONE) (inboxes NONE) (subscribed NONE) (selected-delayed NONE)",
            B::Notify(NotifyCommand::Set {
                status: false,
                groups: vec![
                    NotifyGroup {
                        filter: NotifyFilter::Personal,
                        events: vec![
                            NotifyEvent::MailboxName,
                            NotifyEvent::SubscriptionChange,
                            NotifyEvent::MailboxMetadataChange,
                            NotifyEvent::ServerMetadataChange,
                            NotifyEvent::FlagChange,
                            NotifyEvent::AnnotationChange,
                        ],
                    },
                    NotifyGroup {
                        filter: NotifyFilter::Mailboxes(strings(&["INBOX", "foo"])),
                        events: vec![],
                    },
                    NotifyGroup {
                        filter: NotifyFilter::Inboxes,
                        events: vec![],
                    },
                    NotifyGroup {
                        filter: NotifyFilter::Subscribed,
                        events: vec![],
                    },
                    NotifyGroup {
                        filter: NotifyFilter::SelectedDelayed,
                        events: vec![],
                    },
                ],
            }),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(body(line), want, "{line:?}");
    }
}
