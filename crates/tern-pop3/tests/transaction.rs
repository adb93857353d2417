//! The TRANSACTION and UPDATE states against the real store: STAT, LIST, UIDL, RETR, TOP,
//! DELE, RSET, QUIT; the login snapshot; deletions only at QUIT; UIDLs stable and
//! migrated ones kept; interplay with other clients of the store (IMAP-side expunges, new
//! deliveries); pipelining; byte-exact and streamed RETR.
mod common;

use common::{TestServer, message};
use std::sync::Arc;
use tern_store::{AppendMode, Flags, NewMessage, Timestamp};

const ALICE: &str = "alice@example.test";
const PW: &str = "pw";

async fn server_with(messages: &[Vec<u8>]) -> TestServer {
    let srv = TestServer::start().await;
    srv.add_user(ALICE, PW).await;
    for m in messages {
        srv.deliver(ALICE, m).await;
    }
    srv
}

fn three() -> Vec<Vec<u8>> {
    vec![message("first"), message("second"), message("third")]
}

#[tokio::test]
async fn stat_list_uidl_match_the_store() {
    let msgs = three();
    let srv = server_with(&msgs).await;
    let records = srv.inbox_messages(ALICE).await;
    let inbox = srv.inbox(ALICE).await;
    let uids: Vec<u32> = records.iter().map(|r| r.uid).collect();
    let uidls = srv.mail.store.pop3_uidls(inbox, &uids).await.unwrap();
    let total: usize = msgs.iter().map(Vec::len).sum();

    let mut c = srv.login(ALICE, PW).await;
    assert_eq!(c.cmd("STAT").await, format!("+OK 3 {total}"));
    let (status, lines) = c.multi("LIST").await;
    assert_eq!(status, format!("+OK 3 messages ({total} octets)"));
    let want: Vec<String> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} {}", i + 1, m.len()))
        .collect();
    assert_eq!(lines, want);
    assert_eq!(c.cmd("LIST 2").await, format!("+OK 2 {}", msgs[1].len()));
    assert_eq!(c.cmd("LIST 4").await, "-ERR No such message");
    assert_eq!(c.cmd("LIST 0").await, "-ERR No such message");

    let (status, lines) = c.multi("UIDL").await;
    assert_eq!(status, "+OK Unique-ID listing follows");
    let want: Vec<String> = uidls
        .iter()
        .enumerate()
        .map(|(i, (_, u))| format!("{} {u}", i + 1))
        .collect();
    assert_eq!(lines, want);
    assert_eq!(c.cmd("UIDL 3").await, format!("+OK 3 {}", uidls[2].1));
    for (_, u) in &uidls {
        // RFC 1939 §7: 1 to 70 characters in 0x21..=0x7E.
        assert!(
            (1..=70).contains(&u.len()) && u.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "{u:?}"
        );
    }
    assert_eq!(c.cmd("UIDL 9").await, "-ERR No such message");
    c.ok("QUIT").await;
}

#[tokio::test]
async fn retr_is_byte_exact_and_does_not_set_seen() {
    let msgs = three();
    let srv = server_with(&msgs).await;
    let mut c = srv.login(ALICE, PW).await;
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            c.cmd(&format!("RETR {}", i + 1)).await,
            format!("+OK {} octets", m.len())
        );
        assert_eq!(c.body().await, *m, "message {}", i + 1);
    }
    assert_eq!(c.cmd("RETR 4").await, "-ERR No such message");
    c.ok("QUIT").await;
    // RETR does not mark \Seen (Dovecot's default): IMAP sees the mail as unread.
    for r in srv.inbox_messages(ALICE).await {
        assert!(!r.flags.has(Flags::SEEN), "uid {} got \\Seen", r.uid);
    }
}

#[tokio::test]
async fn dot_stuffing_and_line_end_normalization() {
    let stuffed =
        b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nend without newline".to_vec();
    let bare_lf = b"Subject: lf\n\nline one\n.dot\nlast\n".to_vec();
    let srv = server_with(&[stuffed.clone(), bare_lf.clone()]).await;
    let mut c = srv.login(ALICE, PW).await;

    c.ok("RETR 1").await;
    let wire = c.raw_body().await;
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nend without newline\r\n.\r\n"
    );
    // Announced sizes are the stored octets (documented; see the crate doc).
    assert_eq!(
        c.cmd("RETR 2").await,
        format!("+OK {} octets", bare_lf.len())
    );
    let wire = c.raw_body().await;
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "Subject: lf\r\n\r\nline one\r\n..dot\r\nlast\r\n.\r\n"
    );
}

#[tokio::test]
async fn top_sends_header_and_n_body_lines() {
    let msg =
        b"From: a@example.test\r\nSubject: top\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n".to_vec();
    let srv = server_with(std::slice::from_ref(&msg)).await;
    let mut c = srv.login(ALICE, PW).await;
    let header = "From: a@example.test\r\nSubject: top\r\n\r\n";
    let table = [
        (0, header.to_string()),
        (1, format!("{header}line 1\r\n")),
        (2, format!("{header}line 1\r\n..line 2\r\n")),
        (3, format!("{header}line 1\r\n..line 2\r\nline 3\r\n")),
        (1000, format!("{header}line 1\r\n..line 2\r\nline 3\r\n")),
    ];
    for (n, want) in table {
        assert_eq!(
            c.cmd(&format!("TOP 1 {n}")).await,
            "+OK Top of message follows"
        );
        assert_eq!(
            String::from_utf8(c.raw_body().await).unwrap(),
            format!("{want}.\r\n")
        );
    }
    assert_eq!(c.cmd("TOP 2 0").await, "-ERR No such message");
    assert_eq!(c.cmd("TOP 1 -1").await, "-ERR Invalid line count");
}

#[tokio::test]
async fn dele_rset_and_quit_commits_once() {
    let msgs = three();
    let srv = server_with(&msgs).await;
    let before = srv.inbox_messages(ALICE).await;
    let mut c = srv.login(ALICE, PW).await;
    let (_, uidls_before) = c.multi("UIDL").await;

    assert_eq!(c.cmd("DELE 1").await, "+OK Message 1 deleted");
    assert_eq!(c.cmd("DELE 1").await, "-ERR Message 1 is already deleted");
    assert_eq!(c.cmd("RETR 1").await, "-ERR Message 1 is already deleted");
    assert_eq!(c.cmd("LIST 1").await, "-ERR Message 1 is already deleted");
    assert_eq!(c.cmd("DELE 7").await, "-ERR No such message");
    let rest = msgs[1].len() + msgs[2].len();
    assert_eq!(c.cmd("STAT").await, format!("+OK 2 {rest}"));
    let (_, lines) = c.multi("LIST").await;
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("2 "),
        "numbers do not shift: {lines:?}"
    );
    // Nothing is removed before QUIT.
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 3);

    let all: usize = msgs.iter().map(Vec::len).sum();
    assert_eq!(
        c.cmd("RSET").await,
        format!("+OK Maildrop has 3 messages ({all} octets)")
    );
    assert_eq!(c.cmd("STAT").await, format!("+OK 3 {all}"));
    c.ok("DELE 1").await;
    c.ok("DELE 3").await;
    assert_eq!(
        c.cmd("QUIT").await,
        "+OK pop.example.test Tern POP3 signing off (1 message left)"
    );
    assert!(c.until_closed().await.is_empty());

    let after = srv.inbox_messages(ALICE).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].uid, before[1].uid, "the undeleted message stays");

    // The next session sees one message, with the same UIDL as before.
    let mut c = srv.login(ALICE, PW).await;
    assert_eq!(c.cmd("STAT").await, format!("+OK 1 {}", msgs[1].len()));
    let (_, uidls) = c.multi("UIDL").await;
    let old = uidls_before[1].split_once(' ').unwrap().1;
    assert_eq!(uidls, [format!("1 {old}")]);
    c.ok("DELE 1").await;
    assert_eq!(
        c.cmd("QUIT").await,
        "+OK pop.example.test Tern POP3 signing off (maildrop empty)"
    );
    assert!(srv.inbox_messages(ALICE).await.is_empty());
}

#[tokio::test]
async fn a_dropped_connection_deletes_nothing() {
    let srv = server_with(&three()).await;
    let mut c = srv.login(ALICE, PW).await;
    for n in 1..=3 {
        c.ok(&format!("DELE {n}")).await;
    }
    drop(c);
    let mut c = srv.login_when_free(ALICE, PW).await;
    assert!(c.cmd("STAT").await.starts_with("+OK 3 "));
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 3);
}

#[tokio::test]
async fn uidls_are_stable_and_migrated_ones_kept() {
    let srv = server_with(&three()).await;
    // A migrated message carrying the old server's UIDL.
    let inbox = srv.inbox(ALICE).await;
    let bytes = message("migrated");
    let staged = srv.mail.stage_bytes(&bytes, 1 << 20).await.unwrap();
    let imported = NewMessage {
        mailbox: inbox,
        blob: staged.blob,
        size: staged.size,
        flags: Flags::default(),
        internaldate: Timestamp {
            unix: 1_000_000_000,
            offset_minutes: 0,
        },
        meta: Arc::clone(&staged.meta),
        quota_bytes: None,
        import_uid: Some(1000),
        import_modseq: None,
        pop3_uidl: Some("legacy-uidl-1".into()),
    };
    let results = srv
        .mail
        .store
        .append(vec![imported], AppendMode::Atomic)
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");

    let mut c = srv.login(ALICE, PW).await;
    let (_, first) = c.multi("UIDL").await;
    assert_eq!(first.len(), 4);
    assert_eq!(first[3], "4 legacy-uidl-1");
    c.ok("QUIT").await;
    for _ in 0..2 {
        let mut c = srv.login(ALICE, PW).await;
        let (_, again) = c.multi("UIDL").await;
        assert_eq!(again, first, "UIDLs are the same in every session");
        c.ok("QUIT").await;
    }
    let unique: std::collections::HashSet<_> =
        first.iter().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(unique.len(), 4, "UIDLs are unique: {first:?}");
}

#[tokio::test]
async fn another_clients_expunge_is_seen_at_the_next_session() {
    let srv = server_with(&three()).await;
    let inbox = srv.inbox(ALICE).await;
    let records = srv.inbox_messages(ALICE).await;
    let mut c = srv.login(ALICE, PW).await;
    let (_, uidls) = c.multi("UIDL").await;

    // An IMAP client expunges message 2 while POP3 holds its snapshot.
    let (removed, _) = srv
        .mail
        .store
        .expunge(inbox, &[records[1].uid])
        .await
        .unwrap();
    assert_eq!(removed, [records[1].uid]);
    assert!(
        c.cmd("STAT").await.starts_with("+OK 3 "),
        "snapshot is stable"
    );
    // POP3 deleting the same message again is harmless.
    c.ok("DELE 2").await;
    c.ok("QUIT").await;

    let mut c = srv.login(ALICE, PW).await;
    let (_, now) = c.multi("UIDL").await;
    let want = [
        format!("1 {}", uidls[0].split_once(' ').unwrap().1),
        format!("2 {}", uidls[2].split_once(' ').unwrap().1),
    ];
    assert_eq!(now, want, "renumbered, UIDLs kept");
}

#[tokio::test]
async fn new_mail_waits_for_the_next_session() {
    let srv = server_with(&[message("old")]).await;
    let mut c = srv.login(ALICE, PW).await;
    assert!(c.cmd("STAT").await.starts_with("+OK 1 "));
    let fresh = message("new");
    srv.deliver(ALICE, &fresh).await;
    assert!(
        c.cmd("STAT").await.starts_with("+OK 1 "),
        "message numbers are stable"
    );
    assert_eq!(c.cmd("RETR 2").await, "-ERR No such message");
    c.ok("QUIT").await;

    let mut c = srv.login(ALICE, PW).await;
    assert!(c.cmd("STAT").await.starts_with("+OK 2 "));
    c.ok("RETR 2").await;
    assert_eq!(c.body().await, fresh);
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let msgs = three();
    let srv = server_with(&msgs).await;
    let mut c = srv.connect().await;
    // RFC 2449 §6.6: the client may send several commands without waiting.
    c.send_raw(
        format!(
            "USER {ALICE}\r\nPASS {PW}\r\nSTAT\r\nLIST 1\r\nRETR 2\r\nUIDL 1\r\nDELE 3\r\nNOOP\r\nQUIT\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(c.line().await, "+OK Send your password");
    assert!(
        c.line()
            .await
            .starts_with("+OK Mailbox locked and ready, 3 messages")
    );
    assert!(c.line().await.starts_with("+OK 3 "));
    assert_eq!(c.line().await, format!("+OK 1 {}", msgs[0].len()));
    assert_eq!(c.line().await, format!("+OK {} octets", msgs[1].len()));
    assert_eq!(c.body().await, msgs[1]);
    assert!(c.line().await.starts_with("+OK 1 "));
    assert_eq!(c.line().await, "+OK Message 3 deleted");
    assert_eq!(c.line().await, "+OK");
    assert!(c.line().await.contains("signing off (2 messages left)"));
    assert!(c.until_closed().await.is_empty());
    assert_eq!(srv.inbox_messages(ALICE).await.len(), 2);
}

#[tokio::test]
async fn large_message_streams_byte_exact() {
    // ~3 MB with dot-leading lines everywhere, so chunk edges fall at every kind of spot.
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    let mut i = 0u32;
    while big.len() < 3 << 20 {
        let line = match i % 4 {
            0 => format!(".dot line {i}\r\n"),
            1 => format!("..{}\r\n", "x".repeat((i % 97) as usize)),
            2 => format!("plain {i} {}\r\n", "y".repeat((i % 131) as usize)),
            _ => ".\r\n".to_string(),
        };
        big.extend_from_slice(line.as_bytes());
        i += 1;
    }
    let srv = server_with(std::slice::from_ref(&big)).await;
    let mut c = srv.login(ALICE, PW).await;
    assert_eq!(c.cmd("RETR 1").await, format!("+OK {} octets", big.len()));
    let got = c.body().await;
    assert_eq!(got.len(), big.len());
    assert!(got == big, "RETR of a large message differs");
    // The session is still in step afterwards.
    assert_eq!(c.cmd("NOOP").await, "+OK");
}
