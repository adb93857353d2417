//! The metadata cache's memory estimate against what the allocator really holds: a
//! counting allocator (rounding each request as glibc does) measures the process's live
//! heap before and after the cache takes in a mailbox, and the cache's own figure must be
//! close to it — the budget (`[limits] metadata_cache`) is only as good as this estimate.
mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tern_mail::{Mail, MetaCache};
use tern_store::{BlobId, MetaParts, Uid};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// What glibc's malloc takes for `n` octets: an 8-octet header, 16-octet steps, 32 at least.
fn chunk(n: usize) -> isize {
    ((n + 8).next_multiple_of(16).max(32)) as isize
}

// SAFETY: delegates to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(chunk(layout.size()), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(chunk(new_size) - chunk(layout.size()), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Message `i` shaped like the benchmark's (bench/lib/msggen.py): a named sender, one
/// recipient, a subject of a few words, a Date and a Message-ID; every third one multipart
/// with an attachment.
fn bench_like(i: usize) -> Vec<u8> {
    let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"];
    let words = [
        "budget", "report", "meeting", "minutes", "draft", "review", "thesis",
    ];
    let name = names[i % names.len()];
    let subject: Vec<&str> = (0..2 + i % 5).map(|k| words[(i + k * 3) % 7]).collect();
    let mut m = format!(
        "From: {} <{name}@example.test>\r\nTo: <user@example.test>\r\n\
         Subject: {} #{i}\r\nDate: Tue, {:02} Mar 2026 10:{:02}:00 +0000\r\n\
         Message-ID: <bench.1.{i}@example.test>\r\nMIME-Version: 1.0\r\n",
        name[..1].to_uppercase() + &name[1..],
        subject.join(" "),
        1 + i % 28,
        i % 60,
    );
    let text = "lecture seminar exam grades thesis defense library access\r\n".repeat(20);
    if i % 3 == 2 {
        m += "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\r\n";
        m += &text;
        m += "--b1\r\nContent-Type: application/octet-stream; name=\"notes.txt\"\r\n\
              Content-Disposition: attachment; filename=\"notes.txt\"\r\n\
              Content-Transfer-Encoding: base64\r\n\r\nbm90ZXMgbm90ZXMgbm90ZXMK\r\n--b1--\r\n";
    } else {
        m += "Content-Type: text/plain; charset=utf-8\r\n\r\n";
        m += &text;
    }
    m.into_bytes()
}

async fn take_in(
    mail: &Mail,
    cache: &MetaCache,
    mb: tern_store::MailboxId,
    msgs: &[(Uid, BlobId)],
    parts: MetaParts,
) {
    for chunk in msgs.chunks(512) {
        let got = cache
            .read(mail.store.as_ref(), mb, chunk, parts)
            .await
            .unwrap();
        assert_eq!(got.len(), chunk.len());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_estimate_matches_the_heap() {
    let (_dir, mail) = mail().await;
    let n = 900;
    let (mb, msgs) = fill_inbox(&mail, "size@example.test", n, bench_like).await;
    let cases = [
        (
            "envelope + sort",
            MetaParts {
                envelope: true,
                sort: true,
                ..MetaParts::NONE
            },
        ),
        (
            "sort",
            MetaParts {
                sort: true,
                ..MetaParts::NONE
            },
        ),
        ("all", MetaParts::ALL),
    ];
    for (name, parts) in cases {
        // A first pass warms the store's own caches (statements, pages), which stay.
        take_in(&mail, &MetaCache::new(1 << 30), mb, &msgs, parts).await;
        let cache = MetaCache::new(1 << 30);
        let before = LIVE.load(Ordering::Relaxed);
        take_in(&mail, &cache, mb, &msgs, parts).await;
        let held = LIVE.load(Ordering::Relaxed) - before;
        let (estimate, count) = cache.usage();
        assert_eq!(count, n);
        let ratio = estimate as f64 / held as f64;
        println!(
            "{name}: estimate {} B/message, heap {} B/message, ratio {ratio:.2}",
            estimate / n,
            held as usize / n
        );
        assert!((0.8..1.25).contains(&ratio), "{name}: {estimate} vs {held}");
        drop(cache);
    }
}
