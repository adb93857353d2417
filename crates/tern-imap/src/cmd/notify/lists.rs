//! MailboxName and SubscriptionChange (RFC 5465 §5.4, §5.5, §5.9): `* LIST` responses
//! found by comparing the listable mailboxes and the subscriptions with the ones last
//! reported. Mailboxes are compared by id, so a rename is one response with `OLDNAME`.

use super::events::state_mut;
use super::{Kind, Known, NotifyState};
use crate::cmd::CmdError;
use crate::session::Session;
use crate::session::mailbox_ref::{OTHER_USERS_PREFIX, visible};

/// The mailboxes the user can list now (own ones, and others' with `l`).
pub(super) async fn snapshot(s: &Session) -> Result<Vec<Known>, CmdError> {
    let Some(auth) = s.auth() else {
        return Ok(Vec::new());
    };
    Ok(visible(s.server.mail.store.as_ref(), auth)
        .await?
        .into_iter()
        .filter(|m| m.rights.has('l'))
        .map(|m| Known {
            id: m.info.id,
            account: m.info.account,
            own: m.is_personal(),
            special_use: m.info.special_use,
            name: m.name,
        })
        .collect())
}

/// Re-reads the mailbox list and subscriptions, reports what changed to the filters that
/// ask for it, and keeps the new state.
pub(super) async fn report_changes(s: &mut Session) -> Result<(), CmdError> {
    let Some(state) = s.notify.as_ref() else {
        return Ok(());
    };
    let (track_names, track_subs) = (state.tracks_names(), state.tracks_subscriptions());
    if !track_subs {
        return Ok(());
    }
    let account = s
        .auth()
        .map(|a| a.account_id)
        .expect("NOTIFY needs a login");
    let subs = s.server.mail.store.subscriptions(account).await?;
    let names = if track_names {
        Some(snapshot(s).await?)
    } else {
        None
    };
    let state = state_mut(s);
    let old_subs = std::mem::replace(&mut state.subscriptions, subs);
    let Some(names) = names else {
        return Ok(());
    };
    let old_names = std::mem::replace(&mut state.names, names);
    let lines = changes(state, &old_names, &old_subs);
    for (attrs, name, old) in lines {
        let mut line = format!("LIST ({attrs}) \"/\" {}", s.wire_mailbox(&name));
        if let Some(old) = old {
            line.push_str(&format!(" (\"OLDNAME\" ({}))", s.wire_mailbox(&old)));
        }
        s.untagged(line);
    }
    Ok(())
}

/// The LIST responses (attributes, name, old name) that tell a client with `state`'s
/// filters how `old_names` / `old_subs` became `state.names` / `state.subscriptions`.
fn changes(
    state: &NotifyState,
    old_names: &[Known],
    old_subs: &[String],
) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for k in &state.names {
        match old_names.iter().find(|o| o.id == k.id) {
            None if state.wants(&k.name, k.own, Kind::MailboxName) => {
                out.push((attributes(state, &k.name), k.name.clone(), None));
            }
            Some(o)
                if o.name != k.name
                    && (state.wants(&k.name, k.own, Kind::MailboxName)
                        || state.wants(&o.name, o.own, Kind::MailboxName)) =>
            {
                out.push((
                    attributes(state, &k.name),
                    k.name.clone(),
                    Some(o.name.clone()),
                ));
            }
            _ => {}
        }
    }
    for o in old_names {
        if !state.names.iter().any(|k| k.id == o.id)
            && state.wants(&o.name, o.own, Kind::MailboxName)
        {
            // §5.4: a deleted mailbox (or one no longer shared, §5.9) is \NonExistent.
            out.push(("\\NonExistent".to_string(), o.name.clone(), None));
        }
    }
    let own = |n: &str| !n.starts_with(OTHER_USERS_PREFIX);
    for n in &state.subscriptions {
        if !old_subs.contains(n) && state.wants(n, own(n), Kind::Subscription) {
            out.push((attributes(state, n), n.clone(), None));
        }
    }
    for n in old_subs {
        if !state.subscriptions.contains(n) && state.wants(n, own(n), Kind::Subscription) {
            out.push((attributes(state, n), n.clone(), None));
        }
    }
    out
}

/// The attributes LIST would give `name` now: `\HasChildren`/`\HasNoChildren` and the
/// special use for an existing mailbox, `\NonExistent` otherwise, and `\Subscribed`.
fn attributes(state: &NotifyState, name: &str) -> String {
    let mut attrs: Vec<&str> = Vec::new();
    match state.names.iter().find(|k| k.name == name) {
        Some(k) => {
            let prefix = format!("{name}/");
            let children = state.names.iter().any(|c| c.name.starts_with(&prefix));
            attrs.push(if children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if let Some(u) = k.special_use {
                attrs.push(u.attribute());
            }
        }
        None => attrs.push("\\NonExistent"),
    }
    if state.subscriptions.iter().any(|s| s == name) {
        attrs.push("\\Subscribed");
    }
    attrs.join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{Events, Filter};
    use super::*;
    use tern_store::{AccountId, MailboxId, SpecialUse};

    fn known(id: i64, name: &str) -> Known {
        Known {
            id: MailboxId(id),
            account: AccountId(1),
            own: true,
            name: name.into(),
            special_use: None,
        }
    }

    fn state(names: Vec<Known>, subs: &[&str]) -> NotifyState {
        let events = Events {
            mailbox_name: true,
            subscription: true,
            ..Events::default()
        };
        NotifyState {
            groups: vec![(Filter::Personal, events)],
            names,
            subscriptions: subs.iter().map(|s| s.to_string()).collect(),
            ..NotifyState::default()
        }
    }

    #[test]
    fn creations_renames_deletions_and_subscriptions() {
        let old = vec![known(1, "INBOX"), known(2, "Plans"), known(3, "Old")];
        let mut sent = known(4, "Sent");
        sent.special_use = Some(SpecialUse::Sent);
        let now = state(
            vec![
                known(1, "INBOX"),
                known(2, "Ideas"),
                known(5, "Ideas/2027"),
                sent,
            ],
            &["Ideas", "Gone"],
        );
        let got = changes(&now, &old, &["Gone".to_string(), "Old".to_string()]);
        assert_eq!(
            got,
            vec![
                (
                    "\\HasChildren \\Subscribed".into(),
                    "Ideas".into(),
                    Some("Plans".into())
                ),
                ("\\HasNoChildren".into(), "Ideas/2027".into(), None),
                ("\\HasNoChildren \\Sent".into(), "Sent".into(), None),
                ("\\NonExistent".into(), "Old".into(), None),
                ("\\HasChildren \\Subscribed".into(), "Ideas".into(), None),
                ("\\NonExistent".into(), "Old".into(), None),
            ]
        );
    }

    #[test]
    fn nothing_changed_nothing_sent() {
        let names = vec![known(1, "INBOX")];
        let now = state(names.clone(), &["INBOX"]);
        assert!(changes(&now, &names, &["INBOX".to_string()]).is_empty());
    }
}
