//! Whole runs against the real embedded store and the internal directory: create with
//! default folders, idempotence, disable with the policy recorded, grace, archive (read
//! back by `tern import maildir`'s reader with UIDs, flags and bytes), delete, the lock and
//! the safety rule.
use std::sync::Arc;
use tern_directory::internal::InternalDirectory;
use tern_mail::account_state::{self, AccountState, DisabledMail};
use tern_mail::{DEFAULT_MAILBOXES, Mail};
use tern_provision::{AfterGrace, Options, Policy, ProvisionError, Quiet, RunLock, run};
use tern_store::{Flags, Timestamp};

struct Env {
    dir: tempfile::TempDir,
    mail: Mail,
    directory: Arc<InternalDirectory>,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let (store, blobs) = tern_store_sqlite::open_embedded(dir.path()).await.unwrap();
    let directory = Arc::new(InternalDirectory::open_in(dir.path()).unwrap());
    let mail = Mail::new(store, blobs, directory.clone());
    Env {
        dir,
        mail,
        directory,
    }
}

fn options(env: &Env, grace_secs: u64, after_grace: AfterGrace, dry_run: bool) -> Options {
    Options {
        policy: Policy {
            grace_secs,
            disabled_mail: DisabledMail::Defer,
            after_grace,
        },
        archive_dir: env.dir.path().join("archive"),
        dry_run,
        lock_file: Some(env.dir.path().join("provision.lock")),
    }
}

async fn names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .mail
        .store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn create_disable_archive_restore() {
    let env = env().await;
    for u in ["ann@x.test", "ben@x.test", "cat@x.test"] {
        env.directory
            .add_user(u, None, Some(5_000_000))
            .await
            .unwrap();
    }
    env.directory
        .set_enabled("cat@x.test", false)
        .await
        .unwrap();

    // Dry run: the plan, and nothing in the store.
    let dry = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Archive, true),
        &Quiet,
    )
    .await
    .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.planned["create"], 2);
    assert!(names(&env).await.is_empty());

    let r = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(r.done["create"], 2, "{}", r.text());
    assert!(r.success());
    assert_eq!(names(&env).await, vec!["ann@x.test", "ben@x.test"]);
    let ann = env
        .mail
        .store
        .account("ann@x.test", false)
        .await
        .unwrap()
        .unwrap();
    let boxes = env.mail.store.mailboxes(ann).await.unwrap();
    assert_eq!(boxes.len(), DEFAULT_MAILBOXES.len());
    let rec = account_state::read(&*env.mail.store, ann)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, AccountState::Active);
    assert_eq!(rec.quota, Some(5_000_000));

    // Idempotent.
    let again = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert!(again.actions.is_empty(), "{}", again.text());

    // Mail for ben: two folders, flags and a keyword, CRLF bytes.
    let ben = env
        .mail
        .store
        .account("ben@x.test", false)
        .await
        .unwrap()
        .unwrap();
    let boxes = env.mail.store.mailboxes(ben).await.unwrap();
    let inbox = boxes.iter().find(|b| b.name == "INBOX").unwrap().id;
    let sent = boxes.iter().find(|b| b.name == "Sent").unwrap().id;
    let sub = env
        .mail
        .store
        .create_mailbox(ben, "Projects/v1.0", Default::default())
        .await
        .unwrap()
        .id;
    let msg = |s: &str| format!("From: a@x.test\r\nSubject: {s}\r\n\r\nbody {s}\r\n").into_bytes();
    let mut seen = Flags::default();
    seen.insert_name("\\Seen");
    seen.insert_name("$Important");
    for (mb, subject, flags) in [
        (inbox, "one", Flags::default()),
        (inbox, "two", seen.clone()),
        (sent, "three", seen.clone()),
        (sub, "four", Flags::default()),
    ] {
        let staged = env.mail.stage_bytes(&msg(subject), 1 << 20).await.unwrap();
        env.mail
            .append(
                mb,
                &staged,
                flags,
                Timestamp {
                    unix: 1_700_000_000,
                    offset_minutes: 0,
                },
                None,
            )
            .await
            .unwrap();
    }

    // ben leaves: disabled (the grace period starts), mail deferred.
    env.directory.delete_user("ben@x.test").await.unwrap();
    let r = run(
        &env.mail,
        &options(&env, 3600, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(r.done["disable"], 1, "{}", r.text());
    let rec = account_state::read(&*env.mail.store, ben)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        rec.state,
        AccountState::Disabled { mail: DisabledMail::Defer, ref reason, .. } if reason == "not in the directory"
    ));
    // Within the grace period: nothing more, however often.
    let r = run(
        &env.mail,
        &options(&env, 3600, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert!(r.actions.is_empty(), "{}", r.text());
    assert_eq!(r.waiting.len(), 1);

    // Grace 0: archived, then deleted.
    let r = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(r.done["archive"], 1, "{}", r.text());
    assert_eq!(names(&env).await, vec!["ann@x.test"]);
    let path = match &r.actions[0].outcome {
        tern_provision::Outcome::Done { archive: Some(p) } => std::path::PathBuf::from(p),
        o => panic!("{o:?}"),
    };
    assert!(path.join("tern-archive.json").is_file());
    assert!(path.join(".Projects.v1&AC4-0").join("cur").is_dir());

    // The archive reads back: same folders, UIDs, flags and bytes.
    env.directory
        .add_user("ben@x.test", None, None)
        .await
        .unwrap();
    let imported = tern_migrate::maildir::import_maildir(&env.mail, "ben@x.test", &path)
        .await
        .unwrap();
    assert_eq!(imported.messages, 4, "{}", imported.text());
    let ben = env
        .mail
        .store
        .account("ben@x.test", false)
        .await
        .unwrap()
        .unwrap();
    let boxes = env.mail.store.mailboxes(ben).await.unwrap();
    let find = |n: &str| {
        boxes
            .iter()
            .find(|b| b.name == n)
            .unwrap_or_else(|| panic!("{n}: {boxes:?}"))
            .id
    };
    let (_, inbox_msgs) = env.mail.store.messages(find("INBOX")).await.unwrap();
    assert_eq!(inbox_msgs.len(), 2);
    assert_eq!(inbox_msgs[1].uid, 2);
    assert!(inbox_msgs[1].flags.has(Flags::SEEN));
    assert_eq!(inbox_msgs[1].flags.keywords, vec!["$Important".to_string()]);
    let bytes = env.mail.blobs.get(&inbox_msgs[1].blob).await.unwrap();
    assert_eq!((*bytes).as_ref(), msg("two").as_slice());
    assert_eq!(
        env.mail
            .store
            .messages(find("Projects/v1.0"))
            .await
            .unwrap()
            .1
            .len(),
        1
    );
    assert_eq!(
        env.mail.store.messages(find("Sent")).await.unwrap().1.len(),
        1
    );
}

#[tokio::test]
async fn delete_keep_and_reactivate() {
    let env = env().await;
    for u in ["a@x.test", "b@x.test", "c@x.test"] {
        env.directory.add_user(u, None, None).await.unwrap();
    }
    run(
        &env.mail,
        &options(&env, 0, AfterGrace::Delete, false),
        &Quiet,
    )
    .await
    .unwrap();
    env.directory.set_enabled("a@x.test", false).await.unwrap();
    env.directory.set_enabled("b@x.test", false).await.unwrap();
    let r = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Keep, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(r.done["disable"], 2);
    // Keep: past the grace period, still there.
    let r = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Keep, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert!(r.actions.is_empty());
    assert_eq!(names(&env).await.len(), 3);
    // b comes back; a is deleted without an archive.
    env.directory.set_enabled("b@x.test", true).await.unwrap();
    let r = run(
        &env.mail,
        &options(&env, 0, AfterGrace::Delete, false),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(r.done["delete"], 1, "{}", r.text());
    assert_eq!(r.done["reactivate"], 1, "{}", r.text());
    assert_eq!(names(&env).await, vec!["b@x.test", "c@x.test"]);
    assert!(!env.dir.path().join("archive").exists());
}

#[tokio::test]
async fn one_run_at_a_time_and_no_mass_disable() {
    let env = env().await;
    env.directory
        .add_user("a@x.test", None, None)
        .await
        .unwrap();
    run(
        &env.mail,
        &options(&env, 0, AfterGrace::Archive, false),
        &Quiet,
    )
    .await
    .unwrap();
    let opts = options(&env, 0, AfterGrace::Archive, false);
    {
        let _held = RunLock::acquire(opts.lock_file.as_ref().unwrap()).unwrap();
        match run(&env.mail, &opts, &Quiet).await {
            Err(ProvisionError::Busy(_)) => {}
            other => panic!("{other:?}"),
        }
        // A dry run needs no lock.
        run(
            &env.mail,
            &options(&env, 0, AfterGrace::Archive, true),
            &Quiet,
        )
        .await
        .unwrap();
    }
    // The directory lists nobody: refused, nothing disabled.
    env.directory.delete_user("a@x.test").await.unwrap();
    match run(&env.mail, &opts, &Quiet).await {
        Err(ProvisionError::Refused(why)) => assert!(why.contains("no mail user"), "{why}"),
        other => panic!("{other:?}"),
    }
    let a = env
        .mail
        .store
        .account("a@x.test", false)
        .await
        .unwrap()
        .unwrap();
    let rec = account_state::read(&*env.mail.store, a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, AccountState::Active);
}
