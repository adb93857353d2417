//! ENABLE (RFC 5161): CONDSTORE, QRESYNC (implies CONDSTORE, RFC 7162 §3.2.3),
//! UTF8=ACCEPT (RFC 6855 §3) and IMAP4rev2 (RFC 9051 §6.3.1).
//!
//! `* ENABLED` lists the extensions this command turned on; unknown or already enabled
//! names are left out, as RFC 5161 §3.1 asks.

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::{Session, State};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Enable(caps) = cmd else {
        return Err(CmdError::bad("Expected ENABLE"));
    };
    // RFC 5161 §3.1: only valid in the authenticated state; the selected mailbox's view was
    // built without these extensions.
    if matches!(s.state, State::Selected(..)) {
        return Err(CmdError::bad(
            "ENABLE is not allowed while a mailbox is selected",
        ));
    }
    let mut enabled = Vec::new();
    for cap in caps {
        let e = &mut s.enabled;
        let newly = match cap.to_ascii_uppercase().as_str() {
            "CONDSTORE" => !std::mem::replace(&mut e.condstore, true),
            "QRESYNC" => {
                e.condstore = true;
                !std::mem::replace(&mut e.qresync, true)
            }
            "UTF8=ACCEPT" => !std::mem::replace(&mut e.utf8_accept, true),
            "IMAP4REV2" => !std::mem::replace(&mut e.imap4rev2, true),
            _ => false,
        };
        if newly
            && !enabled
                .iter()
                .any(|c: &String| c.eq_ignore_ascii_case(&cap))
        {
            enabled.push(cap);
        }
    }
    if enabled.is_empty() {
        s.untagged("ENABLED");
    } else {
        s.untagged(format!("ENABLED {}", enabled.join(" ")));
    }
    Ok(Done::ok("ENABLE completed"))
}
