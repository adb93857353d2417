//! Micro-benchmark: message analysis at delivery (`tern_mail::analyze`: MIME structure with
//! byte ranges, envelope, SORT/THREAD keys, preview), once per delivered message.
//!
//! `cargo bench -p tern-mail --bench mime_analyze`; instruction counts: `bench/micro
//! --callgrind mime/`. Harness and inputs: bench/micro/{harness,corpus}.rs.

#[path = "../../../bench/micro/corpus.rs"]
mod corpus;
#[path = "../../../bench/micro/harness.rs"]
mod harness;

use harness::{Harness, Per, Threads};
use std::hint::black_box;

/// A generator of a corpus message from its id.
type Make = fn(u64) -> Vec<u8>;

fn main() {
    let mut h = Harness::from_args();
    let cases: [(&str, u64, Make); 3] = [
        ("mime/plain_4k", 200, corpus::plain),
        ("mime/multipart_140k", 20, corpus::multipart),
        ("mime/large_1m", 4, corpus::large),
    ];
    for (name, cg_iters, make) in cases {
        let msg = make(1);
        let per = Per::Bytes(msg.len() as u64);
        h.bench(name, cg_iters, Threads::Main, per, || {
            move || {
                black_box(tern_mail::analyze(black_box(&msg)));
            }
        });
    }
}
