//! # tern-imap: the IMAP4rev1 / IMAP4rev2 server
//!
//! ## Layout
//! - [`proto`]: the wire codec, no I/O: command parser producing [`proto::command::Command`],
//!   response encoding helpers.
//! - `session`: the state machine (`NotAuthenticated | Authenticated | Selected`) and the
//!   connection loop; `cmd/`: one file per command.
#![forbid(unsafe_code)]

pub mod proto;
