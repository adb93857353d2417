//! LMTP delivery into the real embedded store: per-recipient replies (RFC 2033 §4.2),
//! directory answers at RCPT, quota, size limit, one blob for many recipients, byte-exact
//! content through DATA and BDAT.

mod common;

use common::{TestServer, config, dot_stuff, message, strip_trace};
use tern_mail::account_state::{self, AccountState, DisabledMail, ProvisionRecord};
use tern_smtp::SessionLimits;

/// MAIL FROM + RCPTs (asserting each reply code) + DATA with `body`; returns the replies
/// after the final dot.
async fn transaction(
    c: &mut common::Client,
    mail_from: &str,
    rcpts: &[(&str, u16)],
    body: &[u8],
) -> Vec<common::Reply> {
    c.expect(&format!("MAIL FROM:{mail_from}"), 250, "2.1.0")
        .await;
    let mut accepted = 0;
    for (rcpt, code) in rcpts {
        let r = c.cmd(&format!("RCPT TO:<{rcpt}>")).await;
        assert_eq!(r.code, *code, "RCPT {rcpt}: {r:?}");
        if r.code == 250 {
            accepted += 1;
        }
    }
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(body)).await;
    c.replies(accepted).await
}

#[tokio::test]
async fn per_recipient_replies_in_rcpt_order() {
    let srv = TestServer::start().await;
    srv.add_user("alice@example.test").await;
    srv.add_user("bob@example.test").await;
    srv.add_user("carol@example.test").await;
    srv.disable("carol@example.test").await;
    let mut c = srv.lhlo().await;
    let body = message("order", 300);
    let replies = transaction(
        &mut c,
        "<sender@example.test>",
        &[
            ("alice@example.test", 250),
            ("nobody@example.test", 550),
            ("carol@example.test", 450),
            ("bob@example.test", 250),
        ],
        &body,
    )
    .await;
    assert_eq!(replies[0].text(), "2.0.0 <alice@example.test> delivered");
    assert_eq!(replies[1].text(), "2.0.0 <bob@example.test> delivered");
    // Nothing more is pending: the next reply is NOOP's.
    c.expect("NOOP", 250, "2.0.0 OK").await;
    assert_eq!(srv.inbox("alice@example.test").await.len(), 1);
    assert_eq!(srv.inbox("bob@example.test").await.len(), 1);
    assert!(srv.inbox("carol@example.test").await.is_empty());
}

#[tokio::test]
async fn unknown_and_disabled_replies() {
    let srv = TestServer::start().await;
    srv.add_user("dis@example.test").await;
    srv.disable("dis@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<>", 250, "2.1.0").await;
    let r = c
        .expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        .await;
    assert_eq!(r.text(), "5.1.1 <nobody@example.test>: user unknown");
    // Any domain: the front MTA decided it is local.
    c.expect("RCPT TO:<nobody@elsewhere.test>", 550, "5.1.1")
        .await;
    c.expect("RCPT TO:<dis@example.test>", 450, "4.2.1").await;
    // No DSN advertised: its RCPT parameters are refused.
    c.expect("RCPT TO:<dis@example.test> NOTIFY=NEVER", 555, "5.5.4")
        .await;
}

/// Records what `tern provision` writes when it disables an account.
async fn provisioned_disabled(srv: &TestServer, name: &str, mail: DisabledMail) {
    let id = srv
        .mail
        .open_account(&tern_directory::Account {
            name: name.into(),
            enabled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let record = ProvisionRecord {
        state: AccountState::Disabled {
            since: 1_700_000_000,
            mail,
            reason: "test".into(),
        },
        quota: None,
        updated: 1_700_000_000,
    };
    account_state::write(&*srv.mail.store, id, &record)
        .await
        .unwrap();
}

#[tokio::test]
async fn provisioning_policy_for_disabled_and_gone_accounts() {
    let srv = TestServer::start().await;
    for u in [
        "dis@example.test",
        "bounced@example.test",
        "ok@example.test",
    ] {
        srv.add_user(u).await;
    }
    srv.disable("dis@example.test").await;
    srv.disable("bounced@example.test").await;
    provisioned_disabled(&srv, "dis@example.test", DisabledMail::Defer).await;
    provisioned_disabled(&srv, "bounced@example.test", DisabledMail::Bounce).await;
    // Gone from the directory, but provisioning disabled the account: its policy applies.
    provisioned_disabled(&srv, "gone@example.test", DisabledMail::Defer).await;
    provisioned_disabled(&srv, "left@example.test", DisabledMail::Bounce).await;
    // A stale record never refuses a user the directory accepts.
    provisioned_disabled(&srv, "ok@example.test", DisabledMail::Bounce).await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<>", 250, "2.1.0").await;
    let r = c.expect("RCPT TO:<dis@example.test>", 450, "4.2.1").await;
    assert_eq!(r.text(), "4.2.1 <dis@example.test> mailbox disabled");
    let r = c
        .expect("RCPT TO:<bounced@example.test>", 550, "5.2.1")
        .await;
    assert_eq!(r.text(), "5.2.1 <bounced@example.test> mailbox disabled");
    c.expect("RCPT TO:<gone@example.test>", 450, "4.2.1").await;
    c.expect("RCPT TO:<Gone+tag@Example.test>", 450, "4.2.1")
        .await;
    c.expect("RCPT TO:<left@example.test>", 550, "5.2.1").await;
    c.expect("RCPT TO:<ok@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        .await;
}

#[tokio::test]
async fn quota_at_rcpt_with_declared_size_and_after_data() {
    let srv = TestServer::start().await;
    srv.add_user("q@example.test").await;
    let mut c = srv.lhlo().await;
    let first = message("first", 2000);
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[("q@example.test", 250)],
        &first,
    )
    .await;
    assert_eq!(r[0].code, 250, "{r:?}");
    let used = srv.usage("q@example.test").await;
    assert!(used > 2000, "usage {used}");

    // Full: refused at RCPT even without SIZE.
    srv.set_quota("q@example.test", used).await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    let r = c.expect("RCPT TO:<q@example.test>", 452, "4.2.2").await;
    assert!(r.text().contains("mailbox full"), "{r:?}");
    c.expect("RSET", 250, "2.0.0").await;

    // Room for 1000 more: SIZE=5000 is refused at RCPT, SIZE=500 accepted.
    srv.set_quota("q@example.test", used + 1000).await;
    c.expect("MAIL FROM:<s@example.test> SIZE=5000", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<q@example.test>", 452, "4.2.2").await;
    c.expect("RSET", 250, "2.0.0").await;

    // Declared small, actually large: the commit refuses it, 452 after the data.
    let big = message("big", 3000);
    let r = transaction(
        &mut c,
        "<s@example.test> SIZE=500",
        &[("q@example.test", 250)],
        &big,
    )
    .await;
    assert_eq!(r[0].code, 452, "{r:?}");
    assert!(r[0].text().starts_with("4.2.2 <q@example.test>"), "{r:?}");
    assert_eq!(srv.inbox("q@example.test").await.len(), 1);
    assert_eq!(srv.usage("q@example.test").await, used);
}

#[tokio::test]
async fn too_large_is_552_per_recipient_and_nothing_stored() {
    let mut cfg = config();
    cfg.max_message_size = 1000;
    let srv = TestServer::start_with(cfg, SessionLimits::default()).await;
    srv.add_user("a@example.test").await;
    srv.add_user("b@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<s@example.test> SIZE=1001", 552, "5.3.4")
        .await;
    let big = message("big", 5000);
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[("a@example.test", 250), ("b@example.test", 250)],
        &big,
    )
    .await;
    for (reply, who) in r.iter().zip(["a", "b"]) {
        assert_eq!(reply.code, 552, "{reply:?}");
        assert!(
            reply
                .text()
                .starts_with(&format!("5.3.4 <{who}@example.test>")),
            "{reply:?}"
        );
    }
    // Exactly the limit is fine (the trace fields do not count against it).
    let mut exact = message("exact", 1000)[..998].to_vec();
    exact.extend_from_slice(b"\r\n");
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[("a@example.test", 250)],
        &exact,
    )
    .await;
    assert_eq!(r[0].code, 250, "{r:?}");
    let inbox = srv.inbox("a@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert!(srv.inbox("b@example.test").await.is_empty());

    // BDAT: a chunk that crosses the limit fails the transaction at once.
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<b@example.test>", 250, "2.1.5").await;
    let chunk = vec![b'x'; 1500];
    c.send("BDAT 1500\r\n").await;
    c.send_bytes(&chunk).await;
    c.send("BDAT 3 LAST\r\nabc").await;
    let r = c.replies(2).await;
    assert_eq!(r[0].code, 552, "{r:?}");
    assert_eq!(r[1].code, 503, "{r:?}");
    assert!(srv.inbox("b@example.test").await.is_empty());
}

#[tokio::test]
async fn one_blob_for_three_recipients() {
    let srv = TestServer::start().await;
    for u in ["r1", "r2", "r3"] {
        srv.add_user(&format!("{u}@example.test")).await;
    }
    let mut c = srv.lhlo().await;
    let body = message("shared", 4000);
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[
            ("r1@example.test", 250),
            ("r2@example.test", 250),
            ("r3@example.test", 250),
        ],
        &body,
    )
    .await;
    assert!(r.iter().all(|r| r.code == 250), "{r:?}");
    let mut blobs = Vec::new();
    for u in ["r1", "r2", "r3"] {
        let inbox = srv.inbox(&format!("{u}@example.test")).await;
        assert_eq!(inbox.len(), 1);
        assert_eq!(strip_trace(&inbox[0].1), &body[..]);
        // Several recipients: the shared Received field names none of them.
        assert!(!String::from_utf8_lossy(&inbox[0].1[..300]).contains("for <"));
        blobs.push(inbox[0].0.blob);
    }
    assert!(blobs.iter().all(|b| *b == blobs[0]), "{blobs:?}");
    assert_eq!(srv.blob_count().await, 1);
}

#[tokio::test]
async fn dot_stuffing_round_trip_is_byte_exact() {
    let srv = TestServer::start().await;
    srv.add_user("dots@example.test").await;
    let mut c = srv.lhlo().await;
    let body: &[u8] = b".starts with a dot\r\nSubject: dots\r\n\r\n.\r\n..\r\n...three\r\n. space\r\nbare\nlf and bare\rcr\r\n.\rx\r\nlast line\r\n";
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[("dots@example.test", 250)],
        body,
    )
    .await;
    assert_eq!(r[0].code, 250, "{r:?}");
    let inbox = srv.inbox("dots@example.test").await;
    let stored = &inbox[0].1;
    assert_eq!(strip_trace(stored), body);
    assert_eq!(inbox[0].0.size, stored.len() as u64);
    let head = String::from_utf8_lossy(&stored[..stored.len() - body.len()]).into_owned();
    assert!(
        head.starts_with("Return-Path: <s@example.test>\r\n"),
        "{head}"
    );
    assert!(
        head.contains("by mx.example.test (Tern) with LMTP id "),
        "{head}"
    );
    assert!(head.contains("for <dots@example.test>; "), "{head}");
}

#[tokio::test]
async fn bdat_chunks_are_stored_exactly() {
    let srv = TestServer::start().await;
    srv.add_user("chunks@example.test").await;
    let mut c = srv.lhlo().await;
    let part1: &[u8] = b"Subject: binary\r\n\r\n\x00\x01\xff\r\n.\r\n";
    let part2: &[u8] = b"..\r\n\r\n.\r\nend";
    c.expect("MAIL FROM:<s@example.test> BODY=BINARYMIME", 250, "2.1.0")
        .await;
    c.expect("RCPT TO:<chunks@example.test>", 250, "2.1.5")
        .await;
    // Pipelined: both chunks and QUIT in one write.
    let mut wire = format!("BDAT {}\r\n", part1.len()).into_bytes();
    wire.extend_from_slice(part1);
    wire.extend_from_slice(format!("BDAT {} LAST\r\n", part2.len()).as_bytes());
    wire.extend_from_slice(part2);
    wire.extend_from_slice(b"QUIT\r\n");
    c.send_bytes(&wire).await;
    let r = c.replies(3).await;
    assert_eq!(r[0].code, 250, "{r:?}");
    assert_eq!(
        r[0].text(),
        format!("2.0.0 {} octets received", part1.len())
    );
    assert_eq!(r[1].text(), "2.0.0 <chunks@example.test> delivered");
    assert_eq!(r[2].code, 221);
    let inbox = srv.inbox("chunks@example.test").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(strip_trace(&inbox[0].1), [part1, part2].concat());
}

#[tokio::test]
async fn empty_bdat_last_and_empty_data() {
    let srv = TestServer::start().await;
    srv.add_user("e@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<e@example.test>", 250, "2.1.5").await;
    c.expect("BDAT 0 LAST", 250, "2.0.0 <e@example.test> delivered")
        .await;
    let r = transaction(&mut c, "<s@example.test>", &[("e@example.test", 250)], b"").await;
    assert_eq!(r[0].code, 250, "{r:?}");
    let inbox = srv.inbox("e@example.test").await;
    assert_eq!(inbox.len(), 2);
    assert!(strip_trace(&inbox[0].1).is_empty());
    assert!(strip_trace(&inbox[1].1).is_empty());
}

#[tokio::test]
async fn groups_expand_to_members_once() {
    let srv = TestServer::start().await;
    for u in ["m1", "m2", "m3", "off"] {
        srv.add_user(&format!("{u}@example.test")).await;
    }
    srv.disable("off@example.test").await;
    srv.add_group(
        "staff@example.test",
        &[
            "m1@example.test",
            "team@example.test",
            "ghost@example.test",
            "off@example.test",
        ],
    )
    .await;
    srv.add_group(
        "team@example.test",
        &["m2@example.test", "m1@example.test", "staff@example.test"],
    )
    .await;
    srv.add_group("empty@example.test", &["ghost@example.test"])
        .await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<s@example.test>", 250, "2.1.0").await;
    c.expect("RCPT TO:<staff@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<m2@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<m3@example.test>", 250, "2.1.5").await;
    c.expect("RCPT TO:<empty@example.test>", 550, "5.1.1").await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(&message("group", 500))).await;
    let r = c.replies(3).await;
    assert_eq!(
        r[0].text(),
        "2.0.0 <staff@example.test> delivered to 2 of 2 members"
    );
    assert_eq!(r[1].text(), "2.0.0 <m2@example.test> delivered");
    assert_eq!(r[2].text(), "2.0.0 <m3@example.test> delivered");
    for u in ["m1", "m2", "m3"] {
        assert_eq!(
            srv.inbox(&format!("{u}@example.test")).await.len(),
            1,
            "{u}"
        );
    }
    assert!(srv.inbox("off@example.test").await.is_empty());
}

#[tokio::test]
async fn postmaster_without_domain() {
    let srv = TestServer::start().await;
    srv.add_user("postmaster@example.test").await;
    let mut c = srv.lhlo().await;
    c.expect("MAIL FROM:<>", 250, "2.1.0").await;
    c.expect("RCPT TO:<Postmaster>", 250, "2.1.5 <postmaster>")
        .await;
    c.expect("DATA", 354, "").await;
    c.send_bytes(&dot_stuff(&message("pm", 100))).await;
    let r = c.reply().await;
    assert_eq!(r.code, 250, "{r:?}");
    let inbox = srv.inbox("postmaster@example.test").await;
    assert!(inbox[0].1.starts_with(b"Return-Path: <>\r\n"));
}

#[tokio::test]
async fn large_message_streams_through() {
    let srv = TestServer::start().await;
    srv.add_user("big@example.test").await;
    let mut c = srv.lhlo().await;
    let body = message("large", 3 * 1024 * 1024);
    let r = transaction(
        &mut c,
        "<s@example.test>",
        &[("big@example.test", 250)],
        &body,
    )
    .await;
    assert_eq!(r[0].code, 250, "{r:?}");
    let inbox = srv.inbox("big@example.test").await;
    assert_eq!(strip_trace(&inbox[0].1), &body[..]);
}
