//! Comparators (RFC 4790 as used by RFC 5228 §2.7.3): `i;octet`, `i;ascii-casemap` (the
//! default) and `i;ascii-numeric` (RFC 5231 relational use).
//!
//! `i;ascii-numeric` compares the leading decimal digits as an unbounded integer; a string
//! that does not start with a digit is positive infinity, equal to any other such string.
//! It supports equality and ordering only (no substring), which `compile` enforces.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

impl Comparator {
    /// The comparator named `name` and the capability `require` must list for it.
    pub fn from_name(name: &str) -> Option<(Comparator, &'static str)> {
        match name.to_ascii_lowercase().as_str() {
            "i;octet" => Some((Comparator::Octet, "comparator-i;octet")),
            "i;ascii-casemap" => Some((Comparator::AsciiCasemap, "comparator-i;ascii-casemap")),
            "i;ascii-numeric" => Some((Comparator::AsciiNumeric, "comparator-i;ascii-numeric")),
            _ => None,
        }
    }

    pub fn supports_substring(self) -> bool {
        self != Comparator::AsciiNumeric
    }

    pub fn char_eq(self, a: char, b: char) -> bool {
        match self {
            Comparator::AsciiCasemap => a.eq_ignore_ascii_case(&b),
            _ => a == b,
        }
    }

    pub fn equals(self, a: &str, b: &str) -> bool {
        match self {
            Comparator::Octet => a == b,
            Comparator::AsciiCasemap => a.eq_ignore_ascii_case(b),
            Comparator::AsciiNumeric => numeric_cmp(a, b) == Ordering::Equal,
        }
    }

    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
            Comparator::AsciiCasemap => a
                .bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase())),
            Comparator::AsciiNumeric => numeric_cmp(a, b),
        }
    }

    pub fn contains(self, haystack: &str, needle: &str) -> bool {
        match self {
            Comparator::AsciiCasemap => haystack
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()),
            _ => haystack.contains(needle),
        }
    }
}

fn numeric_cmp(a: &str, b: &str) -> Ordering {
    fn digits(s: &str) -> Option<&str> {
        let end = s.bytes().take_while(u8::is_ascii_digit).count();
        if end == 0 {
            return None;
        }
        let d = s[..end].trim_start_matches('0');
        Some(d)
    }
    match (digits(a), digits(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric() {
        let n = Comparator::AsciiNumeric;
        assert!(n.equals("007", "7"));
        assert!(n.equals("12abc", "12"));
        assert!(n.equals("abc", "x"));
        assert_eq!(n.compare("10", "9"), Ordering::Greater);
        assert_eq!(n.compare("x", "99999999999999999999999"), Ordering::Greater);
        assert_eq!(n.compare("0", ""), Ordering::Less);
    }

    #[test]
    fn casemap() {
        let c = Comparator::AsciiCasemap;
        assert!(c.equals("FRoG", "frog"));
        assert!(c.contains("Hello World", "WORLD"));
        assert!(!Comparator::Octet.contains("Hello World", "WORLD"));
        assert_eq!(c.compare("B", "a"), Ordering::Greater);
    }
}
