//! Search filters with user input in them (RFC 4515).
//!
//! Every value that comes from a client (a login, an address) or from the directory (a DN fed
//! into a second search) goes through [`escape`] before it is placed in a filter: `*`, `(`,
//! `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`, so a login such as `*)(uid=*`
//! matches nothing instead of everyone. Templates from the config name their holes
//! `{login}`, `{address}`, `{dn}`, `{uid}`; [`fill`] escapes what it puts there.

/// RFC 4515 §3 escaping of an assertion value.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces each `{name}` of `template` by the escaped value of that name. Holes the
/// template does not have are ignored; `{` with no known name is left as it is.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    'outer: while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        for (name, value) in values {
            if let Some(tail) = after.strip_prefix(name).and_then(|t| t.strip_prefix('}')) {
                out.push_str(&escape(value));
                rest = tail;
                continue 'outer;
            }
        }
        out.push('{');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether a filter template parses (checked once at start, so a config typo is an error
/// at `tern check-config` time, not a failed login).
pub fn is_valid(filter: &str) -> bool {
    ldap3::parse_filter(filter).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_rfc_4515_specials() {
        assert_eq!(escape("a*b(c)d\\e\0"), "a\\2ab\\28c\\29d\\5ce\\00");
        assert_eq!(escape("alice@example.test"), "alice@example.test");
        assert_eq!(escape("élodie"), "élodie");
    }

    #[test]
    fn injection_stays_a_value() {
        let f = fill(
            "(&(objectClass=user)(uid={login}))",
            &[("login", "*)(uid=*")],
        );
        assert_eq!(f, "(&(objectClass=user)(uid=\\2a\\29\\28uid=\\2a))");
        assert!(is_valid(&f));
        let f = fill("(uid={login})", &[("login", "x)(|(objectClass=*")]);
        assert_eq!(f, "(uid=x\\29\\28|\\28objectClass=\\2a)");
        assert!(is_valid(&f));
    }

    #[test]
    fn fills_several_holes_and_leaves_unknown_ones() {
        let f = fill(
            "(|(member={dn})(memberUid={uid})(x={other}))",
            &[("dn", "uid=a,dc=x"), ("uid", "a")],
        );
        assert_eq!(f, "(|(member=uid=a,dc=x)(memberUid=a)(x={other}))");
    }

    #[test]
    fn rejects_broken_templates() {
        assert!(is_valid("(uid=x)"));
        assert!(!is_valid("(uid=x"));
    }
}
