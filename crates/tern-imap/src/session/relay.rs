//! The connection loop's side of a relayed session (migration mode, `cmd::legacy`): after
//! the tagged OK to the login, bytes go both ways untouched between the client and the
//! legacy server, until either closes, the user is cut over (their home is no longer
//! legacy), or the server shuts down. In the last two cases the connection is simply
//! closed: a BYE could land in the middle of a legacy response, and clients reconnect.
use super::conn_loop::Loop;
use crate::cmd::legacy::Relay;
use std::io;

impl Loop {
    pub(super) async fn relay_legacy(&mut self, relay: Relay) -> io::Result<()> {
        let Relay {
            account,
            session,
            guard,
        } = relay;
        let mail = self.s.server.mail.clone();
        let mut shutdown = self.shutdown.clone();
        let who = account.clone();
        let stop = async move {
            tokio::select! {
                _ = mail.until_moved(&who) => {}
                _ = shutdown.wait() => {}
            }
        };
        let pipelined = self.framer.take_buffered();
        let result = tern_legacy::relay::relay(&mut self.conn, &pipelined, session, stop).await;
        drop(guard);
        match &result {
            Ok((ended, up, down)) => tracing::info!(peer = %self.s.conn.peer, user = %account,
                ?ended, up, down, "IMAP relay to the legacy server ended"),
            Err(e) => tracing::info!(peer = %self.s.conn.peer, user = %account, error = %e,
                "IMAP relay to the legacy server failed"),
        }
        result.map(|_| ())
    }
}
