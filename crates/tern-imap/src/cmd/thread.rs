//! THREAD (to be written).

use super::{CmdError, CmdResult};
use crate::proto::command::CommandBody;
use crate::session::Session;

pub async fn run(_s: &mut Session, _cmd: CommandBody) -> CmdResult {
    Err(CmdError::bad("not implemented yet"))
}
