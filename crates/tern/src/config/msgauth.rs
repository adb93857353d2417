//! Message authentication settings (`tern-msgauth`): `[auth_results]` for what the MX
//! verifies and how it treats DMARC failures, `[dkim]` for signing submissions.
//!
//! ```toml
//! [auth_results]
//! verify = true                  # SPF, DKIM, DMARC, ARC on the MX (default true)
//! dmarc_reject = "reject"        # DMARC fail under p=reject: "reject" (550 5.7.1) | "quarantine" (Junk) | "none"
//! dmarc_quarantine = "quarantine"  # DMARC fail under p=quarantine: same choices
//! trusted_arc_sealers = ["lists.example.org"]  # a passing ARC chain sealed by these overrides DMARC
//! [dkim]
//! sign = true                    # sign submissions for domains that have a key (default true)
//! key_dir = "/var/lib/tern/dkim" # default data_dir/dkim; `tern dkim generate` writes here
//! ```
use super::schema::{Field, Kind};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DMARC_HANDLING: &[&str] = &["reject", "quarantine", "none"];

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

pub const AUTH_RESULTS: &[Field] = &[
    f("verify", Kind::Bool),
    f("dmarc_reject", Kind::OneOf(DMARC_HANDLING)),
    f("dmarc_quarantine", Kind::OneOf(DMARC_HANDLING)),
    f("trusted_arc_sealers", Kind::StrList),
];

pub const DKIM: &[Field] = &[f("sign", Kind::Bool), f("key_dir", Kind::Path)];

/// `[auth_results]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthResults {
    pub verify: Option<bool>,
    pub dmarc_reject: Option<String>,
    pub dmarc_quarantine: Option<String>,
    pub trusted_arc_sealers: Vec<String>,
}

/// `[dkim]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Dkim {
    pub sign: Option<bool>,
    pub key_dir: Option<PathBuf>,
}

/// Both tables with their defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct MsgAuthSettings {
    pub verify: bool,
    pub dmarc_reject: tern_msgauth::DmarcHandling,
    pub dmarc_quarantine: tern_msgauth::DmarcHandling,
    pub trusted_arc_sealers: Vec<String>,
    pub sign: bool,
    pub key_dir: PathBuf,
}

/// Applies the defaults (`data_dir` decides the default key folder).
pub fn resolve(auth: &AuthResults, dkim: &Dkim, data_dir: &Path) -> MsgAuthSettings {
    use tern_msgauth::DmarcHandling;
    let handling = |value: &Option<String>, default| {
        value
            .as_deref()
            .and_then(DmarcHandling::parse)
            .unwrap_or(default)
    };
    MsgAuthSettings {
        verify: auth.verify.unwrap_or(true),
        dmarc_reject: handling(&auth.dmarc_reject, DmarcHandling::Reject),
        dmarc_quarantine: handling(&auth.dmarc_quarantine, DmarcHandling::Quarantine),
        trusted_arc_sealers: auth
            .trusted_arc_sealers
            .iter()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        sign: dkim.sign.unwrap_or(true),
        key_dir: dkim
            .key_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("dkim")),
    }
}
