use super::*;
use crate::proto::command::CommandBody;
use crate::proto::parse::{ParseOptions, parse_append_head, parse_command};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Decide {
    Buffer,
    Refuse,
    /// Do not decide: the framer applies its default.
    Nothing,
}

/// Feeds `chunks` one at a time, draining events after each; `decide` answers each
/// `LiteralStart`. Consecutive `LiteralData` are merged, to compare independently of chunking.
fn drive(
    f: &mut Framer,
    chunks: &[&[u8]],
    mut decide: impl FnMut(&LiteralStart) -> Decide,
) -> Vec<Event> {
    let mut events = Vec::new();
    for chunk in chunks {
        f.push(chunk);
        while let Some(ev) = f.next_event() {
            if let Event::LiteralStart(start) = &ev {
                match decide(start) {
                    Decide::Buffer => f.accept_literal().unwrap(),
                    Decide::Refuse => f.refuse_literal().unwrap(),
                    Decide::Nothing => {}
                }
            }
            match (events.last_mut(), ev) {
                (Some(Event::LiteralData(prev)), Event::LiteralData(more)) => {
                    let mut joined = prev.to_vec();
                    joined.extend_from_slice(&more);
                    *prev = Bytes::from(joined);
                }
                (_, ev) => events.push(ev),
            }
        }
    }
    events
}

fn frame(bytes: &[u8]) -> Event {
    Event::Frame(Frame::from_bytes(bytes))
}

fn start(len: u64, sync: bool, binary: bool, tag: &str, command: &str, index: usize) -> Event {
    Event::LiteralStart(LiteralStart {
        len,
        sync,
        binary,
        tag: Some(tag.into()),
        command: Some(command.into()),
        index,
    })
}

fn bytewise(input: &[u8]) -> Vec<&[u8]> {
    input.chunks(1).collect()
}

#[test]
fn lines_in_any_chunking() {
    let input: &[u8] = b"a NOOP\r\nb CAPABILITY\nc LOGOUT\r\n";
    let want = vec![frame(b"a NOOP"), frame(b"b CAPABILITY"), frame(b"c LOGOUT")];
    for chunks in [vec![input], bytewise(input), input.chunks(5).collect()] {
        let mut f = Framer::new(FramerConfig::default());
        assert_eq!(drive(&mut f, &chunks, |_| Decide::Buffer), want);
        assert!(!f.in_command());
    }
}

#[test]
fn synchronizing_and_non_synchronizing_literals_are_buffered() {
    let input: &[u8] = b"a LOGIN {4}\r\nfred {6+}\r\nsecret\r\nb NOOP\r\n";
    for chunks in [vec![input], bytewise(input)] {
        let mut f = Framer::new(FramerConfig::default());
        let events = drive(&mut f, &chunks, |_| Decide::Buffer);
        assert_eq!(
            events,
            vec![
                start(4, true, false, "a", "LOGIN", 0),
                start(6, false, false, "a", "LOGIN", 1),
                frame(b"a LOGIN {4}\r\nfred {6+}\r\nsecret"),
                frame(b"b NOOP"),
            ]
        );
        let Event::Frame(fr) = &events[2] else {
            panic!()
        };
        assert_eq!(
            parse_command(fr).unwrap().body,
            CommandBody::Login {
                username: b"fred".to_vec(),
                password: b"secret".to_vec()
            }
        );
    }
}

#[test]
fn undecided_literal_defaults_to_buffering_when_small() {
    let mut f = Framer::new(FramerConfig::default());
    let events = drive(&mut f, &[b"a LOGIN {4+}\r\nfred x\r\n"], |_| {
        Decide::Nothing
    });
    assert_eq!(
        events,
        vec![
            start(4, false, false, "a", "LOGIN", 0),
            frame(b"a LOGIN {4+}\r\nfred x")
        ]
    );
    // Too big to buffer: refused by default, octets skipped, next command fine.
    let mut f = Framer::new(FramerConfig {
        max_buffered: 16,
        ..FramerConfig::default()
    });
    let events = drive(
        &mut f,
        &[b"a LOGIN {20+}\r\n01234567890123456789 x\r\nb NOOP\r\n"],
        |_| Decide::Nothing,
    );
    assert_eq!(
        events,
        vec![
            start(20, false, false, "a", "LOGIN", 0),
            Event::LiteralTooLarge {
                tag: Some("a".into()),
                len: Some(20),
                sync: false
            },
            frame(b"b NOOP"),
        ]
    );
}

#[test]
fn literal8_and_empty_literal() {
    let mut f = Framer::new(FramerConfig::default());
    let events = drive(&mut f, &[b"a APPEND x ~{3}\r\na\0b {0}\r\n\r\n"], |_| {
        Decide::Buffer
    });
    assert_eq!(
        events,
        vec![
            start(3, true, true, "a", "APPEND", 0),
            start(0, true, false, "a", "APPEND", 1),
            frame(b"a APPEND x ~{3}\r\na\0b {0}\r\n"),
        ]
    );
}

#[test]
fn streamed_append_is_not_buffered_and_parses_with_its_head() {
    let body = vec![b'x'; 100_000];
    let mut input = b"A1 APPEND Drafts (\\Seen) {100000}\r\n".to_vec();
    input.extend_from_slice(&body);
    input.extend_from_slice(b" (\\Draft) \"17-Jul-1996 02:44:25 -0700\" ~{5}\r\nab\0cd\r\n");
    let mut f = Framer::new(FramerConfig {
        max_buffered: 1000,
        ..FramerConfig::default()
    });
    let mut heads = Vec::new();
    let mut max_held = 0;
    let mut events = Vec::new();
    for chunk in input.chunks(4096) {
        f.push(chunk);
        while let Some(ev) = f.next_event() {
            max_held = max_held.max(f.buffered_len() + f.pending().bytes.len());
            if let Event::LiteralStart(_) = &ev {
                heads.push(parse_append_head(f.pending(), ParseOptions::default()).unwrap());
                f.stream_literal().unwrap();
            }
            events.push(ev);
        }
    }
    assert!(max_held < 8192, "held {max_held} octets");
    assert_eq!(heads.len(), 2);
    assert_eq!(
        (
            heads[0].mailbox.as_str(),
            heads[0].flags.clone(),
            heads[0].len,
            heads[0].index
        ),
        ("Drafts", vec!["\\Seen".to_string()], 100_000, 0)
    );
    assert_eq!(
        (heads[1].date, heads[1].binary, heads[1].len, heads[1].index),
        (Some((837_596_665, -420)), true, 5, 1)
    );
    let streamed: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            Event::LiteralData(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut want = body.clone();
    want.extend_from_slice(b"ab\0cd");
    assert_eq!(streamed, want);
    assert_eq!(
        events.iter().filter(|e| **e == Event::LiteralEnd).count(),
        2
    );
    let Some(Event::Frame(fr)) = events.last() else {
        panic!("no frame")
    };
    assert_eq!(fr.streamed.len(), 2);
    let CommandBody::Append { mailbox, messages } = parse_command(fr).unwrap().body else {
        panic!("not APPEND")
    };
    assert_eq!(mailbox, "Drafts");
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.data.is_empty()));
    assert_eq!(messages[1].flags, vec!["\\Draft".to_string()]);
    assert!(messages[1].binary);
}

#[test]
fn oversized_literals_are_refused_and_skipped() {
    let cfg = FramerConfig {
        max_literal: 10,
        ..FramerConfig::default()
    };
    // Synchronizing: the client never sends the octets, the next line is a new command.
    let mut f = Framer::new(cfg);
    let events = drive(&mut f, &[b"a APPEND x {11}\r\nb NOOP\r\n"], |_| {
        Decide::Buffer
    });
    assert_eq!(
        events,
        vec![
            Event::LiteralTooLarge {
                tag: Some("a".into()),
                len: Some(11),
                sync: true
            },
            frame(b"b NOOP")
        ]
    );
    // Non-synchronizing: the octets (which look like commands) and the rest of the command,
    // including a further non-synchronizing literal, are skipped.
    let input: &[u8] = b"a APPEND x {18+}\r\nc NOOP\r\nd NOOP\r\nxx {3+}\r\nabc\r\nb NOOP\r\n";
    for chunks in [vec![input], bytewise(input)] {
        let mut f = Framer::new(cfg);
        let events = drive(&mut f, &chunks, |_| Decide::Buffer);
        assert_eq!(
            events,
            vec![
                Event::LiteralTooLarge {
                    tag: Some("a".into()),
                    len: Some(18),
                    sync: false
                },
                frame(b"b NOOP")
            ]
        );
    }
    // A length that does not fit in 64 bits.
    let mut f = Framer::new(cfg);
    let events = drive(
        &mut f,
        &[b"a LOGIN {99999999999999999999999}\r\nb NOOP\r\n"],
        |_| Decide::Buffer,
    );
    assert_eq!(
        events,
        vec![
            Event::LiteralTooLarge {
                tag: Some("a".into()),
                len: None,
                sync: true
            },
            frame(b"b NOOP")
        ]
    );
}

#[test]
fn refused_literals_discard_the_command() {
    let input: &[u8] = b"a APPEND x {5+}\r\nb NOO c {2+}\r\nzz\r\nd APPEND y {3}\r\ne NOOP\r\n";
    for chunks in [vec![input], bytewise(input)] {
        let mut f = Framer::new(FramerConfig::default());
        let events = drive(&mut f, &chunks, |_| Decide::Refuse);
        assert_eq!(
            events,
            vec![
                start(5, false, false, "a", "APPEND", 0),
                start(3, true, false, "d", "APPEND", 0),
                frame(b"e NOOP"),
            ]
        );
    }
}

#[test]
fn buffering_beyond_max_buffered_fails() {
    let mut f = Framer::new(FramerConfig {
        max_buffered: 16,
        ..FramerConfig::default()
    });
    f.push(b"a LOGIN {100}\r\n");
    assert!(matches!(f.next_event(), Some(Event::LiteralStart(_))));
    assert_eq!(f.accept_literal(), Err(FrameError::TooLarge));
    assert_eq!(f.accept_literal(), Err(FrameError::NotPending));
    f.push(b"b NOOP\r\n");
    assert_eq!(f.next_event(), Some(frame(b"b NOOP")));
    assert_eq!(f.next_event(), None);
}

#[test]
fn over_long_lines_are_reported_early_and_skipped() {
    let cfg = FramerConfig {
        max_line: 20,
        ..FramerConfig::default()
    };
    let mut f = Framer::new(cfg);
    f.push(b"t1 SEARCH TEXT aaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(
        f.next_event(),
        Some(Event::LineTooLong {
            tag: Some("t1".into())
        })
    );
    assert_eq!(f.next_event(), None);
    f.push(b"aaaaaaaaaaaaaaa\r\nb NOOP\r\n");
    assert_eq!(f.next_event(), Some(frame(b"b NOOP")));

    // An over-long line that announces a non-synchronizing literal: its octets are skipped.
    let input: &[u8] = b"t2 LOGIN aaaaaaaaaaaaaaaaaaaaaaaaaaa {6+}\r\nb NOOP\r\nc NOOP\r\n";
    for chunks in [vec![input], bytewise(input)] {
        let mut f = Framer::new(cfg);
        assert_eq!(
            drive(&mut f, &chunks, |_| Decide::Buffer),
            vec![
                Event::LineTooLong {
                    tag: Some("t2".into())
                },
                frame(b"c NOOP")
            ]
        );
    }

    // A long line after a literal, mid-frame: the tag is the frame's.
    let mut f = Framer::new(cfg);
    let events = drive(
        &mut f,
        &[b"t3 LOGIN {1}\r\nx yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nb NOOP\r\n"],
        |_| Decide::Buffer,
    );
    assert_eq!(
        events,
        vec![
            start(1, true, false, "t3", "LOGIN", 0),
            Event::LineTooLong {
                tag: Some("t3".into())
            },
            frame(b"b NOOP")
        ]
    );
}

#[test]
fn raw_lines_and_taking_buffered_input() {
    let mut f = Framer::new(FramerConfig::default());
    f.push(b"a IDLE\r\n");
    assert_eq!(f.next_event(), Some(frame(b"a IDLE")));
    f.expect_raw_line();
    f.push(b"{5}\r\nb NOOP\r\n");
    assert_eq!(f.next_event(), Some(Event::RawLine(b"{5}".to_vec())));
    assert_eq!(f.next_event(), Some(frame(b"b NOOP")));

    f.push(b"c COMPRESS DEFLATE\r\n\x78\x9c\x01\x02");
    assert_eq!(f.next_event(), Some(frame(b"c COMPRESS DEFLATE")));
    assert_eq!(&f.take_buffered()[..], b"\x78\x9c\x01\x02");
    assert_eq!(f.buffered_len(), 0);
    assert!(!f.in_command());
}

#[test]
fn drained_buffer_gives_back_its_capacity() {
    let mut f = Framer::new(FramerConfig::default());
    let mut big = vec![b'x'; 60_000];
    big.extend_from_slice(b"\r\n");
    f.push(&big);
    assert!(matches!(f.next_event(), Some(Event::Frame(_))));
    assert_eq!(f.next_event(), None);
    assert!(f.buf.capacity() <= IDLE_CAPACITY);
}

#[test]
fn decisions_without_a_pending_literal_fail() {
    let mut f = Framer::new(FramerConfig::default());
    assert_eq!(f.accept_literal(), Err(FrameError::NotPending));
    assert_eq!(f.stream_literal(), Err(FrameError::NotPending));
    assert_eq!(f.refuse_literal(), Err(FrameError::NotPending));
}

#[test]
fn announcement_recognition() {
    type Case = (&'static [u8], Option<(Option<u64>, bool, bool)>);
    let cases: &[Case] = &[
        (b"a {5}", Some((Some(5), true, false))),
        (b"a {5+}", Some((Some(5), false, false))),
        (b"a ~{5}", Some((Some(5), true, true))),
        (b"a ~{0+}", Some((Some(0), false, true))),
        (b"a {}", None),
        (b"a {+}", None),
        (b"a {5 }", None),
        (b"a {-5}", None),
        (b"a \"{5}\"", None),
        (b"{18446744073709551616}", Some((None, true, false))),
        (
            b"{18446744073709551615}",
            Some((Some(u64::MAX), true, false)),
        ),
    ];
    for (line, want) in cases {
        let got = literal_announce(line).map(|a| (a.len, a.sync, a.binary));
        assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(line));
    }
    assert_eq!(
        command_name_of(b"a uid fetch 1 x").as_deref(),
        Some("UID FETCH")
    );
    assert_eq!(command_name_of(b"a append x").as_deref(), Some("APPEND"));
    assert_eq!(command_name_of(b"a").as_deref(), None);
    assert_eq!(tag_of(b"+x NOOP"), None);
    assert_eq!(tag_of(b"x.1 NOOP").as_deref(), Some("x.1"));
}
