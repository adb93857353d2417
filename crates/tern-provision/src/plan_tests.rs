//! The planner, case by case: directory view + store view + recorded state → plan.
use super::*;

const NOW: i64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn policy() -> Policy {
    Policy {
        grace_secs: 30 * DAY,
        disabled_mail: DisabledMail::Defer,
        after_grace: AfterGrace::Archive,
    }
}

fn user(name: &str, quota: Option<u64>) -> Account {
    Account {
        name: name.into(),
        addresses: vec![name.into()],
        quota_bytes: quota,
        enabled: true,
        ..Default::default()
    }
}

fn refused(name: &str, reason: &str) -> Account {
    Account {
        enabled: false,
        disabled_reason: Some(reason.into()),
        ..user(name, Some(100))
    }
}

fn stored(id: i64, name: &str, record: Option<ProvisionRecord>) -> StoreAccount {
    StoreAccount {
        id: AccountId(id),
        name: name.into(),
        record,
        used_bytes: 0,
    }
}

fn active(quota: Option<u64>) -> Option<ProvisionRecord> {
    Some(ProvisionRecord {
        state: AccountState::Active,
        quota,
        updated: NOW - 100,
    })
}

fn disabled(since: i64, mail: DisabledMail) -> Option<ProvisionRecord> {
    Some(ProvisionRecord {
        state: AccountState::Disabled {
            since,
            mail,
            reason: "account disabled".into(),
        },
        quota: Some(100),
        updated: since,
    })
}

fn changes(p: &Plan) -> Vec<(String, &'static str)> {
    p.actions
        .iter()
        .map(|a| (a.account.clone(), a.change.name()))
        .collect()
}

fn pairs(v: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    v.iter().map(|(a, c)| (a.to_string(), *c)).collect()
}

/// What the store looks like after the executor applied `p` at `now` (its effects on the
/// store view, as `apply.rs` makes them).
fn after(p: &Plan, store: &[StoreAccount], pol: &Policy, now: i64) -> Vec<StoreAccount> {
    let mut out: Vec<StoreAccount> = store.to_vec();
    let mut next_id = 1000;
    for a in &p.actions {
        let record = |state| {
            Some(ProvisionRecord {
                state,
                quota: None,
                updated: now,
            })
        };
        match &a.change {
            Change::Create { quota } => {
                next_id += 1;
                let mut s = stored(next_id, &a.account, record(AccountState::Active));
                s.record.as_mut().unwrap().quota = *quota;
                out.push(s);
            }
            Change::Archive { .. } | Change::Delete { .. } => {
                out.retain(|s| s.name != a.account);
            }
            change => {
                let s = out.iter_mut().find(|s| s.name == a.account).unwrap();
                let old_quota = s.record.as_ref().and_then(|r| r.quota);
                s.record = match change {
                    Change::Adopt { quota }
                    | Change::Reactivate { quota }
                    | Change::UpdateQuota { to: quota, .. } => Some(ProvisionRecord {
                        state: AccountState::Active,
                        quota: *quota,
                        updated: now,
                    }),
                    Change::Disable { reason, mail } => Some(ProvisionRecord {
                        state: AccountState::Disabled {
                            since: now,
                            mail: *mail,
                            reason: reason.clone(),
                        },
                        quota: old_quota,
                        updated: now,
                    }),
                    Change::UpdatePolicy { to, .. } => {
                        let mut r = s.record.clone().unwrap();
                        if let AccountState::Disabled { mail, .. } = &mut r.state {
                            *mail = *to;
                        }
                        Some(r)
                    }
                    _ => unreachable!(),
                };
            }
        }
    }
    let _ = pol;
    out
}

#[test]
fn first_run_creates_mail_users_only() {
    let dir = vec![
        user("a@x.test", Some(1000)),
        user("b@x.test", None),
        refused(
            "c@x.test",
            "account disabled (userAccountControl ACCOUNTDISABLE)",
        ),
        refused("d@x.test", "not a member of mail_group CN=Mail,DC=x"),
        refused("e@x.test", "account expired on 2000-01-01 00:00:00 UTC"),
    ];
    let p = plan(&dir, &[], &policy(), NOW);
    assert_eq!(
        changes(&p),
        pairs(&[("a@x.test", "create"), ("b@x.test", "create")])
    );
    assert_eq!(p.actions[0].change, Change::Create { quota: Some(1000) });
    assert_eq!(p.actions[1].change, Change::Create { quota: None });
    assert_eq!(
        p.directory,
        DirectoryCounts {
            listed: 5,
            mail_users: 2,
            disabled: 2,
            not_mail_users: 1
        }
    );
    assert_eq!(p.counts()["create"], 2);
    assert_eq!(p.counts().values().sum::<usize>(), 2);
    assert_eq!(p.counts().len(), Change::NAMES.len());
}

#[test]
fn a_second_run_plans_nothing() {
    let pol = policy();
    let dir = vec![
        user("a@x.test", Some(1000)),
        user("b@x.test", None),
        refused("c@x.test", "account disabled"),
    ];
    let store = vec![
        stored(1, "c@x.test", active(Some(100))),
        stored(2, "old@x.test", None),
        stored(3, "b@x.test", None),
    ];
    let p1 = plan(&dir, &store, &pol, NOW);
    assert_eq!(
        changes(&p1),
        pairs(&[
            ("a@x.test", "create"),
            ("b@x.test", "adopt"),
            ("c@x.test", "disable"),
            ("old@x.test", "disable"),
        ])
    );
    let store2 = after(&p1, &store, &pol, NOW);
    let p2 = plan(&dir, &store2, &pol, NOW + 60);
    assert!(p2.actions.is_empty(), "{:?}", p2.actions);
    assert_eq!(p2.waiting.len(), 2);
    // ... and still nothing, however often, until the grace period is over.
    let p3 = plan(&dir, &store2, &pol, NOW + 29 * DAY as i64);
    assert!(p3.actions.is_empty());
}

#[test]
fn quota_follows_the_directory_and_over_quota_is_reported() {
    let dir = vec![user("a@x.test", Some(2000)), user("b@x.test", Some(500))];
    let mut b = stored(2, "b@x.test", active(Some(500)));
    b.used_bytes = 800;
    let store = vec![stored(1, "a@x.test", active(Some(1000))), b];
    let p = plan(&dir, &store, &policy(), NOW);
    assert_eq!(changes(&p), pairs(&[("a@x.test", "update-quota")]));
    assert_eq!(
        p.actions[0].change,
        Change::UpdateQuota {
            from: Some(1000),
            to: Some(2000)
        }
    );
    assert_eq!(
        p.over_quota,
        vec![OverQuota {
            account: "b@x.test".into(),
            used: 800,
            quota: 500
        }]
    );
    // Unlimited is a quota too.
    let dir = vec![user("a@x.test", None)];
    let p = plan(&dir, &store[..1], &policy(), NOW);
    assert_eq!(
        p.actions[0].change,
        Change::UpdateQuota {
            from: Some(1000),
            to: None
        }
    );
}

#[test]
fn disabled_outside_the_group_and_gone_are_disabled_with_the_policy() {
    let mut pol = policy();
    pol.disabled_mail = DisabledMail::Bounce;
    let dir = vec![
        refused(
            "dis@x.test",
            "account disabled (userAccountControl ACCOUNTDISABLE)",
        ),
        refused("out@x.test", "not a member of mail_group Mail Users"),
        refused("noaddr@x.test", "no mail address in the directory"),
    ];
    let store = vec![
        stored(1, "dis@x.test", active(Some(100))),
        stored(2, "out@x.test", active(Some(100))),
        stored(3, "gone@x.test", active(Some(100))),
        stored(4, "noaddr@x.test", active(None)),
    ];
    let p = plan(&dir, &store, &pol, NOW);
    let reasons: Vec<(String, String, DisabledMail)> = p
        .actions
        .iter()
        .map(|a| match &a.change {
            Change::Disable { reason, mail } => (a.account.clone(), reason.clone(), *mail),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "dis@x.test".into(),
                "account disabled (userAccountControl ACCOUNTDISABLE)".into(),
                DisabledMail::Bounce
            ),
            (
                "gone@x.test".into(),
                "not in the directory".into(),
                DisabledMail::Bounce
            ),
            (
                "noaddr@x.test".into(),
                "no mail address in the directory".into(),
                DisabledMail::Bounce
            ),
            (
                "out@x.test".into(),
                "not a member of mail_group Mail Users".into(),
                DisabledMail::Bounce
            ),
        ]
    );
    assert_eq!(p.actions[0].id, Some(AccountId(1)));
}

#[test]
fn the_grace_period_counts_from_the_recorded_disable() {
    let since = NOW - 10 * DAY as i64;
    let store = vec![stored(
        7,
        "gone@x.test",
        disabled(since, DisabledMail::Defer),
    )];
    let mut pol = policy();
    pol.grace_secs = 10 * DAY;
    // Due exactly now: archived.
    let p = plan(&[], &store, &pol, NOW);
    assert_eq!(
        p.actions,
        vec![Action {
            account: "gone@x.test".into(),
            id: Some(AccountId(7)),
            change: Change::Archive {
                disabled_since: since,
                reason: "not in the directory".into()
            }
        }]
    );
    // One second earlier: waiting, with the due date.
    let p = plan(&[], &store, &pol, NOW - 1);
    assert!(p.actions.is_empty());
    assert_eq!(
        p.waiting,
        vec![Waiting {
            account: "gone@x.test".into(),
            disabled_since: since,
            reason: "not in the directory".into(),
            due: Some(NOW)
        }]
    );
    pol.after_grace = AfterGrace::Delete;
    assert_eq!(
        changes(&plan(&[], &store, &pol, NOW)),
        pairs(&[("gone@x.test", "delete")])
    );
    pol.after_grace = AfterGrace::Keep;
    let p = plan(&[], &store, &pol, NOW + 1000 * DAY as i64);
    assert!(p.actions.is_empty());
    assert_eq!(p.waiting[0].due, None);
    // A grace of 0 s: due at the next run after the disable, not in the same one.
    pol.grace_secs = 0;
    pol.after_grace = AfterGrace::Archive;
    let fresh = vec![stored(8, "new@x.test", active(None))];
    assert_eq!(
        changes(&plan(&[], &fresh, &pol, NOW)),
        pairs(&[("new@x.test", "disable")])
    );
}

#[test]
fn a_user_back_within_the_grace_period_is_reactivated() {
    let dir = vec![user("back@x.test", Some(300))];
    let store = vec![stored(
        1,
        "back@x.test",
        disabled(NOW - DAY as i64, DisabledMail::Bounce),
    )];
    let p = plan(&dir, &store, &policy(), NOW);
    assert_eq!(p.actions[0].change, Change::Reactivate { quota: Some(300) });
    assert!(p.waiting.is_empty());
    // Even after the grace period: the user is back before anything was removed.
    let p = plan(&dir, &store, &policy(), NOW + 365 * DAY as i64);
    assert_eq!(changes(&p), pairs(&[("back@x.test", "reactivate")]));
}

#[test]
fn a_changed_policy_updates_disabled_accounts_within_grace_only() {
    let store = vec![
        stored(
            1,
            "young@x.test",
            disabled(NOW - DAY as i64, DisabledMail::Defer),
        ),
        stored(
            2,
            "old@x.test",
            disabled(NOW - 40 * DAY as i64, DisabledMail::Defer),
        ),
    ];
    let mut pol = policy();
    pol.disabled_mail = DisabledMail::Bounce;
    let p = plan(&[], &store, &pol, NOW);
    assert_eq!(
        changes(&p),
        pairs(&[("old@x.test", "archive"), ("young@x.test", "update-policy")])
    );
    assert_eq!(
        p.actions[1].change,
        Change::UpdatePolicy {
            from: DisabledMail::Defer,
            to: DisabledMail::Bounce
        }
    );
    let p2 = plan(&[], &after(&p, &store, &pol, NOW), &pol, NOW);
    assert!(p2.actions.is_empty(), "{:?}", p2.actions);
}

#[test]
fn names_compare_case_insensitively_and_duplicates_warn() {
    let dir = vec![
        user("Mixed@X.test", Some(1)),
        refused("dup@x.test", "account disabled"),
        user("dup@x.test", Some(5)),
    ];
    let store = vec![
        stored(1, "mixed@x.test", active(Some(1))),
        stored(2, "DUP@x.test", active(Some(5))),
    ];
    let p = plan(&dir, &store, &policy(), NOW);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].contains("dup@x.test"));
}

#[test]
fn reasons_from_the_directory_backends() {
    use tern_directory_ldap::ad_time::{UF_LOCKOUT, UF_PASSWORD_EXPIRED, now_filetime, refusal};
    let now = now_filetime();
    let with = |reason: Option<String>| Account {
        enabled: reason.is_none(),
        disabled_reason: reason,
        ..user("a@x.test", None)
    };
    let is = |r: Option<String>| standing(&with(r));
    assert_eq!(is(None), Standing::MailUser);
    // userAccountControl ACCOUNTDISABLE, and accountExpires in the past: disabled.
    assert!(matches!(
        is(refusal(0x202, None, 0, None, 0, now)),
        Standing::Disabled(_)
    ));
    assert!(matches!(
        is(refusal(0x200, None, 0, None, now - 1, now)),
        Standing::Disabled(_)
    ));
    // A lockout and an expired password are the user's to clear: still a mail user.
    assert_eq!(
        is(refusal(0x200, Some(UF_LOCKOUT), 5, None, 0, now)),
        Standing::MailUser
    );
    assert_eq!(
        is(refusal(0x200, Some(UF_PASSWORD_EXPIRED), 0, None, 0, now)),
        Standing::MailUser
    );
    // The generic LDAP profile's ppolicy lock.
    assert_eq!(
        is(Some(
            "account locked (pwdAccountLockedTime 20240101000000Z)".into()
        )),
        Standing::MailUser
    );
    // The mail-group gate and "no address" (tern-directory-ldap `Inner::gate`).
    assert!(matches!(
        is(Some("not a member of mail_group Mail Users".into())),
        Standing::NotMailUser(_)
    ));
    assert!(matches!(
        is(Some("no mail address in the directory".into())),
        Standing::NotMailUser(_)
    ));
    // Disabled without a reason (the internal directory).
    let mut a = user("a@x.test", None);
    a.enabled = false;
    assert!(matches!(standing(&a), Standing::Disabled(_)));
}
