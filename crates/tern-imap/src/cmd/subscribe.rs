//! SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7–6.3.8). Subscriptions are names (they may
//! outlive the mailbox, RFC 9051 §6.3.7), stored as the client writes them (shared
//! mailboxes under `Other Users/...`).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let (name, subscribe) = match cmd {
        CommandBody::Subscribe(n) => (n, true),
        CommandBody::Unsubscribe(n) => (n, false),
        _ => return Err(CmdError::bad("Expected SUBSCRIBE or UNSUBSCRIBE")),
    };
    let name = name.trim_end_matches('/');
    if name.is_empty() {
        return Err(CmdError::no_code("CANNOT", "Empty mailbox name"));
    }
    let account = s
        .auth()
        .ok_or_else(|| CmdError::bad("Not authenticated"))?
        .account_id;
    s.server
        .mail
        .store
        .set_subscribed(account, name, subscribe)
        .await?;
    Ok(Done::ok(if subscribe {
        "SUBSCRIBE completed"
    } else {
        "UNSUBSCRIBE completed"
    }))
}
