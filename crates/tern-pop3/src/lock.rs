//! The maildrop lock: one POP3 session per account (RFC 1939 §4, RFC 2449 §8.1.1 `[IN-USE]`).
//!
//! ## Invariants
//! - The set is held in this process only; the guard removes its account on drop, so a
//!   session that ends in any way (QUIT, error, dropped connection, panic) releases it.
//! - The mutex is never held across an `.await`.
//! - A cluster (several nodes on one store) needs the lock in the shared store; it comes
//!   with the cluster store backend, and this type is where it will be taken.
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use tern_store::AccountId;

/// Accounts whose maildrop a POP3 session holds.
#[derive(Default)]
pub(crate) struct MaildropLocks {
    held: Arc<Mutex<HashSet<AccountId>>>,
}

/// Proof that this session holds an account's maildrop; released on drop.
#[derive(Debug)]
pub(crate) struct MaildropLock {
    held: Arc<Mutex<HashSet<AccountId>>>,
    account: AccountId,
}

impl MaildropLocks {
    /// Takes the account's lock, or `None` if another session holds it.
    pub(crate) fn try_lock(&self, account: AccountId) -> Option<MaildropLock> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.insert(account).then(|| MaildropLock {
            held: self.held.clone(),
            account,
        })
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.remove(&self.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_account_until_dropped() {
        let locks = MaildropLocks::default();
        let a = locks.try_lock(AccountId(1)).expect("first lock");
        assert!(
            locks.try_lock(AccountId(1)).is_none(),
            "second lock refused"
        );
        let b = locks.try_lock(AccountId(2)).expect("other account is free");
        drop(a);
        let again = locks.try_lock(AccountId(1));
        assert!(again.is_some(), "released on drop");
        drop(b);
        assert!(locks.try_lock(AccountId(2)).is_some());
    }
}
