//! What the LDAP backend is built from (the `[directory]` table, read by the `tern` binary).
use std::sync::Arc;
use std::time::Duration;

/// Which schema the directory speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Active Directory (or Samba AD): sAMAccountName, userPrincipalName, proxyAddresses,
    /// userAccountControl, nested groups by LDAP_MATCHING_RULE_IN_CHAIN. No filters to write.
    ActiveDirectory,
    /// inetOrgPerson / posixAccount (OpenLDAP...): uid, mail, mailAlternateAddress, with
    /// configurable filters.
    Generic,
}

/// Parses a quota attribute's value: `Ok(None)` is unlimited. Injected by the binary so the
/// directory and the rest of Tern read sizes the same way.
pub type QuotaParser = Arc<dyn Fn(&str) -> Result<Option<u64>, String> + Send + Sync>;

/// How the service account binds the search connections.
#[derive(Clone, PartialEq, Eq)]
pub enum ServiceBind {
    /// No bind: anonymous searches.
    Anonymous,
    /// A simple bind with the service account's DN and password.
    Simple { dn: String, password: String },
    /// SASL GSSAPI (Kerberos) with the process's initiator credentials: MIT krb5 gets them
    /// from the client keytab `KRB5_CLIENT_KTNAME` names (set before the runtime starts, see
    /// `tern_kerberos::prepare_environment`) into the memory cache, and gets fresh ones from
    /// the keytab when they are half-way to expiry. No password anywhere.
    Gssapi {
        /// The service account's principal (`tern-svc@EXAMPLE.TEST`); `None`: the first
        /// principal in the client keytab.
        principal: Option<String>,
        /// The host of the directory's `ldap/HOST` service principal; `None`: each URL's host
        /// (give it when the URLs hold IP addresses).
        host: Option<String>,
    },
}

impl std::fmt::Debug for ServiceBind {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceBind::Anonymous => f.write_str("Anonymous"),
            ServiceBind::Simple { dn, .. } => write!(f, "Simple({dn})"),
            ServiceBind::Gssapi { principal, host } => {
                write!(f, "Gssapi(principal: {principal:?}, host: {host:?})")
            }
        }
    }
}

#[derive(Clone)]
pub struct LdapConfig {
    pub profile: Profile,
    /// `ldap://` or `ldaps://`, tried in order (failover).
    pub urls: Vec<String>,
    pub base_dn: String,
    /// How the search connections bind (the service account).
    pub bind: ServiceBind,
    /// PEM CA certificates to trust for LDAPS/StartTLS (`None`: the system's).
    pub ca_file: Option<std::path::PathBuf>,
    /// StartTLS on `ldap://` URLs.
    pub starttls: bool,
    /// Connect and per-operation timeout.
    pub timeout: Duration,
    /// Connections per pool (searches, and user binds, each).
    pub pool_size: usize,
    /// Only members (nested membership counts) may use mail: a DN, or a group name.
    pub mail_group: Option<String>,
    /// The attribute holding a user's quota (bytes, or a size such as `2GB`).
    pub quota_attribute: Option<String>,
    /// The quota of users without one.
    pub default_quota: Option<u64>,
    pub quota_parser: QuotaParser,
    /// Generic profile: finds a user by login; hole `{login}`.
    pub user_filter: Option<String>,
    /// Generic profile: finds a user or group by address; hole `{address}`.
    pub address_filter: Option<String>,
    /// Generic profile: the groups a DN is a direct member of; holes `{dn}`, `{uid}`.
    pub group_filter: Option<String>,
    /// Page size of paged searches (RFC 2696) for listings and big groups.
    pub page_size: i32,
}

impl LdapConfig {
    /// A config with the defaults for everything but the essentials.
    pub fn new(profile: Profile, urls: Vec<String>, base_dn: String) -> LdapConfig {
        LdapConfig {
            profile,
            urls,
            base_dn,
            bind: ServiceBind::Anonymous,
            ca_file: None,
            starttls: false,
            timeout: Duration::from_secs(10),
            pool_size: 8,
            mail_group: None,
            quota_attribute: None,
            default_quota: None,
            quota_parser: Arc::new(|s: &str| {
                s.trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{s:?} is not a number of bytes"))
            }),
            user_filter: None,
            address_filter: None,
            group_filter: None,
            page_size: 500,
        }
    }
}

pub const GENERIC_USER_FILTER: &str =
    "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})(mailAlternateAddress={login})))";
pub const GENERIC_ADDRESS_FILTER: &str = "(|(mail={address})(mailAlternateAddress={address}))";
pub const GENERIC_GROUP_FILTER: &str = "(|(&(objectClass=groupOfNames)(member={dn}))\
    (&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))\
    (&(objectClass=posixGroup)(memberUid={uid})))";
