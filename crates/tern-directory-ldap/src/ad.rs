//! The Active Directory profile: no filters to write.
//!
//! - Logins: `sAMAccountName`, `DOMAIN\sAMAccountName` (NetBIOS domain, or the DNS domain),
//!   `userPrincipalName`, `sAMAccountName@REALM` (the DNS domain of `base_dn`), any address.
//! - Addresses: `proxyAddresses` `SMTP:` (primary) and `smtp:` (aliases), other address types
//!   (`X400:`, `SIP:`...) ignored; `mail` too (primary when there is no `SMTP:`).
//! - Refusals: `userAccountControl` ACCOUNTDISABLE, lockout (`lockoutTime` with the domain's
//!   `lockoutDuration`, or `msDS-User-Account-Control-Computed` when the server returns it),
//!   `accountExpires` in the past.
//! - Groups: every group the user is in, nested ones included, in one search with
//!   LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941); the server walks the chain, so
//!   membership loops are its problem, not ours. A group with `mail` is a distribution list:
//!   its members, nested ones included, by the same rule.
use crate::ad_time;
use crate::directory::{Inner, push_address};
use crate::entry::{Entry, domain_dn, rdn_value};
use crate::filter::{escape, fill};
use ldap3::Scope;
use tern_directory::{Account, DirectoryResult};

/// LDAP_MATCHING_RULE_IN_CHAIN: transitive membership evaluated by the server.
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

const USER: &str = "(objectCategory=person)(objectClass=user)";

const RFC2307: &[&str] = &[
    "uidNumber",
    "gidNumber",
    "unixHomeDirectory",
    "homeDirectory",
    "loginShell",
    "gecos",
];

impl Inner {
    fn ad_attrs(&self) -> Vec<&str> {
        let mut a = vec![
            "objectClass",
            "sAMAccountName",
            "userPrincipalName",
            "mail",
            "proxyAddresses",
            "userAccountControl",
            "msDS-User-Account-Control-Computed",
            "lockoutTime",
            "accountExpires",
            "displayName",
            "cn",
        ];
        a.extend_from_slice(RFC2307);
        if let Some(q) = &self.cfg.quota_attribute {
            a.push(q);
        }
        a
    }

    /// The user entries a login may name (0, 1, or an ambiguity the caller refuses).
    pub async fn ad_find_user(&self, login: &str) -> DirectoryResult<Vec<Entry>> {
        let mut alts = Vec::new();
        if let Some((domain, user)) = login.split_once('\\') {
            if user.is_empty() || !self.ad_domain_matches(domain).await {
                tracing::info!(%login, "directory: DOMAIN\\user with a foreign domain");
                return Ok(Vec::new());
            }
            alts.push(format!("(sAMAccountName={})", escape(user)));
        } else if let Some((local, domain)) = login.rsplit_once('@') {
            let a = escape(login);
            alts.push(format!("(userPrincipalName={a})"));
            alts.push(format!("(mail={a})"));
            alts.push(format!("(proxyAddresses=smtp:{a})"));
            if domain.eq_ignore_ascii_case(&self.domain) && !local.is_empty() {
                alts.push(format!("(sAMAccountName={})", escape(local)));
            }
        } else {
            alts.push(format!("(sAMAccountName={})", escape(login)));
        }
        let filter = format!("(&{USER}(|{}))", alts.concat());
        let attrs = self.ad_attrs();
        let found = self
            .search(&self.cfg.base_dn, Scope::Subtree, &filter, &attrs)
            .await?;
        // `alice@example.test` may be alice's UPN and her sAMAccountName@realm: one entry.
        let mut unique: Vec<Entry> = Vec::new();
        for e in found {
            if !unique.iter().any(|u| u.dn.eq_ignore_ascii_case(&e.dn)) {
                unique.push(e);
            }
        }
        Ok(unique)
    }

    /// Users and groups carrying an address.
    pub async fn ad_find_address(&self, address: &str) -> DirectoryResult<Vec<Entry>> {
        let filter = fill(
            "(&(|(&(objectCategory=person)(objectClass=user))(objectClass=group))\
             (|(mail={a})(proxyAddresses=smtp:{a})))",
            &[("a", address)],
        );
        let mut attrs = self.ad_attrs();
        attrs.push("member");
        self.search(&self.cfg.base_dn, Scope::Subtree, &filter, &attrs)
            .await
    }

    /// Whether `DOMAIN` of `DOMAIN\user` is this domain: its NetBIOS name (asked once), its
    /// DNS name or the DNS name's first label.
    async fn ad_domain_matches(&self, domain: &str) -> bool {
        let netbios = self
            .netbios
            .get_or_init(|| async {
                let root = domain_dn(&self.cfg.base_dn);
                let f = fill(
                    "(&(objectClass=crossRef)(nCName={dn}))",
                    &[("dn", &root)],
                );
                let base = format!("CN=Partitions,CN=Configuration,{root}");
                match self
                    .search(&base, Scope::Subtree, &f, &["nETBIOSName"])
                    .await
                {
                    Ok(found) => found
                        .iter()
                        .find_map(|e| e.first("nETBIOSName").map(str::to_string))
                        .unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!(error = %e, "directory: cannot read the NetBIOS domain name");
                        String::new()
                    }
                }
            })
            .await;
        let first_label = self.domain.split('.').next().unwrap_or_default();
        (!netbios.is_empty() && domain.eq_ignore_ascii_case(netbios))
            || domain.eq_ignore_ascii_case(&self.domain)
            || domain.eq_ignore_ascii_case(first_label)
    }

    /// The domain's `lockoutDuration` (asked once; `None` if unreadable).
    async fn ad_lockout_duration(&self) -> Option<i64> {
        *self
            .lockout_duration
            .get_or_init(|| async {
                let root = domain_dn(&self.cfg.base_dn);
                match self
                    .search(&root, Scope::Base, "(objectClass=*)", &["lockoutDuration"])
                    .await
                {
                    Ok(found) => found
                        .first()
                        .and_then(|e| e.first("lockoutDuration"))
                        .and_then(|v| v.trim().parse().ok()),
                    Err(e) => {
                        tracing::warn!(error = %e, "directory: cannot read lockoutDuration");
                        None
                    }
                }
            })
            .await
    }

    /// Every group a DN is in, nested membership included: `(dn, cn)`.
    async fn ad_groups_of(&self, dn: &str) -> DirectoryResult<Vec<(String, String)>> {
        let f = format!("(&(objectClass=group)(member:{IN_CHAIN}:={}))", escape(dn));
        let found = self
            .search(&self.cfg.base_dn, Scope::Subtree, &f, &["cn"])
            .await?;
        Ok(found
            .into_iter()
            .map(|g| {
                let name = g
                    .first("cn")
                    .map_or_else(|| rdn_value(&g.dn).to_string(), str::to_string);
                (g.dn, name)
            })
            .collect())
    }

    /// The account of a user entry, groups and refusals included.
    pub async fn ad_account(&self, e: &Entry) -> DirectoryResult<Account> {
        let mut account = self.ad_account_base(e).await;
        let groups = self.ad_groups_of(&e.dn).await?;
        let dns: Vec<String> = groups.iter().map(|(dn, _)| dn.clone()).collect();
        account.groups = groups.into_iter().map(|(_, name)| name).collect();
        account.groups.sort();
        self.gate(&mut account, &dns).await?;
        Ok(account)
    }

    /// Everything but groups and the mail-group gate.
    async fn ad_account_base(&self, e: &Entry) -> Account {
        let addresses = ad_addresses(e);
        let uac = e.int("userAccountControl").unwrap_or(0) as u64;
        let computed = e
            .int("msDS-User-Account-Control-Computed")
            .map(|v| v as u64);
        let lockout_time = e.int("lockoutTime").unwrap_or(0);
        let lockout_duration = if computed.is_none() && lockout_time > 0 {
            self.ad_lockout_duration().await
        } else {
            None
        };
        let refusal = ad_time::refusal(
            uac,
            computed,
            lockout_time,
            lockout_duration,
            e.int("accountExpires").unwrap_or(0),
            ad_time::now_filetime(),
        );
        let sam = e.first("sAMAccountName").unwrap_or_default();
        let name = addresses.first().cloned().unwrap_or_else(|| {
            // No address: not a mail user (the gate says so); a stable name for the logs.
            format!("{}@{}", sam.to_lowercase(), self.domain)
        });
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("dn".to_string(), e.dn.clone());
        for a in ["sAMAccountName", "userPrincipalName"]
            .iter()
            .chain(RFC2307.iter())
        {
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
            name,
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

    /// The primary addresses of a group's users, nested groups included.
    pub async fn ad_group_members(&self, group: &Entry) -> DirectoryResult<Vec<String>> {
        let f = format!("(&{USER}(memberOf:{IN_CHAIN}:={}))", escape(&group.dn));
        let users = self.paged_search(&f, &["mail", "proxyAddresses"]).await?;
        let mut out = Vec::new();
        for u in &users {
            if let Some(primary) = ad_addresses(u).into_iter().next()
                && !out.contains(&primary)
            {
                out.push(primary);
            }
        }
        Ok(out)
    }

    /// Every user with an address (paged), the gate applied without a search per user.
    pub async fn ad_accounts(&self) -> DirectoryResult<Vec<Account>> {
        let f = format!("(&{USER}(|(mail=*)(proxyAddresses=smtp:*)))");
        let mut attrs = self.ad_attrs();
        attrs.push("memberOf");
        let users = self.paged_search(&f, &attrs).await?;
        let members: Option<std::collections::HashSet<String>> = match self.mail_group().await? {
            None => None,
            Some(g) => {
                let f = format!("(&{USER}(memberOf:{IN_CHAIN}:={}))", escape(&g));
                let m = self.paged_search(&f, &["cn"]).await?;
                Some(
                    m.iter()
                        .map(|e| crate::entry::normalize_dn(&e.dn))
                        .collect(),
                )
            }
        };
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            let mut a = self.ad_account_base(u).await;
            a.groups = u
                .all("memberOf")
                .iter()
                .map(|d| rdn_value(d).to_string())
                .collect();
            a.groups.sort();
            // As `gate`: outside the mail group wins over any other refusal.
            if let Some(m) = &members
                && !m.contains(&crate::entry::normalize_dn(&u.dn))
            {
                a.enabled = false;
                a.disabled_reason = Some(self.not_in_mail_group());
            }
            out.push(a);
        }
        Ok(out)
    }
}

/// `SMTP:` primary first, then `mail`, then `smtp:` aliases; lower-case, each once.
pub fn ad_addresses(e: &Entry) -> Vec<String> {
    let mut primary = Vec::new();
    let mut aliases = Vec::new();
    for p in e.all("proxyAddresses") {
        let Some((kind, addr)) = p.split_once(':') else {
            continue;
        };
        if kind == "SMTP" {
            push_address(&mut primary, addr);
        } else if kind.eq_ignore_ascii_case("smtp") {
            push_address(&mut aliases, addr);
        }
    }
    let mut out = Vec::new();
    if let Some(p) = primary.first() {
        push_address(&mut out, p);
    }
    if let Some(m) = e.first("mail") {
        push_address(&mut out, m);
    }
    for a in primary.iter().skip(1).chain(aliases.iter()) {
        push_address(&mut out, a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_addresses() {
        let e = Entry::with(
            "CN=A,DC=x",
            &[
                ("mail", &["Alice@Example.test"]),
                (
                    "proxyAddresses",
                    &[
                        "smtp:al@example.test",
                        "X400:c=US;a= ;p=Example;o=Ex;s=Alice;",
                        "SMTP:Alice.Liddell@Example.test",
                        "sip:alice@example.test",
                        "smtp:ALICE@example.test",
                    ],
                ),
            ],
        );
        assert_eq!(
            ad_addresses(&e),
            vec![
                "alice.liddell@example.test",
                "alice@example.test",
                "al@example.test"
            ]
        );
        let only_mail = Entry::with("CN=B,DC=x", &[("mail", &["b@x.test"])]);
        assert_eq!(ad_addresses(&only_mail), vec!["b@x.test"]);
        assert!(ad_addresses(&Entry::with("CN=C,DC=x", &[])).is_empty());
    }
}
