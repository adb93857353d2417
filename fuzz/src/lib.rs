//! # tern-fuzz: shared harness for Tern's fuzz targets
//!
//! The targets themselves are in `fuzz_targets/` (one binary each); what they share lives
//! here, so it is compiled once and has unit tests of its own (`cargo test` in `fuzz/`
//! runs them without the fuzzer).
//!
//! ## Layout
//! - [`backend`]: one process-wide tokio runtime and one real embedded store + internal
//!   directory in a temp dir (on tmpfs when there is one), with one user and a few seeded
//!   messages, created on first use.
//! - [`drive`]: runs a protocol server over `tokio::io::duplex`, feeding the fuzz input as the
//!   client's bytes in chunks and collecting everything the server writes.
//! - [`input`]: how a session target's input is laid out (control byte, then client bytes).
//! - [`imap_wire`], [`smtp_wire`], [`pop3_wire`]: well-formedness checks of server output.
//!
//! ## Invariants
//! - Session targets reuse the runtime and the store between iterations; the store's state
//!   is topped up ([`backend::Backend::reset`]) so it does not drift far from the seed.
//! - The wire checkers accept exactly what a client of that protocol must be able to parse;
//!   a failure is a server bug (malformed output), never a harness convenience.

pub mod backend;
pub mod drive;
pub mod imap_wire;
pub mod input;
pub mod pop3_wire;
pub mod smtp_wire;

/// Prints a session's output to stderr when `TERN_FUZZ_SHOW` is set (for writing seeds:
/// `TERN_FUZZ_SHOW=1 cargo fuzz run imap_session corpus/imap_session/fetch_items`).
pub fn show(transcript: &drive::Transcript) {
    static SHOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *SHOW.get_or_init(|| std::env::var_os("TERN_FUZZ_SHOW").is_some()) {
        let output = String::from_utf8_lossy(&transcript.output);
        eprintln!("--- server output ---\n{output}");
        if transcript.outlived_shutdown {
            eprintln!("--- the server kept running after shutdown until the client closed ---");
        }
    }
}

/// With `TERN_FUZZ_STRICT_SHUTDOWN` set, a server that kept running after a shutdown request
/// until its client closed ([`drive::Transcript::outlived_shutdown`]) is a failure. Off by
/// default: the graceful-shutdown latency is a finding to report, not memory safety.
pub fn check_shutdown(transcript: &drive::Transcript) {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let strict = *STRICT.get_or_init(|| std::env::var_os("TERN_FUZZ_STRICT_SHUTDOWN").is_some());
    assert!(
        !(strict && transcript.outlived_shutdown),
        "the server ignored the shutdown request (still running {:?} later)",
        drive::SHUTDOWN_GRACE
    );
}
