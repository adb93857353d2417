//! NAMESPACE (RFC 2342, RFC 9051 §6.3.10): personal mailboxes at the root, other users'
//! shared mailboxes under `Other Users/`, no shared namespace.

use super::{CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;
use crate::session::mailbox_ref::OTHER_USERS_PREFIX;

pub async fn run(s: &mut Session, _cmd: CommandBody) -> CmdResult {
    s.untagged(format!(
        "NAMESPACE ((\"\" \"/\")) ((\"{OTHER_USERS_PREFIX}\" \"/\")) NIL"
    ));
    Ok(Done::ok("NAMESPACE completed"))
}
