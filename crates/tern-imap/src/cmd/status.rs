//! STATUS (RFC 9051 §6.3.11) with STATUS=SIZE (RFC 8438), CONDSTORE's HIGHESTMODSEQ
//! (RFC 7162 §3.1.6), APPENDLIMIT (RFC 7889) and MAILBOXID (RFC 8474). The response writer
//! is shared with LIST-STATUS (RFC 5819) and NOTIFY (RFC 5465).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, StatusItem};
use crate::session::Session;
use crate::session::mailbox_ref::{MailboxRef, mailbox_object_id, resolve};
use std::fmt::Write as _;
use tern_store::{MailboxId, MailboxStatus};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Status { mailbox, items } = cmd else {
        return Err(CmdError::bad("Expected STATUS"));
    };
    let mref = resolve(s, &mailbox).await?;
    mref.require('r')?;
    if items.contains(&StatusItem::HighestModSeq) {
        // RFC 7162 §3.1: a CONDSTORE-enabling command.
        s.enabled.condstore = true;
    }
    let line = status_response(s, &mref, &items).await?;
    s.untagged(line);
    Ok(Done::ok("STATUS completed"))
}

/// `STATUS <name> (<items>)` (without `* `) for a resolved mailbox.
pub async fn status_response(
    s: &Session,
    mref: &MailboxRef,
    items: &[StatusItem],
) -> Result<String, CmdError> {
    let st = s.server.mail.store.status(mref.info.id).await?;
    Ok(format_status(s, &mref.name, mref.info.id, &st, items))
}

/// Formats a STATUS response from a snapshot, items in the order asked.
pub fn format_status(
    s: &Session,
    name: &str,
    id: MailboxId,
    st: &MailboxStatus,
    items: &[StatusItem],
) -> String {
    let mut line = format!("STATUS {} (", s.wire_mailbox(name));
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let _ = match item {
            StatusItem::Messages => write!(line, "MESSAGES {}", st.messages),
            StatusItem::Recent => write!(line, "RECENT {}", st.recent),
            StatusItem::UidNext => write!(line, "UIDNEXT {}", st.uidnext),
            StatusItem::UidValidity => write!(line, "UIDVALIDITY {}", st.uidvalidity),
            StatusItem::Unseen => write!(line, "UNSEEN {}", st.unseen),
            StatusItem::Deleted => write!(line, "DELETED {}", st.deleted),
            StatusItem::Size => write!(line, "SIZE {}", st.size),
            StatusItem::HighestModSeq => write!(line, "HIGHESTMODSEQ {}", st.highestmodseq),
            StatusItem::AppendLimit => {
                write!(line, "APPENDLIMIT {}", s.server.config.max_message_size)
            }
            StatusItem::MailboxId => write!(line, "MAILBOXID ({})", mailbox_object_id(id)),
        };
    }
    line.push(')');
    line
}
