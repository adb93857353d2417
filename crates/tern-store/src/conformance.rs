//! The backend-generic conformance suite (feature `conformance`).
//!
//! Every [`MailStore`]/[`BlobStore`] backend must pass every check here. Each check is a
//! `pub async fn(Arc<dyn MailStore>, Arc<dyn BlobStore>)` that panics on a violation; checks
//! create their own uniquely named accounts, so they may share one store. A backend's tests
//! run them one test each with [`conformance_tests!`](crate::conformance_tests), or all at
//! once with [`run_all`].
//!
//! Contract points the checks pin down beyond the trait docs:
//! - A failed `AppendMode::Atomic` batch returns its first error as the outer `Err`.
//! - Quota refuses only changes that grow usage past the limit (`usage == quota` fits; a
//!   MOVE inside an over-quota account still works).
//! - Mailbox names: `INBOX` is case-insensitive (also as the first level, `inbox/x` →
//!   `INBOX/x`); every other name is case-sensitive.
//! - A re-created mailbox gets a different UIDVALIDITY.

use crate::{BlobStore, MailStore};
use std::sync::Arc;

mod accounts;
mod blobs;
mod copy;
mod extras;
mod flags;
mod messages;
mod sieve;
mod support;

pub use accounts::{accounts, mailbox_lifecycle, rename_children, subscriptions};
pub use blobs::blob_dedup;
pub use copy::{copy_move, referenced_blobs};
pub use extras::{acl, metadata, notifications};
pub use flags::{claim_recent, expunge_and_changes, flags, shared_reads};
pub use messages::{append_and_status, atomic_and_independent, import, quota};
pub use sieve::{sieve_scripts, vacation_log};

/// Runs every check, one after the other, on one store.
pub async fn run_all(store: Arc<dyn MailStore>, blobs: Arc<dyn BlobStore>) {
    macro_rules! all {
        ($($check:ident),* $(,)?) => { $( $check(store.clone(), blobs.clone()).await; )* };
    }
    all!(
        accounts,
        mailbox_lifecycle,
        rename_children,
        subscriptions,
        append_and_status,
        atomic_and_independent,
        quota,
        import,
        flags,
        expunge_and_changes,
        claim_recent,
        shared_reads,
        copy_move,
        referenced_blobs,
        notifications,
        acl,
        metadata,
        blob_dedup,
        sieve_scripts,
        vacation_log,
    );
}

/// Generates one `#[tokio::test]` per conformance check. `$make` is an async fn (path)
/// returning `(Arc<dyn MailStore>, Arc<dyn BlobStore>, G)`, where `G` (e.g. a temporary
/// directory) is kept alive for the test's duration. The calling crate needs `tokio` with
/// the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make;
            accounts, mailbox_lifecycle, rename_children, subscriptions, append_and_status,
            atomic_and_independent, quota, import, flags, expunge_and_changes, claim_recent,
            shared_reads, copy_move, referenced_blobs, notifications, acl, metadata, blob_dedup, sieve_scripts,
            vacation_log);
    };
    (@each $make:path; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, blobs, _guard) = $make().await;
                $crate::conformance::$check(store, blobs).await;
            }
        )*
    };
}
