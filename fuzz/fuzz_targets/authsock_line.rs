//! Fuzz target `authsock_line`: the auth socket's line framer and client-line parser
//! (`tern_authsock::framer`, `tern_authsock::request`) on arbitrary client input.
//!
//! The first byte picks the chunk size the rest is fed in (bits 0-3: 1 to 2^15 octets, 0 =
//! all at once) and the line limit (bit 4: 64 octets instead of 4096). Asserts, besides
//! "never panics":
//! - the frames do not depend on the chunking (same as one push of the whole input);
//! - a line holds no LF and is no longer than the limit; an over-long line's prefix is at
//!   most `framer::PREFIX` octets;
//! - a parsed line written back (`ClientLine::to_line`) holds no line end and parses to the
//!   same line (round trip); a `BadRequest` names the id the line starts with;
//! - tab-escaping round trips, and the replies the server would build from the parsed
//!   values are one line each.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_authsock::escape::{escape, unescape};
use tern_authsock::framer::{Frame, Framer, PREFIX};
use tern_authsock::reply::{Fail, Reply};
use tern_authsock::request::{ClientLine, LineError, parse_line};

fn frames(input: &[u8], max_line: usize, chunk: usize) -> Vec<Frame> {
    let mut framer = Framer::new(max_line);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        framer.push(piece);
        while let Some(f) = framer.next_frame() {
            out.push(f);
        }
    }
    out
}

fn one_line(reply: &Reply) {
    let line = reply.to_line();
    assert!(line.ends_with('\n'));
    assert_eq!(line.matches('\n').count(), 1, "{line:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, input)) = data.split_first() else {
        return;
    };
    let max_line = if head & 0x10 != 0 { 64 } else { 4096 };
    let chunk = match head & 0x0f {
        0 => input.len().max(1),
        n => 1usize << n,
    };
    let whole = frames(input, max_line, input.len().max(1));
    assert_eq!(whole, frames(input, max_line, chunk), "chunk size {chunk}");
    for frame in whole {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong { prefix } => {
                assert!(prefix.len() <= PREFIX);
                continue;
            }
        };
        assert!(!line.contains(&b'\n'));
        assert!(line.len() <= max_line);
        let text = String::from_utf8_lossy(&line);
        assert_eq!(unescape(escape(&text).as_bytes()), text.as_bytes());
        match parse_line(&line) {
            Ok(parsed) => {
                let again = parsed.to_line();
                assert!(!again.contains('\n'), "{again:?}");
                assert_eq!(parse_line(again.as_bytes()), Ok(parsed.clone()), "{again:?}");
                if let ClientLine::Auth(r) = &parsed {
                    one_line(&Reply::Ok {
                        id: r.id,
                        user: r.service.clone(),
                    });
                    one_line(&Fail::because(r.id, "Line too long"));
                }
                if let ClientLine::Cont { id, response } = &parsed {
                    one_line(&Reply::Cont {
                        id: *id,
                        challenge: response.as_bytes().to_vec(),
                    });
                }
            }
            Err(LineError::BadRequest { id, .. }) => {
                let field = line.split(|&b| b == b'\t').nth(1).unwrap_or_default();
                let named: u32 = std::str::from_utf8(field).unwrap().parse().unwrap();
                assert_eq!(named, id);
            }
            Err(_) => {}
        }
    }
});
