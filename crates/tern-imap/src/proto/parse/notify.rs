//! NOTIFY (RFC 5465 §8).
//!
//! ```text
//! notify          = "NOTIFY" SP (notify-set / notify-none)
//! notify-none     = "NONE"
//! notify-set      = "SET" [status-indicator] SP event-groups
//! status-indicator = SP "STATUS"
//! event-groups    = event-group *(SP event-group)
//! event-group     = "(" filter-mailboxes SP events ")"
//! filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal" /
//!                   "subscribed" / ("subtree" SP one-or-more-mailbox) /
//!                   ("mailboxes" SP one-or-more-mailbox)
//! one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
//! events          = ("(" event *(SP event) ")") / "NONE"
//! event           = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
//!                   "MessageExpunge" / "FlagChange" / "AnnotationChange" / "MailboxName" /
//!                   "SubscriptionChange" / "MailboxMetadataChange" / "ServerMetadataChange"
//! ```

use super::fetch::fetch_att_list;
use super::lexer::{Cursor, PResult, fail};
use super::mailbox::mailbox;
use crate::proto::command::{CommandBody, NotifyCommand, NotifyEvent, NotifyFilter, NotifyGroup};

pub(crate) fn notify(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    if c.keyword("NONE") {
        return Ok(CommandBody::Notify(NotifyCommand::None));
    }
    if !c.keyword("SET") {
        return fail("Expected NOTIFY SET or NOTIFY NONE");
    }
    c.sp()?;
    let status = c.keyword("STATUS");
    if status {
        c.sp()?;
    }
    let mut groups = vec![event_group(c)?];
    while c.eat(b' ') {
        groups.push(event_group(c)?);
    }
    Ok(CommandBody::Notify(NotifyCommand::Set { status, groups }))
}

fn event_group(c: &mut Cursor<'_>) -> PResult<NotifyGroup> {
    c.expect(b'(', "'(' starting a NOTIFY event group")?;
    let filter = filter(c)?;
    c.sp()?;
    let events = if c.keyword("NONE") {
        Vec::new()
    } else {
        c.paren_list(false, event)?
    };
    c.expect(b')', "')' closing a NOTIFY event group")?;
    Ok(NotifyGroup { filter, events })
}

fn filter(c: &mut Cursor<'_>) -> PResult<NotifyFilter> {
    let name = c.atom_upper()?;
    Ok(match name.as_str() {
        "SELECTED" => NotifyFilter::Selected,
        "SELECTED-DELAYED" => NotifyFilter::SelectedDelayed,
        "INBOXES" => NotifyFilter::Inboxes,
        "PERSONAL" => NotifyFilter::Personal,
        "SUBSCRIBED" => NotifyFilter::Subscribed,
        "SUBTREE" => {
            c.sp()?;
            NotifyFilter::Subtree(one_or_more_mailbox(c)?)
        }
        "MAILBOXES" => {
            c.sp()?;
            NotifyFilter::Mailboxes(one_or_more_mailbox(c)?)
        }
        other => return fail(format!("Unknown NOTIFY filter {other}")),
    })
}

fn one_or_more_mailbox(c: &mut Cursor<'_>) -> PResult<Vec<String>> {
    if c.peek() == Some(b'(') {
        c.paren_list(false, mailbox)
    } else {
        Ok(vec![mailbox(c)?])
    }
}

fn event(c: &mut Cursor<'_>) -> PResult<NotifyEvent> {
    let name = c.atom_upper()?;
    Ok(match name.as_str() {
        "MESSAGENEW" => {
            if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
                c.sp()?;
                NotifyEvent::MessageNew(Some(fetch_att_list(c)?))
            } else {
                NotifyEvent::MessageNew(None)
            }
        }
        "MESSAGEEXPUNGE" => NotifyEvent::MessageExpunge,
        "FLAGCHANGE" => NotifyEvent::FlagChange,
        "ANNOTATIONCHANGE" => NotifyEvent::AnnotationChange,
        "MAILBOXNAME" => NotifyEvent::MailboxName,
        "SUBSCRIPTIONCHANGE" => NotifyEvent::SubscriptionChange,
        "MAILBOXMETADATACHANGE" => NotifyEvent::MailboxMetadataChange,
        "SERVERMETADATACHANGE" => NotifyEvent::ServerMetadataChange,
        other => return fail(format!("Unknown NOTIFY event {other}")),
    })
}
