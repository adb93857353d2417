//! # tern-smtp: Tern's SMTP family
//!
//! LMTP delivery (RFC 2033) now; inbound SMTP, submission and the outbound queue later, as
//! further front ends over the same core.
//!
//! # Layout
//! - [`session`]: the connection core every front end shares: command framing with
//!   `smtp-proto`'s `RequestReceiver`, buffered replies (pipelining), timeouts, the
//!   protocol-error budget, graceful shutdown.
//! - [`data`]: message content as it arrives (DATA dot-unstuffing, BDAT chunks), streamed
//!   into a sink.
//! - [`envelope`]: the transaction's envelope and which MAIL/RCPT parameters are supported.
//! - [`reply`]: every reply, and the one mapping of parse errors to replies.
//! - [`trace`]: `Return-Path:` and `Received:` fields.
//! - [`lmtp`]: the LMTP front end: session loop, transaction, recipient resolution through
//!   the directory, delivery through [`tern_mail::Mail`].
//!
//! ## Invariants
//! - Acknowledged means durable: a `250` after the message is sent only once the store's
//!   commit has returned for that recipient.
//! - A message is streamed to the blob store as it arrives; a connection never holds a whole
//!   message, and holds at most one input buffer ([`session::READ_BUFFER`]) plus one
//!   partial command line of client input.
//! - The wire stays in sync whatever is refused: DATA content is read to its terminator and
//!   BDAT octets are read in full before any reply to them.
#![forbid(unsafe_code)]

mod body;
pub mod data;
pub mod envelope;
pub mod headers;
pub mod lmtp;
pub mod queue;
pub mod reply;
mod resolve;
pub mod session;
pub mod smtp;
pub mod trace;

pub use lmtp::{LmtpConfig, LmtpServer};
pub use queue::{Outbound, QueueError, QueuedEnvelope, QueuedMessage, QueuedRecipient};
pub use reply::Reply;
pub use session::SessionLimits;
pub use smtp::{Mode, SmtpConfig, SmtpServer};
