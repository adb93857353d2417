//! RENAME (RFC 9051 §6.3.6). Inferiors move with the mailbox; missing superiors of the new
//! name are created. Renaming INBOX moves its messages into a new mailbox and leaves INBOX
//! empty (its inferiors stay). Subscriptions follow the renamed names.

use super::create::{create_with_parents, validate_name};
use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;
use crate::session::mailbox_ref::{create_target, resolve, resolve_opt};
use tern_store::{CreateMailbox, StoreError};

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Rename { from, to } = cmd else {
        return Err(CmdError::bad("Expected RENAME"));
    };
    let to = to.trim_end_matches('/').to_string();
    validate_name(&to)?;
    let source = resolve(s, &from).await?;
    source.require('x')?;
    if to.eq_ignore_ascii_case("INBOX") || resolve_opt(s, &to).await?.is_some() {
        return Err(CmdError::no_code("ALREADYEXISTS", "Mailbox already exists"));
    }
    let auth = s
        .auth()
        .ok_or_else(|| CmdError::bad("Not authenticated"))?
        .clone();
    let store = s.server.mail.store.clone();
    let (account, store_to) = create_target(store.as_ref(), &auth, &to).await?;
    if account != source.info.account {
        return Err(CmdError::no_code(
            "CANNOT",
            "Mailboxes cannot be renamed into another user's hierarchy",
        ));
    }

    if source.info.name == "INBOX" {
        // RFC 9051 §6.3.6: a new mailbox gets INBOX's messages; INBOX stays, empty.
        let dest = create_with_parents(store.as_ref(), account, &store_to, None).await?;
        let (_, messages) = store.messages(source.info.id).await?;
        let uids: Vec<u32> = messages.iter().map(|m| m.uid).collect();
        if !uids.is_empty() {
            store
                .copy(source.info.id, &uids, dest.id, true, None)
                .await?;
        }
        return Ok(Done::ok("RENAME completed"));
    }

    let old = &source.info.name;
    if store_to == *old || store_to.starts_with(&format!("{old}/")) {
        return Err(CmdError::no_code(
            "CANNOT",
            "A mailbox cannot be moved below itself",
        ));
    }
    let existing = store.mailboxes(account).await?;
    for (i, _) in store_to.match_indices('/') {
        let parent = &store_to[..i];
        if !existing.iter().any(|m| m.name == parent) {
            match store
                .create_mailbox(account, parent, CreateMailbox::default())
                .await
            {
                Ok(_) | Err(StoreError::MailboxExists) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    store.rename_mailbox(source.info.id, &store_to).await?;

    if source.is_personal() {
        // Keep subscriptions pointing at the same mailboxes.
        let old_prefix = format!("{old}/");
        for sub in store.subscriptions(auth.account_id).await? {
            let renamed = if sub == *old {
                Some(store_to.clone())
            } else {
                sub.strip_prefix(&old_prefix)
                    .map(|rest| format!("{store_to}/{rest}"))
            };
            if let Some(new) = renamed {
                store.set_subscribed(auth.account_id, &sub, false).await?;
                store.set_subscribed(auth.account_id, &new, true).await?;
            }
        }
    }
    if let Some(sel) = s.selected_mut()
        && sel.info.id == source.info.id
    {
        sel.info.name = store_to;
    }
    Ok(Done::ok("RENAME completed"))
}
