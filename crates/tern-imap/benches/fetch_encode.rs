//! Micro-benchmark: FETCH response encoding for 100 messages: `* n FETCH (...)` written by
//! the server's own `write_message` from view records, cached metadata (as
//! `tern_mail::analyze` made it at delivery) and, for body sections, the message bytes.
//! The store read that precedes it is `store/meta_read_100` (tern-store-sqlite).
//!
//! `cargo bench -p tern-imap --features bench --bench fetch_encode`; instruction counts:
//! `bench/micro --callgrind fetch/`. Harness and inputs: bench/micro/{harness,corpus}.rs.

#[path = "../../../bench/micro/corpus.rs"]
mod corpus;
#[path = "../../../bench/micro/harness.rs"]
mod harness;

use harness::{Harness, Per, Threads};
use std::hint::black_box;
use std::sync::Arc;
use tern_imap::bench_api::{Message, Style, write_message};
use tern_imap::proto::command::{CommandBody, FetchAttr};
use tern_imap::proto::{EncodeOptions, Frame, parse_command};
use tern_store::{BlobId, Flags, MessageMeta, MessageRecord, Timestamp};

/// One mailbox's worth of messages: 70 plain, 25 multipart, 5 of 1 MB, interleaved.
struct Mailbox {
    records: Vec<MessageRecord>,
    metas: Vec<Arc<MessageMeta>>,
    bytes: Vec<Arc<Vec<u8>>>,
}

fn mailbox() -> Mailbox {
    let flag_sets: [&[&str]; 5] = [
        &["\\Seen"],
        &["\\Seen", "\\Answered"],
        &[],
        &["\\Seen", "$Forwarded", "$label1"],
        &["\\Flagged", "$Junk"],
    ];
    let mut mb = Mailbox {
        records: Vec::new(),
        metas: Vec::new(),
        bytes: Vec::new(),
    };
    for i in 0..100u64 {
        let bytes = match i % 20 {
            7 => corpus::large(i),
            1 | 5 | 9 | 13 | 17 => corpus::multipart(i),
            _ => corpus::plain(i),
        };
        let meta = tern_mail::analyze(&bytes);
        let mut blob = [0u8; 32];
        blob[..8].copy_from_slice(&i.to_le_bytes());
        mb.records.push(MessageRecord {
            uid: 4000 + i as u32 * 3,
            modseq: 90_000 + i,
            flags: Flags::from_names(flag_sets[i as usize % 5].iter().copied()),
            internaldate: Timestamp {
                unix: 1_796_000_000 + i as i64 * 3607,
                offset_minutes: 60,
            },
            size: bytes.len() as u64,
            blob: BlobId(blob),
        });
        mb.metas.push(Arc::new(meta));
        mb.bytes.push(Arc::new(bytes));
    }
    mb
}

fn items(command: &str) -> Vec<FetchAttr> {
    match parse_command(&Frame::from_bytes(command))
        .expect(command)
        .body
    {
        CommandBody::Fetch { items, .. } => items.0,
        other => panic!("not a FETCH: {other:?}"),
    }
}

fn main() {
    let mut h = Harness::from_args();
    let mb = Arc::new(mailbox());
    let cases: &[(&str, u64, &str)] = &[
        // FETCH 1:* (UID FLAGS): a client resynchronizing flags.
        ("fetch/uid_flags_100", 200, "a UID FETCH 1:* (UID FLAGS)"),
        // The message list of a client (bench/run's mixed load sends this one).
        (
            "fetch/list_100",
            50,
            "a UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)",
        ),
        ("fetch/envelope_100", 50, "a UID FETCH 1:* (ENVELOPE)"),
        (
            "fetch/bodystructure_100",
            50,
            "a UID FETCH 1:* (BODYSTRUCTURE)",
        ),
        // Thunderbird's header fetch: HEADER.FIELDS is cut from the message bytes.
        (
            "fetch/thunderbird_headers_100",
            50,
            "a UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc \
             Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To \
             Content-Type Reply-To)])",
        ),
    ];
    for &(name, cg_iters, command) in cases {
        let items = items(command);
        let mb = mb.clone();
        h.bench(name, cg_iters, Threads::Main, Per::Items(100), move || {
            let needs_blob = items
                .iter()
                .any(|i| matches!(i, FetchAttr::BodySection { .. }));
            let style = Style {
                enc: EncodeOptions::default(),
                rev2: false,
                force_uid: true,
                force_modseq: false,
                condstore: false,
            };
            let mut out: Vec<u8> = Vec::with_capacity(256 * 1024);
            move || {
                out.clear();
                for (i, rec) in mb.records.iter().enumerate() {
                    let m = Message {
                        msn: i as u32 + 1,
                        rec,
                        recent: false,
                        meta: Some(&mb.metas[i]),
                        blob: needs_blob.then(|| mb.bytes[i].as_slice()),
                        flags_changed: false,
                    };
                    write_message(&mut out, &items, &m, &style).expect("write");
                }
                black_box(&out);
            }
        });
    }
}
