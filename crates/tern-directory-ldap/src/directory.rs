//! [`LdapDirectory`]: the [`Directory`] over LDAP, shared by both profiles; the profile
//! specific parts (filters, account building, group walks) are in `ad.rs` and `generic.rs`.
use crate::config::{LdapConfig, Profile};
use crate::entry::Entry;
use crate::pool::{Conn, Endpoint, Pool, is_transport, map_err};
use crate::verify::LdapBindVerifier;
use async_trait::async_trait;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapError, Scope, SearchEntry};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tern_directory::{
    Account, AuthOutcome, Directory, DirectoryError, DirectoryResult, PasswordCheck,
    PasswordSubject, PasswordVerifier, Resolution,
};
use tokio::sync::OnceCell;

/// A directory entry that is a user, with what the password check needs.
pub(crate) struct Found {
    pub entry: Entry,
    pub account: Account,
}

pub(crate) struct Inner {
    pub cfg: LdapConfig,
    search: Pool,
    /// The lower-case DNS domain of `base_dn` (`example.test`), also the AD realm.
    pub domain: String,
    /// The mail group's DN, normalized, once found.
    pub mail_group_dn: OnceCell<Option<String>>,
    /// AD: the NetBIOS domain name (for `DOMAIN\user`), once asked.
    pub netbios: OnceCell<String>,
    /// AD: the domain's `lockoutDuration`, once asked.
    pub lockout_duration: OnceCell<Option<i64>>,
}

/// The LDAP / Active Directory directory.
#[derive(Clone)]
pub struct LdapDirectory {
    inner: Arc<Inner>,
    verifier: Arc<dyn PasswordVerifier>,
    bind_verifier: Arc<LdapBindVerifier>,
}

impl LdapDirectory {
    /// Builds the directory (no connection is made until the first request).
    pub fn new(cfg: LdapConfig) -> Result<LdapDirectory, String> {
        if cfg.urls.is_empty() {
            return Err("no directory URL".into());
        }
        for t in [&cfg.user_filter, &cfg.address_filter, &cfg.group_filter]
            .into_iter()
            .flatten()
        {
            let sample = crate::filter::fill(
                t,
                &[("login", "x"), ("address", "x"), ("dn", "x"), ("uid", "x")],
            );
            if !crate::filter::is_valid(&sample) {
                return Err(format!("{t:?} is not a valid LDAP filter"));
            }
        }
        let tls = cfg
            .ca_file
            .as_deref()
            .map(crate::pool::tls_config)
            .transpose()?;
        let endpoint = Endpoint {
            urls: cfg.urls.clone(),
            starttls: cfg.starttls,
            tls,
            timeout: cfg.timeout,
        };
        let preferred = Arc::new(AtomicUsize::new(0));
        let search = Pool::new(
            endpoint.clone(),
            cfg.bind.clone(),
            cfg.pool_size,
            preferred.clone(),
        );
        let binds = Arc::new(Pool::new(endpoint, None, cfg.pool_size, preferred));
        let bind_verifier = Arc::new(LdapBindVerifier::new(binds));
        let domain = crate::entry::dns_domain(&cfg.base_dn);
        Ok(LdapDirectory {
            inner: Arc::new(Inner {
                cfg,
                search,
                domain,
                mail_group_dn: OnceCell::new(),
                netbios: OnceCell::new(),
                lockout_duration: OnceCell::new(),
            }),
            verifier: bind_verifier.clone(),
            bind_verifier,
        })
    }

    /// Checks passwords with `verifier` instead of an LDAP bind (e.g. Kerberos).
    pub fn with_verifier(mut self, verifier: Arc<dyn PasswordVerifier>) -> LdapDirectory {
        self.verifier = verifier;
        self
    }

    /// The LDAP-bind verifier (to fall back on, or to compare with).
    pub fn bind_verifier(&self) -> Arc<LdapBindVerifier> {
        self.bind_verifier.clone()
    }

    /// The name of the verifier in use (`ldap-bind`, `kerberos`...).
    pub fn verifier_name(&self) -> &'static str {
        self.verifier.name()
    }

    pub fn profile(&self) -> Profile {
        self.inner.cfg.profile
    }

    /// The user a login names and the account built from it, refusals included
    /// (`enabled == false` with the reason).
    pub(crate) async fn find(&self, login: &str) -> DirectoryResult<Option<Found>> {
        let login = login.trim();
        if login.is_empty() || login.len() > 512 {
            return Ok(None);
        }
        let entries = match self.inner.cfg.profile {
            Profile::ActiveDirectory => self.inner.ad_find_user(login).await?,
            Profile::Generic => self.inner.generic_find_user(login).await?,
        };
        let entry = match entries.len() {
            0 => return Ok(None),
            1 => entries.into_iter().next().expect("one"),
            n => {
                tracing::warn!(%login, entries = n, "directory: login matches several entries, refused");
                return Ok(None);
            }
        };
        let account = self.inner.account_of(&entry).await?;
        Ok(Some(Found { entry, account }))
    }
}

impl Inner {
    /// One search (retried once on a fresh connection after a transport error).
    /// `noSuchObject` (a base that does not exist) is an empty result.
    pub async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> DirectoryResult<Vec<Entry>> {
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        for attempt in 0..2 {
            let mut conn = self.search.get(attempt > 0).await?;
            let res = conn
                .ldap
                .with_timeout(self.cfg.timeout)
                .search(base, scope, filter, attrs.clone())
                .await;
            match res {
                Ok(sr) => {
                    let rc = sr.1.rc;
                    if rc == 0 || rc == 32 || rc == 4 {
                        if rc == 4 {
                            tracing::warn!(%filter, "directory: size limit exceeded, partial result");
                        }
                        self.search.put(conn);
                        return Ok(entries(sr.0));
                    }
                    let e = LdapError::LdapResult { result: sr.1 };
                    if is_transport(&e) && attempt == 0 {
                        continue;
                    }
                    if !is_transport(&e) {
                        self.search.put(conn);
                    }
                    return Err(map_err(&format!("search {filter}"), e));
                }
                Err(e) if is_transport(&e) && attempt == 0 => continue,
                Err(e) => return Err(map_err(&format!("search {filter}"), e)),
            }
        }
        Err(DirectoryError::Unavailable("search failed twice".into()))
    }

    /// A subtree search under `base_dn` in pages (RFC 2696), for listings and big groups.
    pub async fn paged_search(&self, filter: &str, attrs: &[&str]) -> DirectoryResult<Vec<Entry>> {
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        for attempt in 0..2 {
            let conn = self.search.get(attempt > 0).await?;
            match self.paged_on(conn, filter, attrs.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if is_transport(&e) && attempt == 0 => continue,
                Err(e) => return Err(map_err(&format!("paged search {filter}"), e)),
            }
        }
        Err(DirectoryError::Unavailable(
            "paged search failed twice".into(),
        ))
    }

    async fn paged_on(
        &self,
        mut conn: Conn,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<Entry>, LdapError> {
        let adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(self.cfg.page_size)),
        ];
        let mut stream = conn
            .ldap
            .with_timeout(self.cfg.timeout)
            .streaming_search_with(adapters, &self.cfg.base_dn, Scope::Subtree, filter, attrs)
            .await?;
        let mut out = Vec::new();
        while let Some(e) = stream.next().await? {
            out.push(Entry::new(SearchEntry::construct(e)));
        }
        let res = stream.finish().await;
        if res.rc != 0 && res.rc != 32 {
            return Err(LdapError::LdapResult { result: res });
        }
        self.search.put(conn);
        Ok(out)
    }

    /// The mail group's DN, normalized (searched by name when the config gives a name).
    pub async fn mail_group(&self) -> DirectoryResult<Option<String>> {
        let Some(group) = &self.cfg.mail_group else {
            return Ok(None);
        };
        self.mail_group_dn
            .get_or_try_init(|| async {
                if group.contains('=') {
                    return Ok(Some(crate::entry::normalize_dn(group)));
                }
                let f = crate::filter::fill(
                    "(&(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))(|(cn={g})(sAMAccountName={g})))",
                    &[("g", group)],
                );
                let found = self
                    .search(&self.cfg.base_dn, Scope::Subtree, &f, &["cn"])
                    .await?;
                match found.as_slice() {
                    [one] => Ok(Some(crate::entry::normalize_dn(&one.dn))),
                    [] => Err(DirectoryError::Invalid(format!(
                        "mail_group {group:?}: no such group under {}",
                        self.cfg.base_dn
                    ))),
                    _ => Err(DirectoryError::Invalid(format!(
                        "mail_group {group:?} names several groups: give its DN"
                    ))),
                }
            })
            .await
            .cloned()
    }

    /// The account of a user entry, for either profile.
    pub async fn account_of(&self, entry: &Entry) -> DirectoryResult<Account> {
        match self.cfg.profile {
            Profile::ActiveDirectory => self.ad_account(entry).await,
            Profile::Generic => self.generic_account(entry).await,
        }
    }

    /// The quota of an entry: the attribute's value, else the default.
    pub fn quota_of(&self, entry: &Entry) -> Option<u64> {
        let Some(attr) = &self.cfg.quota_attribute else {
            return self.cfg.default_quota;
        };
        match entry.first(attr) {
            None => self.cfg.default_quota,
            Some(v) => match (self.cfg.quota_parser)(v) {
                Ok(q) => q,
                Err(e) => {
                    tracing::warn!(dn = %entry.dn, attribute = %attr, error = %e, "directory: bad quota value, default used");
                    self.cfg.default_quota
                }
            },
        }
    }

    /// Applies the mail-group gate and the "needs an address" rule to an account. "Not a
    /// mail user" wins over any other refusal (disabled, locked, password expired): such a
    /// user is unknown to mail (`resolve` says `NotFound`), and provisioning never gives
    /// them a mailbox, whatever else holds for their login.
    pub async fn gate(&self, account: &mut Account, group_dns: &[String]) -> DirectoryResult<()> {
        if account.addresses.is_empty() {
            account.enabled = false;
            account.disabled_reason = Some("no mail address in the directory".into());
            return Ok(());
        }
        if let Some(g) = self.mail_group().await? {
            let member = group_dns.iter().any(|d| crate::entry::normalize_dn(d) == g);
            if !member {
                account.enabled = false;
                account.disabled_reason = Some(self.not_in_mail_group());
            }
        }
        Ok(())
    }

    /// The refusal reason of a user outside the mail group.
    pub fn not_in_mail_group(&self) -> String {
        format!(
            "not a member of mail_group {}",
            self.cfg.mail_group.as_deref().unwrap_or_default()
        )
    }
}

fn entries(raw: Vec<ldap3::ResultEntry>) -> Vec<Entry> {
    raw.into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(|e| Entry::new(SearchEntry::construct(e)))
        .collect()
}

/// Lower-cases and de-duplicates addresses, keeping the first spelling's position.
pub(crate) fn push_address(list: &mut Vec<String>, address: &str) {
    let a = address.trim().to_lowercase();
    if a.contains('@') && !list.contains(&a) {
        list.push(a);
    }
}

/// `user+tag@domain` → `user@domain` (RFC 5233 subaddress), as the internal directory does.
fn without_subaddress(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, _tag) = local.split_once('+')?;
    (!base.is_empty()).then(|| format!("{base}@{domain}"))
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> DirectoryResult<AuthOutcome> {
        if password.is_empty() {
            return Ok(AuthOutcome::Failed {
                reason: "empty password".into(),
            });
        }
        let Some(found) = self.find(login).await? else {
            return Ok(AuthOutcome::Failed {
                reason: "no such user in the directory".into(),
            });
        };
        if !found.account.enabled {
            return Ok(AuthOutcome::Failed {
                reason: found
                    .account
                    .disabled_reason
                    .clone()
                    .unwrap_or_else(|| "account disabled".into()),
            });
        }
        let subject = PasswordSubject {
            login,
            dn: Some(&found.entry.dn),
            principal_hint: found
                .entry
                .first("sAMAccountName")
                .or_else(|| found.entry.first("uid")),
            upn: found.entry.first("userPrincipalName"),
            account: &found.account,
        };
        match self.verifier.verify(subject, password).await? {
            PasswordCheck::Valid => Ok(AuthOutcome::Ok(found.account)),
            PasswordCheck::Rejected { reason } => Ok(AuthOutcome::Failed {
                reason: format!("{} ({})", reason, self.verifier.name()),
            }),
        }
    }

    async fn lookup(&self, login: &str) -> DirectoryResult<Option<Account>> {
        Ok(self.find(login).await?.map(|f| f.account))
    }

    async fn resolve(&self, address: &str) -> DirectoryResult<Resolution> {
        let address = address.trim().to_lowercase();
        if !address.contains('@') || address.len() > 512 {
            return Ok(Resolution::NotFound);
        }
        let r = self.resolve_exact(&address).await?;
        if r != Resolution::NotFound {
            return Ok(r);
        }
        match without_subaddress(&address) {
            Some(base) => self.resolve_exact(&base).await,
            None => Ok(Resolution::NotFound),
        }
    }

    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        match self.inner.cfg.profile {
            Profile::ActiveDirectory => self.inner.ad_accounts().await,
            Profile::Generic => self.inner.generic_accounts().await,
        }
    }
}

impl LdapDirectory {
    async fn resolve_exact(&self, address: &str) -> DirectoryResult<Resolution> {
        let inner = &self.inner;
        let found = match inner.cfg.profile {
            Profile::ActiveDirectory => inner.ad_find_address(address).await?,
            Profile::Generic => inner.generic_find_address(address).await?,
        };
        let entry = match found.len() {
            0 => return Ok(Resolution::NotFound),
            1 => found.into_iter().next().expect("one"),
            n => {
                return Err(DirectoryError::Backend(format!(
                    "address {address} is on {n} directory entries"
                )));
            }
        };
        if inner.is_group(&entry) {
            let members = match inner.cfg.profile {
                Profile::ActiveDirectory => inner.ad_group_members(&entry).await?,
                Profile::Generic => inner.generic_group_members(&entry).await?,
            };
            return Ok(Resolution::Group(members));
        }
        let account = inner.account_of(&entry).await?;
        if !account.enabled && inner.not_mail_user(&account) {
            // Outside the mail group, or no address: as if unknown (a permanent refusal).
            return Ok(Resolution::NotFound);
        }
        Ok(Resolution::Account(account))
    }
}

impl Inner {
    fn is_group(&self, e: &Entry) -> bool {
        ["group", "groupOfNames", "groupOfUniqueNames", "posixGroup"]
            .iter()
            .any(|c| e.has_class(c))
    }

    /// Refused for a reason that means "not a mail user" (rather than a disabled one).
    fn not_mail_user(&self, account: &Account) -> bool {
        account.disabled_reason.as_deref().is_some_and(|r| {
            r.starts_with("not a member of mail_group") || r.starts_with("no mail address")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn not_a_mail_user_wins_over_other_refusals() {
        let mut cfg = LdapConfig::new(
            Profile::ActiveDirectory,
            vec!["ldap://127.0.0.1:1".into()],
            "DC=x,DC=test".into(),
        );
        cfg.mail_group = Some("CN=Mail Users,DC=x,DC=test".into());
        // A DN as mail_group needs no search: no server is asked.
        let dir = LdapDirectory::new(cfg).unwrap();
        let member = vec!["CN=Mail Users, DC=x, DC=test".to_string()];
        let refused = |reason: &str| Account {
            name: "a@x.test".into(),
            addresses: vec!["a@x.test".into()],
            enabled: false,
            disabled_reason: Some(reason.into()),
            ..Default::default()
        };
        for reason in [
            "password expired",
            "account locked out since x",
            "account disabled",
        ] {
            let mut a = refused(reason);
            dir.inner.gate(&mut a, &[]).await.unwrap();
            assert_eq!(
                a.disabled_reason.as_deref(),
                Some("not a member of mail_group CN=Mail Users,DC=x,DC=test")
            );
            assert!(dir.inner.not_mail_user(&a));
            // A member keeps the directory's own refusal.
            let mut a = refused(reason);
            dir.inner.gate(&mut a, &member).await.unwrap();
            assert_eq!(a.disabled_reason.as_deref(), Some(reason));
        }
        let mut ok = Account {
            enabled: true,
            ..refused("x")
        };
        ok.disabled_reason = None;
        dir.inner.gate(&mut ok, &member).await.unwrap();
        assert!(ok.enabled);
        let mut no_address = refused("account disabled");
        no_address.addresses.clear();
        dir.inner.gate(&mut no_address, &member).await.unwrap();
        assert!(dir.inner.not_mail_user(&no_address));
    }
}
