//! Mailbox commands: default folders, LIST (patterns, LIST-EXTENDED, LIST-STATUS,
//! SPECIAL-USE), LSUB, CREATE (parents, USE), DELETE, RENAME (INBOX too), SUBSCRIBE, STATUS.

mod common;

use common::{Client, TestServer, message};

const USER: &str = "alice@example.test";
const PASS: &str = "pw";

async fn alice() -> (TestServer, Client) {
    let srv = TestServer::start().await;
    srv.add_user(USER, PASS).await;
    let c = srv.login(USER, PASS).await;
    (srv, c)
}

/// The untagged lines of a command, tagged line dropped.
fn untagged(mut lines: Vec<String>) -> Vec<String> {
    lines.pop();
    lines
}

#[tokio::test]
async fn default_folders_with_special_use() {
    let (_srv, mut c) = alice().await;
    let lines = untagged(c.ok("LIST \"\" *").await);
    assert_eq!(
        lines,
        vec![
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
        ]
    );
    assert_eq!(
        untagged(c.ok("LIST \"\" \"\"").await),
        vec!["* LIST (\\Noselect) \"/\" \"\""]
    );
    assert_eq!(
        untagged(c.ok("LIST \"\" inbox").await),
        vec!["* LIST (\\HasNoChildren) \"/\" INBOX"]
    );
    let lines = untagged(c.ok("LIST (SPECIAL-USE) \"\" *").await);
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| !l.ends_with(" INBOX")));
}

#[tokio::test]
async fn create_with_parents_and_use_then_list_patterns() {
    let (_srv, mut c) = alice().await;
    let ok = c.ok("CREATE Projects/2026/Q1/").await;
    assert!(ok[0].starts_with("a2 OK [MAILBOXID (F"), "{ok:?}");
    let no = c.no("CREATE Projects/2026").await;
    assert!(no.starts_with("a3 NO [ALREADYEXISTS]"), "{no}");
    c.no("CREATE INBOX").await;
    let no = c.no("CREATE Old (USE (\\Bogus))").await;
    assert!(no.starts_with("a5 NO [USEATTR]"), "{no}");
    c.ok("CREATE \"Sent Items\" (USE (\\Sent))").await;

    assert_eq!(
        untagged(c.ok("LIST \"\" Projects/%").await),
        vec!["* LIST (\\HasChildren) \"/\" Projects/2026"]
    );
    assert_eq!(
        untagged(c.ok("LIST Projects/ *").await),
        vec![
            "* LIST (\\HasChildren) \"/\" Projects/2026",
            "* LIST (\\HasNoChildren) \"/\" Projects/2026/Q1",
        ]
    );
    let lines = untagged(c.ok("LIST \"\" %").await);
    assert!(lines.contains(&"* LIST (\\HasChildren) \"/\" Projects".to_string()));
    assert!(lines.contains(&"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"".to_string()));
    // Non-ASCII names travel in modified UTF-7 (RFC 3501 §5.1.3).
    c.ok("CREATE \"Entw&APw-rfe\"").await;
    assert_eq!(
        untagged(c.ok("LIST \"\" Entw*").await),
        vec!["* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe"]
    );
}

#[tokio::test]
async fn delete_and_noselect_parents() {
    let (_srv, mut c) = alice().await;
    c.ok("CREATE a/b").await;
    let no = c.no("DELETE INBOX").await;
    assert!(no.contains("[CANNOT]"), "{no}");
    c.ok("DELETE a").await;
    // The inferior stays; its parent is a \Noselect level now.
    assert_eq!(
        untagged(c.ok("LIST \"\" a*").await),
        vec![
            "* LIST (\\Noselect \\HasChildren) \"/\" a",
            "* LIST (\\HasNoChildren) \"/\" a/b",
        ]
    );
    let no = c.no("DELETE a").await;
    assert!(no.contains("[HASCHILDREN]"), "{no}");
    let no = c.no("DELETE nothing").await;
    assert!(no.contains("[NONEXISTENT]"), "{no}");
    c.ok("DELETE a/b").await;
    assert_eq!(untagged(c.ok("LIST \"\" a*").await), Vec::<String>::new());
}

#[tokio::test]
async fn rename_moves_children_and_subscriptions() {
    let (_srv, mut c) = alice().await;
    c.ok("CREATE Work/Reports").await;
    c.ok("SUBSCRIBE Work/Reports").await;
    c.ok("RENAME Work Archive/Work").await;
    assert_eq!(
        untagged(c.ok("LIST \"\" Archive/*").await),
        vec![
            "* LIST (\\HasChildren) \"/\" Archive/Work",
            "* LIST (\\HasNoChildren) \"/\" Archive/Work/Reports",
        ]
    );
    assert_eq!(
        untagged(c.ok("LSUB \"\" *").await),
        vec!["* LSUB () \"/\" Archive/Work/Reports"]
    );
    let no = c.no("RENAME Nope Other").await;
    assert!(no.contains("[NONEXISTENT]"), "{no}");
    let no = c.no("RENAME Sent Drafts").await;
    assert!(no.contains("[ALREADYEXISTS]"), "{no}");
    let no = c.no("RENAME Archive Archive/Deeper").await;
    assert!(no.contains("[CANNOT]"), "{no}");
}

#[tokio::test]
async fn rename_inbox_moves_messages_and_leaves_it_empty() {
    let (_srv, mut c) = alice().await;
    for i in 0..3 {
        let lines = c.append("INBOX", "", &message(&format!("m{i}"))).await;
        assert!(lines.last().unwrap().contains("OK [APPENDUID"), "{lines:?}");
    }
    c.ok("RENAME INBOX Old-Inbox").await;
    let st = untagged(c.ok("STATUS INBOX (MESSAGES)").await);
    assert_eq!(st, vec!["* STATUS INBOX (MESSAGES 0)"]);
    let st = untagged(c.ok("STATUS Old-Inbox (MESSAGES UIDNEXT)").await);
    assert_eq!(st, vec!["* STATUS Old-Inbox (MESSAGES 3 UIDNEXT 4)"]);
}

#[tokio::test]
async fn status_items() {
    let (_srv, mut c) = alice().await;
    let m = message("hello");
    c.append("INBOX", "\\Seen", &m).await;
    c.append("INBOX", "\\Deleted", &m).await;
    let lines = untagged(
        c.ok("STATUS INBOX (MESSAGES UNSEEN DELETED SIZE UIDNEXT APPENDLIMIT)")
            .await,
    );
    assert_eq!(
        lines,
        vec![format!(
            "* STATUS INBOX (MESSAGES 2 UNSEEN 1 DELETED 1 SIZE {} UIDNEXT 3 APPENDLIMIT 50000000)",
            2 * m.len()
        )]
    );
    let lines = untagged(
        c.ok("STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ MAILBOXID)")
            .await,
    );
    assert!(
        lines[0].starts_with("* STATUS INBOX (UIDVALIDITY "),
        "{lines:?}"
    );
    assert!(lines[0].contains(" HIGHESTMODSEQ "));
    assert!(lines[0].contains(" MAILBOXID (F"));
    let no = c.no("STATUS Missing (MESSAGES)").await;
    assert!(no.contains("[NONEXISTENT]"), "{no}");
}

#[tokio::test]
async fn list_extended_subscribed_recursivematch_and_status() {
    let (_srv, mut c) = alice().await;
    c.ok("CREATE Lists/rust").await;
    c.ok("CREATE Lists/go").await;
    c.ok("SUBSCRIBE Lists/rust").await;
    c.ok("SUBSCRIBE INBOX").await;
    c.ok("SUBSCRIBE Gone").await;
    c.append("INBOX", "", &message("x")).await;

    assert_eq!(
        untagged(c.ok("LIST (SUBSCRIBED) \"\" *").await),
        vec![
            "* LIST (\\NonExistent \\Subscribed) \"/\" Gone",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" Lists/rust",
        ]
    );
    assert_eq!(
        untagged(c.ok("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").await),
        vec![
            "* LIST (\\NonExistent \\Subscribed) \"/\" Gone",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX",
            "* LIST (\\HasChildren) \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))",
        ]
    );
    assert_eq!(
        untagged(c.ok("LIST \"\" Lists/% RETURN (SUBSCRIBED CHILDREN)").await),
        vec![
            "* LIST (\\HasNoChildren) \"/\" Lists/go",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" Lists/rust",
        ]
    );
    assert_eq!(
        untagged(
            c.ok("LIST \"\" (INBOX Lists) RETURN (STATUS (MESSAGES UNSEEN))")
                .await
        ),
        vec![
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* STATUS INBOX (MESSAGES 1 UNSEEN 1)",
            "* LIST (\\HasChildren) \"/\" Lists",
            "* STATUS Lists (MESSAGES 0 UNSEEN 0)",
        ]
    );
    c.bad("LIST (RECURSIVEMATCH) \"\" *").await;
    c.ok("UNSUBSCRIBE Gone").await;
    assert_eq!(untagged(c.ok("LSUB \"\" G*").await), Vec::<String>::new());
    assert_eq!(
        untagged(c.ok("LSUB \"\" Lists").await),
        Vec::<String>::new(),
        "Lists itself is not subscribed"
    );
    assert_eq!(
        untagged(c.ok("LSUB \"\" %").await),
        vec!["* LSUB () \"/\" INBOX", "* LSUB (\\Noselect) \"/\" Lists"]
    );
}

#[tokio::test]
async fn utf8_accept_names() {
    let (_srv, mut c) = alice().await;
    c.ok("CREATE \"Entw&APw-rfe\"").await;
    c.ok("ENABLE UTF8=ACCEPT").await;
    assert_eq!(
        untagged(c.ok("LIST \"\" Entw*").await),
        vec!["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\""]
    );
    c.ok("CREATE \"Ärger\"").await;
    let st = untagged(c.ok("STATUS \"Ärger\" (MESSAGES)").await);
    assert_eq!(st, vec!["* STATUS \"Ärger\" (MESSAGES 0)"]);
}
