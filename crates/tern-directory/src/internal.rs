//! The internal directory: accounts, aliases and groups in their own SQLite file
//! (`data_dir/directory.db`, WAL), with argon2id password hashes.
//!
//! # Layout
//! - this file: [`InternalDirectory`] (opening, lookups, the [`Directory`] implementation),
//!   its error and listing types;
//! - `manage`: the management API used by the CLI (`tern user add|del|passwd|list`);
//! - `password`: hashing and verification ([`HashParams`]);
//! - `schema`: tables and migrations.
//!
//! # Invariants
//! - Addresses are stored lower-cased; every lookup is case-insensitive through that.
//! - An address names at most one thing: an account (its name = primary address), an alias
//!   of one account, or a group.
//! - Quota: `None` in the database means "the configured default" (200 MB unless changed
//!   with [`InternalDirectory::with_default_quota`]), so changing the default moves every
//!   account that has no explicit quota; explicit values are `u64` bytes or unlimited.
//! - Argon2 work runs on blocking threads, never on the async runtime, and never while the
//!   database connection is locked. Unknown users cost one dummy verification, like known
//!   ones, so timing does not reveal which logins exist.
//! - Every call reads the database, so a change made by `tern user ...` in another process
//!   is seen at once (a cache, if wanted, sits in front of the [`Directory`] trait).
use crate::{
    Account, AuthOutcome, DEFAULT_QUOTA_BYTES, Directory, DirectoryError, DirectoryResult,
    Resolution,
};
use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod manage;
mod password;
mod schema;
#[cfg(test)]
mod tests;

use password::Hasher;
pub use password::{HashParams, Verified};

/// The directory database's file name inside a data directory.
pub const DB_FILE: &str = "directory.db";

/// Errors of the internal directory (management and opening).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// Not a usable address (`local@domain`, no blanks).
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    /// No account has this name or alias.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// No such alias or group.
    #[error("not found: {0}")]
    NotFound(String),
    /// The address is already an account, an alias or a group.
    #[error("address already in use: {0}")]
    Exists(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error("invalid quota: {0}")]
    InvalidQuota(String),
    /// The database failed (I/O, corruption, a newer schema).
    #[error("directory database: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for ManageError {
    fn from(e: rusqlite::Error) -> Self {
        ManageError::Database(e.to_string())
    }
}

impl From<ManageError> for DirectoryError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Database(m) => DirectoryError::Backend(m),
            other => DirectoryError::Invalid(other.to_string()),
        }
    }
}

/// An account's quota as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaSetting {
    /// Follows the directory's default quota.
    Default,
    Unlimited,
    Bytes(u64),
}

/// One account as the management API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The canonical name (lower-case primary address).
    pub name: String,
    /// Aliases, sorted.
    pub aliases: Vec<String>,
    pub quota: QuotaSetting,
    /// The quota in force (`None`: unlimited).
    pub quota_bytes: Option<u64>,
    pub enabled: bool,
    pub has_password: bool,
    pub display_name: Option<String>,
    /// Groups listing one of the account's addresses.
    pub groups: Vec<String>,
}

/// A distribution group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub address: String,
    /// Member addresses, sorted (local or not; a member may itself be a group).
    pub members: Vec<String>,
}

/// The internal directory. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct InternalDirectory {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    default_quota: Option<u64>,
    hasher: Hasher,
}

impl std::fmt::Debug for InternalDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalDirectory")
            .field("path", &self.path)
            .field("default_quota", &self.default_quota)
            .finish()
    }
}

/// An account row.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub id: i64,
    pub name: String,
    pub hash: Option<String>,
    pub quota: Option<i64>,
    pub enabled: bool,
    pub display_name: Option<String>,
}

const ROW_COLUMNS: &str = "id, name, password_hash, quota, enabled, display_name";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        name: r.get(1)?,
        hash: r.get(2)?,
        quota: r.get(3)?,
        enabled: r.get(4)?,
        display_name: r.get(5)?,
    })
}

impl InternalDirectory {
    /// Opens (creating if needed) the directory database at `path`: WAL, `synchronous=FULL`,
    /// foreign keys on, schema migrated. A new file is made readable by its owner only.
    pub fn open(path: impl AsRef<Path>) -> Result<InternalDirectory, ManageError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| ManageError::Database(format!("{}: {e}", parent.display())))?;
        }
        let existed = path.exists();
        let mut conn = Connection::open(&path)?;
        if !existed {
            restrict_permissions(&path)?;
        }
        conn.busy_timeout(Duration::from_secs(10))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Query planner stability: plans never depend on bound values. Without it, SQLite marks
        // a statement whose plan looked at a parameter (`x = ?` tested for 0/1, `LIMIT ?`) as
        // expiring when its bindings are cleared, which rusqlite's statement cache does on
        // every return: each reuse of such a cached statement was parsed and planned anew.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        schema::migrate(&mut conn).map_err(ManageError::Database)?;
        Ok(InternalDirectory {
            conn: Arc::new(Mutex::new(conn)),
            path,
            default_quota: Some(DEFAULT_QUOTA_BYTES),
            hasher: Hasher::new(HashParams::default()).map_err(ManageError::Database)?,
        })
    }

    /// Opens `data_dir/directory.db`.
    pub fn open_in(data_dir: impl AsRef<Path>) -> Result<InternalDirectory, ManageError> {
        InternalDirectory::open(data_dir.as_ref().join(DB_FILE))
    }

    /// The quota of accounts without their own (`None`: unlimited). Default 200 MB.
    pub fn with_default_quota(mut self, quota: Option<u64>) -> InternalDirectory {
        self.default_quota = quota;
        self
    }

    /// The argon2id cost of new hashes (existing hashes keep theirs).
    pub fn with_hash_params(
        mut self,
        params: HashParams,
    ) -> Result<InternalDirectory, ManageError> {
        self.hasher = Hasher::new(params).map_err(ManageError::InvalidPassword)?;
        Ok(self)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on a blocking thread.
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> Result<T, ManageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ManageError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| ManageError::Database(format!("directory task failed: {e}")))?
    }

    /// Runs CPU-heavy password work on the process's password threads (without the
    /// connection).
    pub(crate) async fn with_hasher<T, F>(&self, f: F) -> Result<T, ManageError>
    where
        T: Send + 'static,
        F: FnOnce(&Hasher) -> T + Send + 'static,
    {
        let hasher = self.hasher.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Never block the async thread: a full queue (1,024 password checks waiting) is
        // reported as a directory failure, which clients see as "try again later".
        hash_pool()
            .try_send(Box::new(move || {
                let _ = tx.send(f(&hasher));
            }))
            .map_err(|e| ManageError::Database(format!("password threads busy: {e}")))?;
        rx.await
            .map_err(|e| ManageError::Database(format!("password task failed: {e}")))
    }
}

type HashJob = Box<dyn FnOnce() + Send>;

/// A few dedicated threads for argon2 work, one per core (at least two), shared by the whole
/// process. Each verification holds ~19 MiB of working memory; on tokio's blocking pool a
/// burst of logins spread that over dozens of threads and their malloc arenas, which kept
/// over 1 GiB resident afterwards (measured by bench/). Here a burst queues, and the memory the
/// allocator keeps is bounded by the number of these threads.
fn hash_pool() -> &'static std::sync::mpsc::SyncSender<HashJob> {
    static POOL: std::sync::OnceLock<std::sync::mpsc::SyncSender<HashJob>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashJob>(1024);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tern-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = rx.lock().unwrap_or_else(|p| p.into_inner());
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        tx
    })
}

/// Lower-cases and trims an address for lookup (angle brackets removed). Never fails.
pub fn normalize(address: &str) -> String {
    let a = address.trim();
    let a = a
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(a);
    a.trim().to_lowercase()
}

/// [`normalize`], then checks the shape `local@domain` (no blanks or controls, one `@`).
pub fn normalize_new(address: &str) -> Result<String, ManageError> {
    let a = normalize(address);
    let valid = match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !a.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(a)
    } else {
        Err(ManageError::InvalidAddress(address.to_string()))
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), ManageError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ManageError::Database(format!("{}: {e}", path.display())))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<(), ManageError> {
    Ok(())
}

// ---- reads (on the connection, from blocking threads) ------------------------------------

/// The account whose name or alias is `address` (already normalized).
pub(crate) fn find_account(conn: &Connection, address: &str) -> rusqlite::Result<Option<Row>> {
    // Cached statements: this runs for every recipient and every login.
    let by_name = conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM accounts WHERE name = ?1"
        ))?
        .query_row([address], read_row)
        .optional()?;
    if by_name.is_some() {
        return Ok(by_name);
    }
    conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM accounts WHERE id = (SELECT account FROM aliases WHERE address = ?1)"
    ))?
    .query_row([address], read_row)
    .optional()
}

/// The account a login names: an address or alias, or a bare local part that belongs to
/// exactly one account name.
pub(crate) fn find_by_login(conn: &Connection, login: &str) -> rusqlite::Result<Option<Row>> {
    let login = normalize(login);
    if login.is_empty() {
        return Ok(None);
    }
    if login.contains('@') {
        return find_account(conn, &login);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM accounts WHERE substr(name, 1, length(?1) + 1) = ?1 || '@' LIMIT 2"
    ))?;
    let rows: Vec<Row> = stmt
        .query_map([&login], read_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(match <[Row; 1]>::try_from(rows) {
        Ok([row]) => Some(row),
        Err(_) => None,
    })
}

pub(crate) fn aliases_of(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT address FROM aliases WHERE account = ?1 ORDER BY address")?;
    stmt.query_map([id], |r| r.get(0))?.collect()
}

pub(crate) fn groups_of(conn: &Connection, addresses: &[String]) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT grp FROM group_members WHERE member = ?1")?;
    let mut groups = Vec::new();
    for a in addresses {
        for g in stmt.query_map([a], |r| r.get::<_, String>(0))? {
            groups.push(g?);
        }
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

pub(crate) fn group_members(
    conn: &Connection,
    group: &str,
) -> rusqlite::Result<Option<Vec<String>>> {
    let exists = conn
        .query_row("SELECT 1 FROM groups WHERE address = ?1", [group], |_| {
            Ok(())
        })
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare_cached("SELECT member FROM group_members WHERE grp = ?1 ORDER BY member")?;
    let members = stmt
        .query_map([group], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(members))
}

pub(crate) fn quota_setting(raw: Option<i64>) -> QuotaSetting {
    match raw {
        None => QuotaSetting::Default,
        Some(q) if q < 0 => QuotaSetting::Unlimited,
        Some(q) => QuotaSetting::Bytes(q as u64),
    }
}

pub(crate) fn effective_quota(setting: QuotaSetting, default: Option<u64>) -> Option<u64> {
    match setting {
        QuotaSetting::Default => default,
        QuotaSetting::Unlimited => None,
        QuotaSetting::Bytes(b) => Some(b),
    }
}

pub(crate) fn user_info(
    conn: &Connection,
    row: &Row,
    default: Option<u64>,
) -> rusqlite::Result<UserInfo> {
    let aliases = aliases_of(conn, row.id)?;
    let mut addresses = vec![row.name.clone()];
    addresses.extend(aliases.iter().cloned());
    let groups = groups_of(conn, &addresses)?;
    let quota = quota_setting(row.quota);
    Ok(UserInfo {
        name: row.name.clone(),
        aliases,
        quota,
        quota_bytes: effective_quota(quota, default),
        enabled: row.enabled,
        has_password: row.hash.is_some(),
        display_name: row.display_name.clone(),
        groups,
    })
}

pub(crate) fn account_of(
    conn: &Connection,
    row: &Row,
    default: Option<u64>,
) -> rusqlite::Result<Account> {
    let info = user_info(conn, row, default)?;
    let mut addresses = vec![info.name.clone()];
    addresses.extend(info.aliases);
    Ok(Account {
        name: info.name,
        addresses,
        quota_bytes: info.quota_bytes,
        enabled: info.enabled,
        display_name: info.display_name,
        groups: info.groups,
        disabled_reason: None,
        attributes: Default::default(),
    })
}

/// Resolution of one exact (normalized) address, without subaddress handling.
fn resolve_exact(
    conn: &Connection,
    address: &str,
    default: Option<u64>,
) -> rusqlite::Result<Option<Resolution>> {
    if let Some(row) = find_account(conn, address)? {
        return Ok(Some(Resolution::Account(account_of(conn, &row, default)?)));
    }
    Ok(group_members(conn, address)?.map(Resolution::Group))
}

/// RFC 5233-style subaddress: `user+tag@domain` → `user@domain`.
fn without_subaddress(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, _tag) = local.split_once('+')?;
    (!base.is_empty()).then(|| format!("{base}@{domain}"))
}

#[async_trait]
impl Directory for InternalDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> DirectoryResult<AuthOutcome> {
        let default = self.default_quota;
        let login_owned = login.to_string();
        let found = self
            .with_conn(move |conn| {
                let Some(row) = find_by_login(conn, &login_owned)? else {
                    return Ok(None);
                };
                let account = account_of(conn, &row, default)?;
                Ok(Some((row.hash, account)))
            })
            .await?;
        let password = password.to_string();
        let outcome = self
            .with_hasher(move |hasher| match found {
                None => {
                    hasher.verify_dummy(&password);
                    AuthOutcome::Failed {
                        reason: "unknown user".into(),
                    }
                }
                Some((None, _)) => {
                    hasher.verify_dummy(&password);
                    AuthOutcome::Failed {
                        reason: "account has no password".into(),
                    }
                }
                Some((Some(hash), account)) => match hasher.verify(&password, &hash) {
                    Verified::Match if account.enabled => AuthOutcome::Ok(account),
                    Verified::Match => AuthOutcome::Failed {
                        reason: "account disabled".into(),
                    },
                    Verified::Mismatch => AuthOutcome::Failed {
                        reason: "wrong password".into(),
                    },
                    Verified::Unreadable => AuthOutcome::Failed {
                        reason: "stored password hash is unreadable".into(),
                    },
                },
            })
            .await?;
        Ok(outcome)
    }

    async fn lookup(&self, login: &str) -> DirectoryResult<Option<Account>> {
        let default = self.default_quota;
        let login = login.to_string();
        Ok(self
            .with_conn(move |conn| {
                Ok(match find_by_login(conn, &login)? {
                    Some(row) => Some(account_of(conn, &row, default)?),
                    None => None,
                })
            })
            .await?)
    }

    async fn resolve(&self, address: &str) -> DirectoryResult<Resolution> {
        let default = self.default_quota;
        let address = normalize(address);
        Ok(self
            .with_conn(move |conn| {
                if let Some(r) = resolve_exact(conn, &address, default)? {
                    return Ok(r);
                }
                if let Some(base) = without_subaddress(&address)
                    && let Some(r) = resolve_exact(conn, &base, default)?
                {
                    return Ok(r);
                }
                Ok(Resolution::NotFound)
            })
            .await?)
    }

    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        let default = self.default_quota;
        Ok(self
            .with_conn(move |conn| {
                let mut stmt =
                    conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM accounts ORDER BY name"))?;
                let rows: Vec<Row> = stmt
                    .query_map([], read_row)?
                    .collect::<rusqlite::Result<_>>()?;
                let accounts = rows
                    .iter()
                    .map(|r| account_of(conn, r, default))
                    .collect::<rusqlite::Result<_>>()?;
                Ok(accounts)
            })
            .await?)
    }
}

/// Current time in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
