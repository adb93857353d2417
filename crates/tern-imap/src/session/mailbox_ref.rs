//! Mailbox names as the client sees them ↔ store mailboxes, across namespaces
//! (personal; `Other Users/<owner>/...` for mailboxes shared through ACLs, RFC 2342/4314),
//! with the rights this user holds on each.
//!
//! ## Invariants
//! - The user's own mailboxes carry every right; another account's mailbox carries the
//!   rights its ACL grants the user (entries for the user's name or addresses, and `anyone`),
//!   minus the negative entries (`-name`, `-anyone`), RFC 4314 §2.
//! - A shared mailbox on which the user holds no right at all does not exist for the user
//!   (RFC 4314 §4 forbids revealing it); one without `l` is not listed but may be addressed
//!   by name when another right allows it.
//! - Personal mailboxes can never be named under [`OTHER_USERS_PREFIX`].

use super::{Auth, Session};
use crate::cmd::CmdError;
use tern_store::{AccountId, MailStore, MailboxInfo, StoreResult};

/// RFC 4314 rights as a set of letters (`lrswipkxtecda`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights(u16);

impl Rights {
    pub const LETTERS: &'static str = "lrswipkxtecda";

    /// Every right (the owner's).
    pub fn all() -> Rights {
        Rights((1 << Self::LETTERS.len()) - 1)
    }

    /// Parses rights letters; unknown letters are ignored (RFC 4314 §2.1.1 obsolete `c`/`d`
    /// map onto `k`/`x` and `t`/`e` by the caller if it wants).
    pub fn parse(s: &str) -> Rights {
        let mut r = Rights(0);
        for c in s.chars() {
            if let Some(i) = Self::LETTERS.find(c) {
                r.0 |= 1 << i;
            }
        }
        r
    }

    pub fn has(self, right: char) -> bool {
        Self::LETTERS
            .find(right)
            .map(|i| self.0 & (1 << i) != 0)
            .unwrap_or(false)
    }

    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    pub fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn letters(self) -> String {
        Self::LETTERS.chars().filter(|c| self.has(*c)).collect()
    }

    /// Whether a SELECT may be read-write: any right that changes state (RFC 4314 §4:
    /// `s`, `w`, `t`/`e` for flags and expunge, `i` for COPY into it is separate).
    pub fn can_write(self) -> bool {
        self.has('s') || self.has('w') || self.has('t') || self.has('e')
    }
}

/// The namespace prefix under which other users' shared mailboxes appear.
pub const OTHER_USERS_PREFIX: &str = "Other Users/";

/// The `Other Users` namespace root without its delimiter.
pub const OTHER_USERS_ROOT: &str = "Other Users";

/// What a client-visible name points at, before any store lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameTarget<'a> {
    /// One of the user's own mailboxes (store name = client name).
    Personal(&'a str),
    /// `Other Users/<owner>/<name>`.
    Shared { owner: &'a str, name: &'a str },
    /// `Other Users` or `Other Users/<owner>`: namespace nodes, never mailboxes.
    SharedNode(Option<&'a str>),
}

/// Splits a client-visible name into its namespace parts.
pub fn split_name(name: &str) -> NameTarget<'_> {
    if name.eq_ignore_ascii_case(OTHER_USERS_ROOT) {
        return NameTarget::SharedNode(None);
    }
    // The prefix is matched case-insensitively, like ACL commands do.
    let head = name.get(..OTHER_USERS_PREFIX.len());
    let Some(rest) = head
        .filter(|h| h.eq_ignore_ascii_case(OTHER_USERS_PREFIX))
        .map(|_| &name[OTHER_USERS_PREFIX.len()..])
    else {
        return NameTarget::Personal(name);
    };
    match rest.split_once('/') {
        None => NameTarget::SharedNode(Some(rest)),
        Some((owner, "")) => NameTarget::SharedNode(Some(owner)),
        Some((owner, name)) => NameTarget::Shared { owner, name },
    }
}

/// The name a client uses for a mailbox: personal names as stored, others' under
/// `Other Users/<owner>/`.
pub fn client_name(owner: Option<&str>, store_name: &str) -> String {
    match owner {
        None => store_name.to_string(),
        Some(o) => format!("{OTHER_USERS_PREFIX}{o}/{store_name}"),
    }
}

/// RFC 8474 `MAILBOXID` of a mailbox (`F` + store id; EMAILIDs start with `M`): stable for
/// its life, never reused (store ids are not), unchanged by RENAME.
pub fn mailbox_object_id(id: tern_store::MailboxId) -> String {
    format!("F{}", id.0)
}

/// A mailbox as one user addresses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxRef {
    pub info: MailboxInfo,
    pub rights: Rights,
    /// The name the client uses (stored form: UTF-8, `/`).
    pub name: String,
    /// The owner's canonical account name when the mailbox is another account's.
    pub owner: Option<String>,
}

impl MailboxRef {
    pub fn is_personal(&self) -> bool {
        self.owner.is_none()
    }

    /// `NO [NOPERM]` unless the user holds `right` (RFC 4314 §4, RFC 5530).
    pub fn require(&self, right: char) -> Result<(), CmdError> {
        if self.rights.has(right) {
            Ok(())
        } else {
            Err(CmdError::no_code(
                "NOPERM",
                format!("Permission denied (right '{right}' needed)"),
            ))
        }
    }
}

/// The rights an ACL grants `auth` (RFC 4314 §2: union of matching positive entries minus
/// union of matching negative entries).
pub fn effective_rights(acl: &[(String, String)], auth: &Auth) -> Rights {
    let matches = |id: &str| {
        id.eq_ignore_ascii_case("anyone")
            || id.eq_ignore_ascii_case(&auth.account.name)
            || auth
                .account
                .addresses
                .iter()
                .any(|a| a.eq_ignore_ascii_case(id))
    };
    let mut plus = Rights::default();
    let mut minus = Rights::default();
    for (id, rights) in acl {
        match id.strip_prefix('-') {
            Some(neg) if matches(neg) => minus = minus.union(Rights::parse(rights)),
            None if matches(id) => plus = plus.union(Rights::parse(rights)),
            _ => {}
        }
    }
    plus.minus(minus)
}

/// The rights `auth` holds on a mailbox of any account.
pub async fn rights_on(
    store: &dyn MailStore,
    auth: &Auth,
    info: &MailboxInfo,
) -> StoreResult<Rights> {
    if info.account == auth.account_id {
        return Ok(Rights::all());
    }
    Ok(effective_rights(&store.acl(info.id).await?, auth))
}

/// Finds the mailbox a client-visible name designates, with the user's rights; `None` if
/// it does not exist for this user.
pub async fn lookup(
    store: &dyn MailStore,
    auth: &Auth,
    name: &str,
) -> StoreResult<Option<MailboxRef>> {
    match split_name(name) {
        NameTarget::SharedNode(_) => Ok(None),
        NameTarget::Personal(n) => {
            let found = find_by_name(store, auth.account_id, n).await?;
            Ok(found.map(|info| MailboxRef {
                info,
                rights: Rights::all(),
                name: name.to_string(),
                owner: None,
            }))
        }
        NameTarget::Shared { owner, name: n } => {
            let Some(owner_id) = store.account(owner, false).await? else {
                return Ok(None);
            };
            if owner_id == auth.account_id {
                // Addressing one's own mailbox through Other Users is not supported.
                return Ok(None);
            }
            let Some(info) = find_by_name(store, owner_id, n).await? else {
                return Ok(None);
            };
            let rights = rights_on(store, auth, &info).await?;
            if rights.is_empty() {
                return Ok(None);
            }
            let owner = store.account_name(owner_id).await?;
            Ok(Some(MailboxRef {
                name: client_name(Some(&owner), &info.name),
                info,
                rights,
                owner: Some(owner),
            }))
        }
    }
}

async fn find_by_name(
    store: &dyn MailStore,
    account: AccountId,
    name: &str,
) -> StoreResult<Option<MailboxInfo>> {
    let inbox = name.eq_ignore_ascii_case("INBOX");
    Ok(store
        .mailboxes(account)
        .await?
        .into_iter()
        .find(|m| m.name == name || (inbox && m.name.eq_ignore_ascii_case("INBOX"))))
}

/// Every mailbox the user can address: their own, then others' shared with them (those
/// with at least one right), sorted by client name within each group.
pub async fn visible(store: &dyn MailStore, auth: &Auth) -> StoreResult<Vec<MailboxRef>> {
    let mut out: Vec<MailboxRef> = store
        .mailboxes(auth.account_id)
        .await?
        .into_iter()
        .map(|info| MailboxRef {
            name: info.name.clone(),
            info,
            rights: Rights::all(),
            owner: None,
        })
        .collect();
    let mut shared = Vec::new();
    let mut owners: Vec<(AccountId, String)> = Vec::new();
    for info in store.shared_with(&auth.account.name).await? {
        if info.account == auth.account_id {
            continue;
        }
        let rights = rights_on(store, auth, &info).await?;
        if rights.is_empty() {
            continue;
        }
        let owner = match owners.iter().find(|(id, _)| *id == info.account) {
            Some((_, n)) => n.clone(),
            None => {
                let n = store.account_name(info.account).await?;
                owners.push((info.account, n.clone()));
                n
            }
        };
        shared.push(MailboxRef {
            name: client_name(Some(&owner), &info.name),
            info,
            rights,
            owner: Some(owner),
        });
    }
    shared.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(shared);
    Ok(out)
}

/// Where a CREATE (or RENAME target) lands: the account and the store name, after the
/// namespace and rights checks (`k` on the parent for another user's mailbox, RFC 4314 §4).
pub async fn create_target(
    store: &dyn MailStore,
    auth: &Auth,
    name: &str,
) -> Result<(AccountId, String), CmdError> {
    match split_name(name) {
        NameTarget::Personal(n) => Ok((auth.account_id, n.to_string())),
        NameTarget::SharedNode(_) => Err(CmdError::no_code(
            "CANNOT",
            "Cannot create mailboxes at this level of the Other Users namespace",
        )),
        NameTarget::Shared { owner, name: n } => {
            let Some(owner_id) = store.account(owner, false).await? else {
                return Err(CmdError::no_code("NOPERM", "Permission denied"));
            };
            let Some((parent, _)) = n.rsplit_once('/') else {
                // A new top-level mailbox of another user: only the owner may.
                return Err(CmdError::no_code("NOPERM", "Permission denied"));
            };
            let parent_name = client_name(Some(owner), parent);
            match lookup(store, auth, &parent_name).await? {
                Some(p) if p.rights.has('k') => Ok((owner_id, n.to_string())),
                _ => Err(CmdError::no_code("NOPERM", "Permission denied")),
            }
        }
    }
}

/// [`lookup`] for a session: `NO [NONEXISTENT]` when missing, BAD when not logged in.
pub async fn resolve(s: &Session, name: &str) -> Result<MailboxRef, CmdError> {
    resolve_opt(s, name)
        .await?
        .ok_or_else(|| CmdError::no_code("NONEXISTENT", "No such mailbox"))
}

/// [`lookup`] for a session, `None` when missing.
pub async fn resolve_opt(s: &Session, name: &str) -> Result<Option<MailboxRef>, CmdError> {
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    Ok(lookup(s.server.mail.store.as_ref(), auth, name).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_directory::Account;

    fn auth(name: &str) -> Auth {
        Auth {
            account: Account {
                name: name.into(),
                addresses: vec![name.into(), "alias@example.test".into()],
                quota_bytes: None,
                enabled: true,
                display_name: None,
                groups: vec![],
                ..Default::default()
            },
            account_id: AccountId(1),
        }
    }

    #[test]
    fn rights_round_trip() {
        assert_eq!(Rights::parse("lrs").letters(), "lrs");
        assert_eq!(Rights::all().letters(), Rights::LETTERS);
        assert!(!Rights::parse("lr").has('w'));
        assert!(Rights::parse("lrs").can_write());
        assert!(!Rights::parse("lr").can_write());
    }

    #[test]
    fn splits_namespaces() {
        assert_eq!(split_name("INBOX"), NameTarget::Personal("INBOX"));
        assert_eq!(split_name("a/b"), NameTarget::Personal("a/b"));
        assert_eq!(split_name("Other Users"), NameTarget::SharedNode(None));
        assert_eq!(
            split_name("other users/bob@x/INBOX"),
            NameTarget::Shared {
                owner: "bob@x",
                name: "INBOX"
            }
        );
        assert_eq!(
            split_name("Other Users/bob@x"),
            NameTarget::SharedNode(Some("bob@x"))
        );
        assert_eq!(
            split_name("Other Users/bob@x/Team/Q1"),
            NameTarget::Shared {
                owner: "bob@x",
                name: "Team/Q1"
            }
        );
        assert_eq!(
            client_name(Some("bob@x"), "INBOX"),
            "Other Users/bob@x/INBOX"
        );
        assert_eq!(client_name(None, "Sent"), "Sent");
    }

    #[test]
    fn acl_positive_negative_and_anyone() {
        let a = auth("alice@example.test");
        let acl = |e: &[(&str, &str)]| -> Vec<(String, String)> {
            e.iter()
                .map(|(i, r)| (i.to_string(), r.to_string()))
                .collect()
        };
        // RFC 4314 §2: union of positive entries…
        let r = effective_rights(&acl(&[("anyone", "lr"), ("alice@example.test", "w")]), &a);
        assert_eq!(r.letters(), "lrw");
        // …minus negative ones, whichever identifier they name.
        let r = effective_rights(&acl(&[("anyone", "lrs"), ("-alias@example.test", "s")]), &a);
        assert_eq!(r.letters(), "lr");
        let r = effective_rights(&acl(&[("bob@example.test", "lrswi")]), &a);
        assert!(r.is_empty());
        let r = effective_rights(&acl(&[("ALICE@example.test", "lr"), ("-anyone", "r")]), &a);
        assert_eq!(r.letters(), "l");
    }
}
