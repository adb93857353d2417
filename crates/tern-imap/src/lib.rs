//! # tern-imap: the IMAP4rev1 / IMAP4rev2 server
//!
//! ## Layout
//! - [`proto`]: the wire codec, no I/O: framing (lines and literals), the command parser
//!   producing [`proto::command::Command`], response encoding helpers.
//! - [`server`]: [`ImapServer`], the per-listener entry point (`handle` one connection).
//! - [`session`]: the connection loop and state (`NotAuthenticated | Authenticated |
//!   Selected`), the selected mailbox's MSN↔UID view and change synchronization.
//! - `cmd`: one file per command; `cmd::error` maps failures to the wire in one place.
//!
//! ## Invariants
//! - No response is written while a store call is in flight for the same session: commands
//!   collect output in the session buffer, the loop writes it.
//! - EXPUNGE responses are never sent during FETCH, STORE or SEARCH (RFC 9051 §7.5.1);
//!   the MSN view changes only when the client has been told.
//! - A tagged OK to APPEND/COPY/MOVE/STORE/EXPUNGE is sent only after the store returned,
//!   i.e. after the commit is durable.
#![forbid(unsafe_code)]

mod cmd;
pub mod proto;
pub mod server;
pub mod session;

pub use server::{ImapConfig, ImapServer};

/// Internals the micro-benchmarks drive directly (`benches/fetch_encode.rs`), behind the
/// `bench` feature: not an API, nothing outside the benches enables it.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_api {
    pub use crate::cmd::fetch_write::{FetchOut, Message, Style, write_message};
}
