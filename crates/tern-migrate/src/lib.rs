//! # tern-migrate: moving mail into Tern without clients noticing
//!
//! - [`sync`]: `tern migrate`, a one-way incremental sync from a live IMAP server (Dovecot,
//!   Cyrus, any IMAP4rev1) that keeps the source's UIDVALIDITY, UIDs, MODSEQs and POP3 UIDLs,
//!   so IMAP clients keep their caches and POP3 clients download nothing again.
//! - [`verify`]: `tern migrate verify`, a per-folder comparison (counts, UIDs, flags, dates,
//!   SHA-256 of every message) that says exactly what differs.
//! - [`cutover`]: migration mode: which users Tern serves and which it relays to the legacy
//!   server, and the protocol that moves a user from one to the other without a moment in
//!   which both serve them.
//! - [`mbox`] and [`maildir`]: `tern import`, from files, streamed.
//!
//! ## Layout
//! - [`source`]: the IMAP client side (async-imap over TCP or rustls), login styles for
//!   administrators (SASL PLAIN authzid, Dovecot master user, Cyrus proxy admin).
//! - [`profile`]: what the source server is, and its POP3 UIDL format.
//! - [`names`], [`utf7`]: folder names (modified UTF-7, delimiters, namespace prefix) and
//!   special-use roles from names.
//! - [`state`]: `migrate.db`, progress per user and folder, committed per batch.
//! - [`target`]: the Tern account and mailboxes (with the source's UIDVALIDITY).
//! - [`rate`], [`report`], [`users`]: the global rate limit, the per-user report, the CSV.
//!
//! ## Invariants
//! - Nothing on the source changes: EXAMINE and `BODY.PEEK[]` only.
//! - Every batch is committed in the Tern store before `migrate.db` records it; a run
//!   interrupted anywhere resumes to the same result (see [`state`]).
//! - Bytes are copied as the source serves them; the blob id is their SHA-256.
#![forbid(unsafe_code)]

pub mod cutover;
pub mod import;
pub mod maildir;
pub mod mbox;
pub mod names;
pub mod profile;
pub mod rate;
pub mod report;
pub mod source;
pub mod state;
pub mod sync;
pub mod target;
pub mod users;
pub mod utf7;
pub mod verify;
