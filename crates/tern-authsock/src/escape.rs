//! Dovecot's "tab-escaping" of parameter values: `\x01` is the escape character, followed by
//! `0` (NUL), `1` (`\x01`), `t` (TAB), `r` (CR) or `n` (LF); `\x01` before anything else
//! stands for that character itself. So a value can never contain the TAB that separates
//! parameters nor the LF that ends a line.
//!
//! Postfix escapes nothing (its values never hold TAB or LF); Dovecot's own clients
//! (`doveadm auth test`) escape what they send. Unescaping a value that holds no `\x01` is
//! the identity, so both are read the same way.

/// The escape character.
const ESC: u8 = 0x01;

/// Escapes `value` for a parameter (TAB, CR, LF, NUL and `\x01` become two octets each).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\0' => out.push_str("\x010"),
            '\x01' => out.push_str("\x011"),
            '\t' => out.push_str("\x01t"),
            '\r' => out.push_str("\x01r"),
            '\n' => out.push_str("\x01n"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`]. A trailing lone `\x01` is dropped (it escapes nothing).
pub fn unescape(value: &[u8]) -> Vec<u8> {
    if !value.contains(&ESC) {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter().copied();
    while let Some(b) = bytes.next() {
        if b != ESC {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'0') => out.push(0),
            Some(b'1') => out.push(ESC),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_separators_and_round_trips() {
        for (plain, escaped) in [
            ("alice@example.test", "alice@example.test"),
            ("a\tb", "a\x01tb"),
            ("line\r\nend", "line\x01r\x01nend"),
            ("nul\0", "nul\x010"),
            ("esc\x01", "esc\x011"),
            ("", ""),
            ("é\tü", "é\x01tü"),
        ] {
            assert_eq!(escape(plain), escaped);
            assert_eq!(unescape(escaped.as_bytes()), plain.as_bytes());
        }
    }

    #[test]
    fn unknown_escapes_keep_the_character() {
        assert_eq!(unescape(b"a\x01xb"), b"axb");
        assert_eq!(unescape(b"dangling\x01"), b"dangling");
        assert_eq!(unescape(b"\x01\x01"), b"\x01");
    }
}
