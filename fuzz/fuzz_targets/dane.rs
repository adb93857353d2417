//! Fuzz target `dane`: the outbound queue's DANE code on untrusted input: a validating
//! resolver's reply to a TLSA question (decoded by hickory-proto, classified by
//! `dane::answer`: CNAME chain, rcode, AD bit, TLSA records) and a server's certificate
//! chain matched against those records (`dane::verify::authenticate`, webpki underneath).
//!
//! Input: two big-endian octets N, then N octets of DNS reply, then the certificate chain
//! as a sequence of (two-octet length, DER) blobs, server certificate first.
//!
//! Asserts, besides "never panics":
//! - only a reply with records (at the question or where its CNAMEs lead) yields TLSA
//!   records; NODATA, NXDOMAIN and failures yield none;
//! - a match names a usable record of the RRset (DANE-TA/DANE-EE, known selector and
//!   matching type);
//! - a certificate webpki parses always matches a `3 1 0` record of its own SPKI and a
//!   `3 0 0` record of itself (DANE-EE ignores names and dates), and never a `0 1 0` one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_queue::dane::answer::Answer;
use tern_queue::dane::fuzzing::{authenticate, spki, tlsa_reply};
use tern_queue::dane::tlsa::Tlsa;

fn split(data: &[u8]) -> (&[u8], Vec<Vec<u8>>) {
    let take = |d: &[u8]| -> Option<(usize, usize)> {
        let n = u16::from_be_bytes([*d.first()?, *d.get(1)?]) as usize;
        Some((2, (2 + n).min(d.len())))
    };
    let Some((start, end)) = take(data) else {
        return (&[], Vec::new());
    };
    let wire = &data[start..end];
    let mut rest = &data[end..];
    let mut chain = Vec::new();
    while let Some((s, e)) = take(rest) {
        chain.push(rest[s..e].to_vec());
        rest = &rest[e..];
        if chain.len() == 8 {
            break;
        }
    }
    (wire, chain)
}

fuzz_target!(|data: &[u8]| {
    let (wire, chain) = split(data);
    let mut records: Vec<Tlsa> = Vec::new();
    if let Some((reply, owner, tlsa)) = tlsa_reply(wire) {
        match &reply.answer {
            Answer::Records { .. } => {
                let owner = owner.expect("records have an owner");
                assert!(owner.ends_with('.'), "{owner}");
            }
            _ => assert!(tlsa.is_empty() && owner.is_none()),
        }
        records = tlsa;
    }
    if let Ok(m) = authenticate(&records, &chain) {
        assert!(
            m.record.is_usable(),
            "matched an unusable record {}",
            m.record
        );
        assert!(
            records.contains(&m.record),
            "matched a record not in the RRset"
        );
    }
    if let Some(ee) = chain.first()
        && let Some(key) = spki(ee)
    {
        let own = |usage, selector, data: Vec<u8>| Tlsa {
            usage,
            selector,
            matching: 0,
            data,
        };
        let by_key = own(3, 1, key.clone());
        assert_eq!(
            authenticate(&[by_key.clone()], &chain).map(|m| m.record),
            Ok(by_key)
        );
        let by_cert = own(3, 0, ee.clone());
        assert_eq!(
            authenticate(&[by_cert.clone()], &chain).map(|m| m.record),
            Ok(by_cert)
        );
        assert!(authenticate(&[own(0, 1, key)], &chain).is_err());
    }
});
