//! What directory provisioning (`tern provision`) recorded about a store account: active, or
//! disabled since when and what mail to it gets, and the quota last applied.
//!
//! The record is a server METADATA entry of the account, [`PROVISION_ENTRY`], so it lives in
//! the store whatever the backend (one SQLite file, or PostgreSQL shared by a cluster), goes
//! away with the account, and is read by every process on the store. No IMAP client can
//! read or write it: client entry names start with `/private/` or `/shared/`.
//!
//! Delivery consults it in one place (`tern_smtp::resolve`): only when the directory already
//! refuses the recipient (disabled, or unknown because the user is gone or outside the mail
//! group), the record says *how*: [`DisabledMail::Defer`] (`450 4.2.1`, the sender's MTA
//! retries) or [`DisabledMail::Bounce`] (`550 5.2.1`). The directory decides *whether*; a
//! stale record never refuses mail for a user the directory accepts.
use serde::{Deserialize, Serialize};
use tern_store::{AccountId, MailStore, MetadataScope, StoreError, StoreResult};

/// The server METADATA entry holding the record (not a name an IMAP client can send).
pub const PROVISION_ENTRY: &str = "/~tern/provision";

/// What mail to a disabled account gets at RCPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisabledMail {
    /// `450 4.2.1 mailbox disabled`: the sending MTA keeps it and retries (Postfix `defer`).
    Defer,
    /// `550 5.2.1 mailbox disabled`: refused for good, the sender gets a bounce.
    Bounce,
}

impl DisabledMail {
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledMail::Defer => "defer",
            DisabledMail::Bounce => "bounce",
        }
    }

    pub fn parse(s: &str) -> Option<DisabledMail> {
        match s {
            "defer" => Some(DisabledMail::Defer),
            "bounce" => Some(DisabledMail::Bounce),
            _ => None,
        }
    }
}

/// An account's provisioning state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum AccountState {
    Active,
    Disabled {
        /// Unix seconds: when provisioning disabled it (the grace period counts from here).
        since: i64,
        mail: DisabledMail,
        /// Why (the directory's reason, or "not in the directory"), for operators.
        reason: String,
    },
}

/// The record kept per provisioned account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionRecord {
    #[serde(flatten)]
    pub state: AccountState,
    /// The directory's quota when last applied (`None`: unlimited).
    pub quota: Option<u64>,
    /// Unix seconds of the last change to this record.
    pub updated: i64,
}

impl ProvisionRecord {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serializes")
    }

    pub fn decode(bytes: &[u8]) -> Result<ProvisionRecord, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// The mail policy when disabled.
    pub fn disabled_mail(&self) -> Option<DisabledMail> {
        match &self.state {
            AccountState::Active => None,
            AccountState::Disabled { mail, .. } => Some(*mail),
        }
    }
}

/// The record of an account; `None` when provisioning never wrote one (or it is unreadable,
/// which is logged).
pub async fn read(store: &dyn MailStore, id: AccountId) -> StoreResult<Option<ProvisionRecord>> {
    let found = store
        .get_metadata(
            MetadataScope::Server(id),
            &[PROVISION_ENTRY.to_string()],
            Some(0),
        )
        .await?;
    let Some((_, bytes)) = found.into_iter().find(|(n, _)| n == PROVISION_ENTRY) else {
        return Ok(None);
    };
    match ProvisionRecord::decode(&bytes) {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            tracing::warn!(account = id.0, error = %e, "unreadable provisioning record, ignored");
            Ok(None)
        }
    }
}

/// Writes (replaces) the record of an account; durable when this returns.
pub async fn write(
    store: &dyn MailStore,
    id: AccountId,
    record: &ProvisionRecord,
) -> StoreResult<()> {
    store
        .set_metadata(
            MetadataScope::Server(id),
            &[(PROVISION_ENTRY.to_string(), Some(record.encode()))],
        )
        .await
}

/// How mail to `name` is refused when the directory refuses it: the policy provisioning
/// recorded for that store account, if it disabled it. `None`: no account of that name, or
/// not disabled by provisioning (the caller's default reply applies).
pub async fn disabled_mail(store: &dyn MailStore, name: &str) -> StoreResult<Option<DisabledMail>> {
    let id = match store.account(name, false).await {
        Ok(Some(id)) => id,
        Ok(None) | Err(StoreError::NoSuchAccount) => return Ok(None),
        Err(e) => return Err(e),
    };
    match read(store, id).await {
        Ok(r) => Ok(r.and_then(|r| r.disabled_mail())),
        // Deleted between the two reads.
        Err(StoreError::NoSuchAccount) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip_and_wire_form() {
        let r = ProvisionRecord {
            state: AccountState::Disabled {
                since: 1_700_000_000,
                mail: DisabledMail::Bounce,
                reason: "account disabled".into(),
            },
            quota: Some(2_000_000),
            updated: 1_700_000_001,
        };
        let bytes = r.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"state\":\"disabled\""), "{text}");
        assert!(text.contains("\"mail\":\"bounce\""), "{text}");
        assert_eq!(ProvisionRecord::decode(&bytes).unwrap(), r);
        let active = ProvisionRecord {
            state: AccountState::Active,
            quota: None,
            updated: 5,
        };
        assert_eq!(ProvisionRecord::decode(&active.encode()).unwrap(), active);
        assert_eq!(active.disabled_mail(), None);
        assert_eq!(r.disabled_mail(), Some(DisabledMail::Bounce));
        assert!(ProvisionRecord::decode(b"{\"state\":\"gone\"}").is_err());
    }
}
