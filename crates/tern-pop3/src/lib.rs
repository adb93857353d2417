//! # tern-pop3: the POP3 server
//!
//! POP3 (RFC 1939) on the account's INBOX, with the extension mechanism (RFC 2449 CAPA,
//! RESP-CODES, PIPELINING, UIDL, TOP, EXPIRE, IMPLEMENTATION), STLS (RFC 2595), SASL
//! authentication (RFC 5034: PLAIN, LOGIN) and the response codes of RFC 3206
//! (`[AUTH]`, `[SYS/TEMP]`, `[SYS/PERM]`). Mailbox rules come from the mail core
//! ([`tern_mail::Mail`], [`tern_store::MailStore`]), never from another protocol crate.
//!
//! ## Layout
//! - [`server`]: [`Pop3Config`], [`Pop3Limits`], [`Pop3Server`] (the per-connection entry).
//! - `session`: the connection loop: greeting, line framing and limits, timeouts, shutdown,
//!   STLS, and dispatch by state (AUTHORIZATION, TRANSACTION; UPDATE happens inside QUIT).
//! - `command`: parsing a command line into a `Command` (no I/O; table-driven tests).
//! - `capa`: the CAPA list, which depends on the state and on TLS.
//! - `auth`: USER/PASS and AUTH; the login that authenticates, locks and snapshots.
//! - SASL mechanisms are tern-sasl's ([`tern_sasl::Authenticator`]); `auth` frames them.
//! - `maildrop`: the snapshot of INBOX taken at login; message numbers and deletion marks.
//! - `lock`: the in-process maildrop lock (`-ERR [IN-USE]`).
//! - `transaction`: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET.
//! - `encode`: dot-stuffing and CRLF normalization for RETR/TOP (streamed, no I/O).
//! - `update`: QUIT and the UPDATE state.
//! - `error`: every `-ERR` the server sends, mapped to the wire in one place.
//!
//! ## Invariants
//! - The message list is the INBOX snapshot taken at login: message numbers are stable for
//!   the session; mail arriving meanwhile is seen at the next session (RFC 1939 §4).
//! - Deletions take effect only at QUIT in the UPDATE state, as one
//!   [`tern_store::MailStore::expunge`] call that is durable before `+OK` is sent
//!   (RFC 1939 §6). A dropped connection, a timeout or a shutdown deletes nothing.
//! - One POP3 session per account at a time; a second login gets `-ERR [IN-USE]`
//!   (RFC 2449 §8.1.1). The lock is released before the QUIT reply is written, so a client
//!   may reconnect as soon as it reads `+OK`.
//! - USER/PASS and AUTH PLAIN/LOGIN are refused before TLS unless `allow_plaintext`
//!   (RFC 2595 §2.3; Dovecot's `disable_plaintext_auth`). Loopback is not exempt.
//! - An authentication failure never says why (`-ERR [AUTH] Authentication failed`); each is
//!   answered after a delay that doubles, and the connection closes after a few.
//! - After STLS, plaintext the client pipelined behind the command is discarded and the
//!   session starts afresh (RFC 2595 §4, command injection defense).
//! - POP3 never changes flags: RETR does not set `\Seen` (as Dovecot by default), so an
//!   IMAP client on the same account sees what it saw before.
//! - Messages are streamed from the blob store; a connection never copies a whole message
//!   onto the heap.
//!
//! ## RFC coverage
//! - RFC 1939: complete except APOP (not offered: Tern stores argon2 hashes, not the shared
//!   secret APOP needs) and the optional LAST (removed by RFC 1939 itself). Sizes in STAT,
//!   LIST and the RETR `+OK` are the stored octet counts; a message stored with bare LF line
//!   ends (possible only through an IMAP APPEND of such bytes) is sent with CRLF, so it is
//!   larger on the wire than announced.
//! - RFC 2449: CAPA with TOP, USER, SASL, RESP-CODES, PIPELINING, EXPIRE NEVER, UIDL,
//!   IMPLEMENTATION; the `[IN-USE]` response code. LOGIN-DELAY is not offered.
//! - RFC 2595: STLS; the PLAIN mechanism through RFC 5034 AUTH.
//! - RFC 3206: `[SYS/TEMP]`, `[SYS/PERM]`, `[AUTH]`, and the AUTH-RESP-CODE capability.
//! - RFC 5034: AUTH with initial response, `*` cancel, `=` empty initial response; PLAIN
//!   (RFC 4616) and LOGIN. No SASL security layers. `AUTH` without arguments lists the
//!   mechanisms (the RFC 1734 draft form some clients still send).
//! - Not implemented: RFC 6856 (UTF8, LANG).
//! - The maildrop lock is held in this process only. A cluster deployment (several nodes on
//!   one store) needs a lock in the shared store; it comes with the cluster store backend.
//!   A client that vanishes without closing its connection keeps the lock until the idle
//!   timer (or the write timeout, if it stopped reading) ends its session.
#![forbid(unsafe_code)]

mod auth;
mod capa;
mod command;
mod encode;
mod error;
mod legacy;
mod lock;
mod maildrop;
pub mod server;
mod session;
mod transaction;
mod update;

pub use server::{Pop3Config, Pop3Limits, Pop3Server};

/// Entry points for the fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses one command line (CRLF removed): the command's or the error's `Debug` form.
    pub fn parse_command(line: &[u8]) -> Result<String, String> {
        crate::command::parse(line)
            .map(|c| format!("{c:?}"))
            .map_err(|e| format!("{e:?}"))
    }
}
