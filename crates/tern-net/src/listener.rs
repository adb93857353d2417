//! Listeners: bind, accept, hand each connection to a protocol's handler as one task.
use crate::conn::{Conn, ConnInfo};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Whether a listener's connections start in TLS (993, 995, 465) or plain (STARTTLS later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    Implicit,
    Plain,
}

/// A graceful-shutdown signal handed to every connection task.
#[derive(Clone)]
pub struct Shutdown {
    rx: tokio::sync::watch::Receiver<bool>,
}

impl Shutdown {
    /// A sender and its receivers.
    pub fn new() -> (tokio::sync::watch::Sender<bool>, Shutdown) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Shutdown { rx })
    }

    /// Resolves when shutdown has been requested.
    pub async fn wait(&mut self) {
        while !*self.rx.borrow() {
            if self.rx.changed().await.is_err() {
                return;
            }
        }
    }

    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }
}

/// How long an implicit-TLS client may take to complete its handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound listener.
pub struct Listener {
    pub local_addr: SocketAddr,
    inner: tokio::net::TcpListener,
    mode: TlsMode,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.local_addr)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Binds now (so "ready" means bound).
    pub async fn bind(addr: &str, mode: TlsMode) -> std::io::Result<Listener> {
        let inner = tokio::net::TcpListener::bind(addr).await?;
        Ok(Listener {
            local_addr: inner.local_addr()?,
            inner,
            mode,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// Sets the implicit-TLS handshake timeout (default [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Listener {
        self.handshake_timeout = timeout;
        self
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Accepts until shutdown; each connection (after the TLS handshake for implicit TLS)
    /// runs `handler` in its own task. Caps concurrent connections at `max_connections`:
    /// at the cap, new connections wait in the kernel's backlog until a slot frees.
    ///
    /// On shutdown the socket is closed at once (no new connections), then this returns when
    /// every connection task has ended; handlers are expected to watch their [`Shutdown`].
    pub async fn serve<F, Fut>(
        self,
        tls: Option<crate::TlsConfig>,
        max_connections: usize,
        shutdown: Shutdown,
        handler: F,
    ) where
        F: Fn(Conn, Shutdown) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Listener {
            local_addr,
            inner,
            mode,
            handshake_timeout,
        } = self;
        if mode == TlsMode::Implicit && tls.is_none() {
            tracing::error!(%local_addr, "implicit-TLS listener without a TLS config: not serving");
            return;
        }
        let permits = max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let slots = Arc::new(Semaphore::new(permits));
        let handler = Arc::new(handler);
        let mut stop = shutdown.clone();
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
                _ = stop.wait() => break,
            };
            let (stream, peer) = tokio::select! {
                r = inner.accept() => match r {
                    Ok(pair) => pair,
                    Err(e) => {
                        // EMFILE/ENFILE and aborted handshakes: log, breathe, carry on.
                        tracing::warn!(%local_addr, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.wait() => break,
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "TCP_NODELAY failed");
            }
            let info = ConnInfo {
                peer,
                local: stream.local_addr().unwrap_or(local_addr),
                tls: false,
            };
            let conn = Conn::plain(stream, info);
            let tls = tls.clone();
            let handler = handler.clone();
            let conn_shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _slot = permit;
                let conn = match (mode, tls) {
                    (TlsMode::Implicit, Some(tls)) => {
                        match tokio::time::timeout(handshake_timeout, conn.start_tls(&tls)).await {
                            Ok(Ok(conn)) => conn,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        }
                    }
                    _ => conn,
                };
                handler(conn, conn_shutdown).await;
            });
        }
        drop(inner);
        tracing::debug!(%local_addr, "stopped accepting; waiting for connections to end");
        let _all = slots.acquire_many(permits as u32).await;
    }
}
