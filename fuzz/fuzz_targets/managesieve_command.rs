//! Fuzz target `managesieve_command`: tern-managesieve's framer and command parser (through
//! its doc-hidden `fuzzing::parse_commands` hook) on arbitrary client input: lines, quoted
//! strings, `{N+}`/`{N}` literals, several commands pipelined.
//!
//! Asserts, besides "never panics" and the framer's own contract (checked inside the hook:
//! every step consumes something and never more than there is):
//! - framing is incremental: the commands found in any prefix of the input are exactly the
//!   first commands found in the whole input (a command's outcome depends only on its own
//!   octets, so a server reading in pieces answers the same as one reading all at once).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_managesieve::fuzzing::parse_commands;

fuzz_target!(|input: &[u8]| {
    let whole = parse_commands(input);
    if input.is_empty() {
        return;
    }
    let cut = (input[0] as usize * input.len()) / 256;
    let prefix = parse_commands(&input[..cut]);
    assert!(
        prefix.len() <= whole.len() && prefix[..] == whole[..prefix.len()],
        "prefix of {cut} octets framed differently: {prefix:?} vs {whole:?}"
    );
});
