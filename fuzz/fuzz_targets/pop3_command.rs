//! Fuzz target `pop3_command`: tern-pop3's command-line parser (through its doc-hidden
//! `fuzzing::parse_command` hook) on arbitrary bytes (one line, CRLF removed).
//!
//! Asserts, besides "never panics":
//! - keywords are case-insensitive (RFC 1939 §3): upper- or lower-casing the keyword
//!   gives the same result, error included;
//! - arguments are separated by runs of spaces: except for USER and PASS (whose argument
//!   is the rest of the line, verbatim), collapsing the runs of spaces after the keyword
//!   gives the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_pop3::fuzzing::parse_command;

fuzz_target!(|line: &[u8]| {
    let parsed = parse_command(line);
    let split = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (keyword, rest) = line.split_at(split);

    for recased in [keyword.to_ascii_uppercase(), keyword.to_ascii_lowercase()] {
        let other = [&recased[..], rest].concat();
        assert_eq!(
            parse_command(&other),
            parsed,
            "keyword case changed the result"
        );
    }

    let verbatim = keyword.eq_ignore_ascii_case(b"USER") || keyword.eq_ignore_ascii_case(b"PASS");
    if !verbatim && !rest.is_empty() {
        let mut collapsed = keyword.to_vec();
        for &b in rest {
            if !(b == b' ' && collapsed.last() == Some(&b' ')) {
                collapsed.push(b);
            }
        }
        assert_eq!(
            parse_command(&collapsed),
            parsed,
            "collapsing spaces changed the result of {:?}",
            String::from_utf8_lossy(line)
        );
    }
});
