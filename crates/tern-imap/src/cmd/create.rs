//! CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3) and OBJECTID's
//! `MAILBOXID` response code (RFC 8474 §4.1).
//!
//! Missing superior names are created as ordinary mailboxes ("the server SHOULD create any
//! superior hierarchical names that are needed"); a trailing delimiter is dropped.

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;
use crate::session::mailbox_ref::{create_target, mailbox_object_id};
use tern_store::{AccountId, CreateMailbox, MailStore, MailboxInfo, SpecialUse, StoreError};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Create {
        mailbox,
        special_use,
    } = cmd
    else {
        return Err(CmdError::bad("Expected CREATE"));
    };
    let name = mailbox.trim_end_matches('/');
    validate_name(name)?;
    if name.eq_ignore_ascii_case("INBOX") {
        return Err(CmdError::no_code("ALREADYEXISTS", "INBOX always exists"));
    }
    let use_attr = special_use_of(&special_use)?;
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    let store = s.server.mail.store.clone();
    let (account, store_name) = create_target(store.as_ref(), auth, name).await?;
    if account != auth.account_id && use_attr.is_some() {
        return Err(CmdError::no_code(
            "USEATTR",
            "Special-use attributes can only be set on your own mailboxes",
        ));
    }
    let info = create_with_parents(store.as_ref(), account, &store_name, use_attr).await?;
    Ok(Done::with_code(
        format!("MAILBOXID ({})", mailbox_object_id(info.id)),
        "CREATE completed",
    ))
}

/// The special-use role asked for with `USE (...)`: at most one, and one we know.
fn special_use_of(attrs: &[String]) -> Result<Option<SpecialUse>, CmdError> {
    let mut found = None;
    for a in attrs {
        let Some(u) = SpecialUse::from_attribute(a) else {
            return Err(CmdError::no_code(
                "USEATTR",
                format!("Unsupported special-use attribute {a}"),
            ));
        };
        if found.is_some_and(|f| f != u) {
            return Err(CmdError::no_code(
                "USEATTR",
                "Only one special-use attribute per mailbox",
            ));
        }
        found = Some(u);
    }
    Ok(found)
}

/// Creates `name` in `account` after any missing superiors; `ALREADYEXISTS` if it exists.
pub async fn create_with_parents(
    store: &dyn MailStore,
    account: AccountId,
    name: &str,
    special_use: Option<SpecialUse>,
) -> Result<MailboxInfo, CmdError> {
    let existing = store.mailboxes(account).await?;
    if existing.iter().any(|m| m.name == name) {
        return Err(CmdError::no_code("ALREADYEXISTS", "Mailbox already exists"));
    }
    for (i, _) in name.match_indices('/') {
        let parent = &name[..i];
        if existing.iter().any(|m| m.name == parent) {
            continue;
        }
        match store
            .create_mailbox(account, parent, CreateMailbox::default())
            .await
        {
            Ok(_) | Err(StoreError::MailboxExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let opts = CreateMailbox {
        special_use,
        uidvalidity: None,
    };
    Ok(store.create_mailbox(account, name, opts).await?)
}

/// Names we accept for new mailboxes: non-empty levels, no wildcards, no control
/// characters, bounded length (RFC 9051 §5.1 leaves the rest to the server).
pub fn validate_name(name: &str) -> Result<(), CmdError> {
    let cannot = |why: &str| Err(CmdError::no_code("CANNOT", why.to_string()));
    if name.is_empty() {
        return cannot("Empty mailbox name");
    }
    if name.len() > 1000 {
        return cannot("Mailbox name too long");
    }
    if name.split('/').any(str::is_empty) {
        return cannot("Empty hierarchy level in mailbox name");
    }
    if name.chars().any(|c| c == '*' || c == '%' || c.is_control()) {
        return cannot("Mailbox names may not contain wildcards or control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_special_use() {
        assert!(validate_name("a/b").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("a//b").is_err());
        assert!(validate_name("/a").is_err());
        assert!(validate_name("a*").is_err());
        assert_eq!(
            special_use_of(&["\\sent".into()]).unwrap(),
            Some(SpecialUse::Sent)
        );
        assert_eq!(special_use_of(&[]).unwrap(), None);
        assert!(matches!(
            special_use_of(&["\\Bogus".into()]),
            Err(CmdError::No { code: Some(c), .. }) if c == "USEATTR"
        ));
        assert!(special_use_of(&["\\Sent".into(), "\\Trash".into()]).is_err());
    }
}
