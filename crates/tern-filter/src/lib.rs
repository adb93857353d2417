//! # tern-filter: clients for the gateway's content filters
//!
//! The SMTP MX hands a staged message to these filters after DATA, before delivery
//! (`tern_smtp::gateway` decides what their answers mean). Each client speaks one
//! protocol over a fresh loopback-or-LAN TCP connection per message, with one deadline for
//! the whole exchange:
//!
//! # Layout
//! - [`rspamd`]: rspamd's HTTP protocol (`POST /checkv2`, JSON reply) over [`http`], a
//!   minimal HTTP/1.1 client (one request per connection).
//! - [`clamd`]: ClamAV's `zINSTREAM` (length-prefixed chunks, `stream: OK` / `FOUND`).
//! - [`milter`]: the Sendmail milter protocol version 6, replayed for one message at its
//!   end (connect, HELO, MAIL, RCPT, header, body, end of body), with the modifications the
//!   milter asks for.
//!
//! ## Invariants
//! - No client buffers the message: each writes it from the caller's slice (the blob is
//!   memory-mapped) in bounded chunks.
//! - Every read is bounded: replies larger than a small limit are a [`FilterError::Protocol`],
//!   never an allocation the peer chooses.
//! - Errors say which side failed: [`FilterError::Unavailable`] (connect refused, reset,
//!   timeout) lets the gateway apply its fail-open/fail-closed rule; a reply that cannot be
//!   parsed is [`FilterError::Protocol`] and is treated the same way.
#![forbid(unsafe_code)]

pub mod clamd;
pub mod http;
pub mod milter;
pub mod rspamd;

use std::net::SocketAddr;
use std::time::Duration;

/// What a filter is told about the message besides its bytes.
#[derive(Clone, Debug, Default)]
pub struct MessageInfo {
    /// The SMTP client's address.
    pub peer: Option<SocketAddr>,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// The reverse-path, without angle brackets; empty for `<>`.
    pub from: String,
    /// The forward-paths, without angle brackets.
    pub recipients: Vec<String>,
    /// This server's host name.
    pub hostname: String,
    /// The account the client authenticated as, if any.
    pub user: Option<String>,
    /// The transaction id (logs, `Received:`).
    pub queue_id: String,
}

/// Why a filter gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// Cannot connect, the connection broke, or the filter was too slow.
    #[error("filter unavailable: {0}")]
    Unavailable(String),
    /// The filter answered something this client does not understand.
    #[error("filter protocol error: {0}")]
    Protocol(String),
}

impl FilterError {
    pub(crate) fn io(what: &str, e: std::io::Error) -> FilterError {
        FilterError::Unavailable(format!("{what}: {e}"))
    }
}

/// Runs `fut` with a deadline; a timeout is [`FilterError::Unavailable`].
pub(crate) async fn deadline<T>(
    timeout: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, FilterError>>,
) -> Result<T, FilterError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(FilterError::Unavailable(format!(
            "{what}: no answer within {timeout:?}"
        ))),
    }
}

/// Connects to `addr` (`host:port`).
pub(crate) async fn connect(addr: &str) -> Result<tokio::net::TcpStream, FilterError> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| FilterError::io(&format!("connect {addr}"), e))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
