//! `[provision]`: the directory sync (`tern provision`, and `tern serve` on an interval;
//! crates/tern-provision). The command line's `--grace`, `--policy` and `--after-grace`
//! override these for one run.
//!
//! ```toml
//! [provision]
//! interval = "1h"            # run inside `tern serve` this often (absent: only from the CLI)
//! grace = "30d"              # how long a disabled account is kept before after_grace
//! disabled_mail = "defer"    # mail to a disabled account: "defer" (450 4.2.1) | "bounce" (550 5.2.1)
//! after_grace = "archive"    # "archive" (Maildir++ export, then delete) | "delete" | "keep"
//! archive_dir = "/var/lib/tern/archive"   # default data_dir/archive
//! ```
use super::schema::{Field, KeyError, Kind};
use super::units::Dur;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tern_provision::{AfterGrace, DisabledMail};

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

pub const DISABLED_MAIL: &[&str] = &["defer", "bounce"];
pub const AFTER_GRACE: &[&str] = &["archive", "delete", "keep"];

pub const PROVISION: &[Field] = &[
    f("interval", Kind::Duration),
    f("grace", Kind::Duration),
    f("disabled_mail", Kind::OneOf(DISABLED_MAIL)),
    f("after_grace", Kind::OneOf(AFTER_GRACE)),
    f("archive_dir", Kind::Path),
];

/// `[provision]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Provision {
    pub interval: Option<Dur>,
    pub grace: Option<Dur>,
    pub disabled_mail: Option<String>,
    pub after_grace: Option<String>,
    pub archive_dir: Option<PathBuf>,
}

/// `[provision]` with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvisionSettings {
    /// `None`: `tern serve` does not provision.
    pub interval: Option<Duration>,
    pub grace: Duration,
    pub disabled_mail: DisabledMail,
    pub after_grace: AfterGrace,
    pub archive_dir: PathBuf,
}

pub fn check(p: &Provision, errors: &mut Vec<KeyError>) {
    if p.interval.is_some_and(|d| d.0.is_zero()) {
        errors.push(KeyError {
            key: "provision.interval".into(),
            reason: "must be longer than 0s (leave it out to provision from the command line only)"
                .into(),
        });
    }
    if let Some(d) = &p.archive_dir
        && d.exists()
        && !d.is_dir()
    {
        errors.push(KeyError {
            key: "provision.archive_dir".into(),
            reason: format!("{} exists and is not a directory", d.display()),
        });
    }
}

/// Applies the defaults (`data_dir` decides the default archive folder).
pub fn resolve(p: &Provision, data_dir: &Path) -> ProvisionSettings {
    ProvisionSettings {
        interval: p.interval.map(|d| d.0),
        grace: p.grace.map_or(Duration::from_secs(30 * 86_400), |d| d.0),
        disabled_mail: p
            .disabled_mail
            .as_deref()
            .and_then(DisabledMail::parse)
            .unwrap_or(DisabledMail::Defer),
        after_grace: p
            .after_grace
            .as_deref()
            .and_then(AfterGrace::parse)
            .unwrap_or(AfterGrace::Archive),
        archive_dir: p
            .archive_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("archive")),
    }
}

/// The run lock's file (`tern provision` and `tern serve` share it).
pub fn lock_file(data_dir: &Path) -> PathBuf {
    data_dir.join("provision.lock")
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn table_parses_resolves_and_reports_every_error() {
        let c = parse(
            "t.toml",
            "[provision]\ninterval = \"1h\"\ngrace = \"7d\"\ndisabled_mail = \"bounce\"\n\
             after_grace = \"delete\"\narchive_dir = \"/srv/archive\"\n",
        )
        .unwrap();
        let s = super::resolve(&c.provision, std::path::Path::new("/d"));
        assert_eq!(s.interval, Some(std::time::Duration::from_secs(3600)));
        assert_eq!(s.grace.as_secs(), 7 * 86_400);
        assert_eq!(s.disabled_mail, tern_provision::DisabledMail::Bounce);
        assert_eq!(s.after_grace, tern_provision::AfterGrace::Delete);
        assert_eq!(s.archive_dir, std::path::PathBuf::from("/srv/archive"));
        let d = super::resolve(&Default::default(), std::path::Path::new("/d"));
        assert_eq!(d.interval, None);
        assert_eq!(d.grace.as_secs(), 30 * 86_400);
        assert_eq!(d.disabled_mail, tern_provision::DisabledMail::Defer);
        assert_eq!(d.after_grace, tern_provision::AfterGrace::Archive);
        assert_eq!(d.archive_dir, std::path::PathBuf::from("/d/archive"));

        let errors = parse(
            "t.toml",
            "[provision]\ninterval = \"0s\"\ngrace = \"soon\"\ndisabled_mail = \"drop\"\n\
             after_grace = \"shred\"\ncolour = 1\n",
        )
        .unwrap_err()
        .to_string();
        for key in [
            "t.toml: provision.interval: must be longer than 0s",
            "t.toml: provision.grace: ",
            "t.toml: provision.disabled_mail: ",
            "t.toml: provision.after_grace: ",
            "t.toml: provision.colour: ",
        ] {
            assert!(errors.contains(key), "{key} missing in:\n{errors}");
        }
    }
}
