//! # tern-store: the storage contract
//!
//! Every protocol server (IMAP, POP3, LMTP/SMTP) talks to mail through the two traits in this
//! crate, never to a concrete backend. The embedded backend (`tern-store-sqlite`: SQLite
//! metadata + content-addressed blob files) and, later, the cluster backend (PostgreSQL + S3)
//! implement them and must pass the same [`conformance`] suite.
//!
//! ## Layout
//! - [`types`]: the data model (accounts, mailboxes, messages, flags, parsed metadata).
//! - [`blob`]: [`BlobStore`], content-addressed message bytes.
//! - [`mail`]: [`MailStore`], metadata: mailboxes, UIDs, MODSEQs, flags, changes, ACLs.
//! - [`error`][]: [`StoreError`].
//! - `conformance` (feature `conformance`): the backend-generic test suite.
//!
//! ## Invariants every backend keeps
//! - **Acknowledged means durable.** A method that returns `Ok` for a write has committed it
//!   (fsync'd or committed in the database). Blobs are durable before the metadata naming
//!   them is committed.
//! - **Group commit.** Concurrent writers may share one commit; no method may hold a commit
//!   open waiting for network input.
//! - UIDs in a mailbox strictly increase and are never reused while UIDVALIDITY holds;
//!   every change to a message or a mailbox's message set raises the mailbox's HIGHESTMODSEQ
//!   and is recorded so that [`MailStore::changes_since`] can report it (QRESYNC, IDLE).
//! - Every committed change is announced through [`MailStore::subscribe`], in this process
//!   and — through the store itself — in every other process or node on the same store.
//! - A blob referenced by committed metadata is never removed; unreferenced blobs are
//!   collected only after a grace period longer than any write in progress.
#![forbid(unsafe_code)]

pub mod blob;
pub mod error;
pub mod mail;
pub mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use blob::{Blob, BlobStore, BlobWriter};
pub use error::{StoreError, StoreResult};
pub use mail::MailStore;
pub use types::*;
