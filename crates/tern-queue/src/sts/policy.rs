//! MTA-STS text formats, parsing only (no I/O): the `_mta-sts` TXT record (RFC 8461 §3.1),
//! the policy file (§3.2) and MX host matching (§4.1). Fuzzed: `fuzz_targets/mta_sts.rs`.
//!
//! Strictness follows the RFC's ABNF where a mistake would change which hosts are trusted
//! (field names and the version, mode and `mx` values are exact; a malformed `mx` line makes
//! the whole policy invalid), and its leniency rules elsewhere: unknown fields are ignored,
//! a repeated field other than `mx` keeps its first value (§3.2), blank lines and spaces
//! around values are tolerated, `max_age` above the RFC's maximum is capped.

use std::fmt;

/// The largest `max_age` (RFC 8461 §3.2: about one year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// Why a record or policy is not usable (the domain is then treated as having none).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

fn bad(why: impl Into<String>) -> SyntaxError {
    SyntaxError(why.into())
}

/// What a policy asks of senders (RFC 8461 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Deliver only to matching MX hosts over TLS with a valid certificate.
    Enforce,
    /// Deliver as without a policy; report (here: log) what enforcement would refuse.
    Testing,
    /// No policy (lets a domain withdraw one that senders have cached).
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `mx:` value: a host name, or `*.` and a domain (matching one more label on the left).
/// Stored lower-case without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxPattern {
    Exact(String),
    /// `*.example.net`: holds `example.net`.
    Wildcard(String),
}

impl MxPattern {
    /// `sts-policy-mx-value = ["*."] Domain` (RFC 5321 `Domain`: letter/digit labels with
    /// inner hyphens).
    pub fn parse(value: &str) -> Result<MxPattern, SyntaxError> {
        let (wild, name) = match value.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if !is_domain(name) {
            return Err(bad(format!("mx: {value:?} is not a host name or *.domain")));
        }
        let name = name.to_ascii_lowercase();
        Ok(if wild {
            MxPattern::Wildcard(name)
        } else {
            MxPattern::Exact(name)
        })
    }

    /// Whether the MX host `host` matches (RFC 8461 §4.1): case-insensitive; a wildcard
    /// stands for exactly one leftmost label (`*.example.net` matches `mx1.example.net`,
    /// not `example.net` nor `a.b.example.net`).
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        match self {
            MxPattern::Exact(name) => host.eq_ignore_ascii_case(name),
            MxPattern::Wildcard(suffix) => {
                let host = host.as_bytes();
                let Some(cut) = host.len().checked_sub(suffix.len() + 1) else {
                    return false;
                };
                let (label, rest) = host.split_at(cut);
                !label.is_empty()
                    && !label.contains(&b'.')
                    && rest[0] == b'.'
                    && rest[1..].eq_ignore_ascii_case(suffix.as_bytes())
            }
        }
    }
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MxPattern::Exact(name) => f.write_str(name),
            MxPattern::Wildcard(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// A parsed policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Never empty unless the mode is `none`.
    pub mx: Vec<MxPattern>,
    /// Seconds the policy may be cached (capped at [`MAX_AGE_LIMIT`]).
    pub max_age: u64,
}

impl Policy {
    /// Whether `host` is one of the MX hosts the policy names.
    pub fn allows(&self, host: &str) -> bool {
        self.mx.iter().any(|p| p.matches(host))
    }

    /// The `mx` patterns as a list for messages: `mx1.example.com, *.example.net`.
    pub fn mx_list(&self) -> String {
        let names: Vec<String> = self.mx.iter().map(ToString::to_string).collect();
        names.join(", ")
    }

    /// The policy in its canonical file form (what [`parse_policy`] reads back).
    pub fn to_text(&self) -> String {
        let mut out = format!("version: STSv1\r\nmode: {}\r\n", self.mode);
        for mx in &self.mx {
            out.push_str(&format!("mx: {mx}\r\n"));
        }
        out.push_str(&format!("max_age: {}\r\n", self.max_age));
        out
    }
}

/// Parses a policy file (RFC 8461 §3.2): `key: value` lines ended by LF or CRLF.
/// `version: STSv1`, `mode` and `max_age` are required, `mx` at least once unless the mode
/// is `none`.
pub fn parse_policy(text: &str) -> Result<Policy, SyntaxError> {
    let mut version = None;
    let mut mode = None;
    let mut max_age = None;
    let mut mx = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_matches(is_wsp);
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("line {}: no \"key:\"", n + 1)))?;
        if !is_field_name(key) {
            return Err(bad(format!("line {}: bad field name {key:?}", n + 1)));
        }
        let value = value.trim_matches(is_wsp);
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(bad(format!("line {}: bad value for {key}", n + 1)));
        }
        // Field names are case-sensitive (%s in the ABNF). Repeats keep the first value.
        match key {
            "version" if version.is_none() => version = Some(value),
            "mode" if mode.is_none() => {
                mode = Some(match value {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    _ => return Err(bad(format!("mode: unknown value {value:?}"))),
                })
            }
            "max_age" if max_age.is_none() => {
                if value.is_empty()
                    || value.len() > 10
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(bad(format!("max_age: {value:?} is not 1 to 10 digits")));
                }
                let secs: u64 = value.parse().map_err(|_| bad("max_age"))?;
                max_age = Some(secs.min(MAX_AGE_LIMIT));
            }
            "mx" => mx.push(MxPattern::parse(value)?),
            _ => {}
        }
    }
    match version {
        Some("STSv1") => {}
        Some(v) => return Err(bad(format!("version: {v:?} is not STSv1"))),
        None => return Err(bad("no version field")),
    }
    let mode = mode.ok_or_else(|| bad("no mode field"))?;
    let max_age = max_age.ok_or_else(|| bad("no max_age field"))?;
    if mode != Mode::None && mx.is_empty() {
        return Err(bad(format!("mode {mode} without an mx field")));
    }
    Ok(Policy { mode, mx, max_age })
}

/// The `_mta-sts` TXT record (RFC 8461 §3.1): `v=STSv1; id=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsRecord {
    /// `1*32(ALPHA / DIGIT)`: changes whenever the policy does.
    pub id: String,
}

/// Parses one TXT record (its character-strings already concatenated).
pub fn parse_record(txt: &str) -> Result<StsRecord, SyntaxError> {
    let mut fields = txt.split(';').map(|f| f.trim_matches(is_wsp));
    if fields.next() != Some("v=STSv1") {
        return Err(bad("does not start with v=STSv1"));
    }
    let fields: Vec<&str> = fields.collect();
    let mut id = None;
    for (i, field) in fields.iter().enumerate() {
        if field.is_empty() {
            // Only a final `;` may leave an empty field.
            if i + 1 == fields.len() {
                continue;
            }
            return Err(bad("empty field"));
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| bad(format!("field {field:?} has no '='")))?;
        if name == "id" {
            if value.is_empty()
                || value.len() > 32
                || !value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(bad(format!(
                    "id {value:?} is not 1 to 32 letters and digits"
                )));
            }
            id.get_or_insert(value);
        } else if !is_field_name(name)
            || value.is_empty()
            || !value
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'=' && b != b';')
        {
            return Err(bad(format!("bad field {field:?}")));
        }
    }
    let id = id.ok_or_else(|| bad("no id field"))?;
    Ok(StsRecord { id: id.to_string() })
}

/// Picks the record out of a name's TXT records (RFC 8461 §3.1): those not starting with
/// `v=STSv1` are ignored; unless exactly one remains, and parses, there is no policy.
pub fn select_record(records: &[String]) -> Result<Option<StsRecord>, SyntaxError> {
    let candidates: Vec<&String> = records
        .iter()
        .filter(|r| {
            r.strip_prefix("v=STSv1")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([';', ' ', '\t']))
        })
        .collect();
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => parse_record(one).map(Some),
        _ => Err(bad(format!("{} v=STSv1 records", candidates.len()))),
    }
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`
fn is_field_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// RFC 5321 `Domain`: dot-separated labels of letters, digits and inner hyphens.
fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8461 §3.2's example policy.
    const RFC_POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
                              mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    #[test]
    fn the_rfc_example_policy() {
        let p = parse_policy(RFC_POLICY).unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604_800);
        assert_eq!(
            p.mx,
            [
                MxPattern::Exact("mail.example.com".into()),
                MxPattern::Wildcard("example.net".into()),
                MxPattern::Exact("backupmx.example.com".into()),
            ]
        );
        assert_eq!(parse_policy(&p.to_text()).unwrap(), p);
        assert_eq!(
            p.mx_list(),
            "mail.example.com, *.example.net, backupmx.example.com"
        );
    }

    #[test]
    fn rfc_matching_rules() {
        // RFC 8461 §4.1: "*.example.com" matches "mx1.example.com" but not "example.com"
        // nor "mx1.sub.example.com" (the wildcard is one label).
        let p = parse_policy(RFC_POLICY).unwrap();
        for host in [
            "mail.example.com",
            "MAIL.Example.COM",
            "mail.example.com.",
            "mx1.example.net",
            "backupmx.example.com",
        ] {
            assert!(p.allows(host), "{host}");
        }
        for host in [
            "example.net",
            "a.b.example.net",
            ".example.net",
            "xexample.net",
            "mail.example.org",
            "mail2.example.com",
            "example.com",
            "",
        ] {
            assert!(!p.allows(host), "{host}");
        }
    }

    #[test]
    fn lenient_where_the_rfc_is() {
        // LF line ends, spaces, blank lines, unknown fields, repeated fields (first wins),
        // a max_age above the limit.
        let p = parse_policy(
            "version:STSv1\nmode:   testing  \n\nmx: MX.Example.COM.\nfoo_bar: anything at all\n\
             mode: enforce\nmax_age: 9999999999\nmax_age: 5\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Testing);
        assert_eq!(p.mx, [MxPattern::Exact("mx.example.com".into())]);
        assert_eq!(p.max_age, MAX_AGE_LIMIT);
        // mode none needs no mx.
        let none = parse_policy("version: STSv1\nmode: none\nmax_age: 86400").unwrap();
        assert_eq!((none.mode, none.mx.len()), (Mode::None, 0));
        assert!(!none.allows("anything.example"));
    }

    #[test]
    fn strict_where_trust_depends_on_it() {
        let base = |extra: &str| format!("version: STSv1\nmode: enforce\nmax_age: 86400\n{extra}");
        for (text, why) in [
            (base(""), "enforce without mx"),
            (base("mx: *.*.example.com"), "two wildcards"),
            (base("mx: mail.*.example.com"), "inner wildcard"),
            (base("mx: *example.com"), "wildcard without a dot"),
            (base("mx: exa mple.com"), "space in a name"),
            (base("mx: -bad.example.com"), "leading hyphen"),
            (base("mx: ok.example.com\ngarbage"), "line without a colon"),
            (base("mx: ok.example.com\nb@d: x"), "bad field name"),
            (
                "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1".into(),
                "version",
            ),
            (
                "Version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1".into(),
                "case of a key",
            ),
            (
                "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1".into(),
                "case of mode",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1".into(),
                "negative age",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901".into(),
                "11 digits",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.b".into(),
                "no max_age",
            ),
            ("version: STSv1\nmx: a.b\nmax_age: 1".into(), "no mode"),
            ("mode: enforce\nmx: a.b\nmax_age: 1".into(), "no version"),
            ("".into(), "empty"),
            ("<html>not a policy</html>".into(), "html"),
        ] {
            assert!(parse_policy(&text).is_err(), "{why}: {text:?}");
        }
    }

    #[test]
    fn txt_records() {
        // RFC 8461 §3.1's example.
        assert_eq!(
            parse_record("v=STSv1; id=20160831085700Z;").unwrap().id,
            "20160831085700Z"
        );
        assert_eq!(parse_record("v=STSv1;id=abc").unwrap().id, "abc");
        assert_eq!(
            parse_record("v=STSv1 ; id=a1 ; ext=x.y ;").unwrap().id,
            "a1"
        );
        assert_eq!(
            parse_record("v=STSv1; id=first; id=second").unwrap().id,
            "first"
        );
        for bad in [
            "v=STSv1",
            "v=STSv1;",
            "v=STSv1; id=",
            "v=STSv1; id=has-hyphen",
            "v=STSv1; id=123456789012345678901234567890123",
            "v=STSv2; id=1",
            "id=1; v=STSv1",
            "v=STSv1; ; id=1",
            "v=STSv1; id=1; ext",
            "v=STSv1; id=1; ext=a=b",
        ] {
            assert!(parse_record(bad).is_err(), "{bad}");
        }
        let recs = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            select_record(&recs(&["v=spf1 -all", "v=STSv1; id=x1"])).unwrap(),
            Some(StsRecord { id: "x1".into() })
        );
        assert_eq!(select_record(&recs(&["v=spf1 -all"])).unwrap(), None);
        assert_eq!(select_record(&recs(&["v=STSv10; id=1"])).unwrap(), None);
        assert!(select_record(&recs(&["v=STSv1; id=1", "v=STSv1; id=2"])).is_err());
        assert!(select_record(&recs(&["v=STSv1; nonsense"])).is_err());
    }
}
