//! The maildrop: the INBOX snapshot a POP3 session works on (RFC 1939 §5).
//!
//! ## Invariants
//! - Taken once, at login: message numbers (1-based, in UID order) are stable for the
//!   session; messages delivered later wait for the next session.
//! - UIDLs come from the store ([`tern_store::MailStore::pop3_uidls`]): imported ones as
//!   they were migrated, others derived from UIDVALIDITY and UID, so they are the same in
//!   every session.
//! - Deletion is a mark here; only QUIT ([`crate::update`]) turns marks into an expunge.
//! - A message expunged by another client between the two reads of [`Maildrop::load`] is
//!   left out of the snapshot rather than listed without a UIDL.
//! - The maildrop owns the session's [`MaildropLock`]: dropping it releases the lock.
use crate::command::Msn;
use crate::error::Pop3Error;
use crate::lock::MaildropLock;
use std::collections::HashMap;
use tern_store::{AccountId, BlobId, MailStore, MailboxId, StoreError, Uid};

/// One message of the snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) uid: Uid,
    /// Stored octets (what STAT, LIST and RETR announce).
    pub(crate) size: u64,
    pub(crate) blob: BlobId,
    pub(crate) uidl: String,
    pub(crate) deleted: bool,
}

/// The snapshot and its lock.
#[derive(Debug)]
pub(crate) struct Maildrop {
    pub(crate) account: String,
    pub(crate) mailbox: MailboxId,
    entries: Vec<Entry>,
    _lock: MaildropLock,
}

impl Maildrop {
    /// Snapshots the account's INBOX.
    pub(crate) async fn load(
        store: &dyn MailStore,
        account: &str,
        account_id: AccountId,
        lock: MaildropLock,
    ) -> Result<Maildrop, StoreError> {
        let inbox = store
            .mailboxes(account_id)
            .await?
            .into_iter()
            .find(|m| m.name.eq_ignore_ascii_case("INBOX"))
            .ok_or(StoreError::NoSuchMailbox)?;
        let (_, records) = store.messages(inbox.id).await?;
        let uids: Vec<Uid> = records.iter().map(|r| r.uid).collect();
        let mut uidls: HashMap<Uid, String> = store
            .pop3_uidls(inbox.id, &uids)
            .await?
            .into_iter()
            .collect();
        let entries = records
            .into_iter()
            .filter_map(|r| {
                let uidl = uidls.remove(&r.uid)?;
                Some(Entry {
                    uid: r.uid,
                    size: r.size,
                    blob: r.blob,
                    uidl,
                    deleted: false,
                })
            })
            .collect();
        Ok(Maildrop {
            account: account.to_string(),
            mailbox: inbox.id,
            entries,
            _lock: lock,
        })
    }

    /// A message that exists and is not marked deleted (RFC 1939 §5: "may NOT refer to a
    /// message marked as deleted").
    pub(crate) fn get(&self, msn: Msn) -> Result<&Entry, Pop3Error> {
        let entry = self.any(msn)?;
        if entry.deleted {
            return Err(Pop3Error::Deleted(msn));
        }
        Ok(entry)
    }

    fn any(&self, msn: Msn) -> Result<&Entry, Pop3Error> {
        let index = (msn as usize)
            .checked_sub(1)
            .ok_or(Pop3Error::NoSuchMessage)?;
        self.entries.get(index).ok_or(Pop3Error::NoSuchMessage)
    }

    /// Messages not marked deleted, and their octets (STAT).
    pub(crate) fn stat(&self) -> (usize, u64) {
        self.live()
            .fold((0, 0), |(n, octets), (_, e)| (n + 1, octets + e.size))
    }

    /// Messages not marked deleted, with their numbers, in order.
    pub(crate) fn live(&self) -> impl Iterator<Item = (Msn, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i as Msn + 1, e))
    }

    /// Marks a message deleted (DELE).
    pub(crate) fn delete(&mut self, msn: Msn) -> Result<(), Pop3Error> {
        self.get(msn)?;
        self.entries[msn as usize - 1].deleted = true;
        Ok(())
    }

    /// Unmarks every message (RSET).
    pub(crate) fn reset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
        }
    }

    /// UIDs marked deleted, ascending.
    pub(crate) fn deleted_uids(&self) -> Vec<Uid> {
        self.entries
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::MaildropLocks;

    fn maildrop(locks: &MaildropLocks, sizes: &[u64]) -> Maildrop {
        Maildrop {
            account: "a@example.test".into(),
            mailbox: MailboxId(1),
            entries: sizes
                .iter()
                .enumerate()
                .map(|(i, &size)| Entry {
                    uid: 10 + i as Uid,
                    size,
                    blob: BlobId([i as u8; 32]),
                    uidl: format!("u{i}"),
                    deleted: false,
                })
                .collect(),
            _lock: locks.try_lock(AccountId(1)).unwrap(),
        }
    }

    #[test]
    fn numbers_deletion_marks_and_reset() {
        let locks = MaildropLocks::default();
        let mut md = maildrop(&locks, &[100, 200, 300]);
        assert_eq!(md.stat(), (3, 600));
        assert!(matches!(md.get(0), Err(Pop3Error::NoSuchMessage)));
        assert!(matches!(md.get(4), Err(Pop3Error::NoSuchMessage)));
        assert!(matches!(md.get(u32::MAX), Err(Pop3Error::NoSuchMessage)));
        assert_eq!(md.get(2).unwrap().uid, 11);
        md.delete(2).unwrap();
        assert!(matches!(md.get(2), Err(Pop3Error::Deleted(2))));
        assert!(matches!(md.delete(2), Err(Pop3Error::Deleted(2))));
        assert_eq!(md.stat(), (2, 400));
        let live: Vec<Msn> = md.live().map(|(n, _)| n).collect();
        assert_eq!(live, vec![1, 3], "numbers do not shift after DELE");
        md.delete(3).unwrap();
        assert_eq!(md.deleted_uids(), vec![11, 12]);
        md.reset();
        assert_eq!(md.stat(), (3, 600));
        assert!(md.deleted_uids().is_empty());
    }

    #[test]
    fn dropping_the_maildrop_releases_the_lock() {
        let locks = MaildropLocks::default();
        let md = maildrop(&locks, &[1]);
        assert!(locks.try_lock(AccountId(1)).is_none());
        drop(md);
        assert!(locks.try_lock(AccountId(1)).is_some());
    }
}
