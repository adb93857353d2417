//! `FsBlobStore`: content-addressed message files.
//!
//! Layout: `ROOT/ab/cd/<64 hex>` where `abcd…` is the SHA-256 of the bytes; `ROOT/tmp/`
//! holds blobs being written (same filesystem, so the final step is an atomic rename).
//!
//! Invariants:
//! - A file under its hash name is complete and durable: it is fsync'd before the rename
//!   and its directory is fsync'd after, before `finish` returns.
//! - Files are never modified in place; they are only replaced whole (rename, same bytes)
//!   or unlinked. That is what makes memory-mapping them sound.
//! - Writing bytes that are already stored renames over the old file, which refreshes its
//!   mtime: garbage collection treats a fresh file as possibly in use by a writer.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tern_store::{Blob, BlobId, BlobStore, BlobWriter, StoreError, StoreResult};

/// Bytes buffered before a write goes to the file.
const WRITE_BUFFER: usize = 256 * 1024;
/// Blobs up to this size are read onto the heap: cheaper than a mapping for small messages.
const MAP_THRESHOLD: u64 = 64 * 1024;
const TMP_DIR: &str = "tmp";

/// Content-addressed blobs in a directory.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) the blob directory `root`.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<FsBlobStore> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp)?;
        Ok(FsBlobStore { root, tmp })
    }

    /// Where the blob `id` lives.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Removes abandoned temporary files (from a crash mid-write) older than `older_than`.
    pub fn sweep_temp(&self, older_than: Duration) -> StoreResult<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp)? {
            let entry = entry?;
            if is_older(&entry.metadata()?, older_than) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(removed)
    }

    fn list_sync(&self) -> io::Result<Vec<BlobId>> {
        let mut out = Vec::new();
        for a in fs::read_dir(&self.root)? {
            let a = a?;
            if !is_fanout_dir(&a)? {
                continue;
            }
            for b in fs::read_dir(a.path())? {
                let b = b?;
                if !is_fanout_dir(&b)? {
                    continue;
                }
                for f in fs::read_dir(b.path())? {
                    let name = f?.file_name();
                    if let Some(id) = name.to_str().and_then(BlobId::from_hex) {
                        out.push(id);
                    }
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Rename the file aside, check its age again, and put it back if it turned fresh: a
    /// writer finishing the same content concurrently either renamed over the file before
    /// (fresh mtime: restored) or lands a new file after (untouched by the unlink).
    fn remove_if_stale_sync(&self, id: &BlobId, grace: Duration) -> io::Result<bool> {
        let path = self.path_of(id);
        match fs::metadata(&path) {
            Ok(m) if is_older(&m, grace) => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        let aside = path.with_extension(format!("gc-{:016x}", rand::random::<u64>()));
        match fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        if is_older(&fs::metadata(&aside)?, grace) {
            fs::remove_file(&aside)?;
            sync_dir(path.parent().unwrap_or(&self.root))?;
            Ok(true)
        } else {
            fs::rename(&aside, &path)?;
            Ok(false)
        }
    }
}

fn is_fanout_dir(entry: &fs::DirEntry) -> io::Result<bool> {
    let name = entry.file_name();
    let name = name.to_string_lossy();
    Ok(entry.file_type()?.is_dir()
        && name.len() == 2
        && name.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_older(meta: &fs::Metadata, age: Duration) -> bool {
    let Ok(modified) = meta.modified() else {
        return false;
    };
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|elapsed| elapsed >= age)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Maps (or, when small, reads) a blob file.
#[allow(unsafe_code)]
fn load(path: &Path) -> io::Result<Blob> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len <= MAP_THRESHOLD {
        let mut buf = Vec::with_capacity(len as usize);
        file.read_to_end(&mut buf)?;
        return Ok(Arc::new(buf));
    }
    // SAFETY: blob files are immutable once under their hash name: the store never writes
    // into them, only replaces them whole by rename (a new inode) or unlinks them, neither
    // of which changes an existing mapping. Only an outside process truncating the file
    // could invalidate it, which the data directory's ownership rules out.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Arc::new(map))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn writer(&self) -> StoreResult<Box<dyn BlobWriter>> {
        let path = self.tmp.join(format!("{:016x}.tmp", rand::random::<u64>()));
        let open_path = path.clone();
        let file = tokio::task::spawn_blocking(move || {
            File::options()
                .write(true)
                .create_new(true)
                .open(&open_path)
        })
        .await
        .map_err(join_error)??;
        Ok(Box::new(FsBlobWriter {
            root: self.root.clone(),
            state: Some(WriteState {
                file,
                hasher: Sha256::new(),
            }),
            temp: Some(path),
            buf: Vec::with_capacity(WRITE_BUFFER),
            size: 0,
        }))
    }

    async fn get(&self, id: &BlobId) -> StoreResult<Blob> {
        let path = self.path_of(id);
        let id = *id;
        tokio::task::spawn_blocking(move || match load(&path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::BlobMissing(id.to_hex()))
            }
            Err(e) => Err(e.into()),
        })
        .await
        .map_err(join_error)?
    }

    async fn exists(&self, id: &BlobId) -> StoreResult<bool> {
        Ok(tokio::fs::try_exists(self.path_of(id)).await?)
    }

    async fn remove_if_stale(&self, id: &BlobId, grace_seconds: u64) -> StoreResult<bool> {
        let this = self.clone();
        let id = *id;
        tokio::task::spawn_blocking(move || {
            this.remove_if_stale_sync(&id, Duration::from_secs(grace_seconds))
        })
        .await
        .map_err(join_error)?
        .map_err(Into::into)
    }

    async fn list(&self) -> StoreResult<Vec<BlobId>> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.list_sync())
            .await
            .map_err(join_error)?
            .map_err(Into::into)
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("blob task failed: {e}"))
}

struct WriteState {
    file: File,
    hasher: Sha256,
}

/// A blob being written to `tmp/`, hashed as it goes.
struct FsBlobWriter {
    root: PathBuf,
    /// `None` only while a blocking write holds it.
    state: Option<WriteState>,
    /// The temporary file; `None` once renamed into place.
    temp: Option<PathBuf>,
    buf: Vec<u8>,
    size: u64,
}

impl FsBlobWriter {
    async fn flush_buf(&mut self) -> StoreResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut state = self
            .state
            .take()
            .ok_or_else(|| StoreError::Backend("blob writer used after a failure".into()))?;
        let buf = std::mem::take(&mut self.buf);
        let (state, mut buf) = tokio::task::spawn_blocking(move || {
            state.hasher.update(&buf);
            state.file.write_all(&buf).map(|()| (state, buf))
        })
        .await
        .map_err(join_error)??;
        buf.clear();
        self.buf = buf;
        self.state = Some(state);
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, mut chunk: &[u8]) -> StoreResult<()> {
        self.size += chunk.len() as u64;
        while !chunk.is_empty() {
            let room = WRITE_BUFFER - self.buf.len();
            let take = room.min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.buf.len() == WRITE_BUFFER {
                self.flush_buf().await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> StoreResult<(BlobId, u64)> {
        self.flush_buf().await?;
        let state = self
            .state
            .take()
            .ok_or_else(|| StoreError::Backend("blob writer used after a failure".into()))?;
        let temp = self
            .temp
            .clone()
            .ok_or_else(|| StoreError::Backend("blob already finished".into()))?;
        let root = self.root.clone();
        let size = self.size;
        let id = tokio::task::spawn_blocking(move || -> io::Result<BlobId> {
            let WriteState { file, hasher } = state;
            file.sync_all()?;
            drop(file);
            let id = BlobId(hasher.finalize().into());
            let hex = id.to_hex();
            let outer = root.join(&hex[0..2]);
            let inner = outer.join(&hex[2..4]);
            if !inner.is_dir() {
                fs::create_dir_all(&inner)?;
                // New directory entries are durable only once their parents are synced.
                sync_dir(&outer)?;
                sync_dir(&root)?;
            }
            fs::rename(&temp, inner.join(&hex))?;
            sync_dir(&inner)?;
            Ok(id)
        })
        .await
        .map_err(join_error)??;
        self.temp = None;
        Ok((id, size))
    }
}

impl Drop for FsBlobWriter {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // Abandoned (or failed) write: leave nothing behind.
            let _ = fs::remove_file(temp);
        }
    }
}
