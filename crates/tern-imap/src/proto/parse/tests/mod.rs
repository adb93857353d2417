//! Table-driven parser tests: RFC `C:` lines → AST, and malformed input → ParseError.

mod admin;
mod commands;
mod fetch;
mod malformed;
mod search;

use crate::proto::command::*;
use crate::proto::framing::Frame;
use crate::proto::parse::{ParseError, ParseOptions, parse_command, parse_command_with};

/// Parses `line` (no final CRLF) and returns the body, panicking with the reason on error.
pub(super) fn body(line: &str) -> CommandBody {
    match parse_command(&Frame::from_bytes(line.as_bytes())) {
        Ok(cmd) => cmd.body,
        Err(e) => panic!("{line:?}: {e}"),
    }
}

pub(super) fn body_utf8(line: &str) -> CommandBody {
    parse_command_with(
        &Frame::from_bytes(line.as_bytes()),
        ParseOptions { utf8: true },
    )
    .unwrap_or_else(|e| panic!("{line:?}: {e}"))
    .body
}

pub(super) fn error(line: &[u8]) -> ParseError {
    match parse_command(&Frame::from_bytes(line)) {
        Ok(cmd) => panic!("{:?} parsed as {cmd:?}", String::from_utf8_lossy(line)),
        Err(e) => e,
    }
}

pub(super) fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(ranges.iter().map(|&(a, b)| (bound(a), bound(b))).collect())
}

/// 0 stands for `*` in test tables.
fn bound(n: u32) -> SeqBound {
    if n == 0 {
        SeqBound::Star
    } else {
        SeqBound::Num(n)
    }
}

pub(super) fn s(v: &str) -> String {
    v.to_string()
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}
