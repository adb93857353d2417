//! The concrete backends a config names. Today: the embedded store (`tern-store-sqlite`,
//! `data_dir/mail.db` + `data_dir/blobs/`) and the internal directory
//! (`data_dir/directory.db`). The cluster backends and LDAP/AD will be chosen here too; no
//! other crate names a backend.
use crate::config::Settings;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tern_directory::internal::InternalDirectory;
use tern_mail::Mail;
use tern_net::Shutdown;
use tern_store::{BlobStore, MailStore};
use tern_store_sqlite::{FsBlobStore, SqliteMailStore};

pub mod directory;
pub use directory::check_ldap_config;

/// Everything `tern serve` and the admin commands work on.
pub struct Backends {
    pub mail: Mail,
    pub store: Arc<SqliteMailStore>,
    pub blobs: Arc<FsBlobStore>,
    /// The cache in front of an LDAP / AD directory (`None`: the internal directory).
    pub directory_cache: Option<Arc<tern_directory::cache::CachedDirectory>>,
}

impl Backends {
    /// Opens the store and the directory in the data folder, creating them if absent.
    pub async fn open(settings: &Settings) -> anyhow::Result<Backends> {
        let directory::ServingDirectory {
            directory,
            cache: directory_cache,
        } = directory::serving(settings).await?;
        let (store, blobs) = tern_store_sqlite::open_embedded(&settings.data_dir)
            .await
            .with_context(|| {
                format!(
                    "cannot open the mail store in {}",
                    settings.data_dir.display()
                )
            })?;
        let mut mail = Mail::new(
            store.clone() as Arc<dyn MailStore>,
            blobs.clone() as Arc<dyn BlobStore>,
            directory,
        );
        mail.meta_cache = Arc::new(tern_mail::MetaCache::new(settings.metadata_cache));
        Ok(Backends {
            mail,
            store,
            blobs,
            directory_cache,
        })
    }

    /// Collects unreferenced blobs every `every` until shutdown.
    pub fn spawn_gc(
        &self,
        every: Duration,
        grace_seconds: u64,
        mut shutdown: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let blobs = self.blobs.clone();
        tokio::spawn(async move {
            while crate::serve::tick(every, &mut shutdown).await {
                match tern_store_sqlite::collect_garbage(&*store, &*blobs, grace_seconds).await {
                    Ok(report) => tracing::info!(?report, "blob garbage collection"),
                    Err(e) => tracing::warn!(error = %e, "blob garbage collection failed"),
                }
            }
        })
    }

    /// Applies `tern directory flush` requests and publishes the cache counters (LDAP / AD
    /// only; see [`directory`]).
    pub fn spawn_directory_control(
        &self,
        data_dir: &std::path::Path,
        shutdown: Shutdown,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let cache = self.directory_cache.clone()?;
        Some(directory::spawn_control(
            cache,
            data_dir.to_path_buf(),
            shutdown,
        ))
    }

    /// Drops the handles so the store's writer can finish and close the database.
    pub async fn close(self) {
        drop(self);
    }
}

/// The internal directory, `data_dir/directory.db` (created if absent).
pub async fn open_directory(settings: &Settings) -> anyhow::Result<Arc<InternalDirectory>> {
    let kind = directory::kind(settings);
    if kind != "internal" {
        anyhow::bail!(
            "[directory] kind = {kind:?} in {}: accounts live in the directory, not in Tern \
             (`tern directory lookup` shows what Tern sees)",
            settings.source.label()
        );
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data_dir: cannot create {}", settings.data_dir.display()))?;
    let path = settings.directory_db();
    let directory = InternalDirectory::open(&path)
        .with_context(|| format!("cannot open the directory {}", path.display()))?
        .with_default_quota(Some(settings.default_quota));
    Ok(Arc::new(directory))
}

/// Deletes an account's mailboxes and messages from the store (the blobs are collected by
/// the next garbage collection). Nothing to do if the account never received mail.
pub async fn delete_mail(settings: &Settings, name: &str) -> anyhow::Result<()> {
    let (store, _blobs) = tern_store_sqlite::open_embedded(&settings.data_dir)
        .await
        .with_context(|| {
            format!(
                "cannot open the mail store in {}",
                settings.data_dir.display()
            )
        })?;
    if let Some(account) = store.account(name, false).await? {
        store.delete_account(account).await?;
    }
    Ok(())
}
