//! RFC 5230 / RFC 6131 vacation: the action's fields, and `vacation_allowed`.

use super::*;
use crate::{Vacation, vacation_allowed};

fn vacation_of(script: &str, msg: &str) -> Vacation {
    let acts = actions(script, msg);
    acts.into_iter()
        .find_map(|a| match a {
            Action::Vacation(v) => Some(v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no vacation action from {script}"))
}

#[test]
fn rfc5230_examples() {
    let v = vacation_of(
        "require \"vacation\";\nif header :contains \"subject\" \"cyrus\" {\n    vacation \"I'm out -- send mail to cyrus-bugs\";\n} else {\n    vacation \"I'm out -- call me at +1 304 555 0123\";\n}",
        MSG_A,
    );
    assert_eq!(v.reason, "I'm out -- call me at +1 304 555 0123");
    assert_eq!(v.period_seconds, 7 * 86400);
    assert_eq!(v.reply_to, "coyote@desert.example.org");

    let v = vacation_of(
        "require \"vacation\";\nvacation :days 23 :addresses [\"tjs@example.edu\",\n                           \"ts4z@landru.example.edu\"]\n   \"I'm away until October 19.\n   If it's an emergency, call 911, I guess.\" ;",
        MSG_A,
    );
    assert_eq!(v.period_seconds, 23 * 86400);
    assert_eq!(v.addresses, ["tjs@example.edu", "ts4z@landru.example.edu"]);
    assert_eq!(
        v.reason,
        "I'm away until October 19.\n   If it's an emergency, call 911, I guess."
    );

    let boss = "From: boss@example.edu\r\nTo: me@example.edu\r\n\r\n";
    assert_eq!(
        actions(
            "require \"vacation\";\nif header :contains \"from\" \"boss@example.edu\" {\n    redirect \"pleeb@xanadu.example.edu\";\n} else {\n    vacation \"Sorry, I'm away, I'll read your message when I get around to it.\";\n}",
            boss
        ),
        vec![redirect("pleeb@xanadu.example.edu")]
    );

    let v = vacation_of(
        "require \"vacation\";\nvacation :mime text:\nContent-Type: multipart/alternative; boundary=foo\n\n--foo\n\nI'm at the beach relaxing.  Mmmm, surf...\n\n--foo--\n.\n;",
        MSG_A,
    );
    assert!(v.mime);
    assert!(
        v.reason
            .starts_with("Content-Type: multipart/alternative; boundary=foo\r\n\r\n--foo\r\n")
    );

    // :handle: the same handle for both branches.
    let script = "require \"vacation\";\nif header :contains \"subject\" \"lunch\" {\n    vacation :handle \"ran-away\" \"I'm out and can't meet for lunch\";\n} else {\n    vacation :handle \"ran-away\" \"I'm out\";\n}";
    assert_eq!(vacation_of(script, MSG_A).handle, "ran-away");
    assert_eq!(
        vacation_of(script, "Subject: lunch?\r\n\r\n").handle,
        "ran-away"
    );

    // :subject with variables, :from.
    let v = vacation_of(
        "require [\"vacation\", \"variables\"];\nif header :matches \"subject\" \"*\" {\n  vacation :subject \"Automatic response to: ${1}\" :from \"hemingway@example.com\" \"I'm away\";\n}",
        MSG_A,
    );
    assert_eq!(
        v.subject.as_deref(),
        Some("Automatic response to: I have a present for you")
    );
    assert_eq!(v.from.as_deref(), Some("hemingway@example.com"));

    // Default handles differ when the reason differs, and :days 0 is raised to 1.
    let a = vacation_of("require \"vacation\"; vacation :days 0 \"a\";", MSG_A);
    let b = vacation_of("require \"vacation\"; vacation \"b\";", MSG_A);
    assert_ne!(a.handle, b.handle);
    assert_eq!(a.period_seconds, 86400);

    // RFC 6131 :seconds.
    let v = vacation_of(
        "require [\"vacation\", \"vacation-seconds\"]; vacation :seconds 1800 \"half an hour\";",
        MSG_A,
    );
    assert_eq!(v.period_seconds, 1800);

    // Vacation does not cancel the implicit keep; a second one is an error.
    assert_eq!(
        actions("require \"vacation\"; vacation \"x\";", MSG_A).last(),
        Some(&keep())
    );
    assert!(matches!(
        run_with(
            "require \"vacation\"; vacation \"x\"; vacation \"y\";",
            MSG_A,
            &TestEnv::default(),
            &envelope()
        ),
        Err(RuntimeError::IncompatibleActions(_))
    ));
}

fn base_vacation() -> Vacation {
    Vacation {
        handle: "h".into(),
        period_seconds: 86400,
        subject: None,
        from: None,
        addresses: vec!["alias@example.com".into()],
        mime: false,
        reason: "away".into(),
        reply_to: "sender@other.org".into(),
    }
}

#[test]
fn vacation_allowed_cases() {
    let own = vec!["me@example.com".to_string()];
    let env = |from: &str| Envelope {
        from: from.into(),
        to: "me@example.com".into(),
        auth: None,
    };
    let ok_msg = "From: sender@other.org\r\nTo: Me <me@example.com>\r\nSubject: hi\r\n\r\nx\r\n";
    let v = base_vacation();
    let cases: Vec<(&str, String, bool)> = vec![
        ("plain personal mail", ok_msg.to_string(), true),
        (
            "address in Cc",
            "From: a@b.c\r\nTo: x@y.z\r\nCc: me@example.com\r\n\r\n".into(),
            true,
        ),
        (
            "Resent-To",
            "From: a@b.c\r\nResent-To: me@example.com\r\n\r\n".into(),
            true,
        ),
        (
            ":addresses alias",
            "From: a@b.c\r\nTo: alias@example.com\r\n\r\n".into(),
            true,
        ),
        (
            "subaddress of own",
            "From: a@b.c\r\nTo: me+tag@example.com\r\n\r\n".into(),
            true,
        ),
        (
            "list mail",
            format!("List-Id: <l.example.org>\r\n{ok_msg}"),
            false,
        ),
        (
            "List-Unsubscribe",
            format!("List-Unsubscribe: <mailto:x@y>\r\n{ok_msg}"),
            false,
        ),
        ("bulk", format!("Precedence: bulk\r\n{ok_msg}"), false),
        ("junk", format!("Precedence: junk\r\n{ok_msg}"), false),
        (
            "auto-submitted",
            format!("Auto-Submitted: auto-replied\r\n{ok_msg}"),
            false,
        ),
        (
            "auto-submitted no",
            format!("Auto-Submitted: no\r\n{ok_msg}"),
            true,
        ),
        (
            "not addressed to me",
            "From: a@b.c\r\nTo: other@example.com\r\n\r\n".into(),
            false,
        ),
        ("no recipient fields", "From: a@b.c\r\n\r\n".into(), false),
    ];
    for (what, msg, allowed) in cases {
        let r = vacation_allowed(msg.as_bytes(), &env("sender@other.org"), &v, &own);
        assert_eq!(r.is_ok(), allowed, "{what}: {r:?}");
    }
    for (from, why) in [
        ("", "null sender"),
        ("MAILER-DAEMON@example.org", "mailer-daemon"),
        ("owner-list@example.org", "owner-"),
        ("list-request@example.org", "-request"),
        ("me@example.com", "own mail"),
        ("ME+x@Example.com", "own mail, subaddress"),
        ("alias@example.com", "own alias"),
    ] {
        let r = vacation_allowed(ok_msg.as_bytes(), &env(from), &v, &own);
        assert!(r.is_err(), "{why}: {r:?}");
    }
}
