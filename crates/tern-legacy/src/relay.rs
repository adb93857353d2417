//! The relayed session: bytes copied both ways between the client and the logged-in
//! legacy session, untouched, until either side closes or `stop` completes.
use crate::Session;
use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// One side closed (or failed); the other was closed too.
    Closed,
    /// `stop` completed first (the user was cut over, or the server is shutting down).
    Stopped,
}

/// Relays until one side closes or `stop` completes. `to_legacy` are bytes the client sent
/// that Tern read but did not act on (pipelined after the login); the legacy session's own
/// unread bytes go to the client first. Returns the octets relayed each way.
pub async fn relay<C>(
    client: &mut C,
    to_legacy: &[u8],
    legacy: Session,
    stop: impl Future<Output = ()>,
) -> io::Result<(Ended, u64, u64)>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let Session {
        conn: mut legacy,
        pending,
    } = legacy;
    if !pending.is_empty() {
        client.write_all(&pending).await?;
        client.flush().await?;
    }
    if !to_legacy.is_empty() {
        legacy.write_all(to_legacy).await?;
        legacy.flush().await?;
    }
    tokio::pin!(stop);
    let result = tokio::select! {
        r = tokio::io::copy_bidirectional(client, &mut legacy) => match r {
            Ok((up, down)) => Ok((Ended::Closed, up, down)),
            // A reset or a TLS close without notify is how many sessions end.
            Err(_) => Ok((Ended::Closed, 0, 0)),
        },
        _ = &mut stop => Ok((Ended::Stopped, 0, 0)),
    };
    let _ = legacy.shutdown().await;
    result
}
