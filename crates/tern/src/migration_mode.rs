//! Migration mode's wiring (`[migration]`): the users' homes from `migrate.db`, kept current
//! by a background task, given to the mail core so that IMAP, POP3, SMTP, LMTP and the queue
//! all ask the same question; and the legacy server's endpoints for the relays.
use crate::backends::Backends;
use crate::config::Settings;
use crate::config::migration::Legacy;
use anyhow::Context;
use std::sync::Arc;
use tern_migrate::cutover::{CutoverDb, LiveHomes};
use tern_net::Shutdown;

pub struct MigrationMode {
    pub legacy: Legacy,
    homes: Arc<LiveHomes>,
}

/// `None` outside migration mode. Gives `backends.mail` the homes.
pub fn setup(
    settings: &Settings,
    backends: &mut Backends,
) -> anyhow::Result<Option<MigrationMode>> {
    let Some(m) = &settings.migration else {
        return Ok(None);
    };
    let legacy = m.resolve().map_err(|e| anyhow::anyhow!("migration: {e}"))?;
    let path = settings.data_dir.join("migrate.db");
    let db = Arc::new(CutoverDb::open(&path).context("migration: cannot open migrate.db")?);
    let homes = LiveHomes::load(db, legacy.unlisted).context("migration: cannot load homes")?;
    backends.mail = backends.mail.clone().with_homes(homes.clone());
    tracing::info!(unlisted = legacy.unlisted.as_str(), imap = ?legacy.imap_url,
        "migration mode: users not cut over are relayed to the legacy server");
    Ok(Some(MigrationMode { legacy, homes }))
}

impl MigrationMode {
    /// Keeps the homes current until shutdown.
    pub fn spawn(&self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let mut shutdown = shutdown;
        tokio::spawn(self.homes.clone().run(async move { shutdown.wait().await }))
    }
}
