//! # tern: the mail server binary
//!
//! The only crate that names concrete backends: it reads the config, opens the embedded
//! store and the internal directory, and starts the protocol servers on their listeners.
//!
//! ## Layout
//! - [`config`]: the TOML file, its defaults, and checking it (every error at once).
//! - `cli`: one file per command group (`serve`, `user`, `check-config`).
//! - [`serve`]: `tern serve`: listeners, protocol servers, signals, background tasks.
//! - [`backends`]: opening the store and the directory named by the config.
//! - [`outbound`]: the outbound queue's config and opening it.
//! - [`msgauth`]: SPF/DKIM/DMARC verification for the MX, DKIM keys for submission.
//!
//! ## Invariants
//! - Every listener is bound before `tern: ready` is printed on stdout.
//! - A config problem stops the command before it touches the data folder.
#![forbid(unsafe_code)]

mod authsock_setup;
mod backends;
mod cli;
mod config;
mod migration_mode;
mod msgauth;
mod outbound;
mod sasl_setup;
mod serve;

fn main() -> std::process::ExitCode {
    cli::run()
}
