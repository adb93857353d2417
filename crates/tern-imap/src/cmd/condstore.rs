//! RFC 7162 §3.1: commands that implicitly enable CONDSTORE (FETCH MODSEQ / CHANGEDSINCE,
//! STORE UNCHANGEDSINCE, SEARCH MODSEQ).

use crate::session::Session;

/// Turns CONDSTORE on for the session. The first CONDSTORE-enabling command issued while a
/// mailbox is selected reports that mailbox's HIGHESTMODSEQ (RFC 7162 §3.1), so the client
/// has a starting point for later CHANGEDSINCE requests.
pub fn enable(s: &mut Session) {
    if s.enabled.condstore {
        return;
    }
    s.enabled.condstore = true;
    if let Some(m) = s.selected() {
        let h = m.highestmodseq;
        if h > 0 {
            s.untagged(format!("OK [HIGHESTMODSEQ {h}] CONDSTORE enabled"));
        }
    }
}
