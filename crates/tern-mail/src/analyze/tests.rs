//! Whole-message tests: structure and offsets, envelope, keys, preview, and garbage.
use super::analyze;
use super::mime::{MAX_DEPTH, MAX_PARTS};
use tern_store::BodyPart;

fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

fn body_of<'a>(msg: &'a [u8], p: &BodyPart) -> &'a [u8] {
    &msg[p.body_start as usize..p.end as usize]
}

fn header_of<'a>(msg: &'a [u8], p: &BodyPart) -> &'a [u8] {
    &msg[p.header_start as usize..p.body_start as usize]
}

/// Structural invariants every analysis must keep.
fn check(part: &BodyPart, lo: u64, hi: u64) {
    assert!(lo <= part.header_start, "{part:?}");
    assert!(part.header_start <= part.body_start);
    assert!(part.body_start <= part.end);
    assert!(part.end <= hi);
    assert!(!part.content_type.is_empty() && !part.subtype.is_empty());
    assert!(!part.encoding.is_empty());
    if part.content_type == "multipart" {
        assert!(!part.parts.is_empty(), "multipart without children");
    }
    let mut prev_end = part.body_start;
    for child in &part.parts {
        assert!(child.header_start >= prev_end, "children overlap");
        check(child, part.body_start, part.end);
        prev_end = child.end;
    }
    if let Some(inner) = &part.message {
        assert_eq!(inner.1.header_start, part.body_start);
        assert_eq!(inner.1.end, part.end);
        check(&inner.1, part.body_start, part.end);
    }
}

#[test]
fn simple_message_defaults() {
    let msg = crlf("From: a@x.test\nSubject: hi\n\nline one\nline two\n");
    let meta = analyze(&msg);
    let b = &meta.body;
    assert_eq!(
        (b.content_type.as_str(), b.subtype.as_str()),
        ("text", "plain")
    );
    assert_eq!(b.params, vec![("charset".into(), "us-ascii".into())]);
    assert_eq!(b.encoding, "7BIT");
    assert_eq!(b.header_start, 0);
    assert_eq!(body_of(&msg, b), b"line one\r\nline two\r\n");
    assert_eq!(b.end as usize, msg.len());
    assert_eq!(b.lines, 2);
    assert!(b.parts.is_empty() && b.message.is_none());
    assert_eq!(meta.preview, "line one line two");
    assert_eq!(meta.sort.base_subject, "HI");
    assert_eq!(meta.sort.from, "A");
    check(b, 0, msg.len() as u64);
}

const COMPLEX: &str = "From: \"Joe\" <joe@x.test>
To: team: ann@y.test, bob@y.test;
Subject: Re: [proj] =?utf-8?q?R=C3=A9sum=C3=A9?=
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <m1@x.test>
References: <r1@x.test> <r2@x.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"outer\"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=\"outer-alt\"

--outer-alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 ready.
Second line.
--outer-alt
Content-Type: text/html; charset=utf-8

<p>Caf&eacute; <b>ready</b></p>
--outer-alt--
--outer
Content-Type: application/pdf; name=\"a.pdf\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"a.pdf\"
Content-ID: <part3@x.test>
Content-Description: the file
Content-Language: en, fr

JVBERi0xLjQK
--outer
Content-Type: message/rfc822

From: inner@z.test
Subject: inner subject
Content-Type: multipart/mixed; boundary=in

--in

implicit text part
--in--
--outer--
This is the epilogue.
";

#[test]
fn complex_structure_and_exact_offsets() {
    let msg = crlf(COMPLEX);
    let meta = analyze(&msg);
    let root = &meta.body;
    check(root, 0, msg.len() as u64);
    assert_eq!(
        (root.content_type.as_str(), root.subtype.as_str()),
        ("multipart", "mixed")
    );
    assert_eq!(root.parts.len(), 3);
    assert!(body_of(&msg, root).starts_with(b"This is the preamble."));

    let alt = &root.parts[0];
    assert_eq!(alt.subtype, "alternative");
    assert_eq!(alt.parts.len(), 2);
    let plain = &alt.parts[0];
    assert_eq!(body_of(&msg, plain), b"Caf=C3=A9 ready.\r\nSecond line.");
    assert_eq!(plain.lines, 2);
    assert_eq!(plain.encoding, "quoted-printable");
    assert_eq!(
        header_of(&msg, plain),
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    let html = &alt.parts[1];
    assert_eq!(body_of(&msg, html), b"<p>Caf&eacute; <b>ready</b></p>");
    // The multipart/alternative part's body runs to the outer delimiter.
    assert!(body_of(&msg, alt).ends_with(b"--outer-alt--"));

    let pdf = &root.parts[1];
    assert_eq!(
        (pdf.content_type.as_str(), pdf.subtype.as_str()),
        ("application", "pdf")
    );
    assert_eq!(body_of(&msg, pdf), b"JVBERi0xLjQK");
    assert_eq!(pdf.encoding, "base64");
    assert_eq!(pdf.params, vec![("name".into(), "a.pdf".into())]);
    assert_eq!(
        pdf.disposition,
        Some((
            "attachment".into(),
            vec![("filename".into(), "a.pdf".into())]
        ))
    );
    assert_eq!(pdf.id.as_deref(), Some("<part3@x.test>"));
    assert_eq!(pdf.description.as_deref(), Some("the file"));
    assert_eq!(pdf.language, vec!["en", "fr"]);
    assert_eq!(pdf.lines, 0, "only text and message parts count lines");

    let rfc822 = &root.parts[2];
    assert_eq!(
        (rfc822.content_type.as_str(), rfc822.subtype.as_str()),
        ("message", "rfc822")
    );
    let (inner_env, inner_body) = rfc822.message.as_deref().expect("nested message");
    assert_eq!(inner_env.subject.as_deref(), Some("inner subject"));
    assert_eq!(inner_env.from[0].mailbox.as_deref(), Some("inner"));
    assert_eq!(inner_body.parts.len(), 1);
    let implicit = &inner_body.parts[0];
    assert_eq!(implicit.content_type, "text");
    assert_eq!(header_of(&msg, implicit), b"\r\n");
    assert_eq!(body_of(&msg, implicit), b"implicit text part");
    assert!(body_of(&msg, rfc822).starts_with(b"From: inner@z.test\r\n"));
    assert!(body_of(&msg, rfc822).ends_with(b"--in--"));
    assert_eq!(rfc822.lines, 8);

    // Envelope: raw values, group markers.
    let env = &meta.envelope;
    assert_eq!(
        env.subject.as_deref(),
        Some("Re: [proj] =?utf-8?q?R=C3=A9sum=C3=A9?=")
    );
    assert_eq!(env.to.len(), 4);
    assert_eq!(env.to[0].mailbox.as_deref(), Some("team"));
    assert_eq!(env.to[0].host, None);
    assert_eq!(env.to[3], Default::default());
    assert_eq!(env.from[0].name.as_deref(), Some("Joe"));

    // Keys.
    assert_eq!(meta.sort.base_subject, "RÉSUMÉ");
    assert!(meta.thread.is_reply);
    assert_eq!(meta.sort.sent_date, Some(1_057_049_557));
    assert_eq!(meta.sort.from, "JOE");
    assert_eq!(meta.sort.to, "ANN", "the first mailbox, not the group name");
    assert_eq!(meta.sort.display_from, "JOE");
    assert_eq!(meta.thread.message_id.as_deref(), Some("m1@x.test"));
    assert_eq!(meta.thread.references, vec!["r1@x.test", "r2@x.test"]);
    assert!(meta.thread.in_reply_to.is_empty());

    // Preview: the text/plain alternative, decoded.
    assert_eq!(meta.preview, "Café ready. Second line.");
}

#[test]
fn bare_lf_line_endings() {
    let msg = COMPLEX.as_bytes();
    let meta = analyze(msg);
    check(&meta.body, 0, msg.len() as u64);
    let plain = &meta.body.parts[0].parts[0];
    assert_eq!(body_of(msg, plain), b"Caf=C3=A9 ready.\nSecond line.");
    assert_eq!(body_of(msg, &meta.body.parts[1]), b"JVBERi0xLjQK");
}

#[test]
fn missing_close_delimiter_and_prefix_boundaries() {
    let msg = crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b-not-ours\nstill one\n--b  \n\ntwo\n",
    );
    let meta = analyze(&msg);
    check(&meta.body, 0, msg.len() as u64);
    assert_eq!(meta.body.parts.len(), 2);
    assert_eq!(
        body_of(&msg, &meta.body.parts[0]),
        b"one\r\n--b-not-ours\r\nstill one"
    );
    assert_eq!(body_of(&msg, &meta.body.parts[1]), b"two\r\n");
}

#[test]
fn unsplittable_multiparts_become_text() {
    for m in [
        "Content-Type: multipart/mixed\n\nno boundary parameter\n",
        "Content-Type: multipart/mixed; boundary=zz\n\nno delimiter line\n",
        "Content-Type: multipart/mixed; boundary=\"\"\n\nempty boundary\n",
    ] {
        let msg = crlf(m);
        let meta = analyze(&msg);
        assert_eq!(meta.body.content_type, "text", "{m}");
        assert!(meta.body.parts.is_empty());
        assert_eq!(meta.body.lines, 1);
    }
}

#[test]
fn digest_defaults_and_encoded_rfc822() {
    let msg = crlf(
        "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n--d--\n",
    );
    let meta = analyze(&msg);
    check(&meta.body, 0, msg.len() as u64);
    let first = &meta.body.parts[0];
    assert_eq!(
        (first.content_type.as_str(), first.subtype.as_str()),
        ("message", "rfc822")
    );
    assert!(first.params.is_empty());
    let inner = first.message.as_deref().unwrap();
    assert_eq!(inner.0.subject.as_deref(), Some("one"));
    let second = &meta.body.parts[1];
    assert_eq!(second.subtype, "rfc822");
    assert!(
        second.message.is_none(),
        "encoded message/rfc822 stays a basic part"
    );
}

#[test]
fn header_only_and_empty_messages() {
    for msg in [
        &b""[..],
        b"Subject: no body",
        b"\r\n",
        b"\r\n\r\n",
        b"garbage without header",
    ] {
        let meta = analyze(msg);
        check(&meta.body, 0, msg.len() as u64);
        assert_eq!(meta.body.content_type, "text");
    }
    let meta = analyze(b"Subject: no body");
    assert_eq!(meta.body.body_start, 16);
    assert_eq!(meta.envelope.subject.as_deref(), Some("no body"));
}

#[test]
fn previews() {
    let html_only = crlf(
        "Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<html><head><style>p{}</style></head><body><p>Gr=FC=DFe,</p>\n<p>  Welt &amp; mehr</p></body></html>\n",
    );
    assert_eq!(analyze(&html_only).preview, "Grüße, Welt & mehr");

    let attachment_first = crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nnot this\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n--b--\n",
    );
    assert_eq!(analyze(&attachment_first).preview, "hello world");

    let no_text = crlf("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n");
    assert_eq!(analyze(&no_text).preview, "");

    let mut long = crlf("Subject: long\n\n");
    for _ in 0..100_000 {
        long.extend_from_slice("zwölf ".as_bytes());
    }
    let p = analyze(&long).preview;
    assert!(p.chars().count() <= 200 && p.starts_with("zwölf zwölf"));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut msg = Vec::new();
    for i in 0..2000 {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\ninnermost\r\n");
    let meta = analyze(&msg);
    check(&meta.body, 0, msg.len() as u64);
    let mut depth = 0;
    let mut p = &meta.body;
    while let Some(child) = p.parts.first() {
        p = child;
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);

    let mut nested = Vec::new();
    for _ in 0..2000 {
        nested.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    let meta = analyze(&nested);
    check(&meta.body, 0, nested.len() as u64);
}

#[test]
fn part_count_is_bounded() {
    let mut msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..(MAX_PARTS + 500) {
        msg.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    let meta = analyze(&msg);
    check(&meta.body, 0, msg.len() as u64);
    assert_eq!(meta.body.parts.len(), MAX_PARTS);
}

/// A small deterministic generator, so the fuzz-like tests are reproducible.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_input_never_panics() {
    let msg = crlf(COMPLEX);
    for cut in 0..msg.len() {
        let m = &msg[..cut];
        let meta = analyze(m);
        check(&meta.body, 0, cut as u64);
        assert!(meta.preview.chars().count() <= 200);
    }
}

#[test]
fn mutated_input_never_panics() {
    let base = crlf(COMPLEX);
    let alphabet = b"-\r\n:;<>\"()[]=@,\\ \t\xff\xc3boundaryouter";
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1500 {
        let mut m = base.clone();
        let edits = 1 + rng.next() % 12;
        for _ in 0..edits {
            let pos = (rng.next() as usize) % m.len().max(1);
            let byte = alphabet[(rng.next() as usize) % alphabet.len()];
            match rng.next() % 3 {
                0 => m[pos] = byte,
                1 => m.insert(pos, byte),
                _ => {
                    m.remove(pos);
                }
            }
            if m.is_empty() {
                m.push(b'x');
            }
        }
        let meta = analyze(&m);
        check(&meta.body, 0, m.len() as u64);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(42);
    for len in [1usize, 7, 64, 500, 4096] {
        for _ in 0..50 {
            let m: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
            let meta = analyze(&m);
            check(&meta.body, 0, m.len() as u64);
        }
    }
}
