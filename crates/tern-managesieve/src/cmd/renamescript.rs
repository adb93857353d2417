//! RENAMESCRIPT (RFC 5804 §2.11): keeps the active flag; `NO (NONEXISTENT)` for a missing
//! script, `NO (ALREADYEXISTS)` for a taken name.
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session, old: &str, new: &str) -> CmdResult {
    let id = s.login()?.id;
    s.server
        .mail
        .store
        .rename_sieve_script(id, old, new)
        .await?;
    s.out.ok(None, "Script renamed");
    Ok(Flow::Continue)
}
