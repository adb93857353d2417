//! # tern-managesieve: the ManageSieve server
//!
//! ManageSieve (RFC 5804) lets users upload, list, activate and delete their Sieve scripts
//! (RFC 5228). Scripts live in the store ([`tern_store::MailStore::sieve_scripts`] and
//! friends); delivery (`tern-smtp`'s Sieve runner) executes the active one. Every upload is
//! compiled by [`tern_sieve`] first, so a stored script compiled when it was stored.
//!
//! ## Layout
//! - [`server`]: [`ManageSieveConfig`], [`ManageSieveLimits`], [`ManageSieveServer`].
//! - `session`: the connection loop: greeting, framing and limits, timeouts, shutdown,
//!   STARTTLS, dispatch by state (non-authenticated, authenticated).
//! - `framing`: input → tokens (quoted strings, `{N+}`/`{N}` literals), no I/O.
//! - `command`: tokens → `Command`, script-name rules (RFC 5804 §1.6), no I/O.
//! - `response`: `OK`/`NO`/`BYE` lines with response codes, strings and literals.
//! - `capability`: the capability list, by state.
//! - `auth`: AUTHENTICATE: tern-sasl's mechanisms framed as strings; the login.
//! - `cmd`: one file per command of the authenticated state.
//! - `error`: every `NO` the server sends, mapped to the wire in one place.
//!
//! ## Invariants
//! - Bad input gets `NO "reason"` (or `BYE` after too many bad commands, an oversized
//!   literal, a timeout or shutdown) and never a crash or a hang: every wait has a deadline.
//! - PLAIN and LOGIN are refused before TLS unless `allow_plaintext` (`NO (ENCRYPT-NEEDED)`),
//!   as for IMAP and POP3; loopback is not exempt. SCRAM-SHA-256 and GSSAPI are offered
//!   before TLS too (they never show the password).
//! - Only the SASL layer ([`tern_sasl::Authenticator`], shared with IMAP, POP3 and
//!   submission) logs a session in.
//! - A script is stored only if it compiles, fits `max_script_size`, and (when new) the
//!   account has fewer than `max_scripts`. Writes are durable before `OK`.
//! - At most one script per account is active; the active one cannot be deleted.
//!
//! ## RFC 5804 coverage
//! Every command of the RFC: AUTHENTICATE (the server's mechanisms: PLAIN, LOGIN,
//! SCRAM-SHA-256, GSSAPI; with initial response, `"*"` cancel and final server data in
//! `OK (SASL ...)`; no security layers), STARTTLS, LOGOUT, CAPABILITY, HAVESPACE, PUTSCRIPT,
//! LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT, CHECKSCRIPT, NOOP (with
//! TAG), UNAUTHENTICATE. Response codes QUOTA/MAXSIZE, QUOTA/MAXSCRIPTS, NONEXISTENT,
//! ACTIVE, ALREADYEXISTS, TRYLATER, ENCRYPT-NEEDED, TAG, SASL. Not implemented: the `sieve:` URL
//! referrals (REFERRAL), `WARNINGS` (the compiler reports errors only), SASL security layers,
//! the NOTIFY capability.
#![forbid(unsafe_code)]

mod auth;
mod capability;
mod cmd;
mod command;
mod error;
mod framing;
mod response;
pub mod server;
mod session;

pub use server::{ManageSieveConfig, ManageSieveLimits, ManageSieveServer};

/// Entry points for the fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::framing::{Frame, FrameLimits, frame};

    /// Frames and parses every command in `input`, the way the session does: the commands'
    /// or errors' `Debug` forms. Checks the framer's contract as it goes (it consumes
    /// something, never more than there is).
    pub fn parse_commands(input: &[u8]) -> Vec<Result<String, String>> {
        let limits = FrameLimits {
            max_line: 1024,
            max_literal: 4096,
        };
        let mut out = Vec::new();
        let mut rest = input;
        loop {
            match frame(rest, limits) {
                Frame::Command { tokens, consumed } => {
                    assert!(consumed > 0 && consumed <= rest.len());
                    out.push(
                        crate::command::parse(tokens)
                            .map(|c| format!("{c:?}"))
                            .map_err(|e| e.to_string()),
                    );
                    rest = &rest[consumed..];
                }
                Frame::Bad { reason, consumed } => {
                    assert!(consumed > 0 && consumed <= rest.len());
                    out.push(Err(reason));
                    rest = &rest[consumed..];
                }
                Frame::TooLarge { consumed, literal } => {
                    assert!(consumed > 0 && consumed <= rest.len() && literal > 4096);
                    out.push(Err("too large".into()));
                    rest = &rest[consumed..];
                }
                Frame::Incomplete { need } => {
                    assert!(need > rest.len());
                    return out;
                }
                Frame::TooLong => return out,
            }
        }
    }
}
