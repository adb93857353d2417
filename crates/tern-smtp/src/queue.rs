//! The seam between accepting mail and sending it on: [`Outbound`], the interface an
//! outbound queue implements (issue 3 item 4; none exists yet).
//!
//! The SMTP front end hands a message to the queue only for recipients outside the local
//! domains, only for an authenticated submission client, and only after local delivery of
//! the same message succeeded. Its `250` to the client follows `enqueue` returning `Ok`, so
//! an implementation must return only once the message is durable in the queue (blob and
//! queue entry committed): "acknowledged means durable" holds across the seam.
//!
//! When no queue is configured, the front end refuses non-local recipients at RCPT
//! (`550 5.7.1 relaying not configured`): nothing it acknowledges is ever dropped.
//!
//! ## What the queue receives
//! - The staged blob, shared with the local recipients. Its first [`QueuedMessage::skip`]
//!   octets are the `Return-Path:` field written for local delivery (RFC 5321 §4.4: only final
//!   delivery adds it), which must not be transmitted; the `Received:` field after it must.
//! - The envelope with the RFC 3461 DSN parameters exactly as the client gave them.
//! - Recipient addresses in their wire form: local parts that are not dot-atoms are quoted
//!   again (the parser drops the quotes), so `"john doe"@other.test` stays one mailbox.

use crate::envelope::{BodyType, DsnRet, Notify};
use async_trait::async_trait;
use tern_mail::Staged;

/// One recipient the queue must deliver to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRecipient {
    /// The forward-path in wire form, without angle brackets.
    pub address: String,
    /// RFC 3461 §4.1 NOTIFY; `None` when the client did not say (the default applies).
    pub notify: Option<Notify>,
    /// RFC 3461 §4.2 ORCPT, decoded from xtext (`rfc822;` stripped).
    pub orcpt: Option<String>,
    /// Migration mode: `address` is a local account's name whose home is not Tern yet;
    /// the queue delivers to wherever its home is when it tries (the legacy server, or
    /// Tern's own store once the user was cut over).
    pub home: bool,
}

/// The envelope of a message for the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedEnvelope {
    /// The transaction id (the same as in the `Received:` field and the logs).
    pub id: String,
    /// The reverse-path; empty for `<>`.
    pub from: String,
    pub recipients: Vec<QueuedRecipient>,
    pub body: BodyType,
    pub smtputf8: bool,
    /// RFC 3461 §4.3 RET.
    pub ret: Option<DsnRet>,
    /// RFC 3461 §4.4 ENVID, decoded from xtext.
    pub envid: Option<String>,
    /// The account the client authenticated as (the queue's rate limits and DKIM signing
    /// key by it).
    pub authenticated: Option<String>,
}

/// A message handed to the queue.
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    pub staged: Staged,
    /// Octets at the start of the blob to leave out when transmitting (the local
    /// `Return-Path:` field).
    pub skip: u64,
    /// Header fields to transmit before the blob's content (after the skipped octets): the
    /// submission's `DKIM-Signature:` field, signed over the message as transmitted. Empty
    /// when there is nothing to add.
    pub prepend: Vec<u8>,
    pub envelope: QueuedEnvelope,
}

/// Why the queue could not take a message. The client gets `451 4.3.0` and retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("queue error: {0}")]
    Backend(String),
}

/// An outbound queue.
#[async_trait]
pub trait Outbound: Send + Sync + 'static {
    /// Makes the message durable in the queue for its recipients. `Ok` only once committed.
    async fn enqueue(&self, message: QueuedMessage) -> Result<(), QueueError>;
}
