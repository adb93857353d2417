//! Turning the store's change events into NOTIFY output (RFC 5465 §5), and the snapshots
//! that output is computed against.
//!
//! Invariant: every response written here is for a mailbox (or the server) a filter asks
//! about, for an event kind that filter names, and the user may see (own mailbox, or `l`
//! and `r` on a shared one). The selected mailbox's message events are not handled here:
//! the connection loop syncs the selected mailbox itself.

use super::{Kind, NotifyState, lists, meta};
use crate::cmd::CmdError;
use crate::cmd::status::format_status;
use crate::proto::command::StatusItem;
use crate::session::Session;
use crate::session::mailbox_ref::{MailboxRef, client_name, rights_on, visible};
use tern_store::{ChangeEvent, MailboxChange, MailboxId, MailboxInfo, StoreError};

/// Handles one change event while no command runs (or during IDLE). Writes to `s.out`;
/// the caller flushes.
pub async fn on_event(s: &mut Session, event: ChangeEvent) -> Result<(), CmdError> {
    let Some(me) = s.auth().map(|a| a.account_id) else {
        return Ok(());
    };
    let Some(state) = s.notify.as_ref().filter(|n| n.is_active()) else {
        return Ok(());
    };
    match event {
        ChangeEvent::Mailbox {
            account,
            mailbox,
            what,
            ..
        } => {
            if account != me && !state.watches_foreign() {
                return Ok(());
            }
            let selected = s.selected().is_some_and(|m| m.id() == mailbox);
            if what.messages() && !selected {
                report_status(s, mailbox, what).await?;
            }
            if what.metadata {
                meta::report_mailbox(s, mailbox).await?;
            }
        }
        ChangeEvent::MailboxList { account, what } => {
            // Names matter when they are ours, when they are another account's that we see
            // (shared with us), and after any ACL change (it may share or unshare one).
            let names = (what.names && (account == me || state.knows_account(account)))
                || what.acl
                || (what.subscriptions && account == me);
            if names {
                lists::report_changes(s).await?;
            }
            if what.metadata && account == me {
                meta::report_server(s).await?;
            }
        }
    }
    Ok(())
}

/// After missed events (the change channel overflowed): compares everything watched with
/// what was last reported, and reports the differences.
pub async fn rescan(s: &mut Session) -> Result<(), CmdError> {
    for m in watched(s, Kind::Message).await? {
        send_status(s, m.info.id, &m.name, When::Changed).await?;
    }
    lists::report_changes(s).await?;
    meta::report_all(s).await
}

/// `NOTIFY SET STATUS`: a STATUS for every mailbox with message events (§3.1).
pub(super) async fn initial_status(s: &mut Session) -> Result<(), CmdError> {
    for m in watched(s, Kind::Message).await? {
        send_status(s, m.info.id, &m.name, When::Always).await?;
    }
    Ok(())
}

/// Reads what later events are compared against: the mailbox list and subscriptions, and
/// the metadata entries of every watched scope.
pub(super) async fn take_snapshots(s: &mut Session) -> Result<(), CmdError> {
    let Some(state) = s.notify.as_ref() else {
        return Ok(());
    };
    let (names, subs) = (state.tracks_names(), state.tracks_subscriptions());
    if subs {
        let account = s
            .auth()
            .map(|a| a.account_id)
            .expect("NOTIFY needs a login");
        let list = s.server.mail.store.subscriptions(account).await?;
        state_mut(s).subscriptions = list;
    }
    if names {
        let known = lists::snapshot(s).await?;
        state_mut(s).names = known;
    }
    meta::snapshot_all(s).await
}

/// The visible mailboxes, other than the selected one, for which a filter asks for `kind`
/// (and that the user may read).
pub(super) async fn watched(s: &Session, kind: Kind) -> Result<Vec<MailboxRef>, CmdError> {
    let Some(auth) = s.auth() else {
        return Ok(Vec::new());
    };
    let Some(state) = s.notify.as_ref() else {
        return Ok(Vec::new());
    };
    let selected = s.selected().map(|m| m.id());
    let all = visible(s.server.mail.store.as_ref(), auth).await?;
    Ok(all
        .into_iter()
        .filter(|m| Some(m.info.id) != selected)
        .filter(|m| m.rights.has('l') && m.rights.has('r'))
        .filter(|m| state.wants(&m.name, m.is_personal(), kind))
        .collect())
}

/// How the user names a mailbox, and whether it is theirs; `None` if they may not read it
/// (another account's without `l` and `r`) or it is gone.
pub(super) async fn client_view(
    s: &Session,
    mailbox: MailboxId,
) -> Result<Option<(MailboxInfo, String, bool)>, CmdError> {
    let Some(auth) = s.auth() else {
        return Ok(None);
    };
    let store = s.server.mail.store.as_ref();
    let info = match store.mailbox(mailbox).await {
        Ok(i) => i,
        Err(StoreError::NoSuchMailbox) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if info.account == auth.account_id {
        let name = info.name.clone();
        return Ok(Some((info, name, true)));
    }
    let rights = rights_on(store, auth, &info).await?;
    if !rights.has('l') || !rights.has('r') {
        return Ok(None);
    }
    let owner = store.account_name(info.account).await?;
    let name = client_name(Some(&owner), &info.name);
    Ok(Some((info, name, false)))
}

/// A `* STATUS` for a non-selected mailbox whose messages changed, if a filter asks for
/// that kind of change (§5.1–5.3).
async fn report_status(
    s: &mut Session,
    mailbox: MailboxId,
    what: MailboxChange,
) -> Result<(), CmdError> {
    let Some((_, name, own)) = client_view(s, mailbox).await? else {
        return Ok(());
    };
    let Some(state) = s.notify.as_ref() else {
        return Ok(());
    };
    let wanted = ((what.added || what.expunged) && state.wants(&name, own, Kind::Message))
        || (what.flags && state.wants(&name, own, Kind::Flags));
    if wanted {
        // Even if the counters look the same (a flag change without CONDSTORE): the
        // client asked to hear of the change.
        send_status(s, mailbox, &name, When::Always).await?;
    }
    Ok(())
}

/// When [`send_status`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    Always,
    /// Only if the response would differ from the last one sent for the mailbox.
    Changed,
}

/// Writes `* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])`.
/// HIGHESTMODSEQ comes with CONDSTORE (§5.2: it MUST then).
async fn send_status(
    s: &mut Session,
    mailbox: MailboxId,
    name: &str,
    when: When,
) -> Result<(), CmdError> {
    let st = match s.server.mail.store.status(mailbox).await {
        Ok(st) => st,
        Err(StoreError::NoSuchMailbox) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let condstore = s.enabled.condstore;
    let key = (
        st.messages,
        st.uidnext,
        st.uidvalidity,
        st.unseen,
        if condstore { st.highestmodseq } else { 0 },
    );
    let state = state_mut(s);
    if when == When::Changed && state.last_status.get(&mailbox) == Some(&key) {
        return Ok(());
    }
    state.last_status.insert(mailbox, key);
    let mut items = vec![
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
    ];
    if condstore {
        items.push(StatusItem::HighestModSeq);
    }
    let line = format_status(s, name, mailbox, &st, &items);
    s.untagged(line);
    Ok(())
}

/// The session's NOTIFY state; only called while NOTIFY is set.
pub(super) fn state_mut(s: &mut Session) -> &mut NotifyState {
    s.notify.as_mut().expect("NOTIFY is set")
}

impl NotifyState {
    /// Whether a mailbox of `account` is among the listable mailboxes last reported.
    fn knows_account(&self, account: tern_store::AccountId) -> bool {
        self.names.iter().any(|k| k.account == account)
    }
}
