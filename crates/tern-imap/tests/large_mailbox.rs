//! The 100,000-message mailbox (issue: "FETCH over a 100,000-message mailbox never
//! re-parses messages"). Ignored by default (it takes a while in debug builds); run with
//! `cargo test -p tern-imap --release --test large_mailbox -- --ignored --nocapture`.
//! `TERN_LARGE_N` overrides the message count.

mod common;

use common::TestServer;
use std::time::Instant;
use tern_directory::Directory;
use tern_store::{Flags, Timestamp};

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

#[tokio::test]
#[ignore]
async fn large_mailbox_fetch_sort_search() {
    let n: usize = std::env::var("TERN_LARGE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let srv = TestServer::start().await;
    srv.add_user_with_quota(USER, PASS, None).await;
    let account = srv.directory.lookup(USER).await.unwrap().unwrap();
    let id = srv.mail.open_account(&account).await.unwrap();
    let inbox = srv
        .mail
        .store
        .mailboxes(id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "INBOX")
        .unwrap();
    // 100 distinct messages (distinct senders and dates), repeated.
    let mut staged = Vec::new();
    for i in 0..100 {
        let m = format!(
            "From: User{i:03} <u{i}@example.test>\r\nTo: alice@example.test\r\nSubject: Note {i}\r\n\
             Date: Fri, {:02} Dec 2026 10:{:02}:00 +0000\r\nMessage-ID: <m{i}@example.test>\r\n\r\nBody {i}.\r\n",
            1 + i % 28,
            i % 60
        );
        staged.push(srv.mail.stage_bytes(m.as_bytes(), 1 << 20).await.unwrap());
    }
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let batch: Vec<_> = (done..(done + 1000).min(n))
            .map(|i| {
                let ts = Timestamp {
                    unix: 1_796_000_000 + i as i64,
                    offset_minutes: 0,
                };
                let flags = if i.is_multiple_of(3) {
                    Flags::from_names(["\\Seen"])
                } else {
                    Flags::default()
                };
                (staged[i % 100].clone(), flags, ts)
            })
            .collect();
        done += batch.len();
        srv.mail.append_many(inbox.id, batch, None).await.unwrap();
    }
    eprintln!("append {n}: {:?}", t.elapsed());

    let mut c = srv.login(USER, PASS).await;
    let t = Instant::now();
    let lines = c.ok("SELECT INBOX").await;
    eprintln!("SELECT: {:?}", t.elapsed());
    assert!(
        lines.contains(&format!("* {n} EXISTS")),
        "{:?}",
        &lines[..4]
    );

    let t = Instant::now();
    let lines = c.ok("FETCH 1:* (UID FLAGS)").await;
    eprintln!("FETCH 1:* (UID FLAGS): {:?}", t.elapsed());
    assert_eq!(lines.len(), n + 1);
    assert_eq!(
        lines[n - 1],
        format!(
            "* {n} FETCH (UID {n} FLAGS ({}\\Recent))",
            if (n - 1).is_multiple_of(3) {
                "\\Seen "
            } else {
                ""
            }
        )
    );

    let t = Instant::now();
    let lines = c.ok("FETCH 1:* (ENVELOPE)").await;
    eprintln!("FETCH 1:* (ENVELOPE): {:?}", t.elapsed());
    assert_eq!(lines.len(), n + 1);

    let t = Instant::now();
    let lines = c.ok("SEARCH UNSEEN").await;
    eprintln!("SEARCH UNSEEN: {:?}", t.elapsed());
    assert_eq!(lines[0].split(' ').count() - 2, n - n.div_ceil(3));

    let t = Instant::now();
    let lines = c.ok("SEARCH FROM user007").await;
    eprintln!("SEARCH FROM (cached envelope): {:?}", t.elapsed());
    assert_eq!(
        lines[0].split(' ').count() - 2,
        (0..n).filter(|i| i % 100 == 7).count()
    );

    let t = Instant::now();
    let lines = c.ok("SORT (DATE) UTF-8 ALL").await;
    eprintln!("SORT (DATE): {:?}", t.elapsed());
    assert_eq!(lines[0].split(' ').count() - 2, n);

    let t = Instant::now();
    let lines = c.ok("THREAD REFERENCES UTF-8 ALL").await;
    eprintln!("THREAD REFERENCES: {:?}", t.elapsed());
    assert!(lines[0].starts_with("* THREAD ("));
}
