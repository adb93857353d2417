//! METADATA and METADATA-SERVER (RFC 5464): GETMETADATA, SETMETADATA.
//!
//! Entries live on a mailbox or, with mailbox `""`, on the server (METADATA-SERVER). Entry
//! names are `/private/...` (this user's own annotation) or `/shared/...` (seen by everyone
//! who can read the mailbox); they are compared case-insensitively (§3.2), so they are
//! stored lower-cased.
//!
//! ## Invariants
//! - `/private` entries are per user (§3.2). On the user's own mailboxes and the server they
//!   are stored under their own name; on a mailbox shared by another account they are stored
//!   under [`private_prefix`] of the user's account id, a name no client can send (client
//!   names start with `/private/` or `/shared/`), so the owner's and each grantee's private
//!   entries never mix.
//! - Server `/shared` entries belong to the administrator (§3.2.1): users may read them but
//!   not change them (`NO [NOPERM]`).
//! - Limits (§4.3): a value holds at most [`MAX_VALUE_SIZE`] octets (`NO [METADATA MAXSIZE
//!   n]`), a scope at most [`MAX_ENTRIES`] entries for one user (`NO [METADATA TOOMANY]`);
//!   a refused SETMETADATA changes nothing.
//! - Rights (RFC 5464 §3.4 with RFC 4314): reading needs `l` and `r`; setting `/private`
//!   needs `l` and `r`, setting `/shared` needs `l`, `r` and `w`.

use super::acl::encode_options;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, MetadataOptions};
use crate::proto::encode::string::{astring, literal8, mailbox as encode_mailbox, string};
use crate::session::Session;
use crate::session::mailbox_ref::resolve;
use tern_store::{AccountId, MetadataScope};

/// The largest value SETMETADATA accepts, in octets.
pub const MAX_VALUE_SIZE: u64 = 64 * 1024;
/// The most entries one user may hold in one scope (a mailbox, or the server).
pub const MAX_ENTRIES: usize = 256;

/// Where a request's entries are kept, and how client names map to stored names.
struct Place {
    scope: MetadataScope,
    /// `Some(prefix)`: this user's `/private` entries are stored under `prefix`.
    private_as: Option<String>,
    /// Whether the user may set `/shared` entries here.
    may_set_shared: bool,
    /// Whether the user may set `/private` entries here.
    may_set_private: bool,
}

/// The stored prefix of a grantee's `/private` entries on another account's mailbox.
pub fn private_prefix(account: AccountId) -> String {
    format!("/~{}/private", account.0)
}

impl Place {
    fn stored_name(&self, entry: &str) -> String {
        match (&self.private_as, entry.strip_prefix("/private")) {
            (Some(prefix), Some(rest)) => format!("{prefix}{rest}"),
            _ => entry.to_string(),
        }
    }

    fn client_name(&self, stored: &str) -> Option<String> {
        match &self.private_as {
            Some(prefix) => match stored.strip_prefix(prefix.as_str()) {
                Some(rest) => Some(format!("/private{rest}")),
                None if stored.starts_with("/shared") => Some(stored.to_string()),
                None => None,
            },
            None if stored.starts_with("/private") || stored.starts_with("/shared") => {
                Some(stored.to_string())
            }
            None => None,
        }
    }
}

/// Why an entry name is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameUse {
    /// GETMETADATA may name the two roots themselves (`/private`, `/shared`) with DEPTH.
    Get,
    /// SETMETADATA needs at least one component below a root.
    Set,
}

/// Validates an entry name (RFC 5464 §3.2 and the `entry` ABNF) and returns it lower-cased.
pub fn check_entry(name: &str, usage: NameUse) -> Result<String, String> {
    let lower = name.to_ascii_lowercase();
    let bad = |why: &str| Err(format!("Invalid entry name {name:?}: {why}"));
    if !lower
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'*' && b != b'%')
    {
        return bad("only printable ASCII without * and % is allowed");
    }
    if lower.contains("//") || lower.ends_with('/') {
        return bad("empty component");
    }
    let is_root = lower == "/private" || lower == "/shared";
    let below_root = lower.starts_with("/private/") || lower.starts_with("/shared/");
    match usage {
        NameUse::Get if is_root || below_root => Ok(lower),
        NameUse::Set if below_root => Ok(lower),
        _ => bad("must start with /private/ or /shared/"),
    }
}

async fn place(s: &Session, mailbox: &str) -> Result<Place, CmdError> {
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    if mailbox.is_empty() {
        return Ok(Place {
            scope: MetadataScope::Server(auth.account_id),
            private_as: None,
            may_set_shared: false,
            may_set_private: true,
        });
    }
    let account_id = auth.account_id;
    let t = resolve(s, mailbox).await?;
    if !(t.rights.has('l') && t.rights.has('r')) {
        return Err(CmdError::no_code(
            "NOPERM",
            "You may not read this mailbox's metadata",
        ));
    }
    Ok(Place {
        scope: MetadataScope::Mailbox(t.info.id),
        private_as: (!t.is_personal()).then(|| private_prefix(account_id)),
        may_set_shared: t.rights.has('w'),
        may_set_private: true,
    })
}

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::GetMetadata {
            mailbox,
            options,
            entries,
        } => get(s, &mailbox, &options, &entries).await,
        CommandBody::SetMetadata { mailbox, entries } => set(s, &mailbox, entries).await,
        _ => Err(CmdError::bad("not a METADATA command")),
    }
}

/// RFC 5464 §4.2: one `* METADATA mailbox (entry value ...)` response. Values longer than
/// MAXSIZE are left out and the largest left-out size is reported in `[METADATA
/// LONGENTRIES n]` (§4.2.1). A requested entry that does not exist (and has no returned
/// descendants) is reported with the value NIL.
async fn get(
    s: &mut Session,
    mailbox: &str,
    options: &MetadataOptions,
    entries: &[String],
) -> CmdResult {
    let names = entries
        .iter()
        .map(|e| check_entry(e, NameUse::Get))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CmdError::bad)?;
    if names.is_empty() {
        return Err(CmdError::bad("GETMETADATA needs at least one entry"));
    }
    let place = place(s, mailbox).await?;
    let stored: Vec<String> = names.iter().map(|n| place.stored_name(n)).collect();
    let found = s
        .server
        .mail
        .store
        .get_metadata(place.scope, &stored, options.depth)
        .await?;

    let mut results: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let mut longest_omitted: u64 = 0;
    let mut present: Vec<String> = Vec::new();
    for (name, value) in found {
        let Some(name) = place.client_name(&name) else {
            continue;
        };
        if present.contains(&name) {
            continue;
        }
        present.push(name.clone());
        let len = value.len() as u64;
        match options.max_size {
            Some(max) if len > max => longest_omitted = longest_omitted.max(len),
            _ => results.push((name, Some(value))),
        }
    }
    for name in &names {
        let has_descendant = present
            .iter()
            .any(|p| p == name || p.starts_with(&format!("{name}/")));
        if !has_descendant && !is_root(name) {
            results.push((name.clone(), None));
        }
    }

    if !results.is_empty() {
        let opts = encode_options(s);
        let mut line = b"METADATA ".to_vec();
        encode_mailbox(&mut line, mailbox, opts);
        line.extend_from_slice(b" (");
        for (i, (name, value)) in results.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            astring(&mut line, name.as_bytes(), opts);
            line.push(b' ');
            match value {
                None => line.extend_from_slice(b"NIL"),
                Some(v) if v.contains(&0) => literal8(&mut line, v),
                Some(v) => string(&mut line, v, opts),
            }
        }
        line.push(b')');
        s.untagged(line);
    }
    if longest_omitted > 0 {
        return Ok(Done::with_code(
            format!("METADATA LONGENTRIES {longest_omitted}"),
            "GETMETADATA completed",
        ));
    }
    Ok(Done::ok("GETMETADATA completed"))
}

fn is_root(name: &str) -> bool {
    name == "/private" || name == "/shared"
}

/// RFC 5464 §4.3: sets (or, with NIL, removes) entries, all or nothing.
async fn set(s: &mut Session, mailbox: &str, entries: Vec<(String, Option<Vec<u8>>)>) -> CmdResult {
    let mut checked: Vec<(String, Option<Vec<u8>>)> = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        let name = check_entry(&name, NameUse::Set).map_err(CmdError::bad)?;
        checked.retain(|(n, _)| n != &name); // the last value for a name wins
        checked.push((name, value));
    }
    if checked.is_empty() {
        return Err(CmdError::bad("SETMETADATA needs at least one entry"));
    }
    if checked
        .iter()
        .filter_map(|(_, v)| v.as_ref())
        .any(|v| v.len() as u64 > MAX_VALUE_SIZE)
    {
        return Err(CmdError::no_code(
            format!("METADATA MAXSIZE {MAX_VALUE_SIZE}"),
            "Metadata value too large",
        ));
    }
    let place = place(s, mailbox).await?;
    for (name, _) in &checked {
        let allowed = if name.starts_with("/shared/") {
            place.may_set_shared
        } else {
            place.may_set_private
        };
        if !allowed {
            let why = if mailbox.is_empty() {
                "Server shared entries are set by the administrator"
            } else {
                "You may not change shared metadata on this mailbox"
            };
            return Err(CmdError::no_code("NOPERM", why));
        }
    }

    let store = s.server.mail.store.clone();
    let stored: Vec<(String, Option<Vec<u8>>)> = checked
        .into_iter()
        .map(|(n, v)| (place.stored_name(&n), v))
        .collect();
    if stored.iter().any(|(_, v)| v.is_some()) {
        // Count what this user would hold in the scope after the change.
        let roots = [place.stored_name("/private"), "/shared".to_string()];
        let existing: Vec<String> = store
            .get_metadata(place.scope, &roots, None)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut after = existing.len();
        for (name, value) in &stored {
            let exists = existing.contains(name);
            match (exists, value.is_some()) {
                (false, true) => after += 1,
                (true, false) => after -= 1,
                _ => {}
            }
        }
        if after > MAX_ENTRIES {
            return Err(CmdError::no_code(
                "METADATA TOOMANY",
                "Too many metadata entries",
            ));
        }
    }
    store.set_metadata(place.scope, &stored).await?;
    Ok(Done::ok("SETMETADATA completed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let cases: &[(&str, NameUse, Option<&str>)] = &[
            ("/private/comment", NameUse::Set, Some("/private/comment")),
            ("/Shared/Vendor/X", NameUse::Set, Some("/shared/vendor/x")),
            ("/private", NameUse::Get, Some("/private")),
            ("/private", NameUse::Set, None),
            ("/other/comment", NameUse::Get, None),
            ("/private//x", NameUse::Set, None),
            ("/private/x/", NameUse::Set, None),
            ("/private/*", NameUse::Get, None),
            ("/private/a%", NameUse::Get, None),
            ("/private/a b", NameUse::Set, None),
            ("private/comment", NameUse::Set, None),
        ];
        for (name, usage, want) in cases {
            assert_eq!(
                check_entry(name, *usage).ok().as_deref(),
                *want,
                "{name} {usage:?}"
            );
        }
    }

    #[test]
    fn private_entries_of_grantees_are_kept_apart() {
        let grantee = Place {
            scope: MetadataScope::Server(AccountId(1)),
            private_as: Some(private_prefix(AccountId(7))),
            may_set_shared: false,
            may_set_private: true,
        };
        assert_eq!(
            grantee.stored_name("/private/comment"),
            "/~7/private/comment"
        );
        assert_eq!(grantee.stored_name("/shared/comment"), "/shared/comment");
        assert_eq!(
            grantee.client_name("/~7/private/comment").as_deref(),
            Some("/private/comment")
        );
        // The owner's private entries and other grantees' are invisible to this grantee.
        assert_eq!(grantee.client_name("/private/comment"), None);
        assert_eq!(grantee.client_name("/~8/private/comment"), None);

        let owner = Place {
            private_as: None,
            ..grantee
        };
        assert_eq!(owner.stored_name("/private/comment"), "/private/comment");
        assert_eq!(owner.client_name("/~7/private/comment"), None);
        assert_eq!(owner.client_name("/shared/x").as_deref(), Some("/shared/x"));
    }
}
