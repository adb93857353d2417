//! The planner: what the directory says + what the store holds + what provisioning recorded
//! → the changes to make. A pure function (no I/O, the clock passed in), so every case is a
//! unit test (`plan_tests.rs`) and `--dry-run` shows exactly what a run would do.
//!
//! Rules, per account name (the directory's canonical name, lower-case):
//! - a mail user without a store account → `create`; with one that provisioning never
//!   recorded → `adopt`; recorded active with another quota → `update-quota`; recorded
//!   disabled → `reactivate`;
//! - a store account whose user is disabled, outside the mail group or gone from the
//!   directory → `disable` (if not yet); disabled for longer than the grace period →
//!   `archive` or `delete` (or nothing with `keep`); disabled under another mail policy than
//!   the run's → `update-policy`;
//! - a disabled or non-mail user without a store account: nothing (never created);
//! - over-quota accounts are reported, never touched.
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tern_directory::Account;
use tern_mail::account_state::{AccountState, DisabledMail, ProvisionRecord};
use tern_store::AccountId;

/// What happens to a disabled account once its grace period has run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterGrace {
    /// Export its folders (Maildir++ under the archive folder), then delete it.
    Archive,
    /// Delete it (messages, folders, scripts; the blobs are collected later).
    Delete,
    /// Leave it disabled.
    Keep,
}

impl AfterGrace {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterGrace::Archive => "archive",
            AfterGrace::Delete => "delete",
            AfterGrace::Keep => "keep",
        }
    }

    pub fn parse(s: &str) -> Option<AfterGrace> {
        match s {
            "archive" => Some(AfterGrace::Archive),
            "delete" => Some(AfterGrace::Delete),
            "keep" => Some(AfterGrace::Keep),
            _ => None,
        }
    }
}

/// The rules of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How long an account stays disabled before [`Policy::after_grace`] applies.
    pub grace_secs: u64,
    /// What mail to a disabled account gets.
    pub disabled_mail: DisabledMail,
    pub after_grace: AfterGrace,
}

/// How the directory sees one listed user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Should have mail. A locked-out user or an expired password counts: the directory
    /// refuses the login until it is cleared, but that is no reason to stop the mail.
    MailUser,
    /// Disabled or expired in the directory (the reason).
    Disabled(String),
    /// Listed but not a mail user: outside the mail group, or no address (the reason).
    NotMailUser(String),
}

/// Reads the directory's verdict. The reasons are the backends' (`tern-directory-ldap`:
/// `ad_time::refusal`, the generic profile's lock and expiry, `Inner::gate`); the unit tests
/// pin the ones that matter here.
pub fn standing(a: &Account) -> Standing {
    if a.enabled {
        return Standing::MailUser;
    }
    let reason = a
        .disabled_reason
        .clone()
        .unwrap_or_else(|| "disabled in the directory".into());
    if reason.starts_with("not a member of mail_group") || reason.starts_with("no mail address") {
        Standing::NotMailUser(reason)
    } else if reason.starts_with("account locked") || reason.starts_with("password expired") {
        Standing::MailUser
    } else {
        Standing::Disabled(reason)
    }
}

/// One store account as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreAccount {
    pub id: AccountId,
    /// The store's name (the directory's canonical name when provisioning created it).
    pub name: String,
    pub record: Option<ProvisionRecord>,
    pub used_bytes: u64,
}

/// One change. Quotas are octets, `null` (None) meaning unlimited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    /// Create the store account, its default folders, and record its quota.
    Create { quota: Option<u64> },
    /// A store account provisioning never recorded (made at first login, migrated...):
    /// state and quota recorded, its folders left as they are.
    Adopt { quota: Option<u64> },
    /// The directory's quota changed since the last run.
    UpdateQuota { from: Option<u64>, to: Option<u64> },
    /// The user is a mail user again: mail is accepted, the grace period is forgotten.
    Reactivate { quota: Option<u64> },
    /// The user is disabled or gone: mail is deferred or bounced, the grace period starts.
    Disable { reason: String, mail: DisabledMail },
    /// A disabled account's mail policy changed.
    UpdatePolicy {
        from: DisabledMail,
        to: DisabledMail,
    },
    /// The grace period is over: export, then delete.
    Archive { disabled_since: i64, reason: String },
    /// The grace period is over: delete.
    Delete { disabled_since: i64, reason: String },
}

impl Change {
    /// Every change's name, in report order.
    pub const NAMES: [&'static str; 8] = [
        "create",
        "adopt",
        "update-quota",
        "reactivate",
        "disable",
        "update-policy",
        "archive",
        "delete",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Adopt { .. } => "adopt",
            Change::UpdateQuota { .. } => "update-quota",
            Change::Reactivate { .. } => "reactivate",
            Change::Disable { .. } => "disable",
            Change::UpdatePolicy { .. } => "update-policy",
            Change::Archive { .. } => "archive",
            Change::Delete { .. } => "delete",
        }
    }
}

/// A change to one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Action {
    pub account: String,
    /// The store account (`None` for `create`).
    #[serde(skip)]
    pub id: Option<AccountId>,
    #[serde(flatten)]
    pub change: Change,
}

/// An account holding more than its quota (reported, not touched).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverQuota {
    pub account: String,
    pub used: u64,
    pub quota: u64,
}

/// A disabled account within its grace period (or kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub account: String,
    pub disabled_since: i64,
    pub reason: String,
    /// When the after-grace step is due (Unix seconds); `None` with `keep`.
    pub due: Option<i64>,
}

/// What the directory listed, by standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryCounts {
    pub listed: usize,
    pub mail_users: usize,
    pub disabled: usize,
    pub not_mail_users: usize,
}

/// The plan of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by account name.
    pub actions: Vec<Action>,
    pub over_quota: Vec<OverQuota>,
    pub waiting: Vec<Waiting>,
    pub warnings: Vec<String>,
    pub directory: DirectoryCounts,
    pub store_accounts: usize,
}

impl Plan {
    /// Planned changes by name (every name present, zeros included).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut c: BTreeMap<&'static str, usize> = Change::NAMES.iter().map(|n| (*n, 0)).collect();
        for a in &self.actions {
            *c.entry(a.change.name()).or_default() += 1;
        }
        c
    }
}

/// Plans a run. `now` is Unix seconds.
pub fn plan(directory: &[Account], store: &[StoreAccount], policy: &Policy, now: i64) -> Plan {
    let mut out = Plan {
        store_accounts: store.len(),
        ..Plan::default()
    };
    // The directory by account name. A name listed twice (two entries with one address):
    // a mail user wins, and the operator is told.
    let mut users: BTreeMap<String, (Standing, Option<u64>)> = BTreeMap::new();
    for a in directory {
        let standing = standing(a);
        let c = &mut out.directory;
        c.listed += 1;
        match &standing {
            Standing::MailUser => c.mail_users += 1,
            Standing::Disabled(_) => c.disabled += 1,
            Standing::NotMailUser(_) => c.not_mail_users += 1,
        }
        let name = a.name.to_lowercase();
        match users.get_mut(&name) {
            None => {
                users.insert(name, (standing, a.quota_bytes));
            }
            Some(seen) => {
                out.warnings.push(format!(
                    "{name}: more than one directory entry has this address"
                ));
                if standing == Standing::MailUser && seen.0 != Standing::MailUser {
                    *seen = (standing, a.quota_bytes);
                }
            }
        }
    }
    let stored: HashMap<String, &StoreAccount> =
        store.iter().map(|s| (s.name.to_lowercase(), s)).collect();

    for (name, (standing, quota)) in &users {
        let found = stored.get(name).copied();
        match (standing, found) {
            (Standing::MailUser, None) => out.push(name, None, Change::Create { quota: *quota }),
            (Standing::MailUser, Some(s)) => {
                let change = match &s.record {
                    None => Some(Change::Adopt { quota: *quota }),
                    Some(r) => match r.state {
                        AccountState::Disabled { .. } => Some(Change::Reactivate { quota: *quota }),
                        AccountState::Active if r.quota != *quota => Some(Change::UpdateQuota {
                            from: r.quota,
                            to: *quota,
                        }),
                        AccountState::Active => None,
                    },
                };
                if let Some(change) = change {
                    out.push(name, Some(s.id), change);
                }
                if let Some(q) = quota
                    && s.used_bytes > *q
                {
                    out.over_quota.push(OverQuota {
                        account: name.clone(),
                        used: s.used_bytes,
                        quota: *q,
                    });
                }
            }
            (Standing::Disabled(reason) | Standing::NotMailUser(reason), Some(s)) => {
                out.retire(name, s, reason, policy, now);
            }
            (_, None) => {}
        }
    }
    let mut gone: Vec<(&String, &&StoreAccount)> = stored
        .iter()
        .filter(|(name, _)| !users.contains_key(*name))
        .collect();
    gone.sort_by(|a, b| a.0.cmp(b.0));
    for (name, s) in gone {
        out.retire(name, s, "not in the directory", policy, now);
    }
    out.actions.sort_by(|a, b| a.account.cmp(&b.account));
    out.waiting.sort_by(|a, b| a.account.cmp(&b.account));
    out
}

impl Plan {
    fn push(&mut self, name: &str, id: Option<AccountId>, change: Change) {
        self.actions.push(Action {
            account: name.to_string(),
            id,
            change,
        });
    }

    /// A store account whose user should not have mail (any more).
    fn retire(&mut self, name: &str, s: &StoreAccount, reason: &str, p: &Policy, now: i64) {
        let (since, mail) = match s.record.as_ref().map(|r| &r.state) {
            None | Some(AccountState::Active) => {
                return self.push(
                    name,
                    Some(s.id),
                    Change::Disable {
                        reason: reason.to_string(),
                        mail: p.disabled_mail,
                    },
                );
            }
            Some(AccountState::Disabled { since, mail, .. }) => (*since, *mail),
        };
        let due = since.saturating_add(i64::try_from(p.grace_secs).unwrap_or(i64::MAX));
        let reason = reason.to_string();
        match p.after_grace {
            AfterGrace::Archive if now >= due => {
                return self.push(
                    name,
                    Some(s.id),
                    Change::Archive {
                        disabled_since: since,
                        reason,
                    },
                );
            }
            AfterGrace::Delete if now >= due => {
                return self.push(
                    name,
                    Some(s.id),
                    Change::Delete {
                        disabled_since: since,
                        reason,
                    },
                );
            }
            _ => {}
        }
        if mail != p.disabled_mail {
            self.push(
                name,
                Some(s.id),
                Change::UpdatePolicy {
                    from: mail,
                    to: p.disabled_mail,
                },
            );
        }
        self.waiting.push(Waiting {
            account: name.to_string(),
            disabled_since: since,
            reason,
            due: (p.after_grace != AfterGrace::Keep).then_some(due),
        });
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
