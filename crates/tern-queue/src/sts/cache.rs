//! The policy cache, a table of `queue.db` (RFC 8461 §5.1): one row per policy domain with
//! the TXT id it was fetched under, the policy text as served, when it was fetched and when
//! it expires (`fetched_at + max_age`). Durable, so a restart keeps applying a policy while
//! the domain's DNS or HTTPS is unreachable. The text is parsed again when read, so the row
//! never holds a parsed form that could go stale.

use crate::db::{DbResult, QueueDb};
use rusqlite::{OptionalExtension, params};

/// A cached policy as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPolicy {
    pub domain: String,
    /// The `id` of the `_mta-sts` TXT record when the policy was fetched.
    pub id: String,
    pub text: String,
    /// Unix times.
    pub fetched_at: i64,
    pub expires: i64,
}

impl QueueDb {
    /// The cached policy of `domain`, expired or not.
    pub fn sts_get(&self, domain: &str) -> DbResult<Option<CachedPolicy>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT domain, id, policy, fetched_at, expires FROM mta_sts WHERE domain = ?1",
                params![domain],
                |r| {
                    Ok(CachedPolicy {
                        domain: r.get(0)?,
                        id: r.get(1)?,
                        text: r.get(2)?,
                        fetched_at: r.get(3)?,
                        expires: r.get(4)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Stores (replaces) the policy of a domain.
    pub fn sts_put(&self, p: &CachedPolicy) -> DbResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO mta_sts(domain, id, policy, fetched_at, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![p.domain, p.id, p.text, p.fetched_at, p.expires],
            )
            .map(|_| ())
        })
    }

    /// Forgets a domain's policy (expired, or no longer parseable).
    pub fn sts_remove(&self, domain: &str) -> DbResult<()> {
        self.with(|conn| {
            conn.execute("DELETE FROM mta_sts WHERE domain = ?1", params![domain])
                .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("queue.db");
        let p = CachedPolicy {
            domain: "example.com".into(),
            id: "20160831085700Z".into(),
            text: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n".into(),
            fetched_at: 1000,
            expires: 87400,
        };
        QueueDb::open(&path).unwrap().sts_put(&p).unwrap();
        let db = QueueDb::open(&path).unwrap();
        assert_eq!(db.sts_get("example.com").unwrap(), Some(p.clone()));
        let newer = CachedPolicy {
            id: "2".into(),
            ..p
        };
        db.sts_put(&newer).unwrap();
        assert_eq!(db.sts_get("example.com").unwrap().unwrap().id, "2");
        db.sts_remove("example.com").unwrap();
        assert_eq!(db.sts_get("example.com").unwrap(), None);
    }
}
