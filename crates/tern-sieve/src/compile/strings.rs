//! String resolution at compile time: encoded-character decoding and the split into
//! literal pieces and variable references.

use super::Context;
use crate::CompileError;
use crate::ast::StrLit;
use crate::ir::{Piece, Str, VarName};
use crate::lexer::Pos;

impl Context {
    /// Resolves a string argument (encoded characters, then variable references).
    pub fn string(&self, lit: &StrLit) -> Result<Str, CompileError> {
        let text = if self.has("encoded-character") {
            decode_encoded(&lit.value, lit.pos)?
        } else {
            lit.value.clone()
        };
        Ok(if self.variables() {
            split_variables(&text)
        } else {
            Str::lit(text)
        })
    }

    /// A string that must not contain variable references (names, comparators...):
    /// encoded characters are still decoded.
    pub fn constant(&self, lit: &StrLit) -> Result<String, CompileError> {
        if self.has("encoded-character") {
            decode_encoded(&lit.value, lit.pos)
        } else {
            Ok(lit.value.clone())
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses a variable name as used by `set` / `global`: `name` or `namespace.name`.
pub fn var_name(s: &str, pos: Pos) -> Result<VarName, CompileError> {
    let lower = s.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('.').collect();
    if parts.iter().all(|p| is_identifier(p)) && parts.len() <= 2 {
        let name = parts.pop().unwrap_or_default().to_string();
        let namespace = parts.pop().map(str::to_string);
        if let Some(ns) = &namespace
            && ns != "global"
        {
            return Err(pos.error(format!("unknown variable namespace \"{ns}\"")));
        }
        return Ok(VarName { namespace, name });
    }
    Err(pos.error(format!("invalid variable name \"{s}\"")))
}

/// Splits `${...}` references out of `text`; anything that is not a valid reference stays
/// literal (RFC 5229 §3).
pub fn split_variables(text: &str) -> Str {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        lit.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let reference = after.find('}').and_then(|end| {
            let inner = &after[..end];
            parse_reference(inner).map(|p| (p, end))
        });
        match reference {
            Some((piece, end)) => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(piece);
                rest = &after[end + 1..];
            }
            None => {
                lit.push_str("${");
                rest = after;
            }
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Str { pieces }
}

fn parse_reference(inner: &str) -> Option<Piece> {
    if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit()) {
        let n = inner.trim_start_matches('0');
        let n: usize = if n.is_empty() {
            0
        } else if n.len() > 3 {
            usize::MAX
        } else {
            n.parse().ok()?
        };
        return Some(Piece::Match(n));
    }
    let lower = inner.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    if !parts.iter().all(|p| is_identifier(p)) {
        return None;
    }
    match parts.as_slice() {
        [name] => Some(Piece::Var {
            namespace: None,
            name: name.to_string(),
        }),
        [ns, name] => Some(Piece::Var {
            namespace: Some(ns.to_string()),
            name: name.to_string(),
        }),
        _ => None,
    }
}

/// RFC 5228 §2.4.2.4: `${hex:XX XX}` and `${unicode:XXXX}`; malformed sequences stay as
/// written, an out-of-range code point is an error.
pub fn decode_encoded(text: &str, pos: Pos) -> Result<String, CompileError> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let after = &rest[start + 2..];
        let colon = after.find(':');
        let close = after.find('}');
        let decoded = match (colon, close) {
            (Some(c), Some(e)) if c < e => {
                let kind = after[..c].trim().to_ascii_lowercase();
                let body = &after[c + 1..e];
                match kind.as_str() {
                    "hex" => decode_hex(body),
                    "unicode" => decode_unicode(body, pos)?,
                    _ => None,
                }
                .map(|bytes| (bytes, e))
            }
            _ => None,
        };
        match decoded {
            Some((bytes, e)) => {
                out.extend_from_slice(&bytes);
                rest = &after[e + 1..];
            }
            None => {
                out.extend_from_slice(b"${");
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn hex_words(body: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = body.split_ascii_whitespace().collect();
    if words.is_empty()
        || !words
            .iter()
            .all(|w| w.bytes().all(|c| c.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(words)
}

fn decode_hex(body: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for w in hex_words(body)? {
        if w.len() % 2 != 0 {
            return None;
        }
        for i in (0..w.len()).step_by(2) {
            out.push(u8::from_str_radix(&w[i..i + 2], 16).ok()?);
        }
    }
    Some(out)
}

fn decode_unicode(body: &str, pos: Pos) -> Result<Option<Vec<u8>>, CompileError> {
    let Some(words) = hex_words(body) else {
        return Ok(None);
    };
    let mut out = String::new();
    for w in words {
        let w = w.trim_start_matches('0');
        let v = if w.is_empty() {
            0
        } else if w.len() > 6 {
            u32::MAX
        } else {
            u32::from_str_radix(w, 16).unwrap_or(u32::MAX)
        };
        match char::from_u32(v) {
            Some(c) => out.push(c),
            None => return Err(pos.error(format!("invalid unicode character U+{w} in string"))),
        }
    }
    Ok(Some(out.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_split() {
        let s = split_variables("a${x}b${1}${global.Y}${bad-}${");
        assert_eq!(
            s.pieces,
            vec![
                Piece::Lit("a".into()),
                Piece::Var {
                    namespace: None,
                    name: "x".into()
                },
                Piece::Lit("b".into()),
                Piece::Match(1),
                Piece::Var {
                    namespace: Some("global".into()),
                    name: "y".into()
                },
                Piece::Lit("${bad-}${".into()),
            ]
        );
    }

    #[test]
    fn encoded_characters() {
        let p = Pos::default();
        // RFC 5228 §2.4.2.4 examples: all of these are "$${}".
        for s in [
            "$${}",
            "${hex:24 24}${hex:7b}}",
            "$${hex:24}${hex:7b 7d}",
            "${unicode:24}${unicode:0024}{}",
        ] {
            assert_eq!(decode_encoded(s, p).unwrap(), "$${}", "{s}");
        }
        assert_eq!(decode_encoded("${hex:zz}", p).unwrap(), "${hex:zz}");
        assert_eq!(decode_encoded("${Unicode:263A}", p).unwrap(), "\u{263A}");
        assert!(decode_encoded("${unicode:D800}", p).is_err());
    }
}
