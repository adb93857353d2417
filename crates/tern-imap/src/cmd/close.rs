//! CLOSE and UNSELECT (RFC 9051 §6.4.1, §6.4.2; RFC 3691).
//!
//! CLOSE silently expunges the `\Deleted` messages (unless the mailbox is read-only or the
//! user lacks the `e` right), sends no EXPUNGE responses, and returns to the authenticated
//! state. UNSELECT only returns to the authenticated state.

use super::expunge::expunge_deleted;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let close = match cmd {
        CommandBody::Close => true,
        CommandBody::Unselect => false,
        _ => return Err(CmdError::bad("CLOSE or UNSELECT expected")),
    };
    let mail = s.server.mail.clone();
    let view = s
        .selected()
        .ok_or_else(|| CmdError::bad("No mailbox selected"))?;
    if close && !view.read_only && view.rights.has('e') {
        expunge_deleted(&mail, view, None).await?;
    }
    s.deselect();
    Ok(Done::ok(if close {
        "CLOSE completed"
    } else {
        "UNSELECT completed"
    }))
}
