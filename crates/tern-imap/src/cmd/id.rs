//! ID (RFC 2971): the client says who it is (logged), the server answers with its name.

use super::{CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    if let CommandBody::Id(Some(params)) = &cmd {
        // RFC 2971 §3.3: at most 30 pairs, keys ≤ 30 octets, values ≤ 1024; only log a
        // bounded summary.
        let summary: Vec<String> = params
            .iter()
            .take(30)
            .map(|(k, v)| {
                let k: String = k.chars().take(30).collect();
                let v: String = v.as_deref().unwrap_or("NIL").chars().take(64).collect();
                format!("{k}={v}")
            })
            .collect();
        tracing::debug!(peer = %s.conn.peer, client = %summary.join(", "), "IMAP ID");
    }
    s.untagged(format!(
        "ID (\"name\" \"Tern\" \"version\" \"{}\" \"vendor\" \"Tern\")",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(Done::ok("ID completed"))
}
