//! HAVESPACE (RFC 5804 §2.5): would a PUTSCRIPT of this name and size be accepted?
use crate::error::SieveError;
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session, name: &str, size: u64) -> CmdResult {
    let max_size = s.server.config.max_script_size;
    if size > max_size {
        return Err(SieveError::TooLarge(max_size));
    }
    super::putscript::check_count(s, name).await?;
    s.out.ok(None, "Putscript would succeed");
    Ok(Flow::Continue)
}
