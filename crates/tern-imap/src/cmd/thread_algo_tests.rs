//! RFC 5256 threading on small known message sets.

use super::*;

/// A message `num` (date = num unless given), base subject, and References.
fn msg(num: u32, subject: &str, id: &str, refs: &[&str]) -> ThreadMsg {
    ThreadMsg {
        num,
        seq: num as usize,
        date: i64::from(num),
        subject: subject.into(),
        is_reply: false,
        message_id: (!id.is_empty()).then(|| id.to_string()),
        references: refs.iter().map(|s| s.to_string()).collect(),
        in_reply_to: Vec::new(),
    }
}

fn render(f: &Forest) -> String {
    let mut out = Vec::new();
    f.render(&mut out);
    String::from_utf8(out).unwrap()
}

fn refs(msgs: Vec<ThreadMsg>) -> String {
    render(&references(msgs))
}

#[test]
fn rfc5256_example_shape() {
    // RFC 5256 §5: "(2)(3 6 (4 23)(44 7 96))".
    let msgs = vec![
        msg(2, "OTHER", "m2", &[]),
        msg(3, "S", "m3", &[]),
        msg(4, "S", "m4", &["m3", "m6"]),
        msg(6, "S", "m6", &["m3"]),
        msg(7, "S", "m7", &["m3", "m6", "m44"]),
        msg(23, "S", "m23", &["m3", "m6", "m4"]),
        msg(44, "S", "m44", &["m3", "m6"]),
        msg(96, "S", "m96", &["m3", "m6", "m44", "m7"]),
    ];
    assert_eq!(refs(msgs), "(2)(3 6 (4 23)(44 7 96))");
}

#[test]
fn missing_parents_make_dummies() {
    // Two replies to a message we do not have: a dummy root holds them.
    assert_eq!(
        refs(vec![
            msg(1, "A", "m1", &["gone"]),
            msg(2, "B", "m2", &["gone"])
        ]),
        "((1)(2))"
    );
    // A single child of a missing parent is promoted to the root.
    assert_eq!(refs(vec![msg(1, "A", "m1", &["gone"])]), "(1)");
    // A missing message in the middle of a chain disappears, its child moves up.
    assert_eq!(
        refs(vec![
            msg(1, "A", "m1", &[]),
            msg(3, "A", "m3", &["m1", "m2"])
        ]),
        "(1 3)"
    );
}

#[test]
fn siblings_sorted_by_date_then_order() {
    let mut late = msg(2, "A", "m2", &["m1"]);
    late.date = 100;
    let msgs = vec![
        msg(1, "A", "m1", &[]),
        late,
        msg(3, "A", "m3", &["m1"]),
        msg(4, "A", "m4", &["m1"]),
    ];
    assert_eq!(refs(msgs), "(1 (3)(4)(2))");
    // Equal dates: mailbox order.
    let mut a = msg(5, "X", "m5", &[]);
    let mut b = msg(6, "Y", "m6", &[]);
    a.date = 7;
    b.date = 7;
    assert_eq!(refs(vec![b, a]), "(5)(6)");
}

#[test]
fn subjects_merge_threads() {
    // A reply without References joins the original by subject.
    let mut reply = msg(2, "BUDGET", "m2", &[]);
    reply.is_reply = true;
    assert_eq!(refs(vec![msg(1, "BUDGET", "m1", &[]), reply]), "(1 2)");
    // Two originals with one subject: siblings under a dummy.
    assert_eq!(
        refs(vec![
            msg(1, "BUDGET", "m1", &[]),
            msg(2, "BUDGET", "m2", &[])
        ]),
        "((1)(2))"
    );
    // A non-reply beats an earlier reply as the thread's head.
    let mut early_reply = msg(1, "BUDGET", "m1", &[]);
    early_reply.is_reply = true;
    assert_eq!(
        refs(vec![early_reply, msg(2, "BUDGET", "m2", &[])]),
        "(2 1)"
    );
    // Empty subjects never merge.
    assert_eq!(
        refs(vec![msg(1, "", "m1", &[]), msg(2, "", "m2", &[])]),
        "(1)(2)"
    );
    // A third original joins the dummy made for the first two.
    let three = vec![
        msg(1, "S", "m1", &[]),
        msg(2, "S", "m2", &[]),
        msg(3, "S", "m3", &[]),
    ];
    assert_eq!(refs(three), "((1)(2)(3))");
}

#[test]
fn in_reply_to_loops_and_duplicates() {
    let mut r = msg(2, "A", "m2", &[]);
    r.in_reply_to = vec!["m1".into(), "ignored".into()];
    assert_eq!(refs(vec![msg(1, "A", "m1", &[]), r]), "(1 2)");
    // A reference loop does not hang or lose messages.
    let out = refs(vec![msg(1, "A", "m1", &["m2"]), msg(2, "B", "m2", &["m1"])]);
    assert!(out == "(1 2)" || out == "(2 1)", "{out}");
    // Duplicate Message-IDs: both messages are threaded.
    let out = refs(vec![msg(1, "A", "dup", &[]), msg(2, "B", "dup", &[])]);
    assert_eq!(out, "(1)(2)");
    // Self-reference.
    assert_eq!(refs(vec![msg(1, "A", "m1", &["m1"])]), "(1)");
}

#[test]
fn deep_chain_does_not_recurse() {
    let n = 20_000u32;
    let ids: Vec<String> = (1..=n).map(|i| format!("m{i}")).collect();
    let msgs: Vec<ThreadMsg> = (1..=n)
        .map(|i| {
            let mut m = msg(i, "S", &ids[i as usize - 1], &[]);
            if i > 1 {
                m.references = vec![ids[i as usize - 2].clone()];
            }
            m
        })
        .collect();
    let out = refs(msgs);
    assert!(out.starts_with("(1 2 3 ") && out.ends_with(&format!(" {n})")));
}

#[test]
fn ordered_subject_groups() {
    // RFC 5256 §3: the first (by date) is the parent of the rest; two → "(a b)",
    // three → "(a (b)(c))"; threads ordered by their first message's date.
    let mut msgs = vec![
        msg(1, "B", "", &[]),
        msg(2, "A", "", &[]),
        msg(3, "B", "", &[]),
        msg(4, "C", "", &[]),
        msg(5, "A", "", &[]),
        msg(6, "A", "", &[]),
    ];
    msgs[0].date = 10; // 1 is later than 3
    assert_eq!(render(&ordered_subject(msgs)), "(2 (5)(6))(3 1)(4)");
    assert_eq!(render(&ordered_subject(Vec::new())), "");
}
