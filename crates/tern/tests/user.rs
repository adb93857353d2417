//! `tern user ...` against a fresh data folder: add, list (plain and JSON), passwd, quota,
//! aliases, del, and the refusals.
mod common;
use common::*;
use serde_json::Value;

fn list(dir: &std::path::Path, data: &str) -> Vec<Value> {
    let out = run(dir, &["--data-dir", data, "user", "list", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    match serde_json::from_str(&stdout(&out)).unwrap() {
        Value::Array(v) => v,
        other => panic!("not a JSON array: {other}"),
    }
}

#[test]
fn add_list_passwd_quota_alias_del() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("d");
    let data = data_path.to_str().unwrap();
    assert!(list(dir.path(), data).is_empty());

    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "add",
            "Alice@Example.TEST",
            "--password-stdin",
        ],
        "first password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &[
            "user",
            "add",
            "carol@example.test",
            "--quota",
            "2GB",
            "--data-dir",
            data,
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no password"), "{}", stderr(&out));

    let users = list(dir.path(), data);
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["address"], "alice@example.test");
    assert_eq!(
        users[0]["quota_bytes"], 200_000_000u64,
        "default quota 200MB"
    );
    assert_eq!(users[0]["enabled"], true);
    assert_eq!(users[1]["address"], "carol@example.test");
    assert_eq!(users[1]["quota_bytes"], 2_000_000_000u64);

    // Adding the same address again fails.
    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "add",
            "alice@example.test",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(out.status.code(), Some(1));

    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "passwd",
            "alice@example.test",
            "--password-stdin",
        ],
        "second password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // passwd without --password-stdin is a usage error.
    let out = run(
        dir.path(),
        &["--data-dir", data, "user", "passwd", "alice@example.test"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));

    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "quota",
            "carol@example.test",
            "unlimited",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "alias",
            "add",
            "al@example.test",
            "alice@example.test",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let users = list(dir.path(), data);
    assert_eq!(users[0]["aliases"], serde_json::json!(["al@example.test"]));
    assert_eq!(users[1]["quota_bytes"], Value::Null);

    let out = run(
        dir.path(),
        &[
            "--data-dir",
            data,
            "user",
            "alias",
            "del",
            "al@example.test",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(list(dir.path(), data)[0]["aliases"], serde_json::json!([]));

    let out = run(dir.path(), &["--data-dir", data, "user", "list"], "");
    assert!(stdout(&out).contains("alice@example.test"));

    let out = run(
        dir.path(),
        &["--data-dir", data, "user", "del", "alice@example.test"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let users = list(dir.path(), data);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["address"], "carol@example.test");
    let out = run(
        dir.path(),
        &["--data-dir", data, "user", "del", "alice@example.test"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "deleting twice fails");
}

#[test]
fn refusals_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let config = port0_config(dir.path(), Some(&dir.path().join("d")), "");
    let cfg = config.to_str().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["user", "add", "not-an-address"], "", "not an address"),
        (
            &["user", "add", "x@other.test"],
            "",
            "not one of local_domains",
        ),
        (
            &["user", "add", "x@example.test", "--quota", "lots"],
            "",
            "quota",
        ),
        (
            &["user", "add", "x@example.test", "--password-stdin"],
            "\n",
            "empty password",
        ),
    ];
    for (args, stdin, want) in cases {
        let mut full = vec!["--config", cfg];
        full.extend_from_slice(args);
        let out = run(dir.path(), &full, stdin);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    let out = run(dir.path(), &["--config", cfg, "user", "list", "--json"], "");
    assert_eq!(stdout(&out).trim(), "[]", "nothing was added");
}
