//! The auth socket server: its settings and what every connection shares.
use crate::connection::Connection;
use crate::penalty::Penalty;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tern_net::Shutdown;
use tern_sasl::Authenticator;
use tokio::io::{AsyncRead, AsyncWrite};

/// Settings of the auth socket (from `tern serve`'s config).
#[derive(Clone, Debug)]
pub struct AuthSocketConfig {
    /// PLAIN and LOGIN are accepted without the request's `secured` flag (the remote user
    /// reached the client without TLS). Off by default, as `[auth] allow_plaintext`.
    pub allow_plaintext: bool,
    /// Longest client line, line end excluded (GSSAPI tokens are the largest).
    pub max_line: usize,
    /// Requests one connection may have in progress. At the limit, a new request replaces
    /// the oldest one that waits for the client (which gets `FAIL`); if every one is busy
    /// the new one fails temporarily.
    pub max_requests: usize,
    /// The first failure's delay for an address; doubled per further failure up to 8×
    /// ([`crate::penalty`]).
    pub failure_delay: Duration,
    /// Time for the client's `VERSION` and `CPID` after connecting.
    pub handshake_timeout: Duration,
    /// Time for one reply to be written (a client that does not read is dropped).
    pub write_timeout: Duration,
}

impl Default for AuthSocketConfig {
    fn default() -> AuthSocketConfig {
        AuthSocketConfig {
            allow_plaintext: false,
            max_line: 64 * 1024,
            max_requests: 32,
            failure_delay: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// What the connections share.
pub(crate) struct Shared {
    pub sasl: Authenticator,
    pub config: AuthSocketConfig,
    pub penalty: Penalty,
    pub spid: u32,
}

/// One auth socket service, shared by its TCP and Unix listeners.
pub struct AuthSocketServer {
    shared: Arc<Shared>,
    /// Connection numbers (`CUID`), unique within this process.
    next_cuid: AtomicU32,
}

impl std::fmt::Debug for AuthSocketServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSocketServer")
            .field("config", &self.shared.config)
            .field("mechanisms", &self.shared.sasl.mechanism_names())
            .finish_non_exhaustive()
    }
}

impl AuthSocketServer {
    /// A server offering `sasl`'s mechanisms.
    pub fn new(sasl: Authenticator, config: AuthSocketConfig) -> Arc<AuthSocketServer> {
        Arc::new(AuthSocketServer {
            shared: Arc::new(Shared {
                sasl,
                penalty: Penalty::new(config.failure_delay),
                config,
                spid: std::process::id(),
            }),
            next_cuid: AtomicU32::new(1),
        })
    }

    /// Recent authentication failures counted for the remote address `ip`.
    pub fn failures_from(&self, ip: std::net::IpAddr) -> u32 {
        self.shared
            .penalty
            .failures(crate::penalty::PenaltyKey::new(Some(ip), 0))
    }

    /// Serves one client connection until it closes, breaks the protocol, or `shutdown`
    /// (then requests in progress are answered first). `peer` names the client in the log.
    pub async fn handle<S>(self: Arc<Self>, stream: S, peer: String, shutdown: Shutdown)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin,
    {
        let cuid = self.next_cuid.fetch_add(1, Ordering::Relaxed);
        Connection::new(self.shared.clone(), stream, peer, cuid)
            .run(shutdown)
            .await;
    }
}
