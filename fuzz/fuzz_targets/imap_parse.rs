//! Fuzz target `imap_parse`: arbitrary client bytes through the framer and the command
//! parser. Nothing may panic, and these properties must hold:
//! - the framer's memory stays within its limits (no unbounded buffering);
//! - every mailbox name the parser yields survives modified UTF-7 encode → decode;
//! - `parse_command` of a frame taken straight from the input never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_imap::proto::command::CommandBody;
use tern_imap::proto::framing::{Event, Frame, Framer, FramerConfig};
use tern_imap::proto::parse::{ParseOptions, parse_append_head, parse_command_with};
use tern_imap::proto::utf7;

const CONFIG: FramerConfig = FramerConfig {
    max_line: 512,
    max_literal: 4096,
    max_buffered: 2048,
};

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let opts = ParseOptions {
        utf8: control & 0x80 != 0,
    };

    // The whole input as one frame.
    check_command(&Frame::from_bytes(input), opts);
    let _ = parse_append_head(&Frame::from_bytes(input), opts);

    // Through the framer, in chunks whose size the control byte chooses; literal decisions
    // cycle through buffer / stream / refuse / undecided.
    let chunk = usize::from(control & 0x3f) + 1;
    let mut framer = Framer::new(CONFIG);
    let mut decision = usize::from(control >> 6);
    for piece in input.chunks(chunk) {
        framer.push(piece);
        while let Some(event) = framer.next_event() {
            match event {
                Event::Frame(frame) => check_command(&frame, opts),
                Event::LiteralStart(start) => {
                    assert!(start.len <= CONFIG.max_literal);
                    let _ = parse_append_head(framer.pending(), opts);
                    decision = decision.wrapping_add(1);
                    let _ = match decision % 4 {
                        0 => framer.accept_literal(),
                        1 => framer.stream_literal(),
                        2 => framer.refuse_literal(),
                        _ => Ok(()),
                    };
                }
                Event::LiteralData(bytes) => assert!(!bytes.is_empty()),
                Event::RawLine(_)
                | Event::LiteralEnd
                | Event::LiteralTooLarge { .. }
                | Event::LineTooLong { .. } => {}
            }
            assert!(framer.pending().bytes.len() <= CONFIG.max_buffered + 2);
        }
        assert!(framer.buffered_len() <= CONFIG.max_line + 2 + chunk);
        if decision % 7 == 0 {
            framer.expect_raw_line();
        }
    }
});

fn check_command(frame: &Frame, opts: ParseOptions) {
    let Ok(cmd) = parse_command_with(frame, opts) else {
        return;
    };
    let names: Vec<&String> = match &cmd.body {
        CommandBody::Select { mailbox, .. }
        | CommandBody::Create { mailbox, .. }
        | CommandBody::Status { mailbox, .. }
        | CommandBody::Append { mailbox, .. }
        | CommandBody::Copy { mailbox, .. }
        | CommandBody::Move { mailbox, .. } => vec![mailbox],
        CommandBody::Delete(m) | CommandBody::Subscribe(m) | CommandBody::Unsubscribe(m) => {
            vec![m]
        }
        CommandBody::Rename { from, to } => vec![from, to],
        _ => vec![],
    };
    for name in names {
        assert_eq!(
            utf7::decode(utf7::encode(name).as_bytes()).as_ref(),
            Ok(name)
        );
    }
}
