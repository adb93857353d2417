//! `tern user ...`: accounts in the internal directory (`data_dir/directory.db`).
//!
//! Safe while `tern serve` runs on the same data folder: the directory is a SQLite file and
//! the server reads it per login and per delivery.
use super::Globals;
use crate::backends;
use crate::config::Settings;
use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use std::io::BufRead;
use std::process::ExitCode;
use tern_directory::internal::{QuotaSetting, UserInfo};

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account (with INBOX, Sent, Drafts, Trash, Junk, Archive on first use).
    Add {
        address: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Quota such as 500MB or 2GB, or "unlimited" (default: follow [quota] default).
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
    },
    /// List accounts.
    List {
        /// One JSON array of accounts.
        #[arg(long)]
        json: bool,
    },
    /// Delete an account and its mail (a later account of the same name starts empty).
    Del {
        address: String,
        /// Remove the account from the directory only; its mailboxes stay in the store.
        #[arg(long)]
        keep_mail: bool,
    },
    /// Set a new password, read from the first line of standard input.
    Passwd {
        address: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set an account's quota: a size such as 1GB, "unlimited", or "default".
    Quota { address: String, size: String },
    /// Manage extra addresses that deliver to an account.
    #[command(subcommand)]
    Alias(AliasCommand),
}

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// Make ALIAS deliver to the account ADDRESS.
    Add { alias: String, address: String },
    /// Remove an alias.
    Del { alias: String },
}

/// One element of `tern user list --json`. Stable: scripts depend on these names.
#[derive(Serialize)]
struct AccountJson<'a> {
    address: &'a str,
    aliases: &'a [String],
    /// The quota in force, octets; `null` = unlimited.
    quota_bytes: Option<u64>,
    /// `"default"` (follows `[quota] default`), `"unlimited"`, or the account's own size.
    quota: String,
    enabled: bool,
    has_password: bool,
}

impl<'a> AccountJson<'a> {
    fn new(u: &'a UserInfo) -> AccountJson<'a> {
        AccountJson {
            address: &u.name,
            aliases: &u.aliases,
            quota_bytes: u.quota_bytes,
            quota: quota_setting_text(&u.quota),
            enabled: u.enabled,
            has_password: u.has_password,
        }
    }
}

fn quota_setting_text(q: &QuotaSetting) -> String {
    match q {
        QuotaSetting::Default => "default".into(),
        QuotaSetting::Unlimited => "unlimited".into(),
        QuotaSetting::Bytes(b) => tern_mail::format_size(*b),
    }
}

pub fn run(globals: &Globals, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    super::runtime()?.block_on(run_async(&settings, cmd))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let dir = backends::open_directory(settings).await?;
    match cmd {
        UserCommand::Add {
            address,
            password_stdin,
            quota,
        } => {
            let address = checked_address(settings, &address)?;
            let quota = quota.as_deref().map(parse_quota).transpose()?;
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let explicit = match quota {
                Some(QuotaSetting::Bytes(b)) => Some(b),
                _ => None,
            };
            let account = dir
                .add_user(&address, password.as_deref(), explicit)
                .await
                .with_context(|| format!("cannot add {address}"))?;
            if quota == Some(QuotaSetting::Unlimited) {
                dir.set_quota(&account.name, QuotaSetting::Unlimited)
                    .await
                    .with_context(|| format!("cannot set the quota of {address}"))?;
            }
            if password.is_none() {
                eprintln!(
                    "tern: {address} has no password yet and cannot log in: \
                     set one with `tern user passwd {address} --password-stdin`"
                );
            }
            let shown = match quota {
                Some(QuotaSetting::Unlimited) => None,
                _ => account.quota_bytes,
            };
            println!(
                "added {} (quota {})",
                account.name,
                tern_mail::format_quota(shown)
            );
        }
        UserCommand::List { json } => {
            let mut users = dir.list_users().await.context("cannot list accounts")?;
            users.sort_by(|a, b| a.name.cmp(&b.name));
            if json {
                let rows: Vec<AccountJson> = users.iter().map(AccountJson::new).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for u in &users {
                    let mut notes = Vec::new();
                    if !u.enabled {
                        notes.push("disabled".to_string());
                    }
                    if !u.has_password {
                        notes.push("no password".to_string());
                    }
                    if !u.aliases.is_empty() {
                        notes.push(format!("aliases {}", u.aliases.join(", ")));
                    }
                    println!(
                        "{}\tquota {} ({})\t{}",
                        u.name,
                        tern_mail::format_quota(u.quota_bytes),
                        quota_setting_text(&u.quota),
                        notes.join("; ")
                    );
                }
            }
        }
        UserCommand::Del { address, keep_mail } => {
            let address = address.trim().to_ascii_lowercase();
            // The canonical name, even when ADDRESS is an alias.
            let name = dir
                .user(&address)
                .await
                .with_context(|| format!("cannot delete {address}"))?
                .map(|u| u.name)
                .ok_or_else(|| anyhow::anyhow!("cannot delete {address}: no such user"))?;
            // Directory first: from here on nobody logs in as, or delivers to, the account.
            dir.delete_user(&name)
                .await
                .with_context(|| format!("cannot delete {name}"))?;
            if keep_mail {
                println!("deleted {name} (mail kept in the store)");
            } else {
                backends::delete_mail(settings, &name)
                    .await
                    .with_context(|| format!("deleted {name}, but its mail is still stored"))?;
                println!("deleted {name} and its mail");
            }
        }
        UserCommand::Passwd {
            address,
            password_stdin: _,
        } => {
            let address = address.trim().to_ascii_lowercase();
            let password = read_password()?;
            dir.set_password(&address, &password)
                .await
                .with_context(|| format!("cannot set the password of {address}"))?;
            println!("password of {address} changed");
        }
        UserCommand::Quota { address, size } => {
            let address = address.trim().to_ascii_lowercase();
            let quota = parse_quota(&size)?;
            dir.set_quota(&address, quota)
                .await
                .with_context(|| format!("cannot set the quota of {address}"))?;
            println!("quota of {address} is {}", quota_setting_text(&quota));
        }
        UserCommand::Alias(AliasCommand::Add { alias, address }) => {
            let alias = checked_address(settings, &alias)?;
            let address = address.trim().to_ascii_lowercase();
            dir.add_alias(&alias, &address)
                .await
                .with_context(|| format!("cannot add alias {alias}"))?;
            println!("{alias} now delivers to {address}");
        }
        UserCommand::Alias(AliasCommand::Del { alias }) => {
            let alias = alias.trim().to_ascii_lowercase();
            dir.remove_alias(&alias)
                .await
                .with_context(|| format!("cannot remove alias {alias}"))?;
            println!("removed alias {alias}");
        }
    }
    Ok(())
}

/// Lower-cases an address and checks it is `local@domain` with a local domain.
fn checked_address(settings: &Settings, address: &str) -> anyhow::Result<String> {
    let address = address.trim().to_ascii_lowercase();
    let Some((local, domain)) = address.rsplit_once('@') else {
        bail!("{address:?} is not an address (local@domain)");
    };
    if local.is_empty() || local.contains(char::is_whitespace) {
        bail!("{address:?} is not an address (local@domain)");
    }
    if !crate::config::check::is_domain_name(domain) {
        bail!("{domain:?} is not a domain name");
    }
    if !settings.is_local_domain(domain) {
        bail!(
            "{domain} is not one of local_domains ({}) in {}",
            settings.local_domains.join(", "),
            settings.source.label()
        );
    }
    Ok(address)
}

/// A size, `unlimited`, or `default`.
fn parse_quota(text: &str) -> anyhow::Result<QuotaSetting> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(QuotaSetting::Default);
    }
    match tern_mail::parse_quota(text) {
        Ok(Some(bytes)) => Ok(QuotaSetting::Bytes(bytes)),
        Ok(None) => Ok(QuotaSetting::Unlimited),
        Err(e) => Err(anyhow::anyhow!("quota: {e}")),
    }
}

/// The first line of stdin, without its line ending. Empty is refused.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("empty password on stdin");
    }
    Ok(password.to_string())
}
