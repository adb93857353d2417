//! Malformed input: a ParseError with a reason (and the tag when readable), never a panic.

use super::*;

#[test]
fn malformed_commands_are_rejected_with_reasons() {
    // (input, tag expected in the error, substring of the reason)
    let cases: &[(&[u8], Option<&str>, &str)] = &[
        (b"", None, "tag"),
        (b" NOOP", None, "tag"),
        (b"+tag NOOP", None, "tag"),
        (b"a1", Some("a1"), "Missing command"),
        (b"a1 ", Some("a1"), "Missing command"),
        (b"a1 FROBNICATE", Some("a1"), "Unknown command FROBNICATE"),
        (b"a1 UID FROB 1", Some("a1"), "Unknown command UID FROB"),
        (b"a1 NOOP extra", Some("a1"), "Unexpected text"),
        (b"a1 NOOP ", Some("a1"), "Unexpected text"),
        (b"a1 LOGIN fred", Some("a1"), "space"),
        (b"a1 LOGIN fred  secret", Some("a1"), "password"),
        (b"a1 LOGIN \"fred secret", Some("a1"), "Unterminated"),
        (b"a1 LOGIN \"fr\\ed\" x", Some("a1"), "escape"),
        (b"a1 LOGIN {10}\r\nshort", Some("a1"), "shorter"),
        (b"a1 LOGIN {3}xyz x", Some("a1"), "CRLF"),
        (
            b"a1 LOGIN {99999999999999999999}\r\n",
            Some("a1"),
            "too large",
        ),
        (b"a1 AUTHENTICATE PLAIN !!!!", Some("a1"), "base64"),
        (b"a1 AUTHENTICATE PLAIN AGZyZWQ", Some("a1"), "base64"),
        (b"a1 SELECT", Some("a1"), "space"),
        (
            b"a1 SELECT INBOX (FOO)",
            Some("a1"),
            "Unknown SELECT parameter FOO",
        ),
        (b"a1 SELECT INBOX (QRESYNC (0 1))", Some("a1"), "Zero"),
        (b"a1 SELECT INBOX (QRESYNC (1))", Some("a1"), "space"),
        (b"a1 SELECT A&B", Some("a1"), "modified UTF-7"),
        (b"a1 SELECT \"a\\\"b\x01\"", Some("a1"), "control"),
        (b"a1 CREATE x (USE (Sent))", Some("a1"), "special-use"),
        (b"a1 CREATE x (FOO)", Some("a1"), "Unknown CREATE parameter"),
        (b"a1 STATUS INBOX ()", Some("a1"), "Empty list"),
        (
            b"a1 STATUS INBOX (MESSAGES BOGUS)",
            Some("a1"),
            "Unknown STATUS item BOGUS",
        ),
        (b"a1 LIST \"\"", Some("a1"), "space"),
        (
            b"a1 LIST (RECURSIVEMATCH) \"\" *",
            Some("a1"),
            "RECURSIVEMATCH",
        ),
        (b"a1 LIST (BOGUS) \"\" *", Some("a1"), "selection option"),
        (
            b"a1 LIST \"\" * RETURN (BOGUS)",
            Some("a1"),
            "return option",
        ),
        (b"a1 LIST \"\" * CHILDREN", Some("a1"), "RETURN"),
        (b"a1 APPEND INBOX", Some("a1"), "space"),
        (b"a1 APPEND INBOX hello", Some("a1"), "literal"),
        (
            b"a1 APPEND INBOX (\\Seen) \"31-Feb-2000 00:00:00 +0000\" {1}\r\nx",
            Some("a1"),
            "day of month",
        ),
        (
            b"a1 APPEND INBOX \"1-Jan-2000 25:00:00 +0000\" {1}\r\nx",
            Some("a1"),
            "time",
        ),
        (
            b"a1 APPEND INBOX \"1-Foo-2000 00:00:00 +0000\" {1}\r\nx",
            Some("a1"),
            "month",
        ),
        (
            b"a1 APPEND INBOX \"1-Jan-2000 00:00:00 0000\" {1}\r\nx",
            Some("a1"),
            "zone",
        ),
        (b"a1 APPEND INBOX {1}\r\nx junk", Some("a1"), "literal"),
        (
            b"a1 APPEND INBOX UTF8 {1}\r\nx",
            Some("a1"),
            "'(' after UTF8",
        ),
        (
            b"a1 APPEND INBOX UTF8 (\"x\")",
            Some("a1"),
            "literal8 after UTF8",
        ),
        (
            b"a1 APPEND INBOX UTF8 (~{1}\r\nx",
            Some("a1"),
            "')' after the UTF8 literal",
        ),
        (b"a1 FETCH 1", Some("a1"), "space"),
        (b"a1 FETCH 0 FLAGS", Some("a1"), "sequence set"),
        (b"a1 FETCH 1:x FLAGS", Some("a1"), "sequence set"),
        (b"a1 FETCH 1 (FLAGS", Some("a1"), "space"),
        (b"a1 FETCH 1 ()", Some("a1"), "Empty list"),
        (b"a1 FETCH 1 BOGUS", Some("a1"), "Unknown FETCH item BOGUS"),
        (
            b"a1 FETCH 1 (FLAGS ALL)",
            Some("a1"),
            "Unknown FETCH item ALL",
        ),
        (b"a1 FETCH 1 BODY[0]", Some("a1"), "Zero"),
        (b"a1 FETCH 1 BODY[MIME]", Some("a1"), "section"),
        (b"a1 FETCH 1 BODY[HEADER.FIELDS]", Some("a1"), "space"),
        (b"a1 FETCH 1 BODY[]<5>", Some("a1"), "partial"),
        (b"a1 FETCH 1 BODY[]<5.0>", Some("a1"), "Zero"),
        (b"a1 FETCH 1 BINARY[TEXT]", Some("a1"), "number"),
        (b"a1 FETCH 1 FLAGS (VANISHED)", Some("a1"), "VANISHED"),
        (
            b"a1 FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)",
            Some("a1"),
            "VANISHED",
        ),
        (
            b"a1 UID FETCH 1 FLAGS (BOGUS)",
            Some("a1"),
            "Unknown FETCH modifier",
        ),
        (b"a1 STORE 1 FLAGS", Some("a1"), "space"),
        (b"a1 STORE 1 LABELS (x)", Some("a1"), "FLAGS"),
        (
            b"a1 STORE 1 (FOO 1) FLAGS (x)",
            Some("a1"),
            "STORE modifier",
        ),
        (b"a1 STORE 1 +FLAGS (\\)", Some("a1"), "flag"),
        (b"a1 SEARCH", Some("a1"), "space"),
        (b"a1 SEARCH BOGUS", Some("a1"), "Unknown search key BOGUS"),
        (b"a1 SEARCH SINCE 1-Feb-94", Some("a1"), "year"),
        (b"a1 SEARCH SINCE 123-Feb-1994", Some("a1"), "date"),
        (b"a1 SEARCH OR SEEN", Some("a1"), "space"),
        (b"a1 SEARCH NOT", Some("a1"), "space"),
        (b"a1 SEARCH ()", Some("a1"), "Empty list"),
        (
            b"a1 SEARCH RETURN (PARTIAL 1:10) ALL",
            Some("a1"),
            "RETURN option PARTIAL",
        ),
        (
            b"a1 SEARCH MODSEQ \"/flags/x\" weird 5",
            Some("a1"),
            "entry type",
        ),
        (b"a1 SEARCH EMAILID bad!id", Some("a1"), "object id"),
        (b"a1 SEARCH YOUNGER 0", Some("a1"), "Zero"),
        (b"a1 SORT SUBJECT UTF-8 ALL", Some("a1"), "("),
        (b"a1 SORT (BOGUS) UTF-8 ALL", Some("a1"), "sort key"),
        (b"a1 SORT (DATE) UTF-8", Some("a1"), "space"),
        (b"a1 THREAD BOGUS UTF-8 ALL", Some("a1"), "THREAD algorithm"),
        (b"a1 ENABLE", Some("a1"), "at least one"),
        (b"a1 ID (\"name\")", Some("a1"), "space"),
        (b"a1 SETQUOTA x (STORAGE)", Some("a1"), "space"),
        (b"a1 SETQUOTA x (STORAGE -1)", Some("a1"), "number"),
        (
            b"a1 GETMETADATA (DEPTH 2) \"\" /shared",
            Some("a1"),
            "DEPTH",
        ),
        (
            b"a1 GETMETADATA (BOGUS 1) \"\" /shared",
            Some("a1"),
            "GETMETADATA option",
        ),
        (b"a1 SETMETADATA INBOX ()", Some("a1"), "Empty list"),
        (b"a1 NOTIFY", Some("a1"), "space"),
        (b"a1 NOTIFY SET", Some("a1"), "space"),
        (b"a1 NOTIFY SET (selected MessageNew)", Some("a1"), "("),
        (
            b"a1 NOTIFY SET (bogus (MessageNew))",
            Some("a1"),
            "NOTIFY filter",
        ),
        (
            b"a1 NOTIFY SET (selected (Bogus))",
            Some("a1"),
            "NOTIFY event",
        ),
        (b"a1 NOTIFY FOO", Some("a1"), "NOTIFY SET or NOTIFY NONE"),
        (b"a1 COMPRESS", Some("a1"), "space"),
        (b"a1 UID EXPUNGE", Some("a1"), "space"),
        (b"a1 UID EXPUNGE $,1", Some("a1"), "Unexpected"),
        (b"a1 COPY 1", Some("a1"), "space"),
    ];
    let mut wrong = Vec::new();
    for (input, tag, reason) in cases {
        let e = error(input);
        if e.tag.as_deref() != *tag || !e.reason.contains(reason) || e.reason.contains(['\r', '\n'])
        {
            wrong.push(format!(
                "{:?}: got {e:?}, want tag {tag:?} and {reason:?}",
                String::from_utf8_lossy(input)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn deep_nesting_is_refused_not_overflowing() {
    let mut deep = b"a SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    deep.push(b'1');
    deep.extend(std::iter::repeat_n(b')', 100_000));
    assert!(error(&deep).reason.contains("nested too deeply"));
    let mut nots = b"a SEARCH".to_vec();
    for _ in 0..100_000 {
        nots.extend_from_slice(b" NOT");
    }
    assert!(error(&nots).reason.contains("too deeply"));
    let mut ors = b"a SEARCH".to_vec();
    for _ in 0..100_000 {
        ors.extend_from_slice(b" OR SEEN");
    }
    ors.extend_from_slice(b" SEEN");
    assert!(error(&ors).reason.contains("too deeply"));
}

/// Every prefix of every valid example, and deterministic random mutations of them, parse
/// or fail without panicking. (The fuzz target does this at scale.)
#[test]
fn truncations_and_mutations_never_panic() {
    let seeds: &[&[u8]] = &[
        b"a LOGIN {4}\r\nfred {6+}\r\nsecret",
        b"a APPEND Drafts (\\Draft) \"17-Jul-1996 02:44:25 -0700\" {3}\r\nabc ~{2}\r\nde",
        b"a UID FETCH 1:*,5 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (A B)]<0.10> BINARY[1]) (CHANGEDSINCE 5 VANISHED)",
        b"a SEARCH RETURN (MIN) CHARSET UTF-8 OR (SEEN UID 1:3) NOT MODSEQ \"/flags/x\" all 5",
        b"a SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4)))",
        b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (a b) RETURN (STATUS (MESSAGES) CHILDREN)",
        b"a GETMETADATA \"INBOX\" (MAXSIZE 1024 DEPTH infinity) (/a /b)",
        b"a NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree (a b) NONE)",
        b"a SORT RETURN (ALL) (REVERSE DATE) UTF-8 SENTSINCE \"1-Jan-2000\"",
        b"a STORE 1 (UNCHANGEDSINCE 5) -FLAGS.SILENT \\Seen x",
    ];
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for seed in seeds {
        parse_command(&Frame::from_bytes(*seed))
            .unwrap_or_else(|e| panic!("seed {:?} must parse: {e}", String::from_utf8_lossy(seed)));
        for len in 0..seed.len() {
            let _ = parse_command(&Frame::from_bytes(&seed[..len]));
        }
        for _ in 0..2000 {
            let mut m = seed.to_vec();
            for _ in 0..1 + next() % 4 {
                let i = (next() % m.len() as u64) as usize;
                match next() % 3 {
                    0 => m[i] = (next() & 0xff) as u8,
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, b"(){}[]<>\" \\*$:.,0~+\r\n"[(next() % 21) as usize]),
                }
                if m.is_empty() {
                    break;
                }
            }
            let _ = parse_command(&Frame::from_bytes(m.clone()));
            let _ = crate::proto::parse::parse_append_head(
                &Frame::from_bytes(m),
                ParseOptions::default(),
            );
        }
    }
}
