//! The IMAP wire codec: parsing commands and encoding responses. No I/O.
pub mod command;
