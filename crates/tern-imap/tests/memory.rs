//! The memory budget of an idle connection (issue: "an idle logged-in connection costs tens
//! of KiB"): a counting allocator measures what 40 logged-in connections with INBOX
//! selected add to the process, server and (tiny) client side together; and the peak heap
//! growth while a 20 MB APPEND streams in (the message must not be buffered whole).

mod common;

use common::{TestServer, message};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Sends a command and reads until its tagged line, with a small stack buffer; returns
/// the last few KiB received.
async fn command(s: &mut TcpStream, tag: &str, cmd: &str) -> String {
    s.write_all(format!("{tag} {cmd}\r\n").as_bytes())
        .await
        .unwrap();
    let want = format!("\r\n{tag} OK");
    let mut tail: Vec<u8> = b"\r\n".to_vec();
    let mut buf = [0u8; 512];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed during {cmd}");
        tail.extend_from_slice(&buf[..n]);
        if let Some(i) = tail.windows(want.len()).position(|w| w == want.as_bytes())
            && tail[i + 2..].contains(&b'\n')
        {
            return String::from_utf8_lossy(&tail).into_owned();
        }
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 256);
        }
    }
}

async fn idle_session(srv: &TestServer) -> TcpStream {
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"* OK"));
    let out = command(&mut s, "a1", "LOGIN alice@example.test pw").await;
    assert!(out.contains("a1 OK"), "{out}");
    command(&mut s, "a2", "SELECT INBOX").await;
    s
}

#[tokio::test]
async fn idle_logged_in_connection_costs_tens_of_kib() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user("alice@example.test", "pw").await;
    let mut c = srv.login("alice@example.test", "pw").await;
    for i in 0..20 {
        c.append("INBOX", "", &message(&format!("m{i}"))).await;
    }
    // Warm up lazily created state (store reader pools, caches).
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(idle_session(&srv).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    const N: isize = 40;
    let before = LIVE.load(Ordering::Relaxed);
    let mut conns = Vec::new();
    for _ in 0..N {
        conns.push(idle_session(&srv).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let per_conn = (LIVE.load(Ordering::Relaxed) - before) / N;
    println!("live heap per idle selected connection: {per_conn} bytes");
    assert!(per_conn < 32 * 1024, "{per_conn} bytes per idle connection");
    drop(conns);
    drop(warm);
}

#[tokio::test]
async fn large_append_is_not_buffered_in_memory() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user("alice@example.test", "pw").await;
    let mut s = idle_session(&srv).await;
    // Warm up the append path with a small message.
    let small = message("warm");
    s.write_all(format!("w1 APPEND INBOX {{{}+}}\r\n", small.len()).as_bytes())
        .await
        .unwrap();
    s.write_all(&small).await.unwrap();
    s.write_all(b"\r\n").await.unwrap();
    command(&mut s, "w2", "NOOP").await;

    const SIZE: usize = 20 * 1000 * 1000;
    let head = b"From: a@example.test\r\nSubject: big\r\n\r\n";
    let line = [b'a'; 998];
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    s.write_all(format!("b1 APPEND INBOX {{{SIZE}+}}\r\n").as_bytes())
        .await
        .unwrap();
    s.write_all(head).await.unwrap();
    let mut sent = head.len();
    while sent < SIZE {
        let n = (SIZE - sent).min(1000);
        if n == 1000 {
            s.write_all(&line).await.unwrap();
            s.write_all(b"\r\n").await.unwrap();
        } else {
            s.write_all(&vec![b'b'; n]).await.unwrap();
        }
        sent += n;
    }
    s.write_all(b"\r\n").await.unwrap();
    let out = command(&mut s, "b2", "NOOP").await;
    assert!(out.contains("b1 OK [APPENDUID "), "{out}");
    let peak = PEAK.load(Ordering::Relaxed) - base;
    println!("peak heap growth during a {SIZE}-octet APPEND: {peak} bytes");
    assert!(peak < 4 * 1000 * 1000, "{peak} bytes");
    let out = command(&mut s, "b3", "STATUS INBOX (MESSAGES SIZE)").await;
    let want = format!("MESSAGES 2 SIZE {}", SIZE + small.len());
    assert!(out.contains(&want), "{out}");
}

#[tokio::test]
async fn idle_tls_connection_stays_small() {
    let _serial = SERIAL.lock().await;
    let srv = TestServer::start().await;
    srv.add_user("alice@example.test", "pw").await;
    let mut warm = Vec::new();
    for _ in 0..3 {
        let mut c = srv.connect_tls().await;
        c.ok("LOGIN alice@example.test pw").await;
        c.ok("SELECT INBOX").await;
        warm.push(c);
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    const N: isize = 20;
    let before = LIVE.load(Ordering::Relaxed);
    let mut conns = Vec::new();
    for _ in 0..N {
        let mut c = srv.connect_tls().await;
        c.ok("LOGIN alice@example.test pw").await;
        c.ok("SELECT INBOX").await;
        conns.push(c);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let both_sides = (LIVE.load(Ordering::Relaxed) - before) / N;
    println!("live heap per idle TLS connection, server and client together: {both_sides} bytes");
    // The client half (rustls client state and an 8 KiB read buffer) is about as large as
    // the server half.
    assert!(both_sides < 96 * 1024, "{both_sides} bytes");
}
