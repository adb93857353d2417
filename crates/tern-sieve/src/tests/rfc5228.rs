//! RFC 5228 examples (sections 2–5 and 9) and base-language semantics.

use super::*;

const SECTION_9: &str = r#"
# Example Sieve Filter
# Declare any optional features or extension used by the script
require ["fileinto"];

# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"#;

const IF_CHAIN: &str = r#"
if header :contains ["from"] ["coyote"] {
    redirect "acm@example.com";
} elsif header :contains "subject" "$$$" {
    redirect "postmaster@example.com";
} else {
    redirect "field@example.com";
}
"#;

#[test]
fn rfc5228_examples() {
    let list_mail =
        "Sender: owner-ietf-mta-filters@imc.org\r\nTo: x@y.org\r\nSubject: hi\r\n\r\nbody\r\n";
    let company = "From: boss@example.com\r\nTo: me@example.com\r\nSubject: meeting\r\n\r\nx\r\n";
    let personal = "From: friend@other.org\r\nTo: me@example.com.au\r\nSubject: hello\r\n\r\nx\r\n";
    let spam = "From: a@b.org\r\nTo: me@example.com.au\r\nSubject: How to MAKE big MONEY FAST\r\n\r\nx\r\n";
    check_table(&[
        // §2.3 comments.
        (
            "if size :over 100k { # this is a comment\n    discard;\n}\n",
            MSG_A,
            vec![keep()],
        ),
        (
            "if size :over 100K { /* this is a comment\n    this is still a comment */ discard /* this is a comment\n    */ ;\n}\n",
            MSG_A,
            vec![keep()],
        ),
        (
            "if size :over 100 { # this is a comment\n    discard;\n}\n",
            MSG_A,
            vec![Action::Discard],
        ),
        // §3.1 if/elsif/else.
        (IF_CHAIN, MSG_A, vec![redirect("acm@example.com")]),
        (IF_CHAIN, MSG_B, vec![redirect("postmaster@example.com")]),
        (
            IF_CHAIN,
            "From: x@y.org\r\nSubject: x\r\n\r\n",
            vec![redirect("field@example.com")],
        ),
        // §3.2 require, §3.3 stop.
        (
            "require [\"fileinto\"];\nrequire \"fileinto\";\nstop;\ndiscard;",
            MSG_A,
            vec![keep()],
        ),
        // §4.1 fileinto.
        (
            "require \"fileinto\";\nif header :contains [\"from\"] \"coyote\" {\n   fileinto \"INBOX.harassment\";\n}\n",
            MSG_A,
            vec![fileinto("INBOX.harassment")],
        ),
        // §4.2 redirect.
        (
            "redirect \"bart@example.com\";",
            MSG_A,
            vec![redirect("bart@example.com")],
        ),
        // §4.3 keep.
        (
            "if size :under 1M { keep; } else { discard; }",
            MSG_A,
            vec![keep()],
        ),
        ("if not size :under 1M { discard; }", MSG_A, vec![keep()]),
        (
            "if size :under 10 { keep; } else { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // §4.4 discard.
        ("discard;", MSG_A, vec![Action::Discard]),
        // §5.1 address.
        (
            "if address :is :all \"from\" \"tim@example.com\" { discard; }",
            "From: Tim <tim@example.com>\r\n\r\n",
            vec![Action::Discard],
        ),
        (
            "if address :is :all \"from\" \"tim@example.com\" { discard; }",
            MSG_A,
            vec![keep()],
        ),
        (
            "if address :localpart :is \"from\" \"coyote\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        (
            "if address :domain :is \"from\" \"DESERT.example.org\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // §5.2/5.3 allof/anyof.
        ("if allof (true, false) { discard; }", MSG_A, vec![keep()]),
        (
            "if allof (true, true) { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        ("if anyof (false, false) { discard; }", MSG_A, vec![keep()]),
        (
            "if anyof (false, true) { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // §5.4 envelope.
        (
            "require \"envelope\";\nif envelope :all :is \"from\" \"tim@example.com\" { discard; }",
            MSG_A,
            vec![keep()],
        ),
        (
            "require \"envelope\";\nif envelope :domain :is \"from\" \"desert.example.org\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // §5.5 exists.
        (
            "if exists [\"From\",\"Date\"] { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        (
            "if exists [\"From\",\"Cc\"] { discard; }",
            MSG_A,
            vec![keep()],
        ),
        // §5.7 header.
        (
            "if header :is [\"X-Caffeine\"] [\"\"] { discard; }",
            "X-Caffeine: \r\n\r\n",
            vec![Action::Discard],
        ),
        (
            "if header :contains \"X-Caffeine\" \"\" { discard; }",
            MSG_A,
            vec![keep()],
        ),
        (
            "if header :contains [\"From\", \"To\"] [\"frobnitzm\", \"acme\"] { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        (
            "if header :is :comparator \"i;octet\" \"Subject\" \"I HAVE A PRESENT FOR YOU\" { discard; }",
            MSG_A,
            vec![keep()],
        ),
        (
            "if header :is \"Subject\" \"I HAVE A PRESENT FOR YOU\" { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        // §5.9 size.
        ("if size :over 500K { discard; }", MSG_A, vec![keep()]),
        // §9.
        (SECTION_9, list_mail, vec![fileinto("filter")]),
        (SECTION_9, company, vec![keep()]),
        (SECTION_9, personal, vec![fileinto("personal")]),
        (SECTION_9, spam, vec![fileinto("spam")]),
        (SECTION_9, MSG_B, vec![fileinto("spam")]),
    ]);
}

#[test]
fn implicit_keep_and_cancellation() {
    check_table(&[
        ("", MSG_A, vec![keep()]),
        ("keep;", MSG_A, vec![keep()]),
        ("keep; keep;", MSG_A, vec![keep()]),
        ("discard; keep;", MSG_A, vec![keep()]),
        ("keep; discard;", MSG_A, vec![keep()]),
        (
            "require \"fileinto\"; fileinto \"a\"; fileinto \"a\"; fileinto \"b\";",
            MSG_A,
            vec![fileinto("a"), fileinto("b")],
        ),
        (
            "require \"fileinto\"; fileinto \"INBOX\";",
            MSG_A,
            vec![keep()],
        ),
        (
            "require \"fileinto\"; fileinto \"a\"; keep;",
            MSG_A,
            vec![fileinto("a"), keep()],
        ),
        (
            "redirect \"a@example.com\"; redirect \"A@example.com\";",
            MSG_A,
            vec![redirect("a@example.com")],
        ),
        (
            "require \"fileinto\"; discard; fileinto \"x\";",
            MSG_A,
            vec![fileinto("x")],
        ),
        // Strings: escapes and multi-line with dot-stuffing.
        (
            "require \"fileinto\"; fileinto \"a\\\\b\\\"c\";",
            MSG_A,
            vec![fileinto("a\\b\"c")],
        ),
        (
            "require \"reject\";\nreject text:\nline one\n..two\n.\n;",
            MSG_A,
            vec![Action::Reject {
                reason: "line one\r\n.two\r\n".into(),
            }],
        ),
        // Matches with escapes; numbers with suffixes.
        (
            "if header :matches \"Subject\" \"\\\\$\\\\$\\\\$ *\" { discard; }",
            MSG_B,
            vec![Action::Discard],
        ),
        ("if size :over 1K { discard; }", MSG_A, vec![keep()]),
        (
            "if size :over 0K { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
        (
            "if size :under 1G { discard; }",
            MSG_A,
            vec![Action::Discard],
        ),
    ]);
}

#[test]
fn encoded_character() {
    check_table(&[
        (
            "require \"encoded-character\";\nif header :contains \"Subject\" \"${hex:24 24}\" { discard; }",
            MSG_B,
            vec![Action::Discard],
        ),
        (
            "require [\"encoded-character\", \"fileinto\"];\nfileinto \"${unicode:263A}\";",
            MSG_A,
            vec![fileinto("\u{263A}")],
        ),
        // Without the capability the text is literal.
        (
            "require \"fileinto\";\nfileinto \"${hex:41}\";",
            MSG_A,
            vec![fileinto("${hex:41}")],
        ),
    ]);
}

#[test]
fn encoded_headers_are_decoded() {
    let msg = "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\nSubject: =?utf-8?B?w6l0w6k=?=\r\n\r\nx\r\n";
    check_table(&[
        (
            "if header :is \"Subject\" \"\u{e9}t\u{e9}\" { discard; }",
            msg,
            vec![Action::Discard],
        ),
        (
            "if header :contains \"From\" \"Andr\u{e9}\" { discard; }",
            msg,
            vec![Action::Discard],
        ),
        (
            "if address :is \"From\" \"andre@example.org\" { discard; }",
            msg,
            vec![Action::Discard],
        ),
    ]);
}
