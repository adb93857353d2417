//! `tern check-config`: every problem at once, each as `FILE: KEY: REASON`; which file is read.
mod common;
use common::*;

#[test]
fn reports_every_error_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
hostname = "mail.example.test"
colour = "blue"
[listen]
imap = ["127.0.0.1:143", "not-an-address"]
http = ["0.0.0.0:8080"]
[tls]
cert = "/nonexistent/cert.pem"
[quota]
default = "ten gigabytes"
[directory]
kind = "nis"
urls = ["ldaps://dc1.example.test"]
base_dn = "DC=example,DC=test"
[limits]
imap_idle_timeout = "soon"
"#,
    )
    .unwrap();
    let file = path.display().to_string();
    let out = run(dir.path(), &["check-config", "--config", &file], "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    for key in [
        "colour",
        "listen.imap[1]",
        "listen.http[0]",
        "tls.key",
        "tls.cert",
        "quota.default",
        "directory.kind",
        "limits.imap_idle_timeout",
    ] {
        let prefix = format!("{file}: {key}: ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no line for {key} in:\n{err}"
        );
    }
    assert_eq!(lines.len(), 8, "{err}");
    assert!(err.contains("http is not implemented yet"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn good_file_is_ok_and_global_option_works_before_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = port0_config(dir.path(), None, "");
    let file = path.display().to_string();
    let out = run(dir.path(), &["--config", &file, "check-config"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("config OK"));
}

#[test]
fn config_comes_from_env_then_local_file_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    // No file anywhere: built-in defaults.
    let out = run(dir.path(), &["check-config"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("built-in defaults"),
        "{}",
        stdout(&out)
    );

    // ./tern.toml is read when present.
    std::fs::write(dir.path().join("tern.toml"), "bogus = 1\n").unwrap();
    let out = run(dir.path(), &["check-config"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("tern.toml: bogus: unknown key"),
        "{}",
        stderr(&out)
    );

    // $TERN_CONFIG wins over ./tern.toml.
    let env_file = dir.path().join("env.toml");
    std::fs::write(&env_file, "hostname = \"env.example.test\"\n").unwrap();
    let out = tern(dir.path())
        .arg("check-config")
        .env("TERN_CONFIG", &env_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("env.toml"));

    // A named file that does not exist is an error naming it.
    let out = run(
        dir.path(),
        &["check-config", "--config", "missing.toml"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("missing.toml: (file): cannot read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_example_config_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tern.example.toml");
    let out = run(dir.path(), &["check-config", "--config", example], "");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn serve_refuses_a_bad_config_without_touching_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tern.toml"),
        "[listen]\nhttp = [\"127.0.0.1:0\"]\n",
    )
    .unwrap();
    let out = run(dir.path(), &["serve"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("tern.toml: listen.http[0]: http is not implemented yet"));
    assert!(!dir.path().join("tern-data").exists());
}
