//! Connection-level commands: LOGIN, AUTHENTICATE with RFC 4959 SASL-IR, ID (RFC 2971),
//! ENABLE (RFC 5161), COMPRESS (RFC 4978); and the continuation lines the session reads
//! outside of commands (SASL responses, IDLE's `DONE`).

use super::ParseError;
use super::lexer::{Cursor, PResult, fail};
use crate::proto::command::CommandBody;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `login = "LOGIN" SP userid SP password` (both astrings: atom, quoted or literal).
pub(crate) fn login(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    let username = c.astring_named("a user name")?;
    c.sp()?;
    let password = c.astring_named("a password")?;
    Ok(CommandBody::Login { username, password })
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]` (RFC 4959 §7).
pub(crate) fn authenticate(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    let mechanism = c
        .atom_upper()
        .or_else(|_| fail("Expected a SASL mechanism"))?;
    let mut initial = None;
    if c.eat(b' ') {
        if c.eat(b'=') {
            initial = Some(Vec::new());
        } else {
            let b64 = c.take_while1(is_base64_char, "a base64 initial response")?;
            initial = Some(
                STANDARD
                    .decode(b64)
                    .or_else(|_| fail("Invalid base64 in initial response"))?,
            );
        }
    }
    Ok(CommandBody::Authenticate { mechanism, initial })
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `id = "ID" SP id-params-list`;
/// `id-params-list = "(" *(string SP nstring) ")" / nil` (RFC 2971 §4). Field names are
/// accepted as astrings (some clients send atoms).
pub(crate) fn id(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    if c.keyword("NIL") {
        return Ok(CommandBody::Id(None));
    }
    let pairs = c.paren_list(true, |c| {
        let key = c.astring()?;
        c.sp()?;
        let value = c.nstring()?;
        Ok((
            String::from_utf8_lossy(&key).into_owned(),
            value.map(|v| String::from_utf8_lossy(&v).into_owned()),
        ))
    })?;
    Ok(CommandBody::Id(Some(pairs)))
}

/// `enable = "ENABLE" 1*(SP capability)`; capabilities upper-cased.
pub(crate) fn enable(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mut caps = Vec::new();
    while c.eat(b' ') {
        caps.push(c.atom_upper()?);
    }
    if caps.is_empty() {
        return fail("ENABLE needs at least one capability");
    }
    Ok(CommandBody::Enable(caps))
}

/// `compress = "COMPRESS" SP algorithm` (RFC 4978 §3); the algorithm upper-cased.
pub(crate) fn compress(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    Ok(CommandBody::Compress(c.atom_upper()?))
}

/// A client's answer to a SASL challenge (`+ <base64>`), RFC 9051 §6.2.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaslResponse {
    /// The decoded response (an empty line is an empty response).
    Data(Vec<u8>),
    /// `*`: the client cancels the exchange; answer `BAD`.
    Cancel,
}

/// Parses a continuation line of AUTHENTICATE (read with
/// [`crate::proto::framing::Framer::expect_raw_line`]).
pub fn parse_sasl_response(line: &[u8]) -> Result<SaslResponse, ParseError> {
    if line == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    STANDARD
        .decode(line)
        .map(SaslResponse::Data)
        .map_err(|_| ParseError {
            tag: None,
            reason: "Invalid base64 in SASL response".into(),
        })
}

/// Whether a line read during IDLE is `DONE` (RFC 2177, case-insensitive).
pub fn is_idle_done(line: &[u8]) -> bool {
    line.eq_ignore_ascii_case(b"DONE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_lines() {
        assert_eq!(parse_sasl_response(b"*"), Ok(SaslResponse::Cancel));
        assert_eq!(parse_sasl_response(b""), Ok(SaslResponse::Data(vec![])));
        assert_eq!(
            parse_sasl_response(b"AGZyZWQAc2VjcmV0"),
            Ok(SaslResponse::Data(b"\0fred\0secret".to_vec()))
        );
        assert!(parse_sasl_response(b"not base64!").is_err());
        assert!(parse_sasl_response(b"AGZyZWQ").is_err()); // missing padding
        assert!(is_idle_done(b"done") && is_idle_done(b"DONE") && !is_idle_done(b"DONE "));
    }
}
