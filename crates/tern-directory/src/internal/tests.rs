//! Tests of the internal directory against a real SQLite file in a temp dir.
use super::*;
use crate::{AuthOutcome, Directory, Resolution};

async fn dir() -> (tempfile::TempDir, InternalDirectory) {
    let tmp = tempfile::tempdir().unwrap();
    let d = InternalDirectory::open_in(tmp.path())
        .unwrap()
        .with_hash_params(HashParams::insecure_fast())
        .unwrap();
    (tmp, d)
}

fn reason(o: &AuthOutcome) -> &str {
    match o {
        AuthOutcome::Failed { reason } => reason,
        AuthOutcome::Ok(a) => panic!("unexpected success for {}", a.name),
    }
}

fn ok(o: AuthOutcome) -> Account {
    match o {
        AuthOutcome::Ok(a) => a,
        AuthOutcome::Failed { reason } => panic!("login failed: {reason}"),
    }
}

#[tokio::test]
async fn add_user_and_authenticate() {
    let (_t, d) = dir().await;
    let a = d
        .add_user(" Alice@Example.TEST ", Some("s3cret"), None)
        .await
        .unwrap();
    assert_eq!(a.name, "alice@example.test");
    assert_eq!(a.addresses, vec!["alice@example.test"]);
    assert_eq!(a.quota_bytes, Some(DEFAULT_QUOTA_BYTES));
    assert!(a.enabled);

    // Any spelling of the login is the same account.
    for login in [
        "alice@example.test",
        "ALICE@example.test",
        "alice",
        "<alice@example.test>",
    ] {
        let acct = ok(d.authenticate(login, "s3cret").await.unwrap());
        assert_eq!(acct.name, "alice@example.test", "{login}");
    }
    assert_eq!(
        reason(
            &d.authenticate("alice@example.test", "S3cret")
                .await
                .unwrap()
        ),
        "wrong password"
    );
    assert_eq!(
        reason(
            &d.authenticate("nobody@example.test", "s3cret")
                .await
                .unwrap()
        ),
        "unknown user"
    );
    assert_eq!(
        reason(&d.authenticate("", "x").await.unwrap()),
        "unknown user"
    );

    // No plaintext is stored: the column holds an argon2id PHC string.
    let stored: String = d
        .with_conn(|c| Ok(c.query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("s3cret"));
}

#[tokio::test]
async fn passwords_change_and_clear() {
    let (_t, d) = dir().await;
    d.add_user("bob@x.test", None, None).await.unwrap();
    assert_eq!(
        reason(&d.authenticate("bob@x.test", "").await.unwrap()),
        "account has no password"
    );
    d.set_password("BOB@x.test", "first").await.unwrap();
    ok(d.authenticate("bob@x.test", "first").await.unwrap());
    d.set_password("bob@x.test", "second").await.unwrap();
    reason(&d.authenticate("bob@x.test", "first").await.unwrap());
    ok(d.authenticate("bob@x.test", "second").await.unwrap());
    d.clear_password("bob@x.test").await.unwrap();
    reason(&d.authenticate("bob@x.test", "second").await.unwrap());
    assert!(matches!(
        d.set_password("bob@x.test", "").await,
        Err(ManageError::InvalidPassword(_))
    ));
    assert!(matches!(
        d.set_password("ghost@x.test", "pw").await,
        Err(ManageError::NoSuchUser(_))
    ));
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_but_resolve() {
    let (_t, d) = dir().await;
    d.add_user("carol@x.test", Some("pw"), None).await.unwrap();
    d.set_enabled("carol@x.test", false).await.unwrap();
    assert_eq!(
        reason(&d.authenticate("carol@x.test", "pw").await.unwrap()),
        "account disabled"
    );
    match d.resolve("carol@x.test").await.unwrap() {
        Resolution::Account(a) => assert!(!a.enabled),
        other => panic!("{other:?}"),
    }
    d.set_enabled("carol@x.test", true).await.unwrap();
    ok(d.authenticate("carol@x.test", "pw").await.unwrap());
}

#[tokio::test]
async fn invalid_and_duplicate_addresses() {
    let (_t, d) = dir().await;
    for bad in [
        "",
        "nodomain",
        "@x.test",
        "a@",
        "a b@x.test",
        "a@b@c",
        "a@.x",
        "a@x.",
    ] {
        assert!(
            matches!(
                d.add_user(bad, None, None).await,
                Err(ManageError::InvalidAddress(_))
            ),
            "{bad:?}"
        );
    }
    d.add_user("dave@x.test", None, None).await.unwrap();
    assert!(matches!(
        d.add_user("DAVE@x.test", None, None).await,
        Err(ManageError::Exists(_))
    ));
    d.add_alias("d@x.test", "dave@x.test").await.unwrap();
    // An alias's address is taken for accounts, aliases and groups alike.
    assert!(matches!(
        d.add_user("d@x.test", None, None).await,
        Err(ManageError::Exists(_))
    ));
    assert!(matches!(
        d.add_alias("dave@x.test", "dave@x.test").await,
        Err(ManageError::Exists(_))
    ));
    assert!(matches!(
        d.add_group("d@x.test", &[]).await,
        Err(ManageError::Exists(_))
    ));
    assert!(matches!(
        d.add_alias("e@x.test", "ghost@x.test").await,
        Err(ManageError::NoSuchUser(_))
    ));
}

#[tokio::test]
async fn aliases_lookup_and_resolve() {
    let (_t, d) = dir().await;
    d.add_user("erin@x.test", Some("pw"), None).await.unwrap();
    d.add_alias("Postmaster@X.test", "erin@x.test")
        .await
        .unwrap();
    d.add_alias("e.smith@x.test", "POSTMASTER@x.test")
        .await
        .unwrap();

    let a = d.lookup("postmaster@x.test").await.unwrap().unwrap();
    assert_eq!(a.name, "erin@x.test");
    assert_eq!(
        a.addresses,
        vec!["erin@x.test", "e.smith@x.test", "postmaster@x.test"]
    );
    // Logging in by an alias yields the canonical account.
    assert_eq!(
        ok(d.authenticate("E.Smith@x.test", "pw").await.unwrap()).name,
        "erin@x.test"
    );
    assert!(d.lookup("nobody@x.test").await.unwrap().is_none());

    for addr in [
        "erin@x.test",
        "ERIN@X.TEST",
        "postmaster@x.test",
        "erin+lists@x.test",
        "postmaster+x@x.test",
    ] {
        match d.resolve(addr).await.unwrap() {
            Resolution::Account(a) => assert_eq!(a.name, "erin@x.test", "{addr}"),
            other => panic!("{addr}: {other:?}"),
        }
    }
    assert_eq!(
        d.resolve("nobody@x.test").await.unwrap(),
        Resolution::NotFound
    );
    assert_eq!(
        d.resolve("+tag@x.test").await.unwrap(),
        Resolution::NotFound
    );

    d.remove_alias("postmaster@x.test").await.unwrap();
    assert_eq!(
        d.resolve("postmaster@x.test").await.unwrap(),
        Resolution::NotFound
    );
    assert!(matches!(
        d.remove_alias("postmaster@x.test").await,
        Err(ManageError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_exact_account_wins_over_its_subaddress_base() {
    let (_t, d) = dir().await;
    d.add_user("frank@x.test", None, None).await.unwrap();
    d.add_user("frank+work@x.test", None, None).await.unwrap();
    match d.resolve("frank+work@x.test").await.unwrap() {
        Resolution::Account(a) => assert_eq!(a.name, "frank+work@x.test"),
        other => panic!("{other:?}"),
    }
    // A bare local part shared by two accounts is ambiguous: no login.
    d.add_user("frank@y.test", None, None).await.unwrap();
    assert!(d.lookup("frank").await.unwrap().is_none());
}

#[tokio::test]
async fn groups_resolve_to_members() {
    let (_t, d) = dir().await;
    d.add_user("gina@x.test", None, None).await.unwrap();
    d.add_user("hank@x.test", None, None).await.unwrap();
    d.add_group(
        "All@x.test",
        &["gina@x.test", "HANK@x.test", "outside@elsewhere.test"],
    )
    .await
    .unwrap();
    assert_eq!(
        d.resolve("all@x.test").await.unwrap(),
        Resolution::Group(vec![
            "gina@x.test".into(),
            "hank@x.test".into(),
            "outside@elsewhere.test".into()
        ])
    );
    assert_eq!(
        d.resolve("all+announce@x.test").await.unwrap(),
        Resolution::Group(vec![
            "gina@x.test".into(),
            "hank@x.test".into(),
            "outside@elsewhere.test".into()
        ])
    );
    let gina = d.lookup("gina@x.test").await.unwrap().unwrap();
    assert_eq!(gina.groups, vec!["all@x.test"]);

    d.remove_group_member("all@x.test", "outside@elsewhere.test")
        .await
        .unwrap();
    d.add_group_member("all@x.test", "ivy@x.test")
        .await
        .unwrap();
    let groups = d.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0].members,
        vec!["gina@x.test", "hank@x.test", "ivy@x.test"]
    );
    assert!(matches!(
        d.add_group_member("nogroup@x.test", "a@x.test").await,
        Err(ManageError::NotFound(_))
    ));

    // Deleting a user removes its memberships.
    d.delete_user("hank@x.test").await.unwrap();
    assert_eq!(
        d.list_groups().await.unwrap()[0].members,
        vec!["gina@x.test", "ivy@x.test"]
    );
    d.delete_group("all@x.test").await.unwrap();
    assert_eq!(d.resolve("all@x.test").await.unwrap(), Resolution::NotFound);
    assert!(
        d.lookup("gina@x.test")
            .await
            .unwrap()
            .unwrap()
            .groups
            .is_empty()
    );
}

#[tokio::test]
async fn quotas_default_explicit_unlimited_and_large() {
    let tmp = tempfile::tempdir().unwrap();
    let d = InternalDirectory::open_in(tmp.path())
        .unwrap()
        .with_hash_params(HashParams::insecure_fast())
        .unwrap();
    let five_gb = 5_000_000_000u64;
    d.add_user("q1@x.test", None, None).await.unwrap();
    let q2 = d.add_user("q2@x.test", None, Some(five_gb)).await.unwrap();
    assert_eq!(q2.quota_bytes, Some(five_gb));
    d.add_user("q3@x.test", None, None).await.unwrap();
    d.set_quota("q3@x.test", QuotaSetting::Unlimited)
        .await
        .unwrap();

    let quota_of = |d: InternalDirectory, n: &'static str| async move {
        d.lookup(n).await.unwrap().unwrap().quota_bytes
    };
    assert_eq!(
        quota_of(d.clone(), "q1@x.test").await,
        Some(DEFAULT_QUOTA_BYTES)
    );
    assert_eq!(quota_of(d.clone(), "q2@x.test").await, Some(five_gb));
    assert_eq!(quota_of(d.clone(), "q3@x.test").await, None);

    // The default follows the configuration; explicit values do not.
    let d2 = InternalDirectory::open_in(tmp.path())
        .unwrap()
        .with_default_quota(Some(1 << 40));
    assert_eq!(quota_of(d2.clone(), "q1@x.test").await, Some(1 << 40));
    assert_eq!(quota_of(d2.clone(), "q2@x.test").await, Some(five_gb));
    let unlimited_default = d2.clone().with_default_quota(None);
    assert_eq!(quota_of(unlimited_default, "q1@x.test").await, None);

    let users = d.list_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["q1@x.test", "q2@x.test", "q3@x.test"]);
    assert_eq!(users[0].quota, QuotaSetting::Default);
    assert_eq!(users[1].quota, QuotaSetting::Bytes(five_gb));
    assert_eq!(users[2].quota, QuotaSetting::Unlimited);

    d.set_quota("q2@x.test", QuotaSetting::Default)
        .await
        .unwrap();
    assert_eq!(
        quota_of(d.clone(), "q2@x.test").await,
        Some(DEFAULT_QUOTA_BYTES)
    );
    assert!(matches!(
        d.set_quota("q2@x.test", QuotaSetting::Bytes(u64::MAX))
            .await,
        Err(ManageError::InvalidQuota(_))
    ));
    assert!(matches!(
        d.set_quota("ghost@x.test", QuotaSetting::Unlimited).await,
        Err(ManageError::NoSuchUser(_))
    ));
}

#[tokio::test]
async fn delete_list_and_accounts() {
    let (_t, d) = dir().await;
    d.add_user("jo@x.test", Some("pw"), None).await.unwrap();
    d.add_alias("j@x.test", "jo@x.test").await.unwrap();
    d.set_display_name("jo@x.test", Some(" Jo Example "))
        .await
        .unwrap();
    d.add_user("kim@x.test", None, None).await.unwrap();

    let info = d.user("j@x.test").await.unwrap().unwrap();
    assert_eq!(info.name, "jo@x.test");
    assert_eq!(info.display_name.as_deref(), Some("Jo Example"));
    assert!(info.has_password);
    let accounts = d.accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].display_name.as_deref(), Some("Jo Example"));

    d.delete_user("J@x.test").await.unwrap();
    assert!(d.user("jo@x.test").await.unwrap().is_none());
    assert_eq!(d.resolve("j@x.test").await.unwrap(), Resolution::NotFound);
    assert_eq!(d.list_users().await.unwrap().len(), 1);
    assert!(matches!(
        d.delete_user("jo@x.test").await,
        Err(ManageError::NoSuchUser(_))
    ));
    // The freed address can be used again.
    d.add_user("j@x.test", None, None).await.unwrap();
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other_and_race_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let open = || {
        InternalDirectory::open_in(tmp.path())
            .unwrap()
            .with_hash_params(HashParams::insecure_fast())
            .unwrap()
    };
    let (a, b) = (open(), open());
    a.add_user("lee@x.test", Some("pw"), None).await.unwrap();
    ok(b.authenticate("lee@x.test", "pw").await.unwrap());
    // Racing to take one address: exactly one wins.
    let (r1, r2) = tokio::join!(
        a.add_alias("shared@x.test", "lee@x.test"),
        b.add_user("shared@x.test", None, None)
    );
    assert!(r1.is_ok() != r2.is_ok(), "{r1:?} {r2:?}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "directory.db must not be readable by others"
        );
    }
}

#[tokio::test]
async fn unknown_users_cost_a_verification() {
    // With real parameters an unknown login takes about as long as a wrong password.
    let tmp = tempfile::tempdir().unwrap();
    let d = InternalDirectory::open_in(tmp.path())
        .unwrap()
        .with_hash_params(HashParams {
            memory_kib: 2048,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
    d.add_user("mo@x.test", Some("pw"), None).await.unwrap();
    // Warm up the dummy hash.
    let _ = d.authenticate("ghost@x.test", "pw").await.unwrap();
    let time = |login: &'static str| {
        let d = d.clone();
        async move {
            let start = std::time::Instant::now();
            for _ in 0..3 {
                let _ = d.authenticate(login, "wrong").await.unwrap();
            }
            start.elapsed()
        }
    };
    let known = time("mo@x.test").await;
    let unknown = time("ghost@x.test").await;
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    // Without the dummy verification an unknown login would be ~100x faster.
    assert!(ratio > 0.3, "known {known:?} unknown {unknown:?}");
}

#[test]
fn normalization() {
    assert_eq!(normalize("  <Foo@Bar.Test> "), "foo@bar.test");
    assert_eq!(normalize("ÄBC@x.test"), "äbc@x.test");
    assert_eq!(
        without_subaddress("a+b+c@x.test").as_deref(),
        Some("a@x.test")
    );
    assert_eq!(without_subaddress("a@x.test"), None);
    assert_eq!(without_subaddress("+b@x.test"), None);
    assert!(normalize_new("x@y.test").is_ok());
}
