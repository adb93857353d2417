//! A large run, timed (not asserted): `cargo test -p tern-provision --release --test scale
//! -- --ignored --nocapture` (`TERN_PROVISION_USERS`, default 50000). The directory is an
//! in-memory listing, so this measures the store side: survey, plan, create, a second run.
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;
use tern_directory::{Account, AuthOutcome, Directory, DirectoryResult, Resolution};
use tern_mail::Mail;
use tern_provision::{AfterGrace, DisabledMail, Options, Policy, Quiet, run};

struct Listing(Vec<Account>);

#[async_trait]
impl Directory for Listing {
    async fn authenticate(&self, _: &str, _: &str) -> DirectoryResult<AuthOutcome> {
        Ok(AuthOutcome::Failed {
            reason: "test".into(),
        })
    }
    async fn lookup(&self, _: &str) -> DirectoryResult<Option<Account>> {
        Ok(None)
    }
    async fn resolve(&self, _: &str) -> DirectoryResult<Resolution> {
        Ok(Resolution::NotFound)
    }
    async fn accounts(&self) -> DirectoryResult<Vec<Account>> {
        Ok(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a timing run; see the file's doc"]
async fn fifty_thousand_users() {
    let n: usize = std::env::var("TERN_PROVISION_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let users: Vec<Account> = (0..n)
        .map(|i| Account {
            name: format!("u{i:06}@x.test"),
            addresses: vec![format!("u{i:06}@x.test")],
            quota_bytes: Some(1_000_000),
            enabled: true,
            ..Default::default()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    let mail = Mail::new(store, blobs, Arc::new(Listing(users)));
    let options = |dry_run| Options {
        policy: Policy {
            grace_secs: 0,
            disabled_mail: DisabledMail::Defer,
            after_grace: AfterGrace::Archive,
        },
        archive_dir: dir.path().join("archive"),
        dry_run,
        lock_file: Some(dir.path().join("provision.lock")),
    };
    let t = Instant::now();
    let r = run(&mail, &options(false), &Quiet).await.unwrap();
    assert_eq!(r.done["create"], n);
    println!(
        "{n} users: first run (create) {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = run(&mail, &options(true), &Quiet).await.unwrap();
    assert!(r.actions.is_empty());
    println!(
        "{n} users: second run (dry, nothing to do) {:.1}s",
        t.elapsed().as_secs_f64()
    );
}
