//! Source mailbox names → Tern names, and special-use roles.
//!
//! Tern stores names in UTF-8 with `/` as the only hierarchy delimiter
//! ([`tern_store::HIERARCHY_DELIMITER`]). A source name is decoded from modified UTF-7
//! (unless the server announced UTF-8 names), its personal-namespace prefix is removed
//! (`INBOX.` on Cyrus without `altnamespace` and on Courier-style servers) and its delimiter is replaced by `/`. A `/`
//! inside one source level (possible where the source delimiter is `.`) cannot be
//! represented and becomes `_`; the translation is recorded so the report can say so.
use tern_store::{HIERARCHY_DELIMITER, SpecialUse};

/// One translated name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translated {
    pub name: String,
    /// Set when the name could not be carried over as is (the reason).
    pub note: Option<String>,
}

/// Translates a source name. `prefix` is the personal namespace prefix to strip (with its
/// trailing delimiter), `delimiter` the source's hierarchy delimiter (`None`: flat).
pub fn translate(raw: &str, delimiter: Option<char>, prefix: &str, utf8: bool) -> Translated {
    let mut note = None;
    let decoded = if utf8 {
        raw.to_string()
    } else {
        match crate::utf7::decode(raw) {
            Ok(s) => s,
            Err(e) => {
                note = Some(format!("kept undecoded: {e}"));
                raw.to_string()
            }
        }
    };
    if decoded.eq_ignore_ascii_case("INBOX") {
        return Translated {
            name: "INBOX".into(),
            note,
        };
    }
    let stripped = if !prefix.is_empty()
        && decoded.len() > prefix.len()
        && decoded
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        &decoded[prefix.len()..]
    } else {
        &decoded[..]
    };
    let levels: Vec<String> = match delimiter {
        Some(d) => stripped.split(d).map(str::to_string).collect(),
        None => vec![stripped.to_string()],
    };
    let mut out = Vec::with_capacity(levels.len());
    for level in levels {
        if delimiter != Some(HIERARCHY_DELIMITER) && level.contains(HIERARCHY_DELIMITER) {
            note = Some(format!("'/' inside a level of {decoded:?} became '_'"));
            out.push(level.replace(HIERARCHY_DELIMITER, "_"));
        } else {
            out.push(level);
        }
    }
    let mut name = out.join("/");
    if name
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("INBOX"))
        && name[5..].starts_with('/')
    {
        name = format!("INBOX{}", &name[5..]);
    }
    Translated { name, note }
}

/// The personal namespace prefix implied by a folder list: `INBOX` + delimiter when every
/// folder other than INBOX lives below INBOX (Cyrus without `altnamespace`, Courier), else
/// nothing. (async-imap does not parse NAMESPACE responses; this is the same decision
/// imapsync's `--prefix1` automation makes from the list.)
pub fn personal_prefix<'a>(
    names: impl IntoIterator<Item = &'a str>,
    delimiter: Option<char>,
) -> String {
    let Some(d) = delimiter else {
        return String::new();
    };
    let prefix = format!("INBOX{d}");
    let mut others = 0;
    for n in names {
        if n.eq_ignore_ascii_case("INBOX") {
            continue;
        }
        others += 1;
        let under = n.len() > prefix.len()
            && n.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(&prefix));
        if !under {
            return String::new();
        }
    }
    if others == 0 { String::new() } else { prefix }
}

/// The role a folder name implies on a server without SPECIAL-USE (Exchange, Outlook and
/// Apple Mail spellings included). Only the last hierarchy level at top level counts.
pub fn role_from_name(name: &str) -> Option<SpecialUse> {
    if name.contains(HIERARCHY_DELIMITER) {
        return None;
    }
    let lower = name.to_lowercase();
    Some(match lower.as_str() {
        "sent" | "sent items" | "sent messages" | "sent mail" => SpecialUse::Sent,
        "trash" | "deleted items" | "deleted messages" => SpecialUse::Trash,
        "junk" | "junk e-mail" | "junk email" | "spam" => SpecialUse::Junk,
        "drafts" => SpecialUse::Drafts,
        "archive" | "archives" => SpecialUse::Archive,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_table() {
        let t = |raw, d, p| translate(raw, d, p, false).name;
        assert_eq!(t("INBOX", Some('.'), ""), "INBOX");
        assert_eq!(t("inbox", Some('/'), ""), "INBOX");
        assert_eq!(t("Work.2024", Some('.'), ""), "Work/2024");
        assert_eq!(t("INBOX.Work.2024", Some('.'), "INBOX."), "Work/2024");
        assert_eq!(t("INBOX/Sent Items", Some('/'), "INBOX/"), "Sent Items");
        assert_eq!(t("Entw&APw-rfe/Alt", Some('/'), ""), "Entwürfe/Alt");
        assert_eq!(t("a/b.c", Some('.'), ""), "a_b/c");
        assert_eq!(t("inbox.x", Some('.'), ""), "INBOX/x");
        assert!(translate("a/b.c", Some('.'), "", false).note.is_some());
        assert_eq!(translate("Ünï", Some('.'), "", true).name, "Ünï");
    }

    #[test]
    fn prefixes() {
        let d = Some('.');
        assert_eq!(
            personal_prefix(["INBOX", "INBOX.a", "INBOX.b"], d),
            "INBOX."
        );
        assert_eq!(personal_prefix(["INBOX", "INBOX.a", "Sent"], d), "");
        assert_eq!(personal_prefix(["INBOX"], d), "");
    }

    #[test]
    fn roles() {
        assert_eq!(role_from_name("Sent Items"), Some(SpecialUse::Sent));
        assert_eq!(role_from_name("Sent Messages"), Some(SpecialUse::Sent));
        assert_eq!(role_from_name("Deleted Items"), Some(SpecialUse::Trash));
        assert_eq!(role_from_name("Junk E-mail"), Some(SpecialUse::Junk));
        assert_eq!(role_from_name("Spam"), Some(SpecialUse::Junk));
        assert_eq!(role_from_name("Drafts"), Some(SpecialUse::Drafts));
        assert_eq!(role_from_name("Archive"), Some(SpecialUse::Archive));
        assert_eq!(role_from_name("Work/Sent"), None);
        assert_eq!(role_from_name("Stuff"), None);
    }
}
