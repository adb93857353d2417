//! LISTSCRIPTS (RFC 5804 §2.7): one line per script, `"name"` or `"name" ACTIVE`.
use crate::response;
use crate::session::{CmdResult, Flow, Session};

pub(crate) async fn run(s: &mut Session) -> CmdResult {
    let id = s.login()?.id;
    let scripts = s.server.mail.store.sieve_scripts(id).await?;
    for script in scripts {
        let mut line = Vec::new();
        response::string(&mut line, script.name.as_bytes());
        if script.active {
            line.extend_from_slice(b" ACTIVE");
        }
        line.extend_from_slice(b"\r\n");
        s.out.raw(&line);
    }
    s.out.ok(None, "Listscripts completed");
    Ok(Flow::Continue)
}
