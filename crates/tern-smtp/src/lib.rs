//! # tern-smtp: Tern's SMTP family
//!
//! Three front ends over one core: LMTP delivery (RFC 2033), the inbound SMTP MX (RFC 5321)
//! and authenticated message submission (RFC 6409, RFC 8314). The outbound queue is a seam
//! ([`queue::Outbound`]) that nothing implements yet.
//!
//! # Layout
//! - [`session`]: the connection core every front end shares: command framing with
//!   `smtp-proto`'s `RequestReceiver`, raw SASL lines, buffered replies (pipelining),
//!   timeouts, the protocol-error budget, graceful shutdown, handing the stream to TLS.
//! - [`data`]: message content as it arrives (DATA dot-unstuffing, BDAT chunks), streamed
//!   into a sink.
//! - [`envelope`]: the transaction's envelope and which MAIL/RCPT parameters are supported
//!   (DSN and AUTH= where advertised).
//! - [`reply`]: every reply, and the one mapping of parse errors to replies.
//! - [`trace`]: `Return-Path:` and `Received:` fields.
//! - [`headers`]: the submission header fix-up (Date, Message-ID, From count), streaming.
//! - `resolve` (private): local recipients through the directory (quota, groups).
//! - `body` (private): a message body streamed into one stager, size-limited.
//! - [`lmtp`]: the LMTP front end.
//! - [`smtp`]: the SMTP front end (MX and submission): EHLO, STARTTLS, AUTH, the relay
//!   rules (`smtp::relay`), delivery and the hand-off to the queue.
//! - [`queue`]: the [`queue::Outbound`] trait an outbound queue implements.
//! - [`prepend`]: header fields the DATA checks add at the top of a message (one re-stage
//!   after every check), and forged ones they remove.
//! - [`gateway`]: the gateway filters (rspamd, clamd, milters via `tern-filter`) run after
//!   DATA, and what their answers mean (reject, Junk, header fields, the verdict).
//! - [`limits`]: abuse limits (per-address connection and message rates, per-account
//!   submission rate, the unknown-recipient tarpit).
//! - [`verdict`]: the gateway filters' conclusions, carried to delivery (Sieve spamtest).
//! - [`sieve`]: the recipients' Sieve scripts run at delivery (LMTP and SMTP), and the
//!   messages they generate (`sieve_reply`: vacation replies, rejection notices).
//!
//! ## Invariants
//! - Acknowledged means durable: a `250` after the message is sent only once the store's
//!   commit has returned (and, for SMTP remote recipients, the queue's `enqueue`).
//! - Never an open relay: mail for a domain that is not local is accepted only from a client
//!   authenticated on that connection, only on submission, and only into a configured queue.
//! - A message is streamed to the blob store as it arrives; a connection never holds a whole
//!   message, and holds at most one input buffer ([`session::READ_BUFFER`]) plus one
//!   partial command line of client input.
//! - The wire stays in sync whatever is refused: DATA content is read to its terminator and
//!   BDAT octets are read in full before any reply to them.
#![forbid(unsafe_code)]

mod body;
pub mod data;
pub mod envelope;
pub mod gateway;
pub mod headers;
pub mod limits;
pub mod lmtp;
pub mod prepend;
pub mod queue;
pub mod reply;
mod resolve;
pub mod session;
pub mod sieve;
mod sieve_reply;
pub mod smtp;
pub mod trace;
pub mod verdict;

pub use lmtp::{LmtpConfig, LmtpServer};
pub use queue::{
    DeliveredReport, Outbound, QueueError, QueuedEnvelope, QueuedMessage, QueuedRecipient,
};
pub use reply::Reply;
pub use session::SessionLimits;
pub use sieve::{SieveRunner, SieveSettings};
pub use smtp::{Mode, SmtpConfig, SmtpServer};
pub use verdict::Verdict;
