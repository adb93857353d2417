//! # tern-net: listeners, TLS, limits
//!
//! Protocol servers get a [`Conn`] (plain TCP, TLS, with optional DEFLATE on top) and never
//! see sockets or rustls directly. Signatures here are the contract used by tern-imap and
//! tern-smtp.
//!
//! ## Layout
//! - [`tls`]: the server certificate (configured PEM, or self-signed generated once).
//! - [`conn`]: [`Conn`], a connection whatever its layers (TCP, TLS, DEFLATE).
//! - [`deflate`]: raw DEFLATE both ways (IMAP COMPRESS, RFC 4978).
//! - [`listener`]: bind, accept with a connection cap, implicit-TLS handshake, shutdown.
//!
//! ## Invariants
//! - A certificate exists before any listener accepts: configured, or self-signed and
//!   generated into the data folder on first start (then reused).
//! - Listeners bind before the server reports ready.
#![forbid(unsafe_code)]

pub mod conn;
pub mod deflate;
pub mod listener;
pub mod tls;

pub use conn::{Conn, ConnInfo};
pub use listener::{Listener, Shutdown, TlsMode};
pub use tls::{TlsConfig, install_default_provider, load_or_generate};
