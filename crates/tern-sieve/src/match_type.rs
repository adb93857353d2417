//! Match types (RFC 5228 §2.7.1, RFC 5231): `:is`, `:contains`, `:matches` (wildcards `*`
//! and `?`, `\` escapes), `:value` and `:count` with a relational operator.
//!
//! `:matches` runs the linear-backtracking wildcard algorithm (only the most recent `*` is
//! ever revisited), which is O(text × pattern) in the worst case and charges the [`Meter`]
//! as it goes. Captures follow RFC 5229 §3.2's examples: each `*` takes the shortest span
//! that lets the rest match, scanning left to right.

use std::cmp::Ordering;

use crate::RuntimeError;
use crate::comparator::Comparator;
use crate::meter::Meter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl RelOp {
    pub fn from_name(s: &str) -> Option<RelOp> {
        Some(match s.to_ascii_lowercase().as_str() {
            "gt" => RelOp::Gt,
            "ge" => RelOp::Ge,
            "lt" => RelOp::Lt,
            "le" => RelOp::Le,
            "eq" => RelOp::Eq,
            "ne" => RelOp::Ne,
            _ => return None,
        })
    }

    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            RelOp::Gt => ord == Ordering::Greater,
            RelOp::Ge => ord != Ordering::Less,
            RelOp::Lt => ord == Ordering::Less,
            RelOp::Le => ord != Ordering::Greater,
            RelOp::Eq => ord == Ordering::Equal,
            RelOp::Ne => ord != Ordering::Equal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Is,
    Contains,
    Matches,
    Value(RelOp),
    Count(RelOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    Star,
    One,
    Char(char),
}

/// A `:matches` key, parsed once and matched against many values.
#[derive(Debug, Clone)]
pub struct Pattern {
    pat: Vec<Pat>,
    /// Index of each wildcard among the wildcards, per pattern position.
    wild_of: Vec<usize>,
    wilds: usize,
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let mut pat = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            pat.push(match c {
                '*' => Pat::Star,
                '?' => Pat::One,
                '\\' => match chars.next() {
                    Some(e) => Pat::Char(e),
                    None => Pat::Char('\\'),
                },
                c => Pat::Char(c),
            });
        }
        let mut wild_of = vec![usize::MAX; pat.len()];
        let mut wilds = 0;
        for (i, p) in pat.iter().enumerate() {
            if matches!(p, Pat::Star | Pat::One) {
                wild_of[i] = wilds;
                wilds += 1;
            }
        }
        Pattern {
            pat,
            wild_of,
            wilds,
        }
    }

    /// `Ok(Some(captures))` on a match, where captures[0] is the whole text and
    /// captures[i] what the i-th wildcard matched. ASCII text is matched byte-wise without
    /// copying; other text per character.
    pub fn matches(
        &self,
        text: &str,
        cmp: Comparator,
        meter: &mut Meter,
    ) -> Result<Option<Vec<String>>, RuntimeError> {
        if text.is_ascii() {
            let txt = text.as_bytes();
            let caps = self.run(txt, |c, b| cmp.char_eq(c, b as char), meter)?;
            Ok(caps.map(|caps| {
                let mut out = vec![text.to_string()];
                out.extend(caps.into_iter().map(|(a, b)| text[a..b].to_string()));
                out
            }))
        } else {
            let txt: Vec<char> = text.chars().collect();
            let caps = self.run(&txt, |c, t| cmp.char_eq(c, t), meter)?;
            Ok(caps.map(|caps| {
                let mut out = vec![text.to_string()];
                out.extend(caps.into_iter().map(|(a, b)| txt[a..b].iter().collect()));
                out
            }))
        }
    }

    fn run<T: Copy>(
        &self,
        txt: &[T],
        eq: impl Fn(char, T) -> bool,
        meter: &mut Meter,
    ) -> Result<Option<Vec<(usize, usize)>>, RuntimeError> {
        let pat = &self.pat;
        let mut caps = vec![(0usize, 0usize); self.wilds];
        let (mut p, mut t) = (0usize, 0usize);
        // The most recent star: (pattern index, text index where it started).
        let mut star: Option<(usize, usize)> = None;
        let mut star_end = 0usize;
        let mut work: u64 = 0;
        while t < txt.len() {
            work += 1;
            if work >= 4096 {
                meter.charge_fine(work)?;
                work = 0;
            }
            match pat.get(p) {
                Some(Pat::Char(c)) if eq(*c, txt[t]) => {
                    p += 1;
                    t += 1;
                }
                Some(Pat::One) => {
                    caps[self.wild_of[p]] = (t, t + 1);
                    p += 1;
                    t += 1;
                }
                Some(Pat::Star) => {
                    star = Some((p, t));
                    star_end = t;
                    caps[self.wild_of[p]] = (t, t);
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        star_end += 1;
                        caps[self.wild_of[sp]] = (st, star_end);
                        t = star_end;
                        p = sp + 1;
                    }
                    None => {
                        meter.charge_fine(work)?;
                        return Ok(None);
                    }
                },
            }
        }
        meter.charge_fine(work)?;
        while p < pat.len() && pat[p] == Pat::Star {
            caps[self.wild_of[p]] = (t, t);
            p += 1;
        }
        Ok((p == pat.len()).then_some(caps))
    }
}

/// `:matches` of one pattern against one text (see [`Pattern::matches`]).
#[cfg(test)]
pub fn wildcard(
    pattern: &str,
    text: &str,
    cmp: Comparator,
    meter: &mut Meter,
) -> Result<Option<Vec<String>>, RuntimeError> {
    Pattern::new(pattern).matches(text, cmp, meter)
}

/// RFC 5229 `:quotewildcard`: escapes `*`, `?` and `\`.
pub fn quote_wildcard(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> Option<Vec<String>> {
        wildcard(p, t, Comparator::AsciiCasemap, &mut Meter::new(1_000_000)).unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "").is_some());
        assert!(m("a*c", "abbbc").is_some());
        assert!(m("a?c", "abc").is_some());
        assert!(m("a?c", "ac").is_none());
        assert!(m("*@example.com", "x@EXAMPLE.com").is_some());
        assert!(m("\\*x", "*x").is_some());
        assert!(m("\\*x", "ax").is_none());
        assert!(m("a*b*c", "aXbYbZc").is_some());
        assert!(m("a*b", "ab c").is_none());
    }

    #[test]
    fn captures_follow_rfc5229() {
        let c = m("[*] *", "[acme-users] [fwd] version 1.0 is out").unwrap();
        assert_eq!(c[1], "acme-users");
        assert_eq!(c[2], "[fwd] version 1.0 is out");
        let c = m("coyote@**.com", "coyote@ACME.Example.COM").unwrap();
        assert_eq!(c[1], "");
        assert_eq!(c[2], "ACME.Example");
        let c = m("*<*@*", "Sieve list <sieve.example.com@lists>").unwrap();
        assert_eq!(c[2], "sieve.example.com");
        let c = m("é*?", "ÉtÉ").unwrap_or_default();
        assert!(c.is_empty(), "i;ascii-casemap folds ASCII only");
        let c = m("é*?", "été").unwrap();
        assert_eq!((c[1].as_str(), c[2].as_str()), ("t", "é"));
        let c = m("?*?", "abcd").unwrap();
        assert_eq!(
            (c[1].as_str(), c[2].as_str(), c[3].as_str()),
            ("a", "bc", "d")
        );
    }

    #[test]
    fn pathological_pattern_is_metered() {
        let text = "a".repeat(20_000);
        let pat = format!("*{}b", "a".repeat(1000));
        let mut meter = Meter::new(1000);
        assert_eq!(
            wildcard(&pat, &text, Comparator::Octet, &mut meter),
            Err(RuntimeError::StepLimit)
        );
    }
}
