//! NOTIFY (RFC 5465): which changes the server reports without being asked.
//!
//! # What is complete
//!
//! - `NOTIFY NONE` and `NOTIFY SET [STATUS]` with every filter (SELECTED, SELECTED-DELAYED,
//!   INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES, and `NONE` event lists) and the
//!   events MessageNew (with or without fetch-atts), MessageExpunge, FlagChange,
//!   MailboxName, SubscriptionChange, MailboxMetadataChange and ServerMetadataChange.
//!   Filters are tried in order (§6): a matching filter with `NONE` ends the search, a
//!   matching filter without the event lets later filters decide.
//! - Selected mailbox (only through SELECTED / SELECTED-DELAYED, §3.1): new messages are
//!   pushed as EXISTS, then with fetch-atts one `* n FETCH (...)` each, written by the FETCH
//!   command's writer (§5.2; not after this session's own APPEND/COPY/MOVE; a body item
//!   that would set `\Seen` does not set it here); expunges as EXPUNGE or VANISHED, held
//!   back until a command allows them under SELECTED-DELAYED outside IDLE (§6.1); flag
//!   changes as `FETCH (FLAGS ...)` only with FlagChange (§5.1), otherwise at the next
//!   command. Without such a filter, and after NOTIFY NONE, nothing about the selected
//!   mailbox is pushed between commands or in IDLE (§4); the responses after each command
//!   that RFC 9051 requires still come. Without NOTIFY at all, IDLE pushes as RFC 2177 says.
//! - Other mailboxes: `* STATUS (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])`
//!   when a filter asks for MessageNew/MessageExpunge and messages were added or expunged,
//!   or asks for FlagChange and flags changed (§5.1–5.3); one per change, even when a flag
//!   change leaves the counters shown as they were (no CONDSTORE). `NOTIFY SET STATUS`
//!   sends one for every mailbox with message events first (§3.1). Another account's mailbox needs the `l` and `r` rights
//!   (§5, RFC 4314), checked at each event.
//! - MailboxName (§5.4): `* LIST` for created mailboxes, `(\NonExistent)` for deleted ones,
//!   `("OLDNAME" (old))` for renamed ones (each renamed inferior too), with the attributes
//!   LIST gives (`\HasChildren`/`\HasNoChildren`, special use, `\Subscribed`). Mailboxes
//!   shared with the user count: a grant of `l` is a creation, its revocation a deletion
//!   (§5.9).
//! - SubscriptionChange (§5.5): `* LIST` with `\Subscribed` added or removed.
//! - MailboxMetadataChange / ServerMetadataChange (§5.6–5.7): unsolicited
//!   `* METADATA <mailbox> <entry> ...` (RFC 5464 §4.4.2, no values) naming the entries
//!   that were set, changed or removed since last reported; server entries under `""`.
//!   `/private` entries of a shared mailbox are this user's own.
//! - Missed events (the change channel overflowed): everything watched is compared again
//!   with what was last reported, instead of `NOTIFICATIONOVERFLOW`.
//!
//! # What is partial
//!
//! - AnnotationChange (message annotations, RFC 5257) is refused with `NO [BADEVENT]`: the
//!   store has no message annotations. Unknown event names are refused with BAD by the
//!   parser rather than `NO [BADEVENT]`.
//! - Changes made by this session itself are reported to it too (§5 SHOULD omit them).
//! - INBOXES means INBOX only (no delivery rules send mail elsewhere yet, §6.3).
//! - `\NoAccess` LIST responses for mailboxes the user may list but not read (§3.1) are
//!   not sent; such mailboxes simply get no STATUS.
//! - The ESEARCH/CONTEXT updates of §7 are not implemented (no CONTEXT=SEARCH).

mod events;
mod lists;
mod meta;
mod new_mail;

pub use events::{on_event, rescan};
pub use new_mail::fetch_new;

use super::{CmdError, CmdResult, Done};
use crate::proto::command::{CommandBody, FetchAttr, NotifyCommand, NotifyEvent, NotifyFilter};
use crate::session::Session;
use crate::session::mailbox_ref::{OTHER_USERS_PREFIX, OTHER_USERS_ROOT};
use std::collections::HashMap;
use tern_store::MailboxId;

/// The events this server reports, for `NO [BADEVENT (...)]` (RFC 5465 §3.1).
const SUPPORTED: &str = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName \
                         SubscriptionChange MailboxMetadataChange ServerMetadataChange)";

/// Which events one filter (other than SELECTED) asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Events {
    /// MessageNew and MessageExpunge (always given together, §5).
    message: bool,
    flags: bool,
    mailbox_name: bool,
    subscription: bool,
    mailbox_metadata: bool,
    server_metadata: bool,
}

impl Events {
    fn is_none(&self) -> bool {
        *self == Events::default()
    }

    fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::Message => self.message,
            Kind::Flags => self.flags,
            Kind::MailboxName => self.mailbox_name,
            Kind::Subscription => self.subscription,
            Kind::MailboxMetadata => self.mailbox_metadata,
        }
    }
}

/// The kinds of events that concern one mailbox, matched against the filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Message,
    Flags,
    MailboxName,
    Subscription,
    MailboxMetadata,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

/// The message events asked for the selected mailbox (SELECTED or SELECTED-DELAYED).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedEvents {
    /// SELECTED-DELAYED: expunges wait for a command that allows them.
    pub delayed: bool,
    /// FlagChange was asked for.
    pub flags: bool,
    /// MessageNew's fetch-atts, if given.
    pub fetch: Option<Vec<FetchAttr>>,
}

/// One mailbox the user can list, as last reported (MailboxName / SubscriptionChange).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Known {
    id: MailboxId,
    /// The owning account.
    account: tern_store::AccountId,
    /// In the user's personal namespace.
    own: bool,
    /// The name the client uses.
    name: String,
    special_use: Option<tern_store::SpecialUse>,
}

/// A metadata scope as NOTIFY tracks it: a mailbox, or the server (`None`).
type MetaScope = Option<MailboxId>;

/// The session's NOTIFY settings (RFC 5465) and what was last reported under them.
#[derive(Clone, Debug, Default)]
pub struct NotifyState {
    selected: Option<SelectedEvents>,
    groups: Vec<(Filter, Events)>,
    /// Counters last reported per mailbox (MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN,
    /// HIGHESTMODSEQ or 0 without CONDSTORE), so a rescan after missed events stays quiet
    /// about unchanged mailboxes.
    last_status: HashMap<MailboxId, (u32, u32, u32, u32, u64)>,
    /// Listable mailboxes last reported, when a filter asks for MailboxName or
    /// SubscriptionChange.
    names: Vec<Known>,
    /// The user's subscriptions last seen (for SUBSCRIBED and SubscriptionChange).
    subscriptions: Vec<String>,
    /// Metadata entries last reported per scope: client entry names with a hash of the
    /// value, sorted by name.
    metadata: HashMap<MetaScope, Vec<(String, u64)>>,
}

impl NotifyState {
    /// The selected mailbox's message events, if a SELECTED/SELECTED-DELAYED filter asks
    /// for them.
    pub fn selected_events(&self) -> Option<&SelectedEvents> {
        self.selected.as_ref()
    }

    /// Whether any event at all is asked for (false after NOTIFY NONE).
    pub fn is_active(&self) -> bool {
        self.selected.is_some() || self.groups.iter().any(|(_, e)| !e.is_none())
    }

    fn any(&self, f: impl Fn(&Events) -> bool) -> bool {
        self.groups.iter().any(|(_, e)| f(e))
    }

    /// Whether the mailbox list and subscriptions are tracked.
    fn tracks_names(&self) -> bool {
        self.any(|e| e.mailbox_name || e.subscription)
    }

    /// Whether the subscription list is needed (SUBSCRIBED filters, SubscriptionChange, and
    /// the `\Subscribed` attribute of MailboxName's LIST responses).
    fn tracks_subscriptions(&self) -> bool {
        self.tracks_names()
            || self
                .groups
                .iter()
                .any(|(f, e)| *f == Filter::Subscribed && !e.is_none())
    }

    /// Whether a filter with mailbox events can cover another account's mailbox, so that
    /// other accounts' events need a look at all.
    fn watches_foreign(&self) -> bool {
        let shared = |n: &String| {
            n.eq_ignore_ascii_case(OTHER_USERS_ROOT)
                || n.get(..OTHER_USERS_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(OTHER_USERS_PREFIX))
        };
        self.groups.iter().any(|(f, e)| {
            (e.message || e.mailbox_name || e.mailbox_metadata)
                && match f {
                    Filter::Subscribed => true,
                    Filter::Subtree(m) | Filter::Mailboxes(m) => m.iter().any(shared),
                    Filter::Inboxes | Filter::Personal => false,
                }
        })
    }

    fn filter_matches(&self, filter: &Filter, name: &str, own: bool) -> bool {
        match filter {
            Filter::Inboxes => own && name == "INBOX",
            Filter::Personal => own,
            Filter::Subscribed => self.subscriptions.iter().any(|s| s == name),
            Filter::Subtree(roots) => roots.iter().any(|r| {
                name == r
                    || name
                        .strip_prefix(r.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
            Filter::Mailboxes(names) => names.iter().any(|n| n == name),
        }
    }

    /// Whether an event of `kind` for the mailbox the client calls `name` is to be
    /// reported (§6: the filters in order; a matching `NONE` filter ends the search).
    fn wants(&self, name: &str, own: bool, kind: Kind) -> bool {
        for (filter, events) in &self.groups {
            if !self.filter_matches(filter, name, own) {
                continue;
            }
            if events.is_none() {
                return false;
            }
            if events.has(kind) {
                return true;
            }
        }
        false
    }
}

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Notify(cmd) = cmd else {
        return Err(CmdError::bad("Expected NOTIFY"));
    };
    if s.auth().is_none() {
        return Err(CmdError::bad("Not authenticated"));
    }
    let (status, groups) = match cmd {
        NotifyCommand::None => {
            // §3.1: no events at all from now on (an empty, inactive state, which also
            // stops IDLE from pushing, §4).
            s.notify = Some(NotifyState::default());
            return Ok(Done::ok("NOTIFY completed"));
        }
        NotifyCommand::Set { status, groups } => (status, groups),
    };
    let mut state = NotifyState::default();
    let mut seen_selected = false;
    for g in groups {
        let (ev, fetch) = parse_events(&g.events)?;
        match g.filter {
            NotifyFilter::Selected | NotifyFilter::SelectedDelayed => {
                if seen_selected {
                    return Err(CmdError::bad(
                        "Only one SELECTED or SELECTED-DELAYED filter is allowed",
                    ));
                }
                seen_selected = true;
                if ev.mailbox_name || ev.subscription || ev.mailbox_metadata || ev.server_metadata {
                    // §8: filter-mailboxes-selected takes message events only.
                    return Err(CmdError::bad(
                        "SELECTED and SELECTED-DELAYED take message events only",
                    ));
                }
                if ev.message {
                    state.selected = Some(SelectedEvents {
                        delayed: g.filter == NotifyFilter::SelectedDelayed,
                        flags: ev.flags,
                        fetch,
                    });
                }
            }
            NotifyFilter::Inboxes => state.groups.push((Filter::Inboxes, ev)),
            NotifyFilter::Personal => state.groups.push((Filter::Personal, ev)),
            NotifyFilter::Subscribed => state.groups.push((Filter::Subscribed, ev)),
            NotifyFilter::Subtree(m) => state.groups.push((Filter::Subtree(m), ev)),
            NotifyFilter::Mailboxes(m) => state.groups.push((Filter::Mailboxes(m), ev)),
        }
    }
    // Events committed before now are old news (the snapshots below read the present);
    // the selected mailbox is brought up to date after this command anyway (§3.1: an
    // implicit NOOP).
    s.events = s.events.resubscribe();
    s.notify = Some(state);
    events::take_snapshots(s).await?;
    if status {
        events::initial_status(s).await?;
    }
    Ok(Done::ok("NOTIFY completed"))
}

/// One event group's events; BAD for combinations §5 forbids, NO for unsupported ones.
fn parse_events(list: &[NotifyEvent]) -> Result<(Events, Option<Vec<FetchAttr>>), CmdError> {
    let mut ev = Events::default();
    let mut fetch = None;
    let (mut new, mut expunge) = (false, false);
    for e in list {
        match e {
            NotifyEvent::MessageNew(atts) => {
                new = true;
                fetch = atts.as_ref().map(|a| a.0.clone());
            }
            NotifyEvent::MessageExpunge => expunge = true,
            NotifyEvent::FlagChange => ev.flags = true,
            NotifyEvent::MailboxName => ev.mailbox_name = true,
            NotifyEvent::SubscriptionChange => ev.subscription = true,
            NotifyEvent::MailboxMetadataChange => ev.mailbox_metadata = true,
            NotifyEvent::ServerMetadataChange => ev.server_metadata = true,
            NotifyEvent::AnnotationChange => {
                return Err(CmdError::no_code(
                    SUPPORTED,
                    "AnnotationChange is not supported (no message annotations)",
                ));
            }
        }
    }
    // §5: MessageNew and MessageExpunge come together; FlagChange needs both.
    if new != expunge || (ev.flags && !new) {
        return Err(CmdError::bad(
            "MessageNew and MessageExpunge must be given together, and FlagChange needs both",
        ));
    }
    ev.message = new;
    Ok((ev, fetch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(groups: Vec<(Filter, Events)>, subs: &[&str]) -> NotifyState {
        NotifyState {
            groups,
            subscriptions: subs.iter().map(|s| s.to_string()).collect(),
            ..NotifyState::default()
        }
    }

    const MSG: Events = Events {
        message: true,
        flags: false,
        mailbox_name: false,
        subscription: false,
        mailbox_metadata: false,
        server_metadata: false,
    };
    const NAMES: Events = Events {
        mailbox_name: true,
        message: false,
        flags: false,
        subscription: false,
        mailbox_metadata: false,
        server_metadata: false,
    };

    #[test]
    fn filters_are_tried_in_order_and_none_stops() {
        let st = state(
            vec![
                (Filter::Mailboxes(vec!["Junk".into()]), Events::default()),
                (Filter::Personal, NAMES),
                (Filter::Subtree(vec!["Lists".into()]), MSG),
                (Filter::Inboxes, MSG),
            ],
            &[],
        );
        // PERSONAL matches INBOX but lacks message events: INBOXES decides.
        assert!(st.wants("INBOX", true, Kind::Message));
        assert!(st.wants("INBOX", true, Kind::MailboxName));
        // A matching NONE group ends the search.
        assert!(!st.wants("Junk", true, Kind::MailboxName));
        assert!(st.wants("Lists/rust", true, Kind::Message));
        assert!(st.wants("Lists", true, Kind::Message));
        assert!(!st.wants("Listsx", true, Kind::Message));
        assert!(!st.wants("Sent", true, Kind::Message));
        assert!(!st.wants("INBOX", true, Kind::Flags));
    }

    #[test]
    fn subscribed_and_shared_names() {
        let st = state(
            vec![(Filter::Subscribed, MSG)],
            &["Other Users/bob@x/INBOX", "Sent"],
        );
        assert!(st.wants("Sent", true, Kind::Message));
        assert!(st.wants("Other Users/bob@x/INBOX", false, Kind::Message));
        assert!(!st.wants("Drafts", true, Kind::Message));
        assert!(st.watches_foreign());
        let subtree = state(
            vec![(Filter::Subtree(vec!["Other Users".into()]), MSG)],
            &[],
        );
        assert!(subtree.watches_foreign());
        let personal = state(vec![(Filter::Personal, MSG)], &[]);
        assert!(!personal.watches_foreign());
        assert!(!personal.wants("Other Users/bob@x/INBOX", false, Kind::Message));
    }

    #[test]
    fn event_lists_follow_section_5() {
        use NotifyEvent::*;
        assert!(parse_events(&[MessageNew(None)]).is_err());
        assert!(parse_events(&[FlagChange]).is_err());
        assert!(parse_events(&[MessageExpunge, FlagChange]).is_err());
        let (ev, _) = parse_events(&[MessageNew(None), MessageExpunge, FlagChange]).unwrap();
        assert!(ev.message && ev.flags);
        let (ev, _) = parse_events(&[MailboxMetadataChange, ServerMetadataChange]).unwrap();
        assert!(ev.mailbox_metadata && ev.server_metadata && !ev.message);
        match parse_events(&[AnnotationChange]) {
            Err(CmdError::No { code: Some(c), .. }) => assert!(c.starts_with("BADEVENT (")),
            other => panic!("{other:?}"),
        }
        assert!(parse_events(&[]).unwrap().0.is_none());
    }
}
