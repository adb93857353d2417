//! MailboxMetadataChange and ServerMetadataChange (RFC 5465 §5.6–5.7): unsolicited
//! `* METADATA <mailbox> <entry> ...` responses without values (RFC 5464 §4.4.2), naming
//! the entries set, changed or removed since last reported.
//!
//! The store only says that a scope's entries changed, so each watched scope keeps the
//! entry names with a hash of each value, and a change is found by comparing. Entries are
//! named as the client names them: a grantee's own `/private` entries on a shared mailbox
//! are stored under [`private_prefix`] and reported as `/private/...`; other users'
//! private entries are never visible.

use super::events::{client_view, state_mut, watched};
use super::{Kind, MetaScope};
use crate::cmd::CmdError;
use crate::cmd::metadata::private_prefix;
use crate::proto::encode::string::astring;
use crate::session::Session;
use std::hash::{DefaultHasher, Hash, Hasher};
use tern_store::{MailboxId, MetadataScope};

type Entries = Vec<(String, u64)>;

/// Reads the entries of every watched scope (at NOTIFY SET).
pub(super) async fn snapshot_all(s: &mut Session) -> Result<(), CmdError> {
    let wants_server = s
        .notify
        .as_ref()
        .is_some_and(|n| n.any(|e| e.server_metadata));
    if wants_server {
        let entries = read_server(s).await?;
        state_mut(s).metadata.insert(None, entries);
    }
    for m in watched(s, Kind::MailboxMetadata).await? {
        if let Some(entries) = read_mailbox(s, m.info.id).await? {
            state_mut(s).metadata.insert(Some(m.info.id), entries);
        }
    }
    Ok(())
}

/// A mailbox's entries changed: report them if a filter asks for MailboxMetadataChange.
pub(super) async fn report_mailbox(s: &mut Session, mailbox: MailboxId) -> Result<(), CmdError> {
    let Some((_, name, own)) = client_view(s, mailbox).await? else {
        // Gone, or no longer readable: forget it.
        if let Some(n) = s.notify.as_mut() {
            n.metadata.remove(&Some(mailbox));
        }
        return Ok(());
    };
    if !s
        .notify
        .as_ref()
        .is_some_and(|n| n.wants(&name, own, Kind::MailboxMetadata))
    {
        return Ok(());
    }
    let Some(now) = read_mailbox(s, mailbox).await? else {
        return Ok(());
    };
    let changed = replace(s, Some(mailbox), now);
    if !changed.is_empty() {
        let wire = s.wire_mailbox(&name);
        write(s, &wire, &changed);
    }
    Ok(())
}

/// The server entries changed: report them if a filter asks for ServerMetadataChange.
pub(super) async fn report_server(s: &mut Session) -> Result<(), CmdError> {
    if !s
        .notify
        .as_ref()
        .is_some_and(|n| n.any(|e| e.server_metadata))
    {
        return Ok(());
    }
    let now = read_server(s).await?;
    let changed = replace(s, None, now);
    if !changed.is_empty() {
        write(s, "\"\"", &changed);
    }
    Ok(())
}

/// Compares every tracked scope again (after missed events).
pub(super) async fn report_all(s: &mut Session) -> Result<(), CmdError> {
    report_server(s).await?;
    let scopes: Vec<MailboxId> = match s.notify.as_ref() {
        Some(n) => n.metadata.keys().flatten().copied().collect(),
        None => return Ok(()),
    };
    for mailbox in scopes {
        report_mailbox(s, mailbox).await?;
    }
    Ok(())
}

/// Stores `now` as the scope's last reported entries; returns the names that differ.
fn replace(s: &mut Session, scope: MetaScope, now: Entries) -> Vec<String> {
    let old = state_mut(s).metadata.insert(scope, now.clone());
    diff(old.as_deref().unwrap_or(&[]), &now)
}

/// Entry names set, changed or removed between two sorted entry lists, sorted.
fn diff(old: &[(String, u64)], now: &[(String, u64)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, hash) in now {
        if !old.iter().any(|(n, h)| n == name && h == hash) {
            out.push(name.clone());
        }
    }
    for (name, _) in old {
        if !now.iter().any(|(n, _)| n == name) {
            out.push(name.clone());
        }
    }
    out.sort();
    out
}

/// `* METADATA <mailbox> <entry> ...` (RFC 5464 §4.4.2: the entry-list form).
fn write(s: &mut Session, wire_mailbox: &str, entries: &[String]) {
    let mut line = format!("METADATA {wire_mailbox}").into_bytes();
    for e in entries {
        line.push(b' ');
        astring(&mut line, e.as_bytes(), s.encode_opts());
    }
    s.untagged(line);
}

async fn read_server(s: &Session) -> Result<Entries, CmdError> {
    let account = s
        .auth()
        .map(|a| a.account_id)
        .expect("NOTIFY needs a login");
    let got = s
        .server
        .mail
        .store
        .get_metadata(
            MetadataScope::Server(account),
            &["/private".to_string(), "/shared".to_string()],
            None,
        )
        .await?;
    Ok(entries(got, None))
}

/// The mailbox's entries as this user sees them; `None` if it is gone or unreadable.
async fn read_mailbox(s: &Session, mailbox: MailboxId) -> Result<Option<Entries>, CmdError> {
    let Some((_, _, own)) = client_view(s, mailbox).await? else {
        return Ok(None);
    };
    let me = s
        .auth()
        .map(|a| a.account_id)
        .expect("NOTIFY needs a login");
    let private = (!own).then(|| private_prefix(me));
    let mut roots = vec!["/shared".to_string()];
    roots.push(private.clone().unwrap_or_else(|| "/private".to_string()));
    let got = match s
        .server
        .mail
        .store
        .get_metadata(MetadataScope::Mailbox(mailbox), &roots, None)
        .await
    {
        Ok(g) => g,
        Err(tern_store::StoreError::NoSuchMailbox) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(entries(got, private.as_deref())))
}

/// Stored entries → client names with value hashes, sorted. With `private_as`, private
/// entries are stored under that prefix (a grantee's own on a shared mailbox).
fn entries(stored: Vec<(String, Vec<u8>)>, private_as: Option<&str>) -> Entries {
    let mut out: Entries = stored
        .into_iter()
        .filter_map(|(name, value)| {
            let client = match private_as {
                Some(prefix) => match name.strip_prefix(prefix) {
                    Some(rest) => format!("/private{rest}"),
                    None if name.starts_with("/shared") => name,
                    None => return None,
                },
                None if name.starts_with("/private") || name.starts_with("/shared") => name,
                None => return None,
            };
            let mut h = DefaultHasher::new();
            value.hash(&mut h);
            Some((client, h.finish()))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_set_changed_and_removed_entries() {
        let old = vec![
            ("/private/a".to_string(), 1),
            ("/shared/b".to_string(), 2),
            ("/shared/c".to_string(), 3),
        ];
        let now = vec![
            ("/private/a".to_string(), 1),
            ("/shared/b".to_string(), 9),
            ("/shared/d".to_string(), 4),
        ];
        assert_eq!(
            diff(&old, &now),
            vec!["/shared/b", "/shared/c", "/shared/d"]
        );
        assert!(diff(&now, &now).is_empty());
    }

    #[test]
    fn private_entries_of_a_grantee_are_mapped() {
        let stored = vec![
            ("/~7/private/note".to_string(), b"mine".to_vec()),
            ("/~8/private/note".to_string(), b"other".to_vec()),
            ("/private/owner".to_string(), b"owner".to_vec()),
            ("/shared/comment".to_string(), b"all".to_vec()),
        ];
        let got: Vec<String> = entries(stored.clone(), Some("/~7/private"))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(got, vec!["/private/note", "/shared/comment"]);
        let owner: Vec<String> = entries(stored, None).into_iter().map(|(n, _)| n).collect();
        assert_eq!(owner, vec!["/private/owner", "/shared/comment"]);
    }
}
