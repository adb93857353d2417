//! QRESYNC (RFC 7162 §3.2.5.2): `VANISHED (EARLIER)` at SELECT when the expunge history
//! is complete, and when it is not (a mailbox imported from another server), narrowed by
//! the client's known UIDs and seq-match data.

mod common;

use common::{Client, TestServer, message};
use tern_store::{AppendMode, Flags, MailboxId, NewMessage, Timestamp};

const ALICE: &str = "alice@example.test";
const PASS: &str = "pw";

/// UIDs the source server had when the mailbox was migrated (3 and 8 were expunged there).
const IMPORTED: [u32; 8] = [1, 2, 4, 5, 6, 7, 9, 10];
/// The MODSEQ of the last imported message.
const LAST_IMPORTED_MODSEQ: u64 = 107;

/// Alice's `Imported` mailbox, migrated with [`IMPORTED`] and MODSEQs 100..=107, then UID 9
/// expunged here. Returns the session (QRESYNC enabled, nothing selected) and UIDVALIDITY.
async fn imported() -> (TestServer, Client, u32) {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PASS).await;
    let mut c = srv.login(ALICE, PASS).await;
    c.ok("CREATE Imported").await;
    let store = &srv.mail.store;
    let account = store.account(ALICE, false).await.unwrap().unwrap();
    let mailbox: MailboxId = store
        .mailboxes(account)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Imported")
        .unwrap()
        .id;
    let mut batch = Vec::new();
    for (i, uid) in IMPORTED.into_iter().enumerate() {
        let staged = srv
            .mail
            .stage_bytes(&message(&format!("imported {uid}")), 1 << 20)
            .await
            .unwrap();
        batch.push(NewMessage {
            mailbox,
            blob: staged.blob,
            size: staged.size,
            flags: Flags::default(),
            internaldate: Timestamp {
                unix: 1_800_000_000,
                offset_minutes: 0,
            },
            meta: staged.meta,
            quota_bytes: None,
            import_uid: Some(uid),
            import_modseq: Some(100 + i as u64),
            pop3_uidl: None,
        });
    }
    for r in store.append(batch, AppendMode::Atomic).await.unwrap() {
        r.unwrap();
    }
    // Expunge history starts at the import: the source's expunges were not brought over.
    assert_eq!(
        store.oldest_modseq(mailbox).await.unwrap(),
        LAST_IMPORTED_MODSEQ
    );
    c.ok("ENABLE QRESYNC").await;
    c.ok("SELECT Imported").await;
    c.ok("UID STORE 9 +FLAGS.SILENT (\\Deleted)").await;
    c.ok("UID EXPUNGE 9").await;
    c.ok("UNSELECT").await;
    let uidvalidity = store.mailbox(mailbox).await.unwrap().uidvalidity;
    (srv, c, uidvalidity)
}

/// The `VANISHED (EARLIER)` line of a QRESYNC SELECT, if any.
async fn vanished(c: &mut Client, params: &str) -> Option<String> {
    let lines = c.ok(&format!("SELECT Imported (QRESYNC ({params}))")).await;
    let v: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("* VANISHED"))
        .collect();
    assert!(v.len() <= 1, "{lines:#?}");
    v.first().map(|l| l.to_string())
}

#[tokio::test]
async fn complete_history_reports_exactly_what_was_expunged() {
    let (_srv, mut c, uv) = imported().await;
    assert_eq!(
        vanished(&mut c, &format!("{uv} {LAST_IMPORTED_MODSEQ} 1:10")).await,
        Some("* VANISHED (EARLIER) 9".into())
    );
    // Known UIDs restrict it.
    assert_eq!(
        vanished(&mut c, &format!("{uv} {LAST_IMPORTED_MODSEQ} 1:8")).await,
        None
    );
}

#[tokio::test]
async fn incomplete_history_reports_every_gap_without_seq_match() {
    let (_srv, mut c, uv) = imported().await;
    assert_eq!(
        vanished(&mut c, &format!("{uv} 50 1:10")).await,
        Some("* VANISHED (EARLIER) 3,8:9".into())
    );
    assert_eq!(
        vanished(&mut c, &format!("{uv} 50 1:8")).await,
        Some("* VANISHED (EARLIER) 3,8".into())
    );
}

#[tokio::test]
async fn seq_match_data_narrows_vanished_when_history_is_incomplete() {
    let (_srv, mut c, uv) = imported().await;
    // The client's cache (from the old server): MSN 1,2,3,5 were UIDs 1,2,4,6. They still
    // are, so it knew of every expunge below UID 7 (3 was gone before it cached).
    assert_eq!(
        vanished(&mut c, &format!("{uv} 50 1:10 (1:3,5 1,2,4,6)")).await,
        Some("* VANISHED (EARLIER) 8:9".into())
    );
    // A pair that no longer matches (MSN 3 was UID 3) stops the narrowing there.
    assert_eq!(
        vanished(&mut c, &format!("{uv} 50 1:10 (1:3 1:3)")).await,
        Some("* VANISHED (EARLIER) 3,8:9".into())
    );
    // Pairs up to the newest message that all match: the client knows every expunge.
    assert_eq!(
        vanished(&mut c, &format!("{uv} 50 1:10 (1:7 1,2,4:7,10)")).await,
        None
    );
    // With complete history seq-match changes nothing.
    assert_eq!(
        vanished(
            &mut c,
            &format!("{uv} {LAST_IMPORTED_MODSEQ} 1:10 (1:3 1:3)")
        )
        .await,
        Some("* VANISHED (EARLIER) 9".into())
    );
    // The FETCH part still lists what changed since the client's MODSEQ.
    let lines = c
        .ok(&format!(
            "SELECT Imported (QRESYNC ({uv} 50 1:10 (1:3,5 1,2,4,6)))"
        ))
        .await;
    let fetches = lines.iter().filter(|l| l.contains(" FETCH (UID ")).count();
    assert_eq!(fetches, 7, "{lines:#?}");
}
