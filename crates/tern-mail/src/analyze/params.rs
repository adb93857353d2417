//! MIME header values with parameters: Content-Type (RFC 2045 §5.1) and
//! Content-Disposition (RFC 2183), parsed from the raw unfolded value.
//!
//! Parameter values are kept as given (quotes removed, nothing RFC 2231- or RFC 2047-
//! decoded), because IMAP BODYSTRUCTURE reports them that way; attribute names are
//! lower-cased. Parsing is lenient and never fails: an unusable value yields `None`.

/// Parameters: (lower-case attribute, value as given).
pub type Params = Vec<(String, String)>;

/// `type/subtype; params` → (lower-case type, lower-case subtype, params).
pub fn parse_content_type(value: &str) -> Option<(String, String, Params)> {
    let value = strip_comments(value);
    let (head, rest) = split_params(&value);
    let (ty, sub) = head.split_once('/')?;
    let (ty, sub) = (ty.trim(), sub.trim());
    if ty.is_empty() || sub.is_empty() || !is_token(ty) || !is_token(sub) {
        return None;
    }
    Some((
        ty.to_ascii_lowercase(),
        sub.to_ascii_lowercase(),
        parse_params(rest),
    ))
}

/// `disposition-type; params` → (type as given, params).
pub fn parse_disposition(value: &str) -> Option<(String, Params)> {
    let value = strip_comments(value);
    let (head, rest) = split_params(&value);
    let head = head.trim();
    if head.is_empty() || !is_token(head) {
        return None;
    }
    Some((head.to_string(), parse_params(rest)))
}

/// Content-Language (RFC 3282): comma-separated tags.
pub fn parse_language(value: &str) -> Vec<String> {
    strip_comments(value)
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A parameter's value by attribute name (case-insensitive).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_token(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_ascii_control() && !c.is_whitespace() && !"()<>@,;:\\\"/[]?=".contains(c))
}

/// Splits at the first `;` outside quotes.
fn split_params(value: &str) -> (&str, &str) {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            ';' if !in_quote => return (&value[..i], &value[i + 1..]),
            _ => {}
        }
    }
    (value, "")
}

fn parse_params(mut rest: &str) -> Params {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (item, tail) = split_params(rest);
        rest = tail;
        let Some((attr, val)) = item.split_once('=') else {
            continue;
        };
        let attr = attr.trim();
        if attr.is_empty() {
            continue;
        }
        out.push((attr.to_ascii_lowercase(), unquote(val.trim())));
    }
    out
}

fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => break,
            _ => out.push(c),
        }
    }
    out
}

/// Removes RFC 5322 comments outside quoted strings.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if in_quote || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                in_quote = !in_quote;
                out.push(c);
            }
            '(' if !in_quote => depth += 1,
            ')' if !in_quote && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn content_types() {
        assert_eq!(
            parse_content_type("Text/Plain; Charset=\"UTF-8\"; format=flowed"),
            Some((
                "text".into(),
                "plain".into(),
                p(&[("charset", "UTF-8"), ("format", "flowed")])
            ))
        );
        assert_eq!(
            parse_content_type("multipart/mixed; boundary=\"a;b \\\"c\\\"\""),
            Some((
                "multipart".into(),
                "mixed".into(),
                p(&[("boundary", "a;b \"c\"")])
            ))
        );
        assert_eq!(
            parse_content_type("text/plain (a comment); charset=us-ascii (another)"),
            Some(("text".into(), "plain".into(), p(&[("charset", "us-ascii")])))
        );
        // RFC 2231 continuations stay as given.
        assert_eq!(
            parse_content_type("application/x-stuff; title*0*=us-ascii'en'This%20is;;"),
            Some((
                "application".into(),
                "x-stuff".into(),
                p(&[("title*0*", "us-ascii'en'This%20is")])
            ))
        );
        for bad in [
            "",
            "text",
            "/plain",
            "text/",
            "te xt/plain",
            "\"text/plain\"",
        ] {
            assert_eq!(parse_content_type(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dispositions_and_languages() {
        assert_eq!(
            parse_disposition("attachment; filename=\"a b.pdf\"; size=12"),
            Some((
                "attachment".into(),
                p(&[("filename", "a b.pdf"), ("size", "12")])
            ))
        );
        assert_eq!(parse_disposition(""), None);
        assert_eq!(parse_language("en, de-CH (Swiss) ,,"), vec!["en", "de-CH"]);
        assert_eq!(param(&p(&[("Charset", "x")]), "charset"), Some("x"));
    }
}
