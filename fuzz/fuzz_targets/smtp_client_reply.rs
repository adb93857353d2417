//! Fuzz target `smtp_client_reply`: the outbound SMTP client's reply parser
//! (`tern_queue::client::reply`) on arbitrary server output.
//!
//! Asserts, besides "never panics":
//! - every reply has a code in 200..=599 and at least one line, and its text holds no
//!   control characters (it ends up in logs and DSN fields);
//! - a parsed reply written back in wire form (`CODE-text` lines, `CODE text` last) parses to
//!   the same reply (round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_queue::client::reply::{Reply, ReplyParser, parse_all};

fn wire(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in reply.lines.iter().enumerate() {
        let sep = if i + 1 == reply.lines.len() { ' ' } else { '-' };
        out.extend_from_slice(format!("{}{sep}{line}\r\n", reply.code).as_bytes());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    for reply in parse_all(data).into_iter().flatten() {
        assert!((200..=599).contains(&reply.code));
        assert!(!reply.lines.is_empty());
        assert!(reply.lines.iter().all(|l| !l.chars().any(char::is_control)));
        assert!(reply.one_line().starts_with(&reply.code.to_string()));
        let _ = reply.enhanced();
        let bytes = wire(&reply);
        let mut parser = ReplyParser::new();
        let mut again = None;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if let Some(r) = parser.feed(line).expect("a written reply parses") {
                again = Some(r);
            }
        }
        assert_eq!(again.as_ref(), Some(&reply), "round trip changed the reply");
    }
});
