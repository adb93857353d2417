//! Tern's SMTP client, hand-written (see ARCHITECTURE.md: mail-send needs Rust 1.98).
//!
//! - [`reply`]: the reply parser (fuzzed).
//! - [`conn`]: the transport: TCP, TLS upgrade, timeouts, line reading.
//! - [`session`]: the SMTP dialogue.
//! - [`tls`]: opportunistic and verifying TLS configs.
pub mod conn;
pub mod reply;
pub mod session;
pub mod tls;

pub use conn::ClientError;
pub use reply::Reply;
pub use session::{Content, Extensions, Session, SessionOptions, TlsPolicy, Transaction, TxRcpt};
