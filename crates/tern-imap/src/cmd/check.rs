//! CHECK (RFC 3501 §6.4.1; gone from IMAP4rev2, kept as a NOOP) and NOOP (RFC 9051 §6.1.2).
//! Both only give the connection loop's after-command synchronization a chance to report
//! what changed; every commit is already durable, so there is nothing to checkpoint.

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;

pub async fn run(_s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::Check => Ok(Done::ok("CHECK completed")),
        _ => Err(CmdError::bad("CHECK expected")),
    }
}

pub async fn noop(_s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::Noop => Ok(Done::ok("NOOP completed")),
        _ => Err(CmdError::bad("NOOP expected")),
    }
}
