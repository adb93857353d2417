//! Reading cached metadata in bulk (`meta`, and the narrower `meta_parts`): answers in the
//! order asked, omits UIDs that are gone, keeps duplicates, and returns exactly what was
//! stored, whether the UIDs are dense, sparse or out of order; databases of schema 1 (JSON
//! metadata) are still read. The ignored benchmark times a
//! mailbox of distinct messages (every message its own blob, as in a real mailbox); size it
//! with `TERN_META_N`:
//! `cargo test --release -p tern-store-sqlite --test meta_read -- --ignored --nocapture`.

mod common;
use common::*;
use std::sync::Arc;
use std::time::Instant;
use tern_store::*;

/// A realistic message: four address lists, a multipart/alternative body with an
/// attachment, a References chain and a full preview.
fn realistic(i: u32) -> MessageMeta {
    let addr = |name: &str, user: String| Address {
        name: Some(name.to_owned()),
        adl: None,
        mailbox: Some(user),
        host: Some("example.test".to_owned()),
    };
    let part = |t: &str, s: &str, start: u64, end: u64| BodyPart {
        content_type: t.to_owned(),
        subtype: s.to_owned(),
        params: vec![("charset".to_owned(), "utf-8".to_owned())],
        encoding: "QUOTED-PRINTABLE".to_owned(),
        header_start: start,
        body_start: start + 80,
        end,
        lines: 40,
        ..BodyPart::default()
    };
    MessageMeta {
        envelope: Envelope {
            date: Some(format!("Fri, {} Dec 2026 10:00:00 +0000", 1 + i % 28)),
            subject: Some(format!("Re: Quarterly planning notes, item {i}")),
            from: vec![addr("Some Sender", format!("sender{}", i % 97))],
            sender: vec![],
            reply_to: vec![],
            to: vec![addr("Alice Example", "alice".into())],
            cc: vec![
                addr("Bob Example", "bob".into()),
                addr("Carol Example", "carol".into()),
            ],
            bcc: vec![],
            in_reply_to: Some(format!("<m{}@example.test>", i.saturating_sub(1))),
            message_id: Some(format!("<m{i}@example.test>")),
        },
        body: BodyPart {
            content_type: "multipart".to_owned(),
            subtype: "mixed".to_owned(),
            params: vec![("boundary".to_owned(), format!("=_b{i}"))],
            encoding: "7BIT".to_owned(),
            end: 9000,
            parts: vec![
                BodyPart {
                    content_type: "multipart".to_owned(),
                    subtype: "alternative".to_owned(),
                    parts: vec![
                        part("text", "plain", 900, 3000),
                        part("text", "html", 3000, 6000),
                    ],
                    ..BodyPart::default()
                },
                BodyPart {
                    disposition: Some((
                        "attachment".to_owned(),
                        vec![("filename".to_owned(), format!("report-{i}.pdf"))],
                    )),
                    encoding: "BASE64".to_owned(),
                    ..part("application", "pdf", 6000, 9000)
                },
            ],
            ..BodyPart::default()
        },
        sort: SortKeys {
            sent_date: Some(1_796_000_000 + i64::from(i)),
            base_subject: format!("QUARTERLY PLANNING NOTES, ITEM {i}"),
            from: format!("SENDER{}", i % 97),
            to: "ALICE".to_owned(),
            cc: "BOB".to_owned(),
            display_from: "SOME SENDER".to_owned(),
            display_to: "ALICE EXAMPLE".to_owned(),
        },
        thread: ThreadKeys {
            message_id: Some(format!("m{i}@example.test")),
            in_reply_to: vec![format!("m{}@example.test", i.saturating_sub(1))],
            references: (0..4)
                .map(|k| format!("m{}@example.test", i.saturating_sub(k)))
                .collect(),
            is_reply: true,
        },
        preview: format!("{i} ").repeat(200)[..200].to_owned(),
    }
}

/// A mailbox of `n` distinct messages (one blob id each), appended in batches of 1000. The
/// metadata store does not read blob bytes, so the ids need no files behind them.
async fn mailbox_of(store: &dyn MailStore, n: u32) -> (MailboxInfo, Vec<Uid>) {
    let (_, mb) = setup(store, "meta@example.test").await;
    let mut uids = Vec::new();
    for start in (0..n).step_by(1000) {
        let mut batch = Vec::new();
        for i in start..(start + 1000).min(n) {
            let mut id = [0x5a; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            let mut m = message(mb.id, BlobId(id), 9000);
            m.meta = Arc::new(realistic(i));
            batch.push(m);
        }
        for r in store.append(batch, AppendMode::Atomic).await.unwrap() {
            uids.push(r.unwrap().uid);
        }
    }
    (mb, uids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_answers_in_the_order_asked() {
    let (store, _blobs, _dir) = fresh().await;
    let (mb, uids) = mailbox_of(&*store, 1200).await;
    let expect = |uid: Uid| realistic(uids.iter().position(|&u| u == uid).unwrap() as u32);
    store.expunge(mb.id, &[uids[5], uids[700]]).await.unwrap();

    // Dense, sparse, reversed, with duplicates, with expunged and never-existing UIDs.
    let dense: Vec<Uid> = uids[..600].to_vec();
    let sparse: Vec<Uid> = uids.iter().copied().step_by(97).collect();
    let mut odd: Vec<Uid> = uids[690..710].iter().rev().copied().collect();
    odd.extend([uids[3], uids[3], 999_999, uids[1199], 0, uids[5]]);
    for asked in [dense, sparse, odd, Vec::new()] {
        let got = store.meta(mb.id, &asked).await.unwrap();
        let want: Vec<Uid> = asked
            .iter()
            .copied()
            .filter(|&u| u != uids[5] && u != uids[700] && uids.contains(&u))
            .collect();
        assert_eq!(got.iter().map(|(u, _)| *u).collect::<Vec<_>>(), want);
        for (uid, meta) in &got {
            assert_eq!(**meta, expect(*uid), "uid {uid}");
        }
    }
    let other = store
        .create_mailbox(mb.account, "Other", CreateMailbox::default())
        .await
        .unwrap();
    assert!(store.meta(other.id, &uids[..10]).await.unwrap().is_empty());
}

/// A database of schema 1 kept the metadata as JSON TEXT: it still opens, and its messages
/// are served (new messages in it get the binary layout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_metadata_of_schema_1_databases() {
    let dir = tempfile::tempdir().unwrap();
    let uids = {
        let (store, _) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
        mailbox_of(&*store, 3).await.1
    };
    let db = dir.path().join(tern_store_sqlite::DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let hashes: Vec<Vec<u8>> = conn
            .prepare("SELECT hash FROM blobs")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (i, hash) in hashes.iter().enumerate() {
            let json = serde_json::to_string(&realistic(i as u32)).unwrap();
            conn.execute("UPDATE blobs SET meta = ?2 WHERE hash = ?1", (hash, json))
                .unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let (store, _) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    let account = store.account("meta@example.test", false).await.unwrap();
    let mailboxes = store.mailboxes(account.unwrap()).await.unwrap();
    let mb = mailboxes.into_iter().find(|m| m.name == "INBOX").unwrap();
    let got = store.meta(mb.id, &uids).await.unwrap();
    assert_eq!(got.len(), 3);
    for (i, (_, meta)) in got.iter().enumerate() {
        assert_eq!(**meta, realistic(i as u32));
    }
    let keys = MetaParts {
        sort: true,
        ..MetaParts::NONE
    };
    let got = store.meta_parts(mb.id, &uids[1..2], keys).await.unwrap();
    assert_eq!(got[0].1.sort, realistic(1).sort);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn meta_read_benchmark() {
    let n: u32 = std::env::var("TERN_META_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (store, _blobs, _dir) = fresh().await;
    let t = Instant::now();
    let (mb, uids) = mailbox_of(&*store, n).await;
    println!("append {n} distinct: {:?}", t.elapsed());

    for round in 0..2 {
        let t = Instant::now();
        let mut got = 0;
        for chunk in uids.chunks(512) {
            got += store.meta(mb.id, chunk).await.unwrap().len();
        }
        assert_eq!(got, uids.len());
        let e = t.elapsed();
        println!(
            "meta, all {n} in chunks of 512 (round {round}): {e:?} ({:.2} µs/message)",
            e.as_secs_f64() * 1e6 / f64::from(n)
        );
    }
    for (label, parts) in [
        (
            "sort keys",
            MetaParts {
                sort: true,
                ..MetaParts::NONE
            },
        ),
        (
            "sort+thread keys",
            MetaParts {
                sort: true,
                thread: true,
                ..MetaParts::NONE
            },
        ),
        (
            "envelope",
            MetaParts {
                envelope: true,
                ..MetaParts::NONE
            },
        ),
        ("nothing", MetaParts::NONE),
    ] {
        let t = Instant::now();
        for chunk in uids.chunks(512) {
            store.meta_parts(mb.id, chunk, parts).await.unwrap();
        }
        let e = t.elapsed();
        println!(
            "meta_parts({label}), all {n}: {e:?} ({:.2} µs/message)",
            e.as_secs_f64() * 1e6 / f64::from(n)
        );
    }
    let sparse: Vec<Uid> = uids.iter().copied().step_by(50).collect();
    let t = Instant::now();
    for chunk in sparse.chunks(512) {
        store.meta(mb.id, chunk).await.unwrap();
    }
    println!("meta, every 50th ({}): {:?}", sparse.len(), t.elapsed());
}
