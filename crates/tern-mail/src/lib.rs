//! # tern-mail: the mail core
//!
//! Rules shared by every protocol server, so that IMAP, POP3, LMTP and SMTP agree:
//! - [`analyze`]: parse a message once at delivery into [`tern_store::MessageMeta`]
//!   (envelope, body structure with byte ranges, SORT/THREAD keys, preview).
//! - [`Mail`]: the ingest path (stream bytes into a blob, analyze, commit into mailboxes
//!   with quota), account opening with default folders, quota state.
//! - [`account_state`]: what directory provisioning recorded about an account (active, or
//!   disabled since when, and whether its mail is deferred or bounced).
//! - [`homes`]: migration mode: whether an account is served by Tern or by the legacy
//!   server it is moving from.
//! - [`meta_cache`]: decoded message metadata kept in memory for every session (SEARCH,
//!   SORT, THREAD, FETCH ENVELOPE/BODYSTRUCTURE).
//! - [`quota`]: sizes as people write them (`200MB`, `1GiB`, `unlimited`), for config and CLI.
//!
//! ## Invariants
//! - A message is durable in the blob store before any mailbox names it.
//! - One blob per message however many recipients or mailboxes hold it.
//! - Quota is enforced in the store's commit, so concurrent deliveries cannot overshoot.
#![forbid(unsafe_code)]

pub mod account_state;
pub mod analyze;
pub mod homes;
pub mod ingest;
pub mod mailboxes;
pub mod meta_cache;
pub mod quota;

pub use analyze::analyze;
pub use homes::{Home, Homes};
pub use ingest::{DeliveryError, IngestError, KnownMailboxes, Mail, Recipient, Staged, Stager};
pub use mailboxes::DEFAULT_MAILBOXES;
pub use meta_cache::MetaCache;
pub use quota::{SizeError, format_quota, format_size, parse_quota, parse_size};
