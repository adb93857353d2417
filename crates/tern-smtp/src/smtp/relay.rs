//! Where a forward-path goes: here (a local domain) or elsewhere (relaying). The only place
//! the SMTP front end decides that, so the relay rules live in one function, `classify`.
//!
//! ## Rules (never an open relay)
//! - The domain is the part after the **last** `@`. `smtp-proto` drops the quotes of a quoted
//!   local part, so `"user@other.test"@example.test` arrives as `user@other.test@example.test`:
//!   its domain is `example.test` and its local part `user@other.test` is looked up as is.
//! - Local parts are never interpreted: no percent hack (`user%other.test@example.test`), no
//!   bang paths (`other.test!user@example.test`), no `+` routing beyond the directory's own
//!   subaddress rule. A local domain's address is delivered to a local mailbox or refused.
//! - Source routes (`<@a.test,@b.test:user@c.test>`) are removed by the parser and ignored,
//!   as RFC 5321 §4.1.1.3 and appendix C allow: only the final mailbox counts.
//! - The domain must be RFC 5321 §4.1.2 syntax: labels of letters, digits and inner hyphens
//!   (U-labels too with SMTPUTF8), no empty label, so no trailing dot (`example.test.`), not
//!   all-numeric at the top (`127.0.0.1`). Address literals (`[127.0.0.1]`) are refused by the
//!   parser already. Anything else: `501 5.1.3`.
//! - Non-ASCII without `SMTPUTF8` in MAIL FROM: `553 5.6.7` (RFC 6531 §3.5).
//! - A domain is local when it equals a configured local domain, compared case-insensitively;
//!   subdomains and look-alikes are not local. With no local domains configured every domain
//!   is local (the binary's convention: accounts may be in any domain), so nothing is relayed.

use crate::reply::Reply;

/// Where an address delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A local domain: the address to look up in the directory (domain lower-cased); empty for
    /// the bare `<postmaster>`.
    Local(String),
    /// Another domain: the forward-path in wire form (local part quoted again if needed).
    Remote(String),
}

/// Classifies a forward-path as `smtp-proto` hands it over (no angle brackets).
pub(crate) fn classify(
    address: &str,
    smtputf8: bool,
    local_domains: &[String],
) -> Result<Destination, Reply> {
    if address.is_empty() {
        return Ok(Destination::Local(String::new()));
    }
    let (local, domain) = split(address, smtputf8).map_err(|e| e.reply(address, true))?;
    let lower = domain.to_lowercase();
    if local_domains.is_empty() || local_domains.iter().any(|d| d.to_lowercase() == lower) {
        Ok(Destination::Local(format!("{local}@{lower}")))
    } else {
        Ok(Destination::Remote(format!(
            "{}@{domain}",
            quote_local(local)
        )))
    }
}

/// Checks a reverse-path's syntax (MAIL FROM); empty is the null sender.
pub(crate) fn check_sender(address: &str, smtputf8: bool) -> Result<(), Reply> {
    if address.is_empty() {
        return Ok(());
    }
    split(address, smtputf8)
        .map(|_| ())
        .map_err(|e| e.reply(address, false))
}

#[derive(Debug, PartialEq, Eq)]
enum AddressError {
    Syntax,
    NeedsSmtputf8,
}

impl AddressError {
    fn reply(&self, address: &str, recipient: bool) -> Reply {
        match self {
            AddressError::NeedsSmtputf8 => Reply::new(
                553,
                [5, 6, 7],
                format!("<{address}>: non-ASCII address requires SMTPUTF8"),
            ),
            AddressError::Syntax if recipient => Reply::new(
                501,
                [5, 1, 3],
                format!("<{address}>: bad recipient address syntax"),
            ),
            AddressError::Syntax => Reply::new(
                501,
                [5, 1, 7],
                format!("<{address}>: bad sender address syntax"),
            ),
        }
    }
}

/// `local@domain`, split at the last `@`, both parts checked.
fn split(address: &str, smtputf8: bool) -> Result<(&str, &str), AddressError> {
    if !smtputf8 && !address.is_ascii() {
        return Err(AddressError::NeedsSmtputf8);
    }
    let (local, domain) = address.rsplit_once('@').ok_or(AddressError::Syntax)?;
    if local.is_empty() || local.chars().any(char::is_control) || !valid_domain(domain) {
        return Err(AddressError::Syntax);
    }
    Ok((local, domain))
}

/// RFC 5321 §4.1.2 `Domain`, with RFC 6531 U-labels; at most 255 octets.
fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 255 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
            })
    };
    // RFC 3696 §2: a top-level domain is never all-numeric (that is an IP address).
    let top_numeric = labels
        .last()
        .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()));
    labels.iter().all(label_ok) && !top_numeric
}

/// The local part in wire form: a dot-atom as is, anything else as a quoted string
/// (RFC 5321 §4.1.2), since the parser removed the client's quotes.
pub(crate) fn quote_local(local: &str) -> String {
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom = !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c == '.' || atext(c));
    if dot_atom {
        return local.to_string();
    }
    let mut out = String::with_capacity(local.len() + 2);
    out.push('"');
    for c in local.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Vec<String> {
        vec!["example.test".into(), "Other-Local.test".into()]
    }

    #[test]
    fn classification_table() {
        use Destination::*;
        let cases: &[(&str, bool, Result<Destination, u16>)] = &[
            (
                "user@example.test",
                false,
                Ok(Local("user@example.test".into())),
            ),
            (
                "USER@EXAMPLE.TEST",
                false,
                Ok(Local("USER@example.test".into())),
            ),
            (
                "u@other-local.TEST",
                false,
                Ok(Local("u@other-local.test".into())),
            ),
            ("", false, Ok(Local(String::new()))),
            (
                "user@other.test",
                false,
                Ok(Remote("user@other.test".into())),
            ),
            // Local parts are opaque: a percent hack or bang path at a local domain is local.
            (
                "user%other.test@example.test",
                false,
                Ok(Local("user%other.test@example.test".into())),
            ),
            (
                "other.test!user@example.test",
                false,
                Ok(Local("other.test!user@example.test".into())),
            ),
            // What a quoted "user@other.test"@example.test becomes after the parser.
            (
                "user@other.test@example.test",
                false,
                Ok(Local("user@other.test@example.test".into())),
            ),
            // ... and at a remote domain it is quoted again.
            (
                "a@b.test@other.test",
                false,
                Ok(Remote("\"a@b.test\"@other.test".into())),
            ),
            (
                "john doe@other.test",
                false,
                Ok(Remote("\"john doe\"@other.test".into())),
            ),
            (
                "a\"b@other.test",
                false,
                Ok(Remote("\"a\\\"b\"@other.test".into())),
            ),
            ("user@example.test.", false, Err(501)),
            (
                "user@sub.example.test",
                false,
                Ok(Remote("user@sub.example.test".into())),
            ),
            (
                "user@example.test.other.test",
                false,
                Ok(Remote("user@example.test.other.test".into())),
            ),
            ("user@127.0.0.1", false, Err(501)),
            ("user@-bad.test", false, Err(501)),
            ("user@ex_ample.test", false, Err(501)),
            ("user@ex%61mple.test", false, Err(501)),
            ("user@", false, Err(501)),
            ("@example.test", false, Err(501)),
            ("user@exаmple.test", false, Err(553)),
            (
                "user@exаmple.test",
                true,
                Ok(Remote("user@exаmple.test".into())),
            ),
            (
                "δοκιμή@example.test",
                true,
                Ok(Local("δοκιμή@example.test".into())),
            ),
            ("a\u{1}b@example.test", false, Err(501)),
        ];
        for (address, utf8, want) in cases {
            let got = classify(address, *utf8, &local()).map_err(|r| r.code);
            assert_eq!(&got, want, "{address}");
        }
    }

    #[test]
    fn without_local_domains_everything_is_local() {
        assert_eq!(
            classify("u@other.test", false, &[]),
            Ok(Destination::Local("u@other.test".into()))
        );
        assert_eq!(classify("u@other.test.", false, &[]).unwrap_err().code, 501);
    }

    #[test]
    fn sender_syntax() {
        assert!(check_sender("", false).is_ok());
        assert!(check_sender("a@b.test", false).is_ok());
        let r = check_sender("a@b.test.", false).unwrap_err();
        assert_eq!((r.code, r.status), (501, Some([5, 1, 7])));
        assert_eq!(check_sender("δ@b.test", false).unwrap_err().code, 553);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_local("a.b+c"), "a.b+c");
        assert_eq!(quote_local(".a"), "\".a\"");
        assert_eq!(quote_local("a..b"), "\"a..b\"");
        assert_eq!(quote_local("a\\b"), "\"a\\\\b\"");
    }
}
