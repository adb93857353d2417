//! Fuzz target `mbox_split`: tern-migrate's streaming mbox splitter on arbitrary bytes.
//!
//! The first byte picks the format (bit 0: mboxrd / mboxo) and the chunk size the rest is
//! fed in (1 to 2^15 octets, or the whole input). Asserts, besides "never panics":
//! - the result does not depend on how the input is chunked (same messages, From_ lines and
//!   skipped-byte count as one push of the whole input);
//! - every LF in a message is part of a CRLF;
//! - From_ lines start with `From ` and hold no line end;
//! - output size is bounded by the input (at most one CR added per LF).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_migrate::mbox::{MboxFormat, split_all};

fuzz_target!(|data: &[u8]| {
    let Some((&head, input)) = data.split_first() else {
        return;
    };
    let format = if head & 1 == 0 {
        MboxFormat::Mboxrd
    } else {
        MboxFormat::Mboxo
    };
    let chunk = match head >> 1 {
        0 => input.len().max(1),
        n => 1usize << (n % 16),
    };
    let whole = split_all(input, format, input.len().max(1));
    let chunked = split_all(input, format, chunk);
    assert_eq!(whole, chunked, "chunk size {chunk} changed the result");
    let lfs = input.iter().filter(|b| **b == b'\n').count();
    let mut out = 0;
    for (from, body) in &whole.0 {
        assert!(from.starts_with(b"From "));
        assert!(!from.contains(&b'\n'));
        for (i, b) in body.iter().enumerate() {
            assert!(*b != b'\n' || (i > 0 && body[i - 1] == b'\r'), "bare LF");
        }
        out += from.len() + body.len();
    }
    assert!(out <= input.len() + lfs + 2);
});
