//! The connection loop (to be written): greeting, framing, literals, dispatch, sync, timeouts.

use crate::server::ImapServer;
use std::sync::Arc;
use tern_net::{Conn, Shutdown};

pub async fn run(server: Arc<ImapServer>, conn: Conn, shutdown: Shutdown) {
    let _ = (server, conn, shutdown);
}
