//! DELETESCRIPT (RFC 5804 §2.10): the active script cannot be deleted (`NO (ACTIVE)`).
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session, name: &str) -> CmdResult {
    let id = s.login()?.id;
    s.server.mail.store.delete_sieve_script(id, name).await?;
    s.out.ok(None, "Script deleted");
    Ok(Flow::Continue)
}
