//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3, kept by RFC 9051 §5.1 for clients that
//! have not enabled UTF8=ACCEPT).
//!
//! Printable US-ASCII other than `&` stands for itself; `&` is written `&-`; anything else is
//! UTF-16BE in base64 (with `,` for `/`, no padding) between `&` and `-`.
//!
//! ## Invariants
//! - [`encode`] produces the one canonical form; [`decode`] accepts only canonical input
//!   (no encoded printable ASCII, no adjacent shifted runs, no non-zero padding bits), so
//!   `encode(decode(x)?) == x` for every accepted `x` and a name has one spelling.

/// Why a name is not valid modified UTF-7.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Utf7Error {
    /// An octet outside printable US-ASCII appeared outside a shifted run.
    #[error("invalid character in modified UTF-7 name")]
    InvalidChar,
    /// A `&` run was not closed by `-`.
    #[error("unterminated modified UTF-7 sequence")]
    Unterminated,
    /// A character inside a `&…-` run is not in the modified base64 alphabet.
    #[error("invalid modified base64")]
    InvalidBase64,
    /// The base64 decoded to something other than well-formed UTF-16 (odd length,
    /// lone surrogate, non-zero padding bits).
    #[error("invalid UTF-16 in modified UTF-7 name")]
    InvalidUtf16,
    /// Valid but not canonical: printable ASCII encoded in base64, or two shifted runs
    /// next to each other.
    #[error("non-canonical modified UTF-7")]
    NotCanonical,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

fn is_direct(c: char) -> bool {
    ('\x20'..='\x7e').contains(&c) && c != '&'
}

/// Encodes a UTF-8 name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) || c == '&' {
            flush_shifted(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_shifted(&mut out, &mut pending);
    out
}

fn flush_shifted(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out.push('-');
    units.clear();
}

/// Decodes a modified UTF-7 name to UTF-8, rejecting invalid and non-canonical input.
pub fn decode(name: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    // Whether the previous token was a shifted run (adjacent runs are not canonical).
    let mut after_run = false;
    while i < name.len() {
        let c = name[i];
        if c != b'&' {
            if !(0x20..=0x7e).contains(&c) {
                return Err(Utf7Error::InvalidChar);
            }
            out.push(c as char);
            after_run = false;
            i += 1;
            continue;
        }
        let start = i + 1;
        let Some(len) = name[start..].iter().position(|&b| b == b'-') else {
            return Err(Utf7Error::Unterminated);
        };
        let run = &name[start..start + len];
        i = start + len + 1;
        if run.is_empty() {
            out.push('&');
            after_run = false;
            continue;
        }
        if after_run {
            return Err(Utf7Error::NotCanonical);
        }
        decode_run(run, &mut out)?;
        after_run = true;
    }
    Ok(out)
}

/// Decodes the base64 between `&` and `-`.
fn decode_run(run: &[u8], out: &mut String) -> Result<(), Utf7Error> {
    let mut bytes = Vec::with_capacity(run.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in run {
        let v = b64_value(c).ok_or(Utf7Error::InvalidBase64)?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be fewer than 6 and zero (RFC 2152 padding rules).
    if bits >= 6 || acc != 0 || bytes.len() % 2 != 0 {
        return Err(Utf7Error::InvalidUtf16);
    }
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]));
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| Utf7Error::InvalidUtf16)?;
        if is_direct(c) || c == '&' {
            return Err(Utf7Error::NotCanonical);
        }
        out.push(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_and_common_examples() {
        let cases: &[(&str, &str)] = &[
            // RFC 3501 §5.1.3
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("INBOX", "INBOX"),
            ("A&B", "A&-B"),
            ("&", "&-"),
            ("", ""),
            ("Entwürfe", "Entw&APw-rfe"),
            ("Gelöschte Elemente", "Gel&APY-schte Elemente"),
            ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            ("😀", "&2D3eAA-"),
            ("a\u{7f}b", "a&AH8-b"),
        ];
        for (utf8, utf7) in cases {
            assert_eq!(encode(utf8), *utf7, "encode {utf8:?}");
            assert_eq!(
                decode(utf7.as_bytes()).as_deref(),
                Ok(*utf8),
                "decode {utf7:?}"
            );
        }
    }

    #[test]
    fn rejects_invalid_and_non_canonical() {
        let cases: &[(&[u8], Utf7Error)] = &[
            (b"&U,BTFw", Utf7Error::Unterminated),
            (b"a&", Utf7Error::Unterminated),
            (b"&U/BTFw-", Utf7Error::InvalidBase64),
            (b"&U=-", Utf7Error::InvalidBase64),
            (b"caf\xc3\xa9", Utf7Error::InvalidChar),
            (b"tab\there", Utf7Error::InvalidChar),
            (b"&AGE-", Utf7Error::NotCanonical), // "a" encoded
            (b"&ACY-", Utf7Error::NotCanonical), // "&" encoded
            (b"&U,A-&ZeU-", Utf7Error::NotCanonical),
            (b"&U,BTF-", Utf7Error::InvalidUtf16), // non-zero padding bits
            (b"&AA-", Utf7Error::InvalidUtf16),    // one octet
            (b"&2D0-", Utf7Error::InvalidUtf16),   // lone high surrogate
            (b"&A-", Utf7Error::InvalidUtf16),
        ];
        for (input, err) in cases {
            assert_eq!(
                decode(input),
                Err(err.clone()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Round trip over a spread of characters: every UTF-8 string encodes to something
    /// that decodes back to it, and the encoding is pure printable ASCII.
    #[test]
    fn round_trip_property() {
        let alphabet: Vec<char> = "aZ09 &-~/.é台😀\u{7f}\u{1}\u{ffff}\u{10000},+"
            .chars()
            .collect();
        // All strings of length ≤ 3 over the alphabet, plus a few long ones.
        let mut inputs = vec![String::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for s in &inputs {
                for c in &alphabet {
                    let mut t = s.clone();
                    t.push(*c);
                    next.push(t);
                }
            }
            inputs.extend(next);
            inputs.dedup();
        }
        inputs.push("é".repeat(100));
        inputs.push("a&é&b台&&".repeat(10));
        for s in &inputs {
            let e = encode(s);
            assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{e:?}");
            assert_eq!(
                decode(e.as_bytes()).as_deref(),
                Ok(s.as_str()),
                "{s:?} -> {e:?}"
            );
        }
    }
}
