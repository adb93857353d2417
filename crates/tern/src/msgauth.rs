//! Message authentication's wiring: `[auth_results]`, `[dkim]` and `[dns]` turned into the
//! MX's [`tern_msgauth::Verifier`] and submission's [`tern_msgauth::KeyStore`].
//!
//! Keys are loaded once at start (a new key needs a restart); a key file that cannot be
//! read stops the start with its path, rather than silently sending unsigned mail.
use crate::config::Settings;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tern_msgauth::{KeyStore, Verifier, VerifyConfig};

/// What the SMTP listeners get.
#[derive(Clone, Default)]
pub struct MsgAuth {
    /// For the MX; `None` when `[auth_results] verify = false`.
    pub verifier: Option<Arc<Verifier>>,
    /// For submission; `None` when `[dkim] sign = false` or no key exists.
    pub keys: Option<Arc<KeyStore>>,
}

/// `[dns] nameservers` as socket addresses.
pub fn nameservers(settings: &Settings) -> anyhow::Result<Vec<SocketAddr>> {
    settings
        .nameservers
        .iter()
        .map(|s| {
            s.parse()
                .with_context(|| format!("dns.nameservers: {s:?} is not an IP address and port"))
        })
        .collect()
}

/// Builds the verifier and loads the keys.
pub fn setup(settings: &Settings) -> anyhow::Result<MsgAuth> {
    let m = &settings.msgauth;
    let verifier = if m.verify {
        let mut config = VerifyConfig::new(settings.hostname.clone());
        config.on_reject_policy = m.dmarc_reject;
        config.on_quarantine_policy = m.dmarc_quarantine;
        config.trusted_arc_sealers = m.trusted_arc_sealers.clone();
        let verifier = Verifier::new(&nameservers(settings)?, config)
            .context("auth_results: cannot start the DNS resolver")?;
        Some(Arc::new(verifier))
    } else {
        None
    };
    let keys = if m.sign {
        let store = KeyStore::load(&m.key_dir).context("dkim: cannot load the signing keys")?;
        for key in store.keys() {
            tracing::info!(domain = %key.domain, selector = %key.selector,
                algorithm = key.algorithm.name(), "DKIM signing key loaded");
        }
        (!store.is_empty()).then(|| Arc::new(store))
    } else {
        None
    };
    Ok(MsgAuth { verifier, keys })
}
