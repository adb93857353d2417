//! Examples from the extension RFCs (5229, 5231, 5232, 5233, 5173, 5260, 5429, 5490, 5235,
//! 3894) run on sample messages.

use super::*;

const RELATIONAL_MSG: &str = "Received: from example.com by example.org\r
Received: from example.org by example.net\r
To: foo@example.com.invalid, baz@example.com.invalid\r
Cc: qux@example.com.invalid\r
From: bar@example.com.invalid\r
Subject: example\r
X-Priority: 1\r
\r
x\r
";

fn fileinto_flags(m: &str, flags: &[&str]) -> Action {
    Action::FileInto {
        mailbox: m.into(),
        flags: flags.iter().map(|s| s.to_string()).collect(),
        create: false,
    }
}

#[test]
fn rfc5229_variables() {
    let list = "List-ID: Sieve discussion <sieve.example.com>\r\nSubject: [acme-users] [fwd] version 1.0 is out\r\nTo: coyote@ACME.Example.COM\r\n\r\n";
    check_table(&[
        (
            "require [\"variables\", \"reject\"];\nset \"honorific\"  \"Mr\";\nset \"first_name\" \"Wile\";\nset \"last_name\"  \"Coyote\";\nset \"vacation\" text:\nDear ${HONORIFIC} ${last_name},\nI'm out, please leave a message after the meep.\n.\n;\nreject \"${vacation}\";",
            MSG_A,
            vec![Action::Reject {
                reason: "Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n"
                    .into(),
            }],
        ),
        (
            "require [\"fileinto\", \"variables\"];\nif header :matches \"List-ID\" \"*<*@*\" {\n    fileinto \"INBOX.lists.${2}\"; stop;\n}",
            "List-ID: Sieve discussion <sieve@example.com>\r\n\r\n",
            vec![fileinto("INBOX.lists.sieve")],
        ),
        (
            "require [\"fileinto\", \"variables\"];\nif header :matches \"Subject\" \"[*] *\" {\n    fileinto \"INBOX.lists.${1}\"; stop;\n}",
            list,
            vec![fileinto("INBOX.lists.acme-users")],
        ),
        (
            "require [\"fileinto\", \"variables\"];\nif address :matches [\"To\", \"Cc\"] [\"coyote@**.com\",\n        \"wile@**.com\"] {\n    fileinto \"INBOX.business.${2}\"; stop;\n}",
            list,
            vec![fileinto("INBOX.business.ACME.Example")],
        ),
        (
            "require [\"fileinto\", \"variables\"];\nif anyof (true, address :domain :matches \"To\" \"*.com\") {\n    fileinto \"x${1}\"; stop;\n}",
            list,
            vec![fileinto("x")],
        ),
        // §4.1 modifiers.
        (
            "require [\"variables\", \"fileinto\"];\nset \"a\" \"juMBlEd lETteRS\";\nset :length \"b\" \"${a}\"; fileinto \"${b}\";\nset :lower \"b\" \"${a}\"; fileinto \"${b}\";\nset :upperfirst \"b\" \"${a}\"; fileinto \"${b}\";\nset :upperfirst :lower \"b\" \"${a}\"; fileinto \"${b}\";\nset :quotewildcard \"b\" \"Rock*\"; fileinto \"${b}\";",
            MSG_A,
            vec![
                fileinto("15"),
                fileinto("jumbled letters"),
                fileinto("JuMBlEd lETteRS"),
                fileinto("Jumbled letters"),
                fileinto("Rock\\*"),
            ],
        ),
        // §5 string test.
        (
            "require \"variables\";\nset \"state\" \"${state} pending\";\nif string :matches \" ${state} \" \"* pending *\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        (
            "require [\"variables\", \"relational\"];\nif string :count \"eq\" [\"a\", \"\", \"b\"] \"2\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // Unknown variables are empty; a string that is no reference stays literal.
        (
            "require [\"variables\", \"fileinto\"];\nfileinto \"[${nope}][${a-b}]\";",
            MSG_A,
            vec![fileinto("[][${a-b}]")],
        ),
        // Match variables keep their value after a failed test.
        (
            "require [\"variables\", \"fileinto\"];\nif header :matches \"Subject\" \"I have *\" {}\nif header :matches \"Subject\" \"nomatch*\" {}\nfileinto \"${1}\";",
            MSG_A,
            vec![fileinto("a present for you")],
        ),
    ]);
}

#[test]
fn rfc5231_relational() {
    let t = |test: &str| {
        format!(
            "require [\"relational\", \"comparator-i;ascii-numeric\"];\nif {test} {{ discard; }}"
        )
    };
    let discard = vec![Action::Discard];
    let kept = vec![keep()];
    let rows: Vec<(String, Vec<Action>)> = vec![
        (
            t("address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"]"),
            discard.clone(),
        ),
        (
            t(
                "anyof ( address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\"] [\"3\"], address :count \"ge\" :comparator \"i;ascii-numeric\" [\"cc\"] [\"3\"] )",
            ),
            kept.clone(),
        ),
        (
            t("header :count \"ge\" :comparator \"i;ascii-numeric\" [\"received\"] [\"3\"]"),
            kept.clone(),
        ),
        (
            t("header :count \"ge\" :comparator \"i;ascii-numeric\" \"received\" \"2\""),
            discard.clone(),
        ),
        (
            t("header :value \"gt\" :comparator \"i;ascii-numeric\" [\"x-priority\"] [\"3\"]"),
            kept.clone(),
        ),
        (
            t("header :value \"lt\" :comparator \"i;ascii-numeric\" [\"x-priority\"] [\"3\"]"),
            discard.clone(),
        ),
        (
            t("header :value \"gt\" :comparator \"i;ascii-numeric\" [\"x-missing\"] [\"3\"]"),
            kept.clone(),
        ),
        (
            t("address :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"]"),
            discard.clone(),
        ),
        (
            t("header :value \"ne\" \"subject\" \"example\""),
            kept.clone(),
        ),
        (
            t("header :value \"gt\" \"subject\" \"EXAMPLA\""),
            discard.clone(),
        ),
    ];
    let rows: Vec<(&str, &str, Vec<Action>)> = rows
        .iter()
        .map(|(s, a)| (s.as_str(), RELATIONAL_MSG, a.clone()))
        .collect();
    check_table(&rows);
}

#[test]
fn rfc5232_imap4flags() {
    let boss =
        "From: boss@frobnitzm.example.edu\r\nDisposition-Notification-To: mel@example.com\r\n\r\n";
    let list = "From: imap@cac.washington.example.edu\r\nDisposition-Notification-To: mel@example.com\r\n\r\n";
    let mdn = r#"require ["imap4flags", "fileinto"];
if header :contains "Disposition-Notification-To" "mel@example.com" {
    addflag "$MDNRequired";
}
if header :contains "from" "imap@cac.washington.example.edu" {
    removeflag "$MDNRequired";
    fileinto "imap-list";
}"#;
    check_table(&[
        (
            "require [\"imap4flags\", \"fileinto\", \"variables\"];\nif header :contains \"from\" \"boss@frobnitzm.example.edu\" {\n    setflag \"flagvar\" \"\\\\Flagged\";\n    fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";\n}",
            boss,
            vec![fileinto_flags("INBOX.From Boss", &["\\Flagged"])],
        ),
        (mdn, boss, vec![keep_flags(&["$MDNRequired"])]),
        (mdn, list, vec![fileinto("imap-list")]),
        (
            "require [\"imap4flags\", \"fileinto\"];\nsetflag [\"\\\\Seen\", \"$a \\\\seen\"]; addflag \"$b\";\nif hasflag :is \"$A\" { fileinto \"has\"; }\nif hasflag :contains \"x\" { fileinto \"no\"; }\nremoveflag \"$b\";\nkeep :flags \"\\\\Deleted\";",
            MSG_A,
            vec![
                fileinto_flags("has", &["\\Seen", "$a", "$b"]),
                keep_flags(&["\\Deleted"]),
            ],
        ),
        (
            "require [\"imap4flags\", \"variables\", \"relational\"];\naddflag \"MyFlags\" [\"A\", \"B\"];\nif hasflag :count \"eq\" \"MyFlags\" \"2\" { addflag \"two\"; }",
            MSG_A,
            vec![keep_flags(&["two"])],
        ),
    ]);
}

#[test]
fn rfc5233_subaddress() {
    let script = r#"require ["envelope", "subaddress", "fileinto"];
if envelope :user "to" "postmaster" { fileinto "inbox.postmaster"; stop; }
if envelope :detail :is "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; stop; }
if address :detail "to" "" { fileinto "empty-detail"; stop; }
if address :user "to" "sales" { fileinto "sales"; stop; }
"#;
    let env = TestEnv::default();
    let cases = [
        (
            "postmaster+x@example.org",
            "To: a@b.c\r\n\r\n",
            fileinto("inbox.postmaster"),
        ),
        (
            "me+mta-filters@example.org",
            "To: a@b.c\r\n\r\n",
            fileinto("inbox.ietf-mta-filters"),
        ),
        (
            "me@example.org",
            "To: joe+@b.c\r\n\r\n",
            fileinto("empty-detail"),
        ),
        (
            "me@example.org",
            "To: sales+eu@b.c\r\n\r\n",
            fileinto("sales"),
        ),
        ("me@example.org", "To: joe@b.c\r\n\r\n", keep()),
    ];
    for (to, msg, want) in cases {
        let e = Envelope {
            to: to.into(),
            ..envelope()
        };
        assert_eq!(
            run_with(script, msg, &env, &e).unwrap().actions,
            vec![want],
            "{to} {msg}"
        );
    }
}

#[test]
fn rfc5173_body() {
    let mime = "From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nthe project schedule is caf=E9\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nTUFLRSBNT05FWSBGQVNU\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>World</b></p>\r\n--b--\r\n";
    check_table(&[
        (
            "require \"body\";\nif body :text :contains \"MAKE MONEY FAST\" { discard; }",
            "Subject: x\r\n\r\nplease make money fast now\r\n",
            vec![Action::Discard],
        ),
        (
            "require [\"body\", \"fileinto\"];\nif body :content \"text\" :contains \"project schedule\" { fileinto \"project/schedule\"; }",
            mime,
            vec![fileinto("project/schedule")],
        ),
        // Charset and transfer encoding decoded.
        (
            "require \"body\";\nif body :text :contains \"caf\u{e9}\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
        // :raw is undecoded.
        (
            "require \"body\";\nif body :raw :contains \"caf=E9\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
        (
            "require \"body\";\nif body :raw :contains \"caf\u{e9}\" { discard; }",
            mime,
            vec![keep()],
        ),
        // The base64 attachment is only seen with :content.
        (
            "require \"body\";\nif body :text :contains \"MONEY\" { discard; }",
            mime,
            vec![keep()],
        ),
        (
            "require \"body\";\nif body :content \"application/octet-stream\" :contains \"MONEY\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
        (
            "require \"body\";\nif body :content \"\" :contains \"MONEY\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
        // HTML is reduced to text for :text, raw for :content.
        (
            "require \"body\";\nif body :text :contains \"Hello World\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
        (
            "require \"body\";\nif body :content \"text/html\" :contains \"<b>\" { discard; }",
            mime,
            vec![Action::Discard],
        ),
    ]);
}

#[test]
fn rfc5260_date_and_index() {
    let boss = "From: boss@example.com\r\nDate: Tue, 1 Apr 1997 09:06:31 -0800\r\nReceived: from a by b; Tue, 1 Apr 1997 18:10:00 +0100\r\nReceived: from c by d; Tue, 1 Apr 1997 18:00:00 +0100\r\n\r\n";
    check_table(&[
        (
            "require [\"date\", \"relational\", \"fileinto\"];\nif allof(header :is \"from\" \"boss@example.com\",\n         date :value \"ge\" :originalzone \"date\" \"hour\" \"09\",\n         date :value \"lt\" :originalzone \"date\" \"hour\" \"17\")\n{ fileinto \"urgent\"; }",
            boss,
            vec![fileinto("urgent")],
        ),
        // In +0200 (the test clock's zone) 09:06 -0800 is 19:06.
        (
            "require [\"date\", \"relational\", \"fileinto\"];\nif date :value \"ge\" \"date\" \"hour\" \"17\" { fileinto \"late\"; }",
            boss,
            vec![fileinto("late")],
        ),
        (
            "require [\"date\", \"fileinto\"];\nif date :zone \"+0000\" :is \"date\" \"time\" \"17:06:31\" { fileinto \"utc\"; }",
            boss,
            vec![fileinto("utc")],
        ),
        (
            "require [\"date\", \"relational\", \"vacation\"];\nif allof(currentdate :value \"ge\" \"date\" \"2007-06-30\",\n         currentdate :value \"le\" \"date\" \"2007-07-07\")\n{ vacation :days 7  \"I'm away during the first week in July.\"; }",
            MSG_A,
            vec![
                Action::Vacation(crate::Vacation {
                    handle: crate::vacation::derive_handle(
                        "I'm away during the first week in July.",
                        None,
                        None,
                        false,
                    ),
                    period_seconds: 7 * 86400,
                    subject: None,
                    from: None,
                    addresses: vec![],
                    mime: false,
                    reason: "I'm away during the first week in July.".into(),
                    reply_to: "coyote@desert.example.org".into(),
                }),
                keep(),
            ],
        ),
        (
            "require [\"date\", \"variables\", \"fileinto\"];\nif currentdate :matches \"month\" \"*\" { set \"month\" \"${1}\"; }\nif currentdate :matches \"year\"  \"*\" { set \"year\"  \"${1}\"; }\nfileinto \"${month}-${year}\";",
            MSG_A,
            vec![fileinto("07-2007")],
        ),
        (
            "require [\"date\", \"variables\", \"fileinto\"];\nif currentdate :zone \"-0900\" :matches \"iso8601\" \"*\" { fileinto \"${1}\"; }\nif currentdate :matches \"std11\" \"*\" { fileinto \"${1}\"; }\nif currentdate :matches \"julian\" \"*\" { fileinto \"${1}\"; }\nif currentdate :is \"weekday\" \"3\" { fileinto \"wednesday\"; }",
            MSG_A,
            vec![
                fileinto("2007-07-03T23:30:00-09:00"),
                fileinto("Wed, 04 Jul 2007 10:30:00 +0200"),
                fileinto("54285"),
                fileinto("wednesday"),
            ],
        ),
        // index: the first Received (topmost) is 18:10, the last 18:00.
        (
            "require [\"date\", \"index\", \"fileinto\"];\nif date :index 1 :originalzone \"received\" \"time\" \"18:10:00\" { fileinto \"first\"; }\nif date :index 1 :last :originalzone \"received\" \"time\" \"18:00:00\" { fileinto \"last\"; }\nif header :index 2 :contains \"received\" \"from c\" { fileinto \"second\"; }\nif header :index 3 :contains \"received\" \"from\" { fileinto \"third\"; }\nif address :index 1 :is \"from\" \"boss@example.com\" { fileinto \"addr\"; }",
            boss,
            vec![
                fileinto("first"),
                fileinto("last"),
                fileinto("second"),
                fileinto("addr"),
            ],
        ),
        // A header without a valid date: the test is false.
        (
            "require \"date\";\nif date :is \"subject\" \"year\" \"1997\" { discard; }",
            boss,
            vec![keep()],
        ),
    ]);
}

#[test]
fn rfc5429_reject_and_ereject() {
    check_table(&[
        (
            "require [\"reject\"];\nif header :contains \"subject\" \"present\" {\n    reject \"I don't want your gift\";\n}",
            MSG_A,
            vec![Action::Reject {
                reason: "I don't want your gift".into(),
            }],
        ),
        (
            "require [\"ereject\"];\nif address :domain :is \"from\" \"desert.example.org\" {\n    ereject \"I no longer accept mail from this domain.\";\n}",
            MSG_A,
            vec![Action::Ereject {
                reason: "I no longer accept mail from this domain.".into(),
            }],
        ),
        (
            "require [\"reject\"];\nif size :over 100 {\n    reject text:\nYour message is too big.  If you want to send me a big attachment,\nput it on a public web site and send me a URL.\n.\n;\n}",
            MSG_A,
            vec![Action::Reject {
                reason: "Your message is too big.  If you want to send me a big attachment,\r\nput it on a public web site and send me a URL.\r\n".into(),
            }],
        ),
        ("require \"reject\"; discard; reject \"x\";", MSG_A, vec![Action::Reject { reason: "x".into() }]),
    ]);
    for script in [
        "require \"reject\"; keep; reject \"x\";",
        "require [\"reject\", \"fileinto\"]; reject \"x\"; fileinto \"a\";",
        "require \"reject\"; redirect \"a@b.c\"; reject \"x\";",
        "require [\"reject\", \"ereject\"]; reject \"x\"; ereject \"y\";",
        "require [\"reject\", \"vacation\"]; vacation \"away\"; reject \"x\";",
    ] {
        let r = run_with(script, MSG_A, &TestEnv::default(), &envelope());
        assert!(
            matches!(r, Err(RuntimeError::IncompatibleActions(_))),
            "{script}: {r:?}"
        );
    }
}

#[test]
fn rfc5490_mailbox_and_rfc3894_copy() {
    let create = Action::FileInto {
        mailbox: "INBOX.Partners".into(),
        flags: vec![],
        create: true,
    };
    check_table(&[
        (
            "require [\"fileinto\", \"mailbox\"];\nif mailboxexists \"Partners\" { fileinto \"Partners\"; } else { discard; }",
            MSG_A,
            vec![fileinto("Partners")],
        ),
        (
            "require [\"fileinto\", \"mailbox\"];\nif mailboxexists [\"Partners\", \"Nope\"] { fileinto \"Partners\"; }",
            MSG_A,
            vec![keep()],
        ),
        (
            "require [\"fileinto\", \"mailbox\"];\nfileinto :create \"INBOX.Partners\";",
            MSG_A,
            vec![create],
        ),
        (
            "require [\"copy\"];\nredirect :copy \"sales@example.com\";",
            MSG_A,
            vec![redirect("sales@example.com"), keep()],
        ),
        (
            "require [\"copy\", \"fileinto\"];\nfileinto :copy \"incoming\";",
            MSG_A,
            vec![fileinto("incoming"), keep()],
        ),
        (
            "require [\"copy\", \"fileinto\"];\nfileinto :copy \"incoming\"; discard;",
            MSG_A,
            vec![fileinto("incoming")],
        ),
    ]);
}

#[test]
fn rfc5235_spamtest_virustest() {
    let spam = r#"require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
elsif spamtest :value "ge" :comparator "i;ascii-numeric" "3" { fileinto "INBOX.spam-trap"; }"#;
    let plus = r#"require ["spamtestplus", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :percent :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
elsif spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50" { fileinto "INBOX.spam-trap"; }"#;
    let virus = r#"require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if virustest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
if virustest :value "eq" :comparator "i;ascii-numeric" "4" { fileinto "INBOX.quarantine"; }
elsif virustest :value "eq" :comparator "i;ascii-numeric" "5" { discard; }"#;
    let cases: Vec<(&str, TestEnv, Vec<Action>)> = vec![
        (
            spam,
            TestEnv::default(),
            vec![fileinto("INBOX.unclassified")],
        ),
        (
            spam,
            TestEnv {
                spam: Some(1),
                ..TestEnv::default()
            },
            vec![keep()],
        ),
        (
            spam,
            TestEnv {
                spam: Some(10),
                ..TestEnv::default()
            },
            vec![fileinto("INBOX.spam-trap")],
        ),
        (
            plus,
            TestEnv {
                spam_percent: Some(75),
                ..TestEnv::default()
            },
            vec![fileinto("INBOX.spam-trap")],
        ),
        (
            plus,
            TestEnv {
                spam_percent: Some(20),
                ..TestEnv::default()
            },
            vec![keep()],
        ),
        (
            virus,
            TestEnv::default(),
            vec![fileinto("INBOX.unclassified")],
        ),
        (
            virus,
            TestEnv {
                virus: Some(4),
                ..TestEnv::default()
            },
            vec![fileinto("INBOX.quarantine")],
        ),
        (
            virus,
            TestEnv {
                virus: Some(5),
                ..TestEnv::default()
            },
            vec![Action::Discard],
        ),
        (
            virus,
            TestEnv {
                virus: Some(1),
                ..TestEnv::default()
            },
            vec![keep()],
        ),
    ];
    for (script, env, want) in cases {
        let got = run_with(script, MSG_A, &env, &envelope()).unwrap().actions;
        assert_eq!(got, want, "{script}");
    }
}
