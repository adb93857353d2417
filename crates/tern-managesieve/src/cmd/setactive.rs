//! SETACTIVE (RFC 5804 §2.8): makes one script active; `""` deactivates all.
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session, name: &str) -> CmdResult {
    let id = s.login()?.id;
    let name = (!name.is_empty()).then_some(name);
    s.server
        .mail
        .store
        .set_active_sieve_script(id, name)
        .await?;
    s.out.ok(
        None,
        if name.is_some() {
            "Script activated"
        } else {
            "No script is active"
        },
    );
    Ok(Flow::Continue)
}
