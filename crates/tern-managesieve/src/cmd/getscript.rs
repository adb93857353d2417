//! GETSCRIPT (RFC 5804 §2.9): the script's source as a literal.
use crate::error::SieveError;
use crate::response;
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session, name: &str) -> CmdResult {
    let id = s.login()?.id;
    let script = s
        .server
        .mail
        .store
        .sieve_script(id, name)
        .await?
        .ok_or(SieveError::NoSuchScript)?;
    let mut out = Vec::with_capacity(script.content.len() + 16);
    response::literal(&mut out, script.content.as_bytes());
    out.extend_from_slice(b"\r\n");
    s.out.raw(&out);
    s.out.ok(None, "Getscript completed");
    Ok(Flow::Continue)
}
