//! Local recipients: who an address delivers to, asked of the directory at RCPT time so that
//! the client (a front MTA over LMTP, or an SMTP client) learns of unknown users, disabled
//! accounts and full mailboxes before it sends the message. Shared by LMTP and SMTP.
//!
//! The caller decides first that the address is local (LMTP: anything a front MTA sends;
//! SMTP: its domain is one of the local domains, see `smtp::relay`).
//!
//! - unknown → `550 5.1.1`
//! - disabled account → `450 4.2.1` (RFC 3463: mailbox disabled, not accepting messages)
//! - an account `tern provision` disabled (the directory says disabled, or no longer knows
//!   the address, which was the account's name): the policy it recorded
//!   ([`tern_mail::account_state`]): `450 4.2.1` (defer) or `550 5.2.1` (bounce)
//! - over quota, or taken over it by the SIZE declared in MAIL FROM → `452 4.2.2`
//! - a group → its member accounts (nested groups followed, cycles cut, each account once);
//!   members that are unknown or disabled are skipped; a group with no deliverable member
//!   is `550 5.1.1`
//! - the directory or store cannot answer → `451 4.4.3` / `451 4.3.0`, so the MTA retries
//! - migration mode: accounts whose home is not Tern (still on the legacy server, or being
//!   moved) are not delivered here: they come back in [`Resolved::relayed`] for the
//!   outbound queue, which hands the message to wherever the account lives when it tries.
//!   Their quota is the legacy server's business.

use crate::reply::Reply;
use std::collections::HashSet;
use tern_directory::{Account, Resolution};
use tern_mail::Mail;
use tern_mail::account_state::{self, DisabledMail};

/// Nested groups deeper than this are not followed.
const MAX_GROUP_DEPTH: usize = 8;
/// Addresses looked up while expanding one group, at most.
const MAX_GROUP_EXPANSION: usize = 100_000;

/// Where an accepted recipient delivers.
pub(crate) struct Resolved {
    /// Accounts Tern serves: delivered into its store.
    pub accounts: Vec<Account>,
    pub group: bool,
    /// Accounts not cut over yet (migration mode): for the queue.
    pub relayed: Vec<Account>,
}

impl Resolved {
    /// Splits the accounts by home (outside migration mode all are local).
    async fn by_home(mail: &Mail, accounts: Vec<Account>, group: bool) -> Resolved {
        let mut resolved = Resolved {
            accounts: Vec::with_capacity(accounts.len()),
            group,
            relayed: Vec::new(),
        };
        for account in accounts {
            if mail.home(&account.name).await == tern_mail::Home::Local {
                resolved.accounts.push(account);
            } else {
                resolved.relayed.push(account);
            }
        }
        resolved
    }
}

/// The address as shown in replies: the bare `<postmaster>` (which `smtp-proto` hands over
/// as an empty address) is shown as such.
pub(crate) fn display(address: &str) -> &str {
    if address.is_empty() {
        "postmaster"
    } else {
        address
    }
}

/// Resolves one local RCPT address, or says why it is refused. `local_domains[0]` completes
/// the bare `<postmaster>`.
pub(crate) async fn resolve(
    mail: &Mail,
    local_domains: &[String],
    address: &str,
    declared_size: Option<u64>,
) -> Result<Resolved, Reply> {
    let shown = display(address);
    // RFC 5321 §4.1.1.3: `<Postmaster>` without a domain must be accepted.
    let lookup = if address.is_empty() {
        match local_domains.first() {
            Some(domain) => format!("postmaster@{domain}"),
            None => return Err(unknown(shown)),
        }
    } else {
        address.to_string()
    };
    match mail.directory.resolve(&lookup).await {
        Err(e) => {
            tracing::warn!(error = %e, rcpt = %lookup, "directory lookup failed");
            Err(directory_down(shown))
        }
        Ok(Resolution::NotFound) => match provisioned_refusal(mail, &lookup).await {
            Ok(Some(policy)) => Err(disabled(shown, policy)),
            Ok(None) => Err(unknown(shown)),
            Err(reply) => Err(reply),
        },
        Ok(Resolution::Account(account)) => {
            if !account.enabled {
                let policy = provisioned_refusal(mail, &account.name).await?;
                return Err(disabled(shown, policy.unwrap_or(DisabledMail::Defer)));
            }
            if mail.home(&account.name).await != tern_mail::Home::Local {
                return Ok(Resolved {
                    accounts: Vec::new(),
                    group: false,
                    relayed: vec![account],
                });
            }
            // Every message has at least one octet: a full mailbox refuses even without SIZE.
            let extra = declared_size.unwrap_or(1).max(1);
            match mail.fits_quota(&account, extra).await {
                Ok(true) => Ok(Resolved {
                    accounts: vec![account],
                    group: false,
                    relayed: Vec::new(),
                }),
                Ok(false) => Err(Reply::new(
                    452,
                    [4, 2, 2],
                    format!("<{shown}> mailbox full"),
                )),
                Err(e) => {
                    tracing::warn!(error = %e, rcpt = %lookup, "quota check failed");
                    Err(Reply::local_error(&format!("<{shown}>")))
                }
            }
        }
        Ok(Resolution::Group(members)) => {
            let accounts = expand(mail, &lookup, members).await.map_err(|e| match e {
                ExpandError::Directory => directory_down(shown),
                ExpandError::TooLarge => Reply::new(
                    452,
                    [4, 5, 3],
                    format!("<{shown}> group expands to too many addresses"),
                ),
            })?;
            if accounts.is_empty() {
                return Err(Reply::new(
                    550,
                    [5, 1, 1],
                    format!("<{shown}>: group has no deliverable members"),
                ));
            }
            Ok(Resolved::by_home(mail, accounts, true).await)
        }
    }
}

enum ExpandError {
    Directory,
    TooLarge,
}

/// Breadth-first expansion of a group into enabled accounts, each once.
async fn expand(
    mail: &Mail,
    group: &str,
    members: Vec<String>,
) -> Result<Vec<Account>, ExpandError> {
    let mut seen: HashSet<String> = HashSet::from([group.to_ascii_lowercase()]);
    let mut names: HashSet<String> = HashSet::new();
    let mut accounts = Vec::new();
    let mut level = members;
    let mut looked_up = 0usize;
    for _depth in 0..MAX_GROUP_DEPTH {
        let mut next = Vec::new();
        for member in level {
            if !seen.insert(member.to_ascii_lowercase()) {
                continue;
            }
            looked_up += 1;
            if looked_up > MAX_GROUP_EXPANSION {
                return Err(ExpandError::TooLarge);
            }
            match mail.directory.resolve(&member).await {
                Err(e) => {
                    tracing::warn!(error = %e, %group, %member, "group expansion failed");
                    return Err(ExpandError::Directory);
                }
                Ok(Resolution::NotFound) => {
                    tracing::info!(%group, %member, "group member unknown, skipped");
                }
                Ok(Resolution::Account(account)) if !account.enabled => {
                    tracing::info!(%group, %member, "group member disabled, skipped");
                }
                Ok(Resolution::Account(account)) => {
                    if names.insert(account.name.clone()) {
                        accounts.push(account);
                    }
                }
                Ok(Resolution::Group(more)) => next.extend(more),
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(accounts)
}

/// The policy `tern provision` recorded for the store account an address names (the
/// address itself, or without its `+tag`), if it disabled it. Asked only once the directory
/// has refused the address, so a stale record never refuses mail the directory accepts.
async fn provisioned_refusal(mail: &Mail, address: &str) -> Result<Option<DisabledMail>, Reply> {
    let name = address.trim().to_lowercase();
    let base = name
        .rsplit_once('@')
        .and_then(|(local, domain)| Some(format!("{}@{domain}", local.split_once('+')?.0)));
    for candidate in std::iter::once(name.clone()).chain(base) {
        match account_state::disabled_mail(&*mail.store, &candidate).await {
            Ok(Some(policy)) => return Ok(Some(policy)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, rcpt = %name, "provisioning state unreadable");
                return Err(Reply::local_error(&format!("<{}>", display(&name))));
            }
        }
    }
    Ok(None)
}

/// A disabled mailbox: `450 4.2.1` (the sender retries) or `550 5.2.1` (a bounce).
fn disabled(shown: &str, policy: DisabledMail) -> Reply {
    match policy {
        DisabledMail::Defer => Reply::new(450, [4, 2, 1], format!("<{shown}> mailbox disabled")),
        DisabledMail::Bounce => Reply::new(550, [5, 2, 1], format!("<{shown}> mailbox disabled")),
    }
}

fn unknown(shown: &str) -> Reply {
    Reply::new(550, [5, 1, 1], format!("<{shown}>: user unknown"))
}

fn directory_down(shown: &str) -> Reply {
    Reply::new(
        451,
        [4, 4, 3],
        format!("<{shown}>: directory unavailable, try again later"),
    )
}
