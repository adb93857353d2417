//! The management API of the internal directory (what `tern user ...` calls).
//!
//! Writes run in `BEGIN IMMEDIATE` transactions, so the check that an address is free and
//! the insert that takes it cannot be split by another process. Passwords are hashed before
//! the transaction starts, so the database is never locked during argon2 work.
use super::{
    GroupInfo, InternalDirectory, ManageError, QuotaSetting, Row, UserInfo, account_of,
    find_account, group_members, normalize, normalize_new, now, user_info,
};
use crate::Account;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

impl InternalDirectory {
    /// Creates an account named by its (lower-cased) primary address. `password: None`
    /// creates an account that cannot log in with a password (yet); `quota: None` follows
    /// the default quota.
    pub async fn add_user(
        &self,
        address: &str,
        password: Option<&str>,
        quota: Option<u64>,
    ) -> Result<Account, ManageError> {
        let name = normalize_new(address)?;
        let quota = match quota {
            Some(q) => Some(quota_column(QuotaSetting::Bytes(q))?),
            None => None,
        };
        let (hash, scram) = match password {
            Some(p) => {
                let (hash, scram) = self.hash(p).await?;
                (Some(hash), Some(scram))
            }
            None => (None, None),
        };
        let default = self.default_quota;
        self.with_conn(move |conn| {
            let tx = immediate(conn)?;
            ensure_free(&tx, &name)?;
            tx.execute(
                "INSERT INTO accounts (name, password_hash, quota, enabled, created, scram_sha256) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                params![name, hash, quota.flatten(), now(), scram],
            )?;
            let row = find_account(&tx, &name)?.ok_or_else(|| ManageError::NoSuchUser(name.clone()))?;
            let account = account_of(&tx, &row, default)?;
            tx.commit()?;
            Ok(account)
        })
        .await
    }

    /// Sets a new password (the account may be named by any of its addresses).
    pub async fn set_password(&self, address: &str, password: &str) -> Result<(), ManageError> {
        let (hash, scram) = self.hash(password).await?;
        self.update_user(address, move |tx, row| {
            tx.execute(
                "UPDATE accounts SET password_hash = ?1, scram_sha256 = ?2 WHERE id = ?3",
                params![hash, scram, row.id],
            )?;
            Ok(())
        })
        .await
    }

    /// Removes the password: the account can no longer log in with one.
    pub async fn clear_password(&self, address: &str) -> Result<(), ManageError> {
        self.update_user(address, |tx, row| {
            tx.execute(
                "UPDATE accounts SET password_hash = NULL, scram_sha256 = NULL WHERE id = ?1",
                [row.id],
            )?;
            Ok(())
        })
        .await
    }

    /// Deletes an account, its aliases, and its addresses' group memberships. (Its mail is
    /// the store's business.)
    pub async fn delete_user(&self, address: &str) -> Result<(), ManageError> {
        self.update_user(address, |tx, row| {
            let mut addresses = super::aliases_of(tx, row.id)?;
            addresses.push(row.name.clone());
            for a in &addresses {
                tx.execute("DELETE FROM group_members WHERE member = ?1", [a])?;
            }
            tx.execute("DELETE FROM accounts WHERE id = ?1", [row.id])?;
            Ok(())
        })
        .await
    }

    /// Sets the quota: [`QuotaSetting::Default`] follows the directory's default.
    pub async fn set_quota(&self, address: &str, quota: QuotaSetting) -> Result<(), ManageError> {
        let column = quota_column(quota)?;
        self.update_user(address, move |tx, row| {
            tx.execute(
                "UPDATE accounts SET quota = ?1 WHERE id = ?2",
                params![column, row.id],
            )?;
            Ok(())
        })
        .await
    }

    /// Enables or disables an account (disabled: no login, mail refused temporarily).
    pub async fn set_enabled(&self, address: &str, enabled: bool) -> Result<(), ManageError> {
        self.update_user(address, move |tx, row| {
            tx.execute(
                "UPDATE accounts SET enabled = ?1 WHERE id = ?2",
                params![enabled, row.id],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn set_display_name(
        &self,
        address: &str,
        display_name: Option<&str>,
    ) -> Result<(), ManageError> {
        let name = display_name
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        self.update_user(address, move |tx, row| {
            tx.execute(
                "UPDATE accounts SET display_name = ?1 WHERE id = ?2",
                params![name, row.id],
            )?;
            Ok(())
        })
        .await
    }

    /// Every account, sorted by name.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, ManageError> {
        let default = self.default_quota;
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {} FROM accounts ORDER BY name",
                super::ROW_COLUMNS
            ))?;
            let rows: Vec<Row> = stmt
                .query_map([], super::read_row)?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|r| user_info(conn, r, default).map_err(ManageError::from))
                .collect()
        })
        .await
    }

    /// One account by any of its addresses.
    pub async fn user(&self, address: &str) -> Result<Option<UserInfo>, ManageError> {
        let default = self.default_quota;
        let address = normalize(address);
        self.with_conn(move |conn| {
            Ok(match find_account(conn, &address)? {
                Some(row) => Some(user_info(conn, &row, default)?),
                None => None,
            })
        })
        .await
    }

    /// Makes `alias` deliver to (and log in as) the account `address` names.
    pub async fn add_alias(&self, alias: &str, address: &str) -> Result<(), ManageError> {
        let alias = normalize_new(alias)?;
        self.update_user(address, move |tx, row| {
            ensure_free(tx, &alias)?;
            tx.execute(
                "INSERT INTO aliases (address, account) VALUES (?1, ?2)",
                params![alias, row.id],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn remove_alias(&self, alias: &str) -> Result<(), ManageError> {
        let alias = normalize(alias);
        self.with_conn(move |conn| {
            let n = conn.execute("DELETE FROM aliases WHERE address = ?1", [&alias])?;
            if n == 0 {
                return Err(ManageError::NotFound(alias));
            }
            Ok(())
        })
        .await
    }

    /// Creates a distribution group with its member addresses.
    pub async fn add_group(&self, address: &str, members: &[&str]) -> Result<(), ManageError> {
        let group = normalize_new(address)?;
        let members = members
            .iter()
            .map(|m| normalize_new(m))
            .collect::<Result<Vec<_>, _>>()?;
        self.with_conn(move |conn| {
            let tx = immediate(conn)?;
            ensure_free(&tx, &group)?;
            tx.execute("INSERT INTO groups (address) VALUES (?1)", [&group])?;
            for m in &members {
                tx.execute(
                    "INSERT OR IGNORE INTO group_members (grp, member) VALUES (?1, ?2)",
                    params![group, m],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn add_group_member(&self, group: &str, member: &str) -> Result<(), ManageError> {
        let group = normalize(group);
        let member = normalize_new(member)?;
        self.with_conn(move |conn| {
            let tx = immediate(conn)?;
            if group_members(&tx, &group)?.is_none() {
                return Err(ManageError::NotFound(group));
            }
            tx.execute(
                "INSERT OR IGNORE INTO group_members (grp, member) VALUES (?1, ?2)",
                params![group, member],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn remove_group_member(&self, group: &str, member: &str) -> Result<(), ManageError> {
        let (group, member) = (normalize(group), normalize(member));
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM group_members WHERE grp = ?1 AND member = ?2",
                params![group, member],
            )?;
            if n == 0 {
                return Err(ManageError::NotFound(format!("{member} in {group}")));
            }
            Ok(())
        })
        .await
    }

    pub async fn delete_group(&self, group: &str) -> Result<(), ManageError> {
        let group = normalize(group);
        self.with_conn(move |conn| {
            let n = conn.execute("DELETE FROM groups WHERE address = ?1", [&group])?;
            if n == 0 {
                return Err(ManageError::NotFound(group));
            }
            Ok(())
        })
        .await
    }

    /// Every group with its members, sorted by address.
    pub async fn list_groups(&self) -> Result<Vec<GroupInfo>, ManageError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare("SELECT address FROM groups ORDER BY address")?;
            let names: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names
                .into_iter()
                .map(|address| {
                    let members = group_members(conn, &address)?.unwrap_or_default();
                    Ok(GroupInfo { address, members })
                })
                .collect()
        })
        .await
    }

    /// Hashes a password on a blocking thread.
    /// The argon2id PHC string and the SCRAM-SHA-256 secret of a new password.
    async fn hash(&self, password: &str) -> Result<(String, String), ManageError> {
        if password.is_empty() {
            return Err(ManageError::InvalidPassword("empty password".into()));
        }
        let password = password.to_string();
        self.with_hasher(move |h| {
            h.hash(&password)
                .map(|hash| (hash, super::password::scram_sha256_secret(&password)))
        })
        .await?
        .map_err(ManageError::InvalidPassword)
    }

    /// The account a login names and its SCRAM-SHA-256 secret
    /// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts, as
    /// PostgreSQL writes it), for SASL SCRAM-SHA-256. `None`: no such login, or an account
    /// whose password was set before this column existed (it gets one at its next
    /// `passwd`), or one without a password.
    pub async fn scram_sha256(
        &self,
        login: &str,
    ) -> Result<Option<(Account, String)>, ManageError> {
        let default = self.default_quota;
        let login = login.to_string();
        self.with_conn(move |conn| {
            let Some(row) = super::find_by_login(conn, &login)? else {
                return Ok(None);
            };
            let secret: Option<String> = conn.query_row(
                "SELECT scram_sha256 FROM accounts WHERE id = ?1",
                [row.id],
                |r| r.get(0),
            )?;
            match secret {
                Some(secret) => Ok(Some((account_of(conn, &row, default)?, secret))),
                None => Ok(None),
            }
        })
        .await
    }

    /// Runs `f` on the account `address` names, in one immediate transaction.
    async fn update_user<F>(&self, address: &str, f: F) -> Result<(), ManageError>
    where
        F: FnOnce(&Transaction<'_>, &Row) -> Result<(), ManageError> + Send + 'static,
    {
        let address = normalize(address);
        self.with_conn(move |conn| {
            let tx = immediate(conn)?;
            let row = find_account(&tx, &address)?.ok_or(ManageError::NoSuchUser(address))?;
            f(&tx, &row)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

fn immediate(conn: &mut Connection) -> Result<Transaction<'_>, ManageError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Fails with `Exists` if the address is an account, an alias or a group.
fn ensure_free(conn: &Connection, address: &str) -> Result<(), ManageError> {
    let taken = conn
        .query_row(
            "SELECT 1 FROM accounts WHERE name = ?1
             UNION ALL SELECT 1 FROM aliases WHERE address = ?1
             UNION ALL SELECT 1 FROM groups WHERE address = ?1 LIMIT 1",
            [address],
            |_| Ok(()),
        )
        .optional()?;
    match taken {
        Some(()) => Err(ManageError::Exists(address.to_string())),
        None => Ok(()),
    }
}

/// The `quota` column for a setting (`NULL`, `-1`, or bytes; bytes above `i64::MAX` are
/// refused: 9.2 EB is not a mailbox).
fn quota_column(q: QuotaSetting) -> Result<Option<i64>, ManageError> {
    match q {
        QuotaSetting::Default => Ok(None),
        QuotaSetting::Unlimited => Ok(Some(-1)),
        QuotaSetting::Bytes(b) => i64::try_from(b)
            .map(Some)
            .map_err(|_| ManageError::InvalidQuota(format!("{b} bytes is too large"))),
    }
}
