//! LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), CHILDREN (RFC 3348), SPECIAL-USE
//! (RFC 6154) and LIST-STATUS (RFC 5819); LSUB (RFC 3501 §6.3.9).
//!
//! The user's view is a tree of nodes: every mailbox they may list (own mailboxes, and
//! others' with the `l` right under `Other Users/<owner>/`), the hierarchy levels above them
//! that are not mailboxes themselves (`\Noselect \HasChildren`, e.g. `Other Users`), and
//! subscribed names with no mailbox (`\NonExistent` under the SUBSCRIBED selection).
//!
//! ## Invariants
//! - `\HasChildren`/`\HasNoChildren` and special-use attributes are always returned for
//!   mailboxes (RFC 5258 §4 and RFC 6154 §2 allow it unrequested).
//! - Pattern matching is linear in pattern × name (no backtracking blow-up on `*`).
//! - STATUS (RFC 5819) follows the LIST line of each selectable mailbox the user may read.

use super::status::format_status;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, ListCommand, StatusItem};
use crate::session::Session;
use crate::session::mailbox_ref::{MailboxRef, OTHER_USERS_PREFIX, visible};
use std::collections::BTreeMap;

/// One name in the user's tree.
#[derive(Debug, Default)]
struct Node {
    /// The mailbox, if the name is one the user may list.
    mailbox: Option<MailboxRef>,
    subscribed: bool,
    /// Some listable mailbox lies below.
    has_children: bool,
    /// Some subscribed name lies below (RECURSIVEMATCH's CHILDINFO).
    child_subscribed: bool,
}

/// The user's tree: listable mailboxes, their ancestors, and subscribed names.
async fn tree(s: &Session) -> Result<BTreeMap<String, Node>, CmdError> {
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    let store = s.server.mail.store.as_ref();
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for m in visible(store, auth).await? {
        if !m.rights.has('l') {
            continue;
        }
        for parent in ancestors(&m.name) {
            nodes.entry(parent.to_string()).or_default().has_children = true;
        }
        let name = m.name.clone();
        nodes.entry(name).or_default().mailbox = Some(m);
    }
    for name in store.subscriptions(auth.account_id).await? {
        for parent in ancestors(&name) {
            nodes
                .entry(parent.to_string())
                .or_default()
                .child_subscribed = true;
        }
        nodes.entry(name).or_default().subscribed = true;
    }
    Ok(nodes)
}

/// `a/b/c` → `a`, `a/b`.
fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/')
        .map(move |(i, _)| &name[..i])
        .filter(|p| !p.is_empty())
}

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::List(list) => run_list(s, list).await,
        CommandBody::Lsub { reference, pattern } => run_lsub(s, &reference, &pattern).await,
        _ => Err(CmdError::bad("Expected LIST or LSUB")),
    }
}

async fn run_list(s: &mut Session, cmd: ListCommand) -> CmdResult {
    // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the reference's root.
    if cmd.patterns.iter().all(|p| p.is_empty()) && !cmd.extended {
        let root = if cmd.reference.starts_with(OTHER_USERS_PREFIX) {
            s.wire_mailbox(OTHER_USERS_PREFIX)
        } else {
            "\"\"".to_string()
        };
        s.untagged(format!("LIST (\\Noselect) \"/\" {root}"));
        return Ok(Done::ok("LIST completed"));
    }
    let nodes = tree(s).await?;
    let patterns: Vec<String> = cmd
        .patterns
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| format!("{}{p}", cmd.reference))
        .collect();
    let return_subscribed = cmd.return_subscribed || cmd.select_subscribed;
    let mut lines = Vec::new();
    for (name, node) in &nodes {
        if !patterns.iter().any(|p| matches(p, name)) {
            continue;
        }
        let mut childinfo = false;
        if cmd.select_subscribed {
            if !node.subscribed {
                // RFC 5258 §3.5: with RECURSIVEMATCH, a parent of subscribed names is
                // returned (with CHILDINFO) even when it is not subscribed itself.
                if !(cmd.select_recursive_match && node.child_subscribed) {
                    continue;
                }
            }
            childinfo = cmd.select_recursive_match && node.child_subscribed;
        }
        if cmd.select_special_use {
            match &node.mailbox {
                Some(m) if m.info.special_use.is_some() => {}
                _ => continue,
            }
        }
        if node.mailbox.is_none() && !node.has_children && !cmd.select_subscribed {
            // A subscription without a mailbox: only SUBSCRIBED selection shows it.
            continue;
        }
        let mut attrs: Vec<&str> = Vec::new();
        match &node.mailbox {
            Some(m) => {
                attrs.push(if node.has_children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
                if let Some(u) = m.info.special_use {
                    attrs.push(u.attribute());
                }
            }
            None if node.has_children => attrs.extend(["\\Noselect", "\\HasChildren"]),
            None => attrs.push("\\NonExistent"),
        }
        if return_subscribed && node.subscribed {
            attrs.push("\\Subscribed");
        }
        let mut line = format!("LIST ({}) \"/\" {}", attrs.join(" "), s.wire_mailbox(name));
        if childinfo {
            line.push_str(" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
        }
        lines.push(line);
        if let (Some(items), Some(m)) = (&cmd.return_status, &node.mailbox)
            && m.rights.has('r')
        {
            if items.contains(&StatusItem::HighestModSeq) {
                s.enabled.condstore = true;
            }
            let st = s.server.mail.store.status(m.info.id).await?;
            lines.push(format_status(s, name, m.info.id, &st, items));
        }
    }
    for l in lines {
        s.untagged(l);
    }
    Ok(Done::ok("LIST completed"))
}

/// LSUB: subscribed names matching the pattern; with a trailing `%`, unsubscribed levels
/// above subscribed names come back as `\Noselect` (RFC 3501 §6.3.9).
async fn run_lsub(s: &mut Session, reference: &str, pattern: &str) -> CmdResult {
    if pattern.is_empty() {
        s.untagged("LSUB (\\Noselect) \"/\" \"\"");
        return Ok(Done::ok("LSUB completed"));
    }
    let nodes = tree(s).await?;
    let full = format!("{reference}{pattern}");
    let mut lines = Vec::new();
    for (name, node) in &nodes {
        if !matches(&full, name) {
            continue;
        }
        let attrs = if node.subscribed {
            if node.mailbox.is_some() {
                ""
            } else {
                "\\Noselect"
            }
        } else if node.child_subscribed && full.ends_with('%') {
            "\\Noselect"
        } else {
            continue;
        };
        lines.push(format!("LSUB ({attrs}) \"/\" {}", s.wire_mailbox(name)));
    }
    for l in lines {
        s.untagged(l);
    }
    Ok(Done::ok("LSUB completed"))
}

/// Whether `name` matches `pattern` (`*` any run, `%` any run without `/`). The INBOX
/// prefix of names matches case-insensitively (RFC 9051 §5.1).
pub fn matches(pattern: &str, name: &str) -> bool {
    let is_inbox = name == "INBOX" || name.starts_with("INBOX/");
    if is_inbox && pattern.len() >= 5 && pattern.is_char_boundary(5) {
        let (head, rest) = pattern.split_at(5);
        if head.eq_ignore_ascii_case("INBOX") {
            return glob(format!("INBOX{rest}").as_bytes(), name.as_bytes());
        }
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

/// Wildcard matching by dynamic programming over name prefixes: O(|pattern| × |name|).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    // dp[j]: the pattern so far matches name[..j].
    let mut dp = vec![false; name.len() + 1];
    dp[0] = true;
    let mut next = vec![false; name.len() + 1];
    for &p in pattern {
        match p {
            b'*' => {
                next[0] = dp[0];
                for j in 1..=name.len() {
                    next[j] = dp[j] || next[j - 1];
                }
            }
            b'%' => {
                next[0] = dp[0];
                for j in 1..=name.len() {
                    next[j] = dp[j] || (next[j - 1] && name[j - 1] != b'/');
                }
            }
            c => {
                next[0] = false;
                for j in 1..=name.len() {
                    next[j] = dp[j - 1] && name[j - 1] == c;
                }
            }
        }
        std::mem::swap(&mut dp, &mut next);
    }
    dp[name.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(matches("inbox", "INBOX"));
        assert!(matches("Inbox/%", "INBOX/x"));
        assert!(!matches("inbox", "Inbox2"));
        assert!(!matches("sent", "Sent"));
        assert!(matches("S%t", "Sent"));
        assert!(matches("%/%", "Other Users/bob"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        // A pathological pattern stays fast.
        let p = "*a".repeat(40) + "b";
        assert!(!matches(&p, &"a".repeat(300)));
    }

    #[test]
    fn ancestors_of_a_name() {
        let a: Vec<&str> = ancestors("a/b/c").collect();
        assert_eq!(a, vec!["a", "a/b"]);
        assert_eq!(ancestors("INBOX").count(), 0);
        let a: Vec<&str> = ancestors("Other Users/bob/INBOX").collect();
        assert_eq!(a, vec!["Other Users", "Other Users/bob"]);
    }
}
