//! Micro-benchmark: IMAP command input, as the session handles it: bytes pushed into the
//! [`Framer`], the frame taken out, [`parse_command`] (and for APPEND the streaming head
//! parse, `parse_append_head`, with the literal streamed through the framer).
//!
//! `cargo bench -p tern-imap --bench imap_parse`; instruction counts: `bench/micro
//! --callgrind parse/`. Harness: bench/micro/harness.rs.

#[path = "../../../bench/micro/harness.rs"]
mod harness;

use harness::{Harness, Per, Threads};
use std::hint::black_box;
use tern_imap::proto::parse::parse_append_head;
use tern_imap::proto::{Event, Framer, FramerConfig, ParseOptions, parse_command};

/// Commands real clients send, one per case.
const COMMANDS: &[(&str, &str)] = &[
    // Thunderbird's header fetch when it opens a folder.
    (
        "parse/uid_fetch_thunderbird",
        "a12 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc \
         Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To \
         Content-Type Reply-To)])\r\n",
    ),
    // A macro, and sections with partials (a client opening one message).
    ("parse/fetch_macro", "a13 FETCH 1:100 FULL\r\n"),
    (
        "parse/fetch_sections",
        "a14 UID FETCH 4821 (UID FLAGS BODYSTRUCTURE BODY.PEEK[1.2.MIME] BODY.PEEK[1.1]<0.4096> \
         BINARY.PEEK[2] BODY.PEEK[HEADER])\r\n",
    ),
    (
        "parse/uid_search",
        "a15 UID SEARCH CHARSET UTF-8 UNDELETED SINCE 1-Nov-2026 OR FROM \"ana.souza@example.com\" \
         SUBJECT \"Q3 report\" NOT KEYWORD $Junk\r\n",
    ),
    (
        "parse/uid_store",
        "a16 UID STORE 4810:4821,4830 +FLAGS.SILENT (\\Seen $Forwarded)\r\n",
    ),
];

fn main() {
    let mut h = Harness::from_args();
    for (name, line) in COMMANDS {
        h.bench(
            name,
            2000,
            Threads::Main,
            Per::Bytes(line.len() as u64),
            || {
                let mut framer = Framer::new(FramerConfig::default());
                move || {
                    framer.push(line.as_bytes());
                    let Some(Event::Frame(frame)) = framer.next_event() else {
                        panic!("{name}: no frame");
                    };
                    let cmd = parse_command(&frame).expect(name);
                    black_box(cmd);
                }
            },
        );
    }

    // APPEND of a 4 KB message with a synchronizing literal: the head is parsed when the
    // literal is announced (mailbox, flags, date), the octets are streamed, then the whole
    // frame is parsed.
    let head =
        "a17 APPEND \"Sent Items\" (\\Seen $Forwarded) \" 4-Dec-2026 18:43:12 +0100\" {4096}\r\n";
    let body = vec![b'x'; 4096];
    let per = Per::Bytes((head.len() + body.len() + 2) as u64);
    h.bench("parse/append_4k", 2000, Threads::Main, per, || {
        let mut framer = Framer::new(FramerConfig::default());
        let opts = ParseOptions::default();
        move || {
            framer.push(head.as_bytes());
            let Some(Event::LiteralStart(_)) = framer.next_event() else {
                panic!("append: no literal");
            };
            let head = parse_append_head(framer.pending(), opts).expect("append head");
            black_box(&head);
            framer.stream_literal().expect("stream");
            framer.push(&body);
            let mut streamed = 0;
            loop {
                match framer.next_event() {
                    Some(Event::LiteralData(d)) => streamed += d.len(),
                    Some(Event::LiteralEnd) => break,
                    other => panic!("append: unexpected {other:?}"),
                }
            }
            assert_eq!(streamed, 4096);
            framer.push(b"\r\n");
            let Some(Event::Frame(frame)) = framer.next_event() else {
                panic!("append: no frame");
            };
            black_box(parse_command(&frame).expect("append"));
        }
    });
}
