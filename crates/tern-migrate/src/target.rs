//! The Tern side of a migration: the account, its mailboxes, and default folders last.
//!
//! A migrated account is created *without* Tern's default folders, so that INBOX and
//! the rest can be created with the source's UIDVALIDITY; the defaults the source lacks
//! (and whose role no migrated folder took) are added at the end, and the account is then
//! marked provisioned exactly as [`tern_mail::Mail::open_account`] would have.
use tern_directory::{Account, Resolution};
use tern_mail::ingest::PROVISIONED_ENTRY;
use tern_mail::{DEFAULT_MAILBOXES, Mail};
use tern_store::{AccountId, CreateMailbox, MailboxInfo, MetadataScope, SpecialUse, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{0}: no such account on Tern (create it first: tern user add)")]
    NoAccount(String),
    #[error("{0}: a group address, not an account")]
    Group(String),
    #[error("directory: {0}")]
    Directory(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Resolves the target address to its directory account and store account (created if
/// missing, without default folders).
pub async fn account(mail: &Mail, address: &str) -> Result<(Account, AccountId), TargetError> {
    let account = match mail
        .directory
        .resolve(address)
        .await
        .map_err(|e| TargetError::Directory(e.to_string()))?
    {
        Resolution::Account(a) => a,
        Resolution::Group(_) => return Err(TargetError::Group(address.into())),
        Resolution::NotFound => return Err(TargetError::NoAccount(address.into())),
    };
    let id = mail
        .store
        .account(&account.name, true)
        .await?
        .ok_or_else(|| TargetError::NoAccount(address.into()))?;
    Ok((account, id))
}

pub fn same_name(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

pub async fn find(
    mail: &Mail,
    account: AccountId,
    name: &str,
) -> Result<Option<MailboxInfo>, StoreError> {
    Ok(mail
        .store
        .mailboxes(account)
        .await?
        .into_iter()
        .find(|m| same_name(&m.name, name)))
}

/// Gives `mailbox` the role, taking it from any other mailbox of the account.
pub async fn assign_role(
    mail: &Mail,
    account: AccountId,
    mailbox: &MailboxInfo,
    role: Option<SpecialUse>,
) -> Result<(), StoreError> {
    let Some(role) = role else { return Ok(()) };
    if mailbox.special_use == Some(role) {
        return Ok(());
    }
    for other in mail.store.mailboxes(account).await? {
        if other.id != mailbox.id && other.special_use == Some(role) {
            mail.store.set_special_use(other.id, None).await?;
        }
    }
    mail.store.set_special_use(mailbox.id, Some(role)).await
}

/// Creates the mailbox with the source's UIDVALIDITY. An existing mailbox that has never
/// held a message (e.g. a default folder made when the user first logged in) is replaced,
/// so it too keeps the source's UIDVALIDITY; one that holds mail is kept as it is and the
/// caller copies into it with new UIDs. Returns the mailbox and whether UIDs are preserved.
pub async fn prepare_mailbox(
    mail: &Mail,
    account: AccountId,
    name: &str,
    uidvalidity: u32,
    role: Option<SpecialUse>,
    may_replace: bool,
) -> Result<(MailboxInfo, bool), StoreError> {
    let opts = CreateMailbox {
        special_use: None,
        uidvalidity: Some(uidvalidity),
    };
    let (info, preserve) = match find(mail, account, name).await? {
        None => (mail.store.create_mailbox(account, name, opts).await?, true),
        Some(existing) if existing.uidvalidity == uidvalidity => (existing, true),
        Some(existing) => {
            let status = mail.store.status(existing.id).await?;
            if may_replace && status.messages == 0 && status.uidnext <= 1 {
                mail.store.delete_mailbox(existing.id).await?;
                (mail.store.create_mailbox(account, name, opts).await?, true)
            } else {
                (existing, false)
            }
        }
    };
    assign_role(mail, account, &info, role).await?;
    let info = mail.store.mailbox(info.id).await?;
    Ok((info, preserve))
}

/// Adds the default folders the migration did not bring (by name or role) and marks the
/// account provisioned.
pub async fn finish_provisioning(mail: &Mail, account: AccountId) -> Result<(), StoreError> {
    let scope = MetadataScope::Server(account);
    let marker = mail
        .store
        .get_metadata(scope, &[PROVISIONED_ENTRY.to_string()], Some(0))
        .await?;
    if marker.iter().any(|(n, _)| n == PROVISIONED_ENTRY) {
        return Ok(());
    }
    let existing = mail.store.mailboxes(account).await?;
    for (name, role) in DEFAULT_MAILBOXES {
        let by_name = existing.iter().any(|m| same_name(&m.name, name));
        let by_role = role.is_some() && existing.iter().any(|m| m.special_use == role);
        if by_name || by_role {
            continue;
        }
        let opts = CreateMailbox {
            special_use: role,
            uidvalidity: None,
        };
        match mail.store.create_mailbox(account, name, opts).await {
            Ok(_) | Err(StoreError::MailboxExists) => {}
            Err(e) => return Err(e),
        }
    }
    mail.store
        .set_metadata(
            scope,
            &[(PROVISIONED_ENTRY.to_string(), Some(b"1".to_vec()))],
        )
        .await
}
