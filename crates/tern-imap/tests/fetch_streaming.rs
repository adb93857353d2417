//! FETCH streams large responses (DESIGN.md: "a connection never holds a whole large
//! message in memory"): a ~30 MB message comes back byte-exact over plain TCP, TLS and
//! COMPRESS=DEFLATE (whole, TEXT, and a partial range), and a counting allocator checks that
//! the process heap (server and test client together) does not grow by the message; a
//! `FETCH 1:* BODY[]` over many small messages (heap-held blobs) is written as it goes.

mod common;

use common::{Io, TestServer};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The highest `LIVE` seen since last reset.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: delegates to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counters are process-wide: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const USER: &str = "alice@example.test";
const PASS: &str = "pw";
const BIG_BODY: usize = 30 * 1000 * 1000;

/// A message generated on the fly: a header naming `seed`, then `body_len` octets of
/// 1000-octet lines (a line number, letters shifted by `seed`, CRLF).
#[derive(Clone, Copy)]
struct Gen {
    seed: usize,
    body_len: usize,
}

impl Gen {
    fn head(&self) -> Vec<u8> {
        format!(
            "From: a@example.test\r\nSubject: generated {}\r\n\r\n",
            self.seed
        )
        .into_bytes()
    }

    fn head_len(&self) -> usize {
        self.head().len()
    }

    fn len(&self) -> usize {
        self.head_len() + self.body_len
    }

    fn body_byte(&self, i: usize) -> u8 {
        let (line, col) = (i / 1000, i % 1000);
        match col {
            998 => b'\r',
            999 => b'\n',
            0..10 => b'0' + ((line / 10usize.pow(9 - col as u32)) % 10) as u8,
            _ => b'a' + ((line + col + self.seed) % 26) as u8,
        }
    }

    /// Octets `start..start+n` of the whole message.
    fn bytes(&self, start: usize, n: usize) -> Vec<u8> {
        let head = self.head();
        (start..start + n)
            .map(|i| match i.checked_sub(head.len()) {
                None => head[i],
                Some(b) => self.body_byte(b),
            })
            .collect()
    }
}

/// A raw connection, optionally under COMPRESS=DEFLATE (RFC 4978: raw deflate both ways).
struct Wire {
    io: Box<dyn Io>,
    deflate: Option<(Compress, Decompress)>,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    /// Received, decompressed, not yet consumed.
    buf: Vec<u8>,
    pos: usize,
}

impl Wire {
    fn new(io: Box<dyn Io>) -> Wire {
        Wire {
            io,
            deflate: None,
            raw: vec![0; 64 * 1024],
            raw_pos: 0,
            raw_len: 0,
            buf: Vec::with_capacity(128 * 1024),
            pos: 0,
        }
    }

    fn start_deflate(&mut self) {
        assert_eq!(self.pos, self.buf.len(), "unread input before COMPRESS");
        assert_eq!(self.raw_pos, self.raw_len, "unread input before COMPRESS");
        self.deflate = Some((
            Compress::new(Compression::fast(), false),
            Decompress::new(false),
        ));
    }

    async fn send(&mut self, bytes: &[u8]) {
        match &mut self.deflate {
            None => self.io.write_all(bytes).await.unwrap(),
            Some((c, _)) => {
                let mut out = Vec::with_capacity(bytes.len() + 64);
                let mut input = bytes;
                loop {
                    let before = c.total_in();
                    c.compress_vec(input, &mut out, FlushCompress::Sync)
                        .unwrap();
                    input = &input[(c.total_in() - before) as usize..];
                    if input.is_empty() && out.len() < out.capacity() {
                        break;
                    }
                    out.reserve(4096);
                }
                self.io.write_all(&out).await.unwrap();
            }
        }
        self.io.flush().await.unwrap();
    }

    /// Makes sure at least one unconsumed octet is buffered. Inflates at most a buffer's
    /// worth at a time (the test data compresses very well).
    async fn fill(&mut self) {
        while self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.raw_pos == self.raw_len {
                let n = tokio::time::timeout(common::READ_TIMEOUT, self.io.read(&mut self.raw))
                    .await
                    .expect("timed out reading")
                    .unwrap();
                assert!(n > 0, "connection closed");
                (self.raw_pos, self.raw_len) = (0, n);
            }
            let input = &self.raw[self.raw_pos..self.raw_len];
            match &mut self.deflate {
                None => {
                    self.buf.extend_from_slice(input);
                    self.raw_pos = self.raw_len;
                }
                Some((_, d)) => {
                    let before = d.total_in();
                    d.decompress_vec(input, &mut self.buf, FlushDecompress::Sync)
                        .unwrap();
                    self.raw_pos += (d.total_in() - before) as usize;
                }
            }
        }
    }

    /// One line without CRLF (never a literal's content).
    async fn line(&mut self) -> String {
        let mut line = Vec::new();
        loop {
            self.fill().await;
            let avail = &self.buf[self.pos..];
            match memchr_nl(avail) {
                Some(i) => {
                    line.extend_from_slice(&avail[..=i]);
                    self.pos += i + 1;
                    break;
                }
                None => {
                    line.extend_from_slice(avail);
                    self.pos = self.buf.len();
                }
            }
        }
        assert!(line.ends_with(b"\r\n"), "{line:?}");
        line.truncate(line.len() - 2);
        String::from_utf8(line).unwrap()
    }

    /// Consumes `n` octets, handing them to `check` chunk by chunk with their offset.
    async fn literal(&mut self, n: usize, mut check: impl FnMut(usize, &[u8])) {
        let mut done = 0;
        while done < n {
            self.fill().await;
            let take = (n - done).min(self.buf.len() - self.pos);
            check(done, &self.buf[self.pos..self.pos + take]);
            self.pos += take;
            done += take;
        }
    }

    /// Sends a command and reads to its tagged line, which must be OK.
    async fn ok(&mut self, tag: &str, cmd: &str) {
        self.send(format!("{tag} {cmd}\r\n").as_bytes()).await;
        loop {
            let l = self.line().await;
            if l.starts_with(&format!("{tag} ")) {
                assert!(l.starts_with(&format!("{tag} OK")), "{cmd}: {l}");
                return;
            }
        }
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// APPENDs a generated message with a non-synchronizing literal, streaming it in pieces.
async fn append(w: &mut Wire, tag: &str, g: Gen) {
    let total = g.len();
    w.send(format!("{tag} APPEND INBOX {{{total}+}}\r\n").as_bytes())
        .await;
    let mut sent = 0;
    while sent < total {
        let n = (total - sent).min(256 * 1024);
        w.send(&g.bytes(sent, n)).await;
        sent += n;
    }
    w.send(b"\r\n").await;
    loop {
        let l = w.line().await;
        if l.starts_with(&format!("{tag} ")) {
            assert!(l.starts_with(&format!("{tag} OK")), "{l}");
            return;
        }
    }
}

/// Reads one `* n FETCH (<label> {len}` CRLF literal `)` response and checks the literal
/// against `g`'s octets from `start`.
async fn read_fetch(w: &mut Wire, msn: usize, label: &str, g: Gen, start: usize, len: usize) {
    let l = w.line().await;
    let want = format!("* {msn} FETCH ({label} {{{len}}}");
    assert_eq!(l, want);
    let mut mismatch = None;
    w.literal(len, |off, got| {
        if mismatch.is_none() && got != g.bytes(start + off, got.len()).as_slice() {
            mismatch = Some(off);
        }
    })
    .await;
    assert_eq!(mismatch, None, "content differs near offset {mismatch:?}");
    assert_eq!(w.line().await, ")");
}

/// FETCHes `label` of message 1 and checks it; returns the peak heap growth meanwhile.
async fn fetch_one(
    w: &mut Wire,
    tag: &str,
    item: &str,
    label: &str,
    g: Gen,
    start: usize,
    len: usize,
) -> isize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    w.send(format!("{tag} FETCH 1 ({item})\r\n").as_bytes())
        .await;
    read_fetch(w, 1, label, g, start, len).await;
    let done = w.line().await;
    assert!(done.starts_with(&format!("{tag} OK")), "{done}");
    PEAK.load(Ordering::Relaxed) - base
}

/// Stores the big message, then checks whole, TEXT and partial FETCHes over `w`.
async fn big_fetches(srv: &TestServer, mut w: Wire, transport: &str) {
    let g = Gen {
        seed: 7,
        body_len: BIG_BODY,
    };
    // Store through a second, plain connection so the checked one only reads.
    let mut feeder = plain(srv).await;
    append(&mut feeder, "f1", g).await;
    w.ok("s1", "EXAMINE INBOX").await;
    // Warm up the FETCH path (store readers, blob mapping).
    let warm = fetch_one(&mut w, "w1", "BODY.PEEK[]<0.100>", "BODY[]<0>", g, 0, 100).await;
    assert!(warm >= 0);

    let mut peaks = Vec::new();
    let whole = g.len();
    peaks.push(fetch_one(&mut w, "b1", "BODY.PEEK[]", "BODY[]", g, 0, whole).await);
    let head = g.head_len();
    peaks.push(
        fetch_one(
            &mut w,
            "b2",
            "BODY.PEEK[TEXT]",
            "BODY[TEXT]",
            g,
            head,
            BIG_BODY,
        )
        .await,
    );
    let (origin, count) = (1_234_567, 20_000_000);
    let label = format!("BODY[]<{origin}>");
    let item = format!("BODY.PEEK[]<{origin}.{count}>");
    peaks.push(fetch_one(&mut w, "b3", &item, &label, g, origin, count).await);
    peaks.push(fetch_one(&mut w, "b4", "RFC822", "RFC822", g, 0, whole).await);
    println!("{transport}: peak heap growth per FETCH of ~30 MB (server and client): {peaks:?}");
    for p in peaks {
        assert!(p < 4 * 1000 * 1000, "{transport}: heap grew by {p} bytes");
    }
}

async fn plain(srv: &TestServer) -> Wire {
    let mut c = srv.login(USER, PASS).await;
    c.ok("NOOP").await;
    Wire::new(c.into_inner())
}

#[tokio::test]
async fn big_message_over_plain_tcp() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let w = plain(&srv).await;
    big_fetches(&srv, w, "plain").await;
}

#[tokio::test]
async fn big_message_over_tls() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut c = srv.connect_tls().await;
    c.ok(&format!("LOGIN {USER} {PASS}")).await;
    big_fetches(&srv, Wire::new(c.into_inner()), "TLS").await;
}

#[tokio::test]
async fn big_message_over_compress_deflate() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut w = plain(&srv).await;
    w.ok("c1", "COMPRESS DEFLATE").await;
    w.start_deflate();
    w.ok("c2", "NOOP").await;
    big_fetches(&srv, w, "DEFLATE").await;
}

#[tokio::test]
async fn many_messages_are_written_as_they_go() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let mut w = plain(&srv).await;
    // Below the blob store's mapping threshold: these blobs are read into the heap.
    const N: usize = 150;
    let gens: Vec<Gen> = (0..N)
        .map(|seed| Gen {
            seed,
            body_len: 50_000,
        })
        .collect();
    for (i, g) in gens.iter().enumerate() {
        append(&mut w, &format!("a{i}"), *g).await;
    }
    w.ok("s1", "EXAMINE INBOX").await;
    w.ok("w1", "FETCH 1:2 BODY.PEEK[]").await;

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    w.send(b"f1 FETCH 1:* BODY.PEEK[]\r\n").await;
    for (i, g) in gens.iter().enumerate() {
        read_fetch(&mut w, i + 1, "BODY[]", *g, 0, g.len()).await;
    }
    let done = w.line().await;
    assert!(done.starts_with("f1 OK"), "{done}");
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let total: usize = gens.iter().map(|g| g.len()).sum();
    println!("peak heap growth during FETCH 1:* of {total} octets in {N} messages: {peak} bytes");
    assert!(peak < 2 * 1000 * 1000, "heap grew by {peak} bytes");
}
