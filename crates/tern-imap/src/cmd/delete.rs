//! DELETE (RFC 9051 §6.3.5). INBOX cannot be deleted. A mailbox with inferiors is deleted
//! and its inferiors stay; the name then remains as a `\Noselect` level, and deleting such a
//! level is refused with `[HASCHILDREN]` (RFC 5530).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;
use crate::session::mailbox_ref::{resolve_opt, visible};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Delete(name) = cmd else {
        return Err(CmdError::bad("Expected DELETE"));
    };
    if name.eq_ignore_ascii_case("INBOX") {
        return Err(CmdError::no_code("CANNOT", "INBOX cannot be deleted"));
    }
    let Some(mref) = resolve_opt(s, &name).await? else {
        let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
        let prefix = format!("{name}/");
        let has_children = visible(s.server.mail.store.as_ref(), auth)
            .await?
            .iter()
            .any(|m| m.name.starts_with(&prefix));
        return Err(if has_children {
            CmdError::no_code("HASCHILDREN", "Only the mailboxes below this name exist")
        } else {
            CmdError::no_code("NONEXISTENT", "No such mailbox")
        });
    };
    mref.require('x')?;
    s.server.mail.store.delete_mailbox(mref.info.id).await?;
    if s.selected().is_some_and(|m| m.id() == mref.info.id) {
        s.deselect();
        s.untagged("OK [CLOSED] The selected mailbox was deleted");
    }
    Ok(Done::ok("DELETE completed"))
}
