//! The generic LDAP profile (inetOrgPerson / posixAccount, e.g. OpenLDAP).
//!
//! - Users by `user_filter` (default: `uid`, `mail` or `mailAlternateAddress` equal to the
//!   login), addresses from `mail` (primary: the first) and `mailAlternateAddress`.
//! - Refusals: ppolicy's `pwdAccountLockedTime` (locked), `shadowExpire` in the past.
//! - Groups by `group_filter` (groupOfNames / groupOfUniqueNames / posixGroup by default),
//!   nested membership walked here breadth-first with a visited set and a depth bound (no
//!   IN_CHAIN rule in OpenLDAP), so membership loops end.
//! - A group with `mail` is a distribution list: members' addresses (member groups with an
//!   address are left to the SMTP expansion, groups without one are walked here).
use crate::config::{GENERIC_ADDRESS_FILTER, GENERIC_GROUP_FILTER, GENERIC_USER_FILTER};
use crate::directory::{Inner, push_address};
use crate::entry::{Entry, normalize_dn, rdn_value};
use crate::filter::fill;
use ldap3::Scope;
use std::collections::{BTreeMap, HashSet};
use tern_directory::{Account, DirectoryResult};

/// How deep nested groups are followed.
const MAX_DEPTH: usize = 16;
/// How many member entries one group expansion reads at most.
const MAX_MEMBERS: usize = 100_000;

const RFC2307: &[&str] = &[
    "uidNumber",
    "gidNumber",
    "homeDirectory",
    "loginShell",
    "gecos",
];

impl Inner {
    fn generic_attrs(&self) -> Vec<&str> {
        let mut a = vec![
            "objectClass",
            "uid",
            "cn",
            "displayName",
            "mail",
            "mailAlternateAddress",
            "pwdAccountLockedTime",
            "shadowExpire",
            "member",
            "uniqueMember",
            "memberUid",
        ];
        a.extend_from_slice(RFC2307);
        if let Some(q) = &self.cfg.quota_attribute {
            a.push(q);
        }
        a
    }

    pub async fn generic_find_user(&self, login: &str) -> DirectoryResult<Vec<Entry>> {
        let t = self
            .cfg
            .user_filter
            .as_deref()
            .unwrap_or(GENERIC_USER_FILTER);
        let f = fill(t, &[("login", login)]);
        let attrs = self.generic_attrs();
        self.search(&self.cfg.base_dn, Scope::Subtree, &f, &attrs)
            .await
    }

    pub async fn generic_find_address(&self, address: &str) -> DirectoryResult<Vec<Entry>> {
        let t = self
            .cfg
            .address_filter
            .as_deref()
            .unwrap_or(GENERIC_ADDRESS_FILTER);
        let f = fill(t, &[("address", address)]);
        let attrs = self.generic_attrs();
        self.search(&self.cfg.base_dn, Scope::Subtree, &f, &attrs)
            .await
    }

    /// Every group `dn` is in, nested: `(dn, cn)`, walked breadth-first.
    async fn generic_groups_of(
        &self,
        dn: &str,
        uid: &str,
    ) -> DirectoryResult<Vec<(String, String)>> {
        let t = self
            .cfg
            .group_filter
            .as_deref()
            .unwrap_or(GENERIC_GROUP_FILTER);
        let mut seen: HashSet<String> = HashSet::from([normalize_dn(dn)]);
        let mut out = Vec::new();
        let mut level: Vec<(String, String)> = vec![(dn.to_string(), uid.to_string())];
        for _ in 0..MAX_DEPTH {
            if level.is_empty() {
                break;
            }
            let parts: Vec<String> = level
                .iter()
                .map(|(d, u)| fill(t, &[("dn", d), ("uid", u)]))
                .collect();
            let f = if parts.len() == 1 {
                parts[0].clone()
            } else {
                format!("(|{})", parts.concat())
            };
            let found = self
                .search(&self.cfg.base_dn, Scope::Subtree, &f, &["cn"])
                .await?;
            let mut next = Vec::new();
            for g in found {
                if seen.insert(normalize_dn(&g.dn)) {
                    let name = g
                        .first("cn")
                        .map_or_else(|| rdn_value(&g.dn).to_string(), str::to_string);
                    // A group is matched by its DN only (memberUid names users).
                    next.push((g.dn.clone(), g.dn.clone()));
                    out.push((g.dn, name));
                }
            }
            level = next;
        }
        Ok(out)
    }

    pub async fn generic_account(&self, e: &Entry) -> DirectoryResult<Account> {
        let mut account = self.generic_account_base(e);
        let uid = e.first("uid").unwrap_or_default();
        let groups = self.generic_groups_of(&e.dn, uid).await?;
        let dns: Vec<String> = groups.iter().map(|(d, _)| d.clone()).collect();
        account.groups = groups.into_iter().map(|(_, n)| n).collect();
        account.groups.sort();
        self.gate(&mut account, &dns).await?;
        Ok(account)
    }

    fn generic_account_base(&self, e: &Entry) -> Account {
        let mut addresses = Vec::new();
        for m in e.all("mail").iter().chain(e.all("mailAlternateAddress")) {
            push_address(&mut addresses, m);
        }
        let uid = e.first("uid").unwrap_or_default();
        let refusal = generic_refusal(e);
        let mut attributes = BTreeMap::new();
        attributes.insert("dn".to_string(), e.dn.clone());
        for a in std::iter::once(&"uid").chain(RFC2307.iter()) {
            if let Some(v) = e.first(a) {
                attributes.insert(a.to_string(), v.to_string());
            }
        }
        if let Some(q) = &self.cfg.quota_attribute
            && let Some(v) = e.first(q)
        {
            attributes.insert(q.clone(), v.to_string());
        }
        Account {
            name: addresses
                .first()
                .cloned()
                .unwrap_or_else(|| format!("{}@{}", uid.to_lowercase(), self.domain)),
            addresses,
            quota_bytes: self.quota_of(e),
            enabled: refusal.is_none(),
            display_name: e
                .first("displayName")
                .or_else(|| e.first("cn"))
                .map(str::to_string),
            groups: Vec::new(),
            disabled_reason: refusal,
            attributes,
        }
    }

    /// The addresses a mail-enabled group delivers to, nested groups without an address
    /// walked here (visited set: loops end).
    pub async fn generic_group_members(&self, group: &Entry) -> DirectoryResult<Vec<String>> {
        let mut seen: HashSet<String> = HashSet::from([normalize_dn(&group.dn)]);
        let mut out = Vec::new();
        let mut level: Vec<Entry> = vec![group.clone()];
        let mut read = 0usize;
        let attrs = self.generic_attrs();
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for g in &level {
                let mut dns: Vec<String> = g.all("member").to_vec();
                dns.extend(g.all("uniqueMember").iter().cloned());
                for dn in dns {
                    if !seen.insert(normalize_dn(&dn)) {
                        continue;
                    }
                    read += 1;
                    if read > MAX_MEMBERS {
                        return Err(tern_directory::DirectoryError::Backend(format!(
                            "group {} has more than {MAX_MEMBERS} members",
                            group.dn
                        )));
                    }
                    for m in self
                        .search(&dn, Scope::Base, "(objectClass=*)", &attrs)
                        .await?
                    {
                        self.take_member(m, &mut out, &mut next);
                    }
                }
                for uid in g.all("memberUid") {
                    let f = fill("(&(objectClass=posixAccount)(uid={u}))", &[("u", uid)]);
                    for m in self
                        .search(&self.cfg.base_dn, Scope::Subtree, &f, &attrs)
                        .await?
                    {
                        if seen.insert(normalize_dn(&m.dn)) {
                            self.take_member(m, &mut out, &mut next);
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Ok(out)
    }

    fn take_member(&self, m: Entry, out: &mut Vec<String>, next: &mut Vec<Entry>) {
        let first = m.first("mail").map(str::to_string);
        match first {
            Some(addr) => push_address(out, &addr),
            None if self.is_group_entry(&m) => next.push(m),
            None => {}
        }
    }

    fn is_group_entry(&self, e: &Entry) -> bool {
        ["groupOfNames", "groupOfUniqueNames", "posixGroup", "group"]
            .iter()
            .any(|c| e.has_class(c))
    }

    pub async fn generic_accounts(&self) -> DirectoryResult<Vec<Account>> {
        let t = self
            .cfg
            .user_filter
            .as_deref()
            .unwrap_or(GENERIC_USER_FILTER);
        let f = fill(t, &[("login", "*")]).replace("\\2a", "*");
        let attrs = self.generic_attrs();
        let users = self.paged_search(&f, &attrs).await?;
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            let a = self.generic_account(u).await?;
            if !a.addresses.is_empty() {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// ppolicy lock and shadow expiry.
fn generic_refusal(e: &Entry) -> Option<String> {
    if let Some(t) = e.first("pwdAccountLockedTime") {
        return Some(format!("account locked (pwdAccountLockedTime {t})"));
    }
    if let Some(days) = e.int("shadowExpire")
        && days >= 0
    {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i128
            / 86_400;
        if days <= today {
            return Some(format!("account expired (shadowExpire {days})"));
        }
    }
    None
}
