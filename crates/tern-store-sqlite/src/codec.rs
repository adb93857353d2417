//! How model values are laid out in columns: flags, keywords, special-use roles, mailbox
//! names, and message rows.

use crate::fail::DbResult;
use rusqlite::Row;
use tern_store::{
    BlobId, Flags, HIERARCHY_DELIMITER, MessageRecord, SpecialUse, StoreError, StoreResult,
    Timestamp,
};

/// Special-use roles are stored as small integers; the mapping is part of the file format.
pub(crate) fn special_use_to_sql(u: Option<SpecialUse>) -> Option<i64> {
    u.map(|u| match u {
        SpecialUse::All => 1,
        SpecialUse::Archive => 2,
        SpecialUse::Drafts => 3,
        SpecialUse::Flagged => 4,
        SpecialUse::Junk => 5,
        SpecialUse::Sent => 6,
        SpecialUse::Trash => 7,
        SpecialUse::Important => 8,
    })
}

pub(crate) fn special_use_from_sql(v: Option<i64>) -> Option<SpecialUse> {
    Some(match v? {
        1 => SpecialUse::All,
        2 => SpecialUse::Archive,
        3 => SpecialUse::Drafts,
        4 => SpecialUse::Flagged,
        5 => SpecialUse::Junk,
        6 => SpecialUse::Sent,
        7 => SpecialUse::Trash,
        8 => SpecialUse::Important,
        _ => return None,
    })
}

/// Keywords are atoms (RFC 9051 `flag-keyword`), so they cannot contain a space: they are
/// stored space-joined, `NULL` when there are none (the common case costs nothing).
pub(crate) fn keywords_to_sql(keywords: &[String]) -> Option<String> {
    if keywords.is_empty() {
        None
    } else {
        Some(keywords.join(" "))
    }
}

pub(crate) fn keywords_from_sql(s: Option<&str>) -> Vec<String> {
    match s {
        None | Some("") => Vec::new(),
        Some(s) => s.split(' ').map(str::to_owned).collect(),
    }
}

/// The normalized form of flags as stored: keywords sorted, no duplicates.
pub(crate) fn normalized(flags: &Flags) -> Flags {
    let mut f = flags.clone();
    f.normalize();
    f
}

/// Whether two normalized flag sets are equal, keywords compared case-insensitively.
pub(crate) fn same_flags(a: &Flags, b: &Flags) -> bool {
    a.system == b.system
        && a.keywords.len() == b.keywords.len()
        && a.keywords
            .iter()
            .zip(&b.keywords)
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// The canonical stored form of a mailbox name: `INBOX` (any case) as the first hierarchy
/// level is spelled `INBOX` (RFC 9051 §5.1: INBOX is case-insensitive); every other name is
/// case-sensitive. Empty names and empty hierarchy levels are refused.
pub(crate) fn mailbox_name(name: &str) -> StoreResult<String> {
    if name.is_empty() {
        return Err(StoreError::Invalid("empty mailbox name".into()));
    }
    if name.split(HIERARCHY_DELIMITER).any(str::is_empty) {
        return Err(StoreError::Invalid(format!(
            "mailbox name {name:?} has an empty hierarchy level"
        )));
    }
    let (first, rest) = match name.find(HIERARCHY_DELIMITER) {
        Some(i) => name.split_at(i),
        None => (name, ""),
    };
    if first.eq_ignore_ascii_case("INBOX") && first != "INBOX" {
        Ok(format!("INBOX{rest}"))
    } else {
        Ok(name.to_owned())
    }
}

/// An account name's case-insensitive key.
pub(crate) fn account_key(name: &str) -> String {
    name.to_lowercase()
}

/// The default POP3 UIDL: UIDVALIDITY and UID in fixed-width hex, stable for the message's
/// life and unique across incarnations of the mailbox.
pub(crate) fn default_uidl(uidvalidity: u32, uid: u32) -> String {
    format!("{uidvalidity:08x}{uid:08x}")
}

pub(crate) fn blob_from_sql(bytes: &[u8]) -> DbResult<BlobId> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("stored blob id has {} bytes", bytes.len())))?;
    Ok(BlobId(arr))
}

/// Columns selected for a [`MessageRecord`], in the order [`record_from_row`] reads them.
pub(crate) const RECORD_COLUMNS: &str =
    "uid, modseq, flags, keywords, internaldate, tz, size, blob";

/// Reads a [`MessageRecord`] from a row selected with [`RECORD_COLUMNS`].
pub(crate) fn record_from_row(row: &Row<'_>) -> DbResult<MessageRecord> {
    let keywords = keywords_from_sql(row.get_ref(3)?.as_str_or_null()?);
    Ok(MessageRecord {
        uid: row.get(0)?,
        modseq: row.get::<_, i64>(1)? as u64,
        flags: Flags {
            system: row.get(2)?,
            keywords,
        },
        internaldate: Timestamp {
            unix: row.get(4)?,
            offset_minutes: row.get(5)?,
        },
        size: row.get::<_, i64>(6)? as u64,
        blob: blob_from_sql(row.get_ref(7)?.as_blob()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_names_are_normalized() {
        for (given, stored) in [
            ("INBOX", "INBOX"),
            ("inbox", "INBOX"),
            ("InBoX/Sub", "INBOX/Sub"),
            ("Inboxes", "Inboxes"),
            ("Sent/inbox", "Sent/inbox"),
        ] {
            assert_eq!(mailbox_name(given).unwrap(), stored, "{given}");
        }
        for bad in ["", "/a", "a/", "a//b"] {
            assert!(mailbox_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keywords_round_trip() {
        let kw = vec!["$Junk".to_string(), "NonJunk".to_string()];
        assert_eq!(keywords_from_sql(keywords_to_sql(&kw).as_deref()), kw);
        assert_eq!(keywords_to_sql(&[]), None);
        assert!(keywords_from_sql(None).is_empty());
    }

    #[test]
    fn special_use_round_trips() {
        for u in SpecialUse::ALL {
            assert_eq!(special_use_from_sql(special_use_to_sql(Some(u))), Some(u));
        }
        assert_eq!(special_use_from_sql(None), None);
    }
}
