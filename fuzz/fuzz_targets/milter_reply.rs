//! Fuzz target `milter_reply`: tern-filter's milter reply decoder
//! (`milter::wire::decode_reply`) on arbitrary bytes, read as a stream of packets.
//!
//! Asserts, besides "never panics" and "never allocates what the length field claims":
//! - a decoded packet uses at least 5 octets and no more than the input;
//! - decoding is prefix-independent: the packet's own octets alone decode to the same reply,
//!   and one octet fewer is "incomplete", never an error or another reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_filter::milter::wire::decode_reply;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((reply, used))) = decode_reply(rest) {
        assert!(used >= 5 && used <= rest.len(), "used {used} of {}", rest.len());
        let own = &rest[..used];
        match decode_reply(own) {
            Ok(Some((again, n))) => {
                assert_eq!(n, used);
                assert_eq!(again, reply);
            }
            other => panic!("packet alone decoded to {other:?}"),
        }
        assert!(
            matches!(decode_reply(&own[..used - 1]), Ok(None)),
            "a truncated packet must be incomplete"
        );
        rest = &rest[used..];
    }
});
