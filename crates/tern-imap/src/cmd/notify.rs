//! NOTIFY (RFC 5465): which changes the server reports without being asked.
//!
//! Supported: `NOTIFY NONE`; `NOTIFY SET [STATUS]` with the filters SELECTED,
//! SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE and MAILBOXES, and the events
//! MessageNew, MessageExpunge, FlagChange, MailboxName and SubscriptionChange.
//!
//! - Selected mailbox: its changes are pushed as the usual EXISTS / EXPUNGE or VANISHED /
//!   FETCH FLAGS, also outside IDLE (SELECTED-DELAYED holds expunges until a command).
//! - Other mailboxes: message events become `* STATUS` (MESSAGES UIDNEXT UIDVALIDITY
//!   UNSEEN, plus HIGHESTMODSEQ with CONDSTORE), sent only when a counter changed.
//! - MailboxName / SubscriptionChange of the user's own mailboxes: `* LIST` responses
//!   found by comparing the mailbox list with the one last seen (renames carry OLDNAME).
//!
//! Partial (documented in docs/rfc-status.md): the store's change events do not say which
//! kind of message change happened, so any of the three message events triggers the
//! STATUS; `MessageNew (fetch-att)` sends EXISTS, not the FETCH; AnnotationChange and the
//! METADATA events are refused with `[BADEVENT]`; ACL changes on other users' mailboxes are
//! not reported as MailboxName events.

use super::status::format_status;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, NotifyCommand, NotifyEvent, NotifyFilter, StatusItem};
use crate::session::mailbox_ref::{client_name, rights_on};
use crate::session::{ExpungePolicy, Session};
use std::collections::HashMap;
use tern_store::{ChangeEvent, MailboxId, MailboxStatus};

/// Which events one filter asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Events {
    message: bool,
    mailbox_name: bool,
    subscription: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

/// The session's NOTIFY settings (RFC 5465).
#[derive(Clone, Debug, Default)]
pub struct NotifyState {
    /// Message events for the selected mailbox: `Some(delayed)`.
    selected: Option<bool>,
    groups: Vec<(Filter, Events)>,
    /// Counters last reported per mailbox, so unchanged mailboxes stay quiet.
    last_status: HashMap<MailboxId, (u32, u32, u32, u64)>,
    /// The user's mailboxes (id, name) and subscriptions last reported, when
    /// MailboxName / SubscriptionChange are asked for.
    names: Vec<(MailboxId, String)>,
    subscriptions: Vec<String>,
}

impl NotifyState {
    /// Whether the selected mailbox's changes are pushed while no command runs, and with
    /// which expunge policy.
    pub fn selected_policy(&self) -> Option<ExpungePolicy> {
        self.selected.map(|delayed| {
            if delayed {
                ExpungePolicy::Defer
            } else {
                ExpungePolicy::Announce
            }
        })
    }

    /// Whether a filter can cover another account's mailbox (shared with the user), so
    /// that events of other accounts need a look at all.
    fn watches_foreign(&self) -> bool {
        let shared = |n: &String| n.to_ascii_lowercase().starts_with("other users/");
        self.groups.iter().any(|(f, e)| {
            e.message
                && match f {
                    Filter::Subscribed => true,
                    Filter::Subtree(m) | Filter::Mailboxes(m) => m.iter().any(shared),
                    Filter::Inboxes | Filter::Personal => false,
                }
        })
    }

    fn wants_list_events(&self) -> bool {
        self.groups
            .iter()
            .any(|(_, e)| e.mailbox_name || e.subscription)
    }
}

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Notify(cmd) = cmd else {
        return Err(CmdError::bad("Expected NOTIFY"));
    };
    let (status, groups) = match cmd {
        NotifyCommand::None => {
            s.notify = None;
            return Ok(Done::ok("NOTIFY completed"));
        }
        NotifyCommand::Set { status, groups } => (status, groups),
    };
    let mut state = NotifyState::default();
    for g in groups {
        let mut ev = Events::default();
        let (mut new, mut expunge, mut flags) = (false, false, false);
        for e in &g.events {
            match e {
                NotifyEvent::MessageNew(_) => new = true,
                NotifyEvent::MessageExpunge => expunge = true,
                NotifyEvent::FlagChange => flags = true,
                NotifyEvent::MailboxName => ev.mailbox_name = true,
                NotifyEvent::SubscriptionChange => ev.subscription = true,
                NotifyEvent::AnnotationChange
                | NotifyEvent::MailboxMetadataChange
                | NotifyEvent::ServerMetadataChange => {
                    return Err(CmdError::no_code(
                        "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)",
                        "Event not supported",
                    ));
                }
            }
        }
        // RFC 5465 §5: MessageNew and MessageExpunge come together; FlagChange needs both.
        if new != expunge || (flags && !new) {
            return Err(CmdError::bad(
                "MessageNew and MessageExpunge must be given together, and FlagChange needs both",
            ));
        }
        ev.message = new;
        let filter = match g.filter {
            NotifyFilter::Selected | NotifyFilter::SelectedDelayed => {
                if ev.message {
                    state.selected = Some(g.filter == NotifyFilter::SelectedDelayed);
                }
                continue;
            }
            NotifyFilter::Inboxes => Filter::Inboxes,
            NotifyFilter::Personal => Filter::Personal,
            NotifyFilter::Subscribed => Filter::Subscribed,
            NotifyFilter::Subtree(m) => Filter::Subtree(m),
            NotifyFilter::Mailboxes(m) => Filter::Mailboxes(m),
        };
        state.groups.push((filter, ev));
    }
    let account = s
        .auth()
        .ok_or_else(|| CmdError::bad("Not authenticated"))?
        .account_id;
    let store = s.server.mail.store.clone();
    if state.wants_list_events() {
        state.names = own_names(s).await?;
        state.subscriptions = store.subscriptions(account).await?;
    }
    s.notify = Some(state);
    // Events queued before now are old news: start from here.
    s.events = s.events.resubscribe();
    if status {
        // RFC 5465 §3.1: STATUS of every mailbox the message filters name, now.
        let ids: Vec<MailboxId> = store
            .mailboxes(account)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        for id in ids {
            report_status(s, id).await?;
        }
    }
    Ok(Done::ok("NOTIFY completed"))
}

async fn own_names(s: &Session) -> Result<Vec<(MailboxId, String)>, CmdError> {
    let account = s
        .auth()
        .ok_or_else(|| CmdError::bad("Not authenticated"))?
        .account_id;
    Ok(s.server
        .mail
        .store
        .mailboxes(account)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect())
}

/// Handles one change event while no command runs (or during IDLE). Writes to `s.out`;
/// the caller flushes.
pub async fn on_event(s: &mut Session, event: ChangeEvent) -> Result<(), CmdError> {
    let Some(own) = s.auth().map(|a| a.account_id) else {
        return Ok(());
    };
    match event {
        ChangeEvent::Mailbox {
            account, mailbox, ..
        } => {
            if s.selected().is_some_and(|m| m.id() == mailbox) {
                let policy = s.notify.as_ref().and_then(|n| n.selected_policy());
                if let Some(policy) = policy {
                    s.sync_selected(policy).await?;
                }
                return Ok(());
            }
            let relevant = s
                .notify
                .as_ref()
                .is_some_and(|n| account == own || n.watches_foreign());
            if relevant {
                report_status(s, mailbox).await?;
            }
        }
        ChangeEvent::MailboxList { account, .. } if account == own => {
            if s.notify.as_ref().is_some_and(|n| n.wants_list_events()) {
                report_list_changes(s).await?;
            }
        }
        ChangeEvent::MailboxList { .. } => {}
    }
    Ok(())
}

/// A `* STATUS` for a non-selected mailbox covered by a filter with message events, when
/// its counters changed since last reported.
async fn report_status(s: &mut Session, mailbox: MailboxId) -> Result<(), CmdError> {
    let Some(auth) = s.auth().cloned() else {
        return Ok(());
    };
    if s.selected().is_some_and(|m| m.id() == mailbox) {
        return Ok(());
    }
    let store = s.server.mail.store.clone();
    let info = match store.mailbox(mailbox).await {
        Ok(i) => i,
        Err(tern_store::StoreError::NoSuchMailbox) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (name, own) = if info.account == auth.account_id {
        (info.name.clone(), true)
    } else {
        let rights = rights_on(store.as_ref(), &auth, &info).await?;
        if !rights.has('l') || !rights.has('r') {
            return Ok(());
        }
        let owner = store.account_name(info.account).await?;
        (client_name(Some(&owner), &info.name), false)
    };
    let Some(state) = s.notify.as_ref() else {
        return Ok(());
    };
    let mut wanted = false;
    for (filter, ev) in &state.groups {
        let matched = match filter {
            Filter::Inboxes => own && info.name == "INBOX",
            Filter::Personal => own,
            Filter::Subscribed => store.subscriptions(auth.account_id).await?.contains(&name),
            Filter::Subtree(roots) => roots
                .iter()
                .any(|r| name == *r || name.starts_with(&format!("{r}/"))),
            Filter::Mailboxes(names) => names.contains(&name),
        };
        if matched {
            // RFC 5465 §6: the first matching filter decides.
            wanted = ev.message;
            break;
        }
    }
    if !wanted {
        return Ok(());
    }
    let st: MailboxStatus = store.status(mailbox).await?;
    let key = (st.messages, st.uidnext, st.unseen, st.highestmodseq);
    let state = s.notify.as_mut().expect("checked above");
    if state.last_status.get(&mailbox) == Some(&key) {
        return Ok(());
    }
    state.last_status.insert(mailbox, key);
    let mut items = vec![
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
    ];
    if s.enabled.condstore {
        items.push(StatusItem::HighestModSeq);
    }
    let line = format_status(s, &name, mailbox, &st, &items);
    s.untagged(line);
    Ok(())
}

/// `* LIST` responses for created, deleted and renamed mailboxes and changed subscriptions
/// (RFC 5465 §5.4–5.5).
async fn report_list_changes(s: &mut Session) -> Result<(), CmdError> {
    let account = s
        .auth()
        .ok_or_else(|| CmdError::bad("Not authenticated"))?
        .account_id;
    let names = own_names(s).await?;
    let subs = s.server.mail.store.subscriptions(account).await?;
    let Some(state) = s.notify.as_mut() else {
        return Ok(());
    };
    let want_names = state.groups.iter().any(|(_, e)| e.mailbox_name);
    let want_subs = state.groups.iter().any(|(_, e)| e.subscription);
    let old_names = std::mem::replace(&mut state.names, names.clone());
    let old_subs = std::mem::replace(&mut state.subscriptions, subs.clone());
    let mut lines = Vec::new();
    if want_names {
        for (id, name) in &names {
            match old_names.iter().find(|(i, _)| i == id) {
                None => lines.push(format!("LIST () \"/\" {}", s.wire_mailbox(name))),
                Some((_, old)) if old != name => lines.push(format!(
                    "LIST () \"/\" {} (\"OLDNAME\" ({}))",
                    s.wire_mailbox(name),
                    s.wire_mailbox(old)
                )),
                Some(_) => {}
            }
        }
        for (id, old) in &old_names {
            if !names.iter().any(|(i, _)| i == id) {
                lines.push(format!(
                    "LIST (\\NonExistent) \"/\" {}",
                    s.wire_mailbox(old)
                ));
            }
        }
    }
    if want_subs {
        for n in &subs {
            if !old_subs.contains(n) {
                lines.push(format!("LIST (\\Subscribed) \"/\" {}", s.wire_mailbox(n)));
            }
        }
        for n in &old_subs {
            if !subs.contains(n) {
                lines.push(format!("LIST () \"/\" {}", s.wire_mailbox(n)));
            }
        }
    }
    for l in lines {
        s.untagged(l);
    }
    Ok(())
}
