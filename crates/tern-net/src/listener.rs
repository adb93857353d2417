//! Listeners: bind, accept, hand each connection to a protocol's handler as one task.
use crate::conn::Conn;
use std::future::Future;
use std::net::SocketAddr;

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

/// A bound listener.
pub struct Listener {
    pub local_addr: SocketAddr,
    inner: tokio::net::TcpListener,
    mode: TlsMode,
}

impl Listener {
    /// Binds now (so "ready" means bound).
    pub async fn bind(addr: &str, mode: TlsMode) -> std::io::Result<Listener> {
        let inner = tokio::net::TcpListener::bind(addr).await?;
        Ok(Listener {
            local_addr: inner.local_addr()?,
            inner,
            mode,
        })
    }

    /// Accepts until shutdown; each connection (after the TLS handshake for implicit TLS)
    /// runs `handler` in its own task. Caps concurrent connections at `max_connections`.
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
        let _ = (
            &self.inner,
            self.mode,
            tls,
            max_connections,
            shutdown,
            handler,
        );
        todo!("helper D1")
    }
}
