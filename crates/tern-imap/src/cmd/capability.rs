//! CAPABILITY (RFC 9051 §6.1.1): what this server does, as seen from the session's state.
//!
//! Invariant: only what works is advertised. Before authentication the list adds STARTTLS
//! (plain connection with TLS configured), the SASL mechanisms (only when plaintext
//! authentication is allowed now, else LOGINDISABLED, RFC 9051 §6.2.3) and SASL-IR.

use super::{CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::{Session, State};

/// Extensions advertised in every state (RFC 9051 §7.2.2 capability names).
const EXTENSIONS: &[&str] = &[
    "LITERAL+",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "CONDSTORE",
    "QRESYNC",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "STATUS=SIZE",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "UTF8=ACCEPT",
    "OBJECTID",
    "PREVIEW",
    "METADATA",
    "METADATA-SERVER",
    "BINARY",
    "MULTIAPPEND",
    "WITHIN",
    "NOTIFY",
    "ACL",
    "RIGHTS=texk",
];

/// The capability list (without the `CAPABILITY` keyword) for the session's current state.
pub fn capabilities(s: &Session) -> String {
    let mut caps: Vec<String> = vec!["IMAP4rev1".into(), "IMAP4rev2".into()];
    if matches!(s.state, State::NotAuthenticated) {
        if !s.tls_active() && s.server.config.tls.is_some() {
            caps.push("STARTTLS".into());
        }
        if s.plaintext_allowed() {
            for m in s.server.sasl.mechanism_names() {
                caps.push(format!("AUTH={m}"));
            }
        } else {
            caps.push("LOGINDISABLED".into());
        }
        caps.push("SASL-IR".into());
    }
    caps.extend(EXTENSIONS.iter().map(|c| c.to_string()));
    caps.push(format!("APPENDLIMIT={}", s.server.config.max_message_size));
    if !s.compressed {
        caps.push("COMPRESS=DEFLATE".into());
    }
    caps.join(" ")
}

pub async fn run(s: &mut Session, _cmd: CommandBody) -> CmdResult {
    let caps = capabilities(s);
    s.untagged(format!("CAPABILITY {caps}"));
    Ok(Done::ok("CAPABILITY completed"))
}
