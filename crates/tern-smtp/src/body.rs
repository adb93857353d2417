//! A message body being received (DATA or BDAT chunks), streamed into one [`Stager`], for
//! every front end: the trace fields first, then the client's octets, optionally passed
//! through a [`HeaderFixup`] (submission adds `Date:` and `Message-ID:` when missing).
//!
//! ## Invariants
//! - The size limit applies to the client's octets only, not to the fields this server adds.
//! - After a failure (size, store) the rest is discarded, so the session can still read the
//!   content to its end and answer; the partial blob is dropped.
//! - Nothing here holds more than one input buffer of content (plus a copy of it while the
//!   header section is being scanned).

use crate::data::BodySink;
use crate::headers::{HeaderFixup, HeaderSummary};
use crate::reply::Reply;
use tern_mail::{IngestError, Mail, Staged, Stager};
use tern_store::Timestamp;

/// Room in the stager for header fields a [`HeaderFixup`] may add.
const FIXUP_SLACK: u64 = 1024;

/// Why a body could not be kept.
#[derive(Debug)]
enum BodyFailure {
    TooLarge,
    Store,
}

/// A message body in progress.
pub(crate) struct MessageBody {
    stager: Option<Stager>,
    failure: Option<BodyFailure>,
    received_at: Timestamp,
    max_message_size: u64,
    client_octets: u64,
    fixup: Option<HeaderFixup>,
    scratch: Vec<u8>,
    return_path_len: u64,
    trace_len: u64,
}

/// A body made durable.
#[derive(Clone)]
pub(crate) struct Finished {
    pub staged: Staged,
    pub received_at: Timestamp,
    /// What the header fix-up saw, when there was one.
    pub headers: Option<HeaderSummary>,
    /// Octets at the start of the blob that are the `Return-Path:` field.
    pub return_path_len: u64,
    /// Octets at the start of the blob written by this server before the client's content
    /// (the trace fields, and fields the DATA checks added: [`crate::prepend`]).
    pub trace_len: u64,
}

impl MessageBody {
    /// Starts a stager and writes the trace fields.
    pub async fn open(
        mail: &Mail,
        trace_fields: &[u8],
        max_message_size: u64,
        received_at: Timestamp,
        fixup: Option<HeaderFixup>,
    ) -> Result<MessageBody, Reply> {
        let limit = max_message_size
            .saturating_add(trace_fields.len() as u64)
            .saturating_add(FIXUP_SLACK);
        let cannot = |e: IngestError| {
            tracing::warn!(error = %e, "cannot start a message");
            Reply::local_error("Cannot store the message")
        };
        let mut stager = mail.stager(limit).await.map_err(cannot)?;
        stager.write(trace_fields).await.map_err(cannot)?;
        Ok(MessageBody {
            stager: Some(stager),
            failure: None,
            received_at,
            max_message_size,
            client_octets: 0,
            fixup,
            scratch: Vec::new(),
            return_path_len: memchr::memmem::find(trace_fields, b"\r\n")
                .filter(|_| trace_fields.starts_with(b"Return-Path:"))
                .map_or(0, |p| p as u64 + 2),
            trace_len: trace_fields.len() as u64,
        })
    }

    /// The reply for a body that already failed (for a BDAT chunk that is not the last).
    pub fn failure_reply(&self) -> Option<Reply> {
        self.failure
            .as_ref()
            .map(|f| failure_reply(f, self.max_message_size))
    }

    /// Makes the message durable and analyzes it.
    pub async fn finish(mut self) -> Result<Finished, Reply> {
        let limit = self.max_message_size;
        if let Some(fixup) = self.fixup.as_mut() {
            let mut tail = std::mem::take(&mut self.scratch);
            tail.clear();
            fixup.finish(&mut tail);
            self.put(&tail).await;
        }
        if let Some(failure) = &self.failure {
            return Err(failure_reply(failure, limit));
        }
        let Some(stager) = self.stager.take() else {
            return Err(Reply::local_error("Cannot store the message"));
        };
        match stager.finish().await {
            Ok(staged) => Ok(Finished {
                staged,
                received_at: self.received_at,
                headers: self.fixup.map(|f| f.summary()),
                return_path_len: self.return_path_len,
                trace_len: self.trace_len,
            }),
            Err(IngestError::TooLarge { .. }) => Err(Reply::too_large(limit)),
            Err(e) => {
                tracing::warn!(error = %e, "storing a message failed");
                Err(Reply::local_error("Cannot store the message"))
            }
        }
    }

    /// Writes to the stager, remembering the first failure.
    async fn put(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let Some(stager) = self.stager.as_mut() else {
            return;
        };
        if let Err(e) = stager.write(bytes).await {
            self.stager = None;
            self.failure = Some(match e {
                IngestError::TooLarge { .. } => BodyFailure::TooLarge,
                other => {
                    tracing::warn!(error = %other, "storing a message failed");
                    BodyFailure::Store
                }
            });
        }
    }
}

impl BodySink for MessageBody {
    async fn write(&mut self, chunk: &[u8]) {
        if self.stager.is_none() {
            return;
        }
        self.client_octets = self.client_octets.saturating_add(chunk.len() as u64);
        if self.client_octets > self.max_message_size {
            // Dropping an unfinished stager leaves nothing behind.
            self.stager = None;
            self.failure = Some(BodyFailure::TooLarge);
            return;
        }
        match self.fixup.as_mut() {
            Some(fixup) if !fixup.header_done() => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let used = fixup.feed(chunk, &mut scratch);
                self.put(&scratch).await;
                self.put(&chunk[used..]).await;
                if scratch.capacity() > 64 * 1024 {
                    scratch = Vec::new();
                }
                self.scratch = scratch;
            }
            _ => self.put(chunk).await,
        }
    }
}

fn failure_reply(failure: &BodyFailure, max_message_size: u64) -> Reply {
    match failure {
        BodyFailure::TooLarge => Reply::too_large(max_message_size),
        BodyFailure::Store => Reply::local_error("Cannot store the message"),
    }
}
