//! # tern-authsock: a Dovecot-compatible SASL auth socket
//!
//! Lets an MTA kept in front of Tern authenticate its clients against Tern's directory: a
//! Postfix with `smtpd_sasl_type = dovecot` and `smtpd_sasl_path` pointing here (a Unix
//! socket, or `inet:127.0.0.1:PORT`) asks this server about every SMTP `AUTH`, as it would
//! ask Dovecot's auth process. `doveadm auth test -a SOCKET` and Exim's `dovecot`
//! authenticator speak the same client protocol (Dovecot's auth protocol v1.x, client side).
//!
//! ## Layout
//! - [`framer`]: bytes → lines, with a length bound (sans-I/O).
//! - [`request`]: parses a client line (`VERSION`, `CPID`, `AUTH`, `CONT`, `CANCEL`).
//! - [`reply`]: encodes the handshake and `CONT` / `OK` / `FAIL`.
//! - [`escape`]: Dovecot's tab-escaping of values.
//! - [`penalty`]: failure delays per remote user address.
//! - `connection`: one connection's loop (handshake, concurrent requests).
//! - [`server`]: [`AuthSocketServer`], shared by the TCP listener (`tern serve` hands it
//!   `tern_net` connections) and the [`unix`] listener.
//!
//! ## Invariants
//! - The mechanisms are tern-sasl's, with the same [`tern_sasl::Authenticator`] as IMAP,
//!   POP3 and submission: a login here is the same check as a login there. PLAIN and LOGIN
//!   are announced `plaintext` and refused for a request without `secured` (the remote user
//!   reached the MTA without TLS) unless plaintext is allowed, as `[auth] allow_plaintext`
//!   does for Tern's own listeners.
//! - A mechanism's final server data (SCRAM's `v=`) is sent as one more `CONT`, answered by
//!   an empty response, not inside `OK`: Postfix ignores data in `OK`, while every client
//!   relays a `CONT` (RFC 4954 §4 has SMTP carry it as a `334` challenge).
//! - `OK` carries `user=<account>`, the canonical account name (Postfix requires it; it
//!   becomes `sasl_username`). `FAIL` for wrong credentials carries neither a reason nor
//!   `user=`, and comes after the same delay whether or not the user exists; the reason is
//!   logged, passwords never are.
//! - Malformed input gets a `FAIL` naming its request, or the connection closed when no
//!   request can be named; it never panics, and memory per connection is bounded by the line
//!   length and the number of requests in progress.
#![forbid(unsafe_code)]

mod connection;
pub mod escape;
pub mod framer;
pub mod penalty;
pub mod reply;
pub mod request;
pub mod server;
pub mod unix;

pub use connection::{
    NOT_YOUR_TURN, PLAINTEXT_DISABLED, TEMPFAIL, TOO_LONG, TOO_MANY, UNKNOWN_REQUEST, UNSUPPORTED,
};
pub use server::{AuthSocketConfig, AuthSocketServer};
pub use unix::{UnixListener, UnixSocketOptions};

#[cfg(test)]
mod tests;
