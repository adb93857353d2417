//! RFC 5256 SORT and THREAD keys, RFC 5957 display keys, computed once at delivery.
//!
//! Comparison keys are upper-cased here, so SORT compares them as plain strings (the
//! i;unicode-casemap comparator of RFC 5256 §2.2, approximated by Unicode upper-casing).
use super::address::addr_spec;
use super::envelope::first_address;
use super::headers;
use mail_parser::{DateTime, MessageParser};
use tern_store::{Address, Envelope, SortKeys, ThreadKeys};

/// SORT and THREAD keys of a message with header section `header` and ENVELOPE `env`.
pub fn keys(header: &[u8], env: &Envelope) -> (SortKeys, ThreadKeys) {
    let subject = env.subject.as_deref().map(decode_text).unwrap_or_default();
    let (base, is_reply) = base_subject(&subject);
    let sent_date = env.date.as_deref().and_then(parse_date);
    let mailbox = |list: &[Address]| {
        first_address(list)
            .and_then(|a| a.mailbox.clone())
            .unwrap_or_default()
            .to_uppercase()
    };
    let sort = SortKeys {
        sent_date,
        base_subject: base.to_uppercase(),
        from: mailbox(&env.from),
        to: mailbox(&env.to),
        cc: mailbox(&env.cc),
        display_from: display_key(&env.from),
        display_to: display_key(&env.to),
    };
    let references = headers::first(header, "References")
        .map(|f| msg_ids(&f.unfolded()))
        .unwrap_or_default();
    let thread = ThreadKeys {
        message_id: env
            .message_id
            .as_deref()
            .and_then(|v| msg_ids(v).into_iter().next()),
        in_reply_to: env.in_reply_to.as_deref().map(msg_ids).unwrap_or_default(),
        references,
        is_reply,
    };
    (sort, thread)
}

/// Decodes RFC 2047 encoded-words of an unstructured value into UTF-8 (mail-parser's
/// decoder, which also handles the charsets).
pub fn decode_text(raw: &str) -> String {
    if !raw.contains("=?") {
        return raw.to_string();
    }
    let field = format!("Subject: {raw}\r\n\r\n");
    MessageParser::new()
        .parse_headers(field.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| raw.to_string())
}

/// The Date header as Unix seconds (RFC 5256 §2.2 "sent date"), if it parses.
pub fn parse_date(raw: &str) -> Option<i64> {
    let dt = DateTime::parse_rfc822(raw)?;
    dt.is_valid().then(|| dt.to_timestamp())
}

/// RFC 5957 §3: the decoded display name of the first address, or its addr-spec when the
/// name is absent or empty; upper-cased.
fn display_key(list: &[Address]) -> String {
    let Some(first) = first_address(list) else {
        return String::new();
    };
    let name = first
        .name
        .as_deref()
        .map(decode_text)
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    if name.is_empty() {
        addr_spec(first).to_uppercase()
    } else {
        name.to_uppercase()
    }
}

/// Message-IDs of a Message-ID / In-Reply-To / References value, without `<>` and white
/// space. A value without any `<...>` that is a single word counts as one id (broken mailers).
pub fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break;
        };
        let id: String = after[..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() {
            out.push(id);
        }
        rest = &after[close + 1..];
    }
    if out.is_empty() {
        let word = value.trim();
        if !word.is_empty() && !word.contains(char::is_whitespace) && !word.contains('<') {
            out.push(word.to_string());
        }
    }
    out
}

/// RFC 5256 §2.1 base subject of a decoded subject, and whether it was a reply or forward
/// (a `Re:`/`Fwd:` leader, a `(fwd)` trailer or a `[fwd: ...]` wrapper was removed).
pub fn base_subject(subject: &str) -> (String, bool) {
    // (1) White space runs → one space.
    let mut s: String = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut is_reply = false;
    loop {
        // (2) Trailers: "(fwd)" and white space, repeatedly.
        loop {
            let t = s.trim_end_matches(' ');
            if let Some(stripped) = strip_suffix_ci(t, "(fwd)") {
                is_reply = true;
                s = stripped.to_string();
            } else if t.len() != s.len() {
                s = t.to_string();
            } else {
                break;
            }
        }
        // (3)-(5) Leaders and blobs, repeatedly.
        loop {
            let before = s.len();
            let t = s.trim_start_matches(' ');
            let t = match strip_refwd_leader(t) {
                Some(rest) => {
                    is_reply = true;
                    rest
                }
                None => t,
            };
            let t = match strip_blob(t) {
                Some(rest) if !rest.trim().is_empty() => rest,
                _ => t,
            };
            s = t.to_string();
            if s.len() == before {
                break;
            }
        }
        // (6) "[fwd: ... ]" wrapper.
        if s.len() >= 6
            && s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("[fwd:"))
            && s.ends_with(']')
        {
            s = s[5..s.len() - 1].to_string();
            is_reply = true;
            continue;
        }
        break;
    }
    (s, is_reply)
}

/// `*subj-blob subj-refwd`: blobs then "re"/"fw"/"fwd", blanks, an optional blob, ":".
fn strip_refwd_leader(s: &str) -> Option<&str> {
    let mut t = s;
    while let Some(rest) = strip_blob(t) {
        t = rest;
    }
    let lower = t.get(..3).map(str::to_ascii_lowercase);
    let rest = if lower.as_deref() == Some("fwd") {
        &t[3..]
    } else if t
        .get(..2)
        .is_some_and(|p| p.eq_ignore_ascii_case("re") || p.eq_ignore_ascii_case("fw"))
    {
        &t[2..]
    } else {
        return None;
    };
    let rest = rest.trim_start_matches(' ');
    let rest = strip_blob(rest).unwrap_or(rest);
    rest.strip_prefix(':')
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP` at the start.
fn strip_blob(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find([']', '['])?;
    if inner.as_bytes()[close] != b']' {
        return None;
    }
    Some(inner[close + 1..].trim_start_matches(' '))
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects_rfc5256() {
        let cases = [
            ("", "", false),
            ("Hello", "Hello", false),
            ("  Hello   world  ", "Hello world", false),
            ("Re: Hello", "Hello", true),
            ("RE: re: Re:Hello", "Hello", true),
            ("Fwd: Hello", "Hello", true),
            ("FW: Hello", "Hello", true),
            ("Re [2]: Hello", "Hello", true),
            ("[list] Re: Hello", "Hello", true),
            ("[list] Hello", "Hello", false),
            ("[only a blob]", "[only a blob]", false),
            ("Hello (fwd)", "Hello", true),
            ("Hello (FWD) (fwd)  ", "Hello", true),
            ("[Fwd: Re: Hello]", "Hello", true),
            ("[fwd: [list] Hello (fwd)]", "Hello", true),
            ("Re:", "", true),
            ("Reply to this", "Reply to this", false),
            ("Ré: accents stay", "Ré: accents stay", false),
            ("[unterminated blob", "[unterminated blob", false),
        ];
        for (input, want, reply) in cases {
            assert_eq!(base_subject(input), (want.to_string(), reply), "{input:?}");
        }
    }

    #[test]
    fn encoded_words_and_dates() {
        assert_eq!(decode_text("=?utf-8?q?caf=C3=A9?= au lait"), "café au lait");
        assert_eq!(decode_text("plain"), "plain");
        assert_eq!(
            parse_date("Mon, 7 Feb 1994 21:52:25 -0800 (PST)"),
            Some(760_686_745)
        );
        assert_eq!(parse_date("not a date"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn message_ids() {
        assert_eq!(msg_ids("<a@b> <c@d>\t<e @f>"), vec!["a@b", "c@d", "e@f"]);
        assert_eq!(msg_ids("<a@b> (comment) from Joe"), vec!["a@b"]);
        assert_eq!(msg_ids("bare@id"), vec!["bare@id"]);
        assert_eq!(msg_ids("two words"), Vec::<String>::new());
        assert_eq!(msg_ids("<unterminated"), Vec::<String>::new());
    }
}
