//! `FsBlobStore`: content-addressed message files.
//!
//! Layout: `ROOT/ab/cd/<64 hex>` where `abcd…` is the SHA-256 of the bytes; `ROOT/tmp/`
//! holds blobs being written (same filesystem, so the final step is an atomic rename).
//!
//! Invariants:
//! - A file under its hash name is complete and durable: it is fsync'd before the rename
//!   and its directory is fsync'd after, before `finish` returns. A fan-out directory
//!   created for it is made durable in its parent first (the 256 first-level ones when the
//!   store is opened, a second-level one by whoever creates it).
//! - A writer touches the disk only once its buffer fills or at `finish`: a message smaller
//!   than [`WRITE_BUFFER`] costs one blocking call (create, write, fsync, rename, fsync of
//!   the directory), not one per step.
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
        create_fanout(&root)?;
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

/// Creates the missing first-level fan-out directories (`00` … `ff`) and makes them durable,
/// so that a write only ever creates (and syncs the parent of) a second-level one.
fn create_fanout(root: &Path) -> io::Result<()> {
    let mut present = [false; 256];
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        if is_fanout_dir(&entry)?
            && let Some(i) = entry
                .file_name()
                .to_str()
                .and_then(|n| u8::from_str_radix(n, 16).ok())
        {
            present[usize::from(i)] = true;
        }
    }
    let mut created = false;
    for (i, _) in present.iter().enumerate().filter(|(_, p)| !**p) {
        match fs::create_dir(root.join(format!("{i:02x}"))) {
            Ok(()) => created = true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if created {
        // Their entries in the root. Each is synced itself when its first second-level
        // directory is created in it, before any file is named through it.
        sync_dir(root)?;
    }
    Ok(())
}

/// Moves the finished temporary file to its hash name and makes that durable. The
/// second-level directory is created on demand (its parent exists: [`create_fanout`]); the
/// common case, an existing directory, costs one rename and one directory fsync.
fn place(root: &Path, temp: &Path, id: &BlobId) -> io::Result<()> {
    let hex = id.to_hex();
    let outer = root.join(&hex[0..2]);
    let inner = outer.join(&hex[2..4]);
    let target = inner.join(&hex);
    match fs::rename(temp, &target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match fs::create_dir(&inner) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // `outer` was removed since the store was opened.
                    fs::create_dir_all(&inner)?;
                    sync_dir(root)?;
                }
                Err(e) => return Err(e),
            }
            // The directory's entry must be durable before a file is named through it (also
            // when a concurrent writer created it and has not synced it yet).
            sync_dir(&outer)?;
            fs::rename(temp, &target)?;
        }
        Err(e) => return Err(e),
    }
    sync_dir(&inner)
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
        // The temporary file is created by the first blocking step that needs it.
        let path = self.tmp.join(format!("{:016x}.tmp", rand::random::<u64>()));
        Ok(Box::new(FsBlobWriter {
            root: self.root.clone(),
            state: Some(WriteState {
                file: None,
                hasher: Sha256::new(),
            }),
            temp: Some(path),
            buf: Vec::new(),
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
    /// `None` until the first write to disk creates it.
    file: Option<File>,
    hasher: Sha256,
}

impl WriteState {
    /// Hashes `bytes` and writes them to the temporary file `temp`, creating it first.
    fn write(&mut self, temp: &Path, bytes: &[u8]) -> io::Result<&mut File> {
        let file = match &mut self.file {
            Some(file) => file,
            none => none.insert(File::options().write(true).create_new(true).open(temp)?),
        };
        self.hasher.update(bytes);
        file.write_all(bytes)?;
        Ok(file)
    }
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
        let temp = self
            .temp
            .clone()
            .ok_or_else(|| StoreError::Backend("blob already finished".into()))?;
        let (state, mut buf) = tokio::task::spawn_blocking(move || {
            state.write(&temp, &buf)?;
            Ok::<_, io::Error>((state, buf))
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
        if self.buf.capacity() == 0 {
            // Most messages are far smaller than the buffer: start with room for this one.
            self.buf.reserve(chunk.len().clamp(16 * 1024, WRITE_BUFFER));
        }
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

    async fn finish(self: Box<Self>) -> StoreResult<(BlobId, u64)> {
        let (id, size, _) = self.finish_keep().await?;
        Ok((id, size))
    }

    /// Hands back the buffer as the blob's bytes when nothing went to disk before `finish`
    /// (blobs under [`WRITE_BUFFER`]).
    async fn finish_keep(mut self: Box<Self>) -> StoreResult<(BlobId, u64, Option<Blob>)> {
        let mut state = self
            .state
            .take()
            .ok_or_else(|| StoreError::Backend("blob writer used after a failure".into()))?;
        let temp = self
            .temp
            .clone()
            .ok_or_else(|| StoreError::Backend("blob already finished".into()))?;
        let root = self.root.clone();
        let size = self.size;
        let buf = std::mem::take(&mut self.buf);
        // One blocking call: the rest of the bytes, fsync, rename, fsync of the directory.
        let whole = state.file.is_none();
        let (id, buf) = tokio::task::spawn_blocking(move || -> io::Result<(BlobId, Vec<u8>)> {
            state.write(&temp, &buf)?.sync_all()?;
            let WriteState { file, hasher } = state;
            drop(file);
            let id = BlobId(hasher.finalize().into());
            place(&root, &temp, &id)?;
            Ok((id, buf))
        })
        .await
        .map_err(join_error)??;
        self.temp = None;
        let kept: Option<Blob> = whole.then(|| Arc::new(buf) as Blob);
        Ok((id, size, kept))
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn put(blobs: &FsBlobStore, bytes: &[u8]) -> BlobId {
        let mut w = blobs.writer().await.unwrap();
        w.write(bytes).await.unwrap();
        w.finish().await.unwrap().0
    }

    #[tokio::test]
    async fn fanout_directories_are_made_as_needed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let first_level = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| is_fanout_dir(e.as_ref().unwrap()).unwrap())
            .count();
        assert_eq!(first_level, 256);
        let id = put(&blobs, b"one").await;
        assert_eq!(fs::read(blobs.path_of(&id)).unwrap(), b"one");
        // Same bytes again: renamed over the first copy.
        assert_eq!(put(&blobs, b"one").await, id);
        // A first-level directory removed behind the store's back is made again.
        let outer = blobs
            .path_of(&id)
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_owned();
        fs::remove_dir_all(&outer).unwrap();
        assert_eq!(put(&blobs, b"one").await, id);
        assert_eq!((*blobs.get(&id).await.unwrap()).as_ref(), b"one");
        // Reopening finds them all and creates nothing; no temporary file is left.
        FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn nothing_touches_the_disk_before_the_buffer_fills() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let tmp = || fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count();
        let mut w = blobs.writer().await.unwrap();
        w.write(&[b'x'; 1000]).await.unwrap();
        assert_eq!(tmp(), 0, "small writes stay in memory");
        w.write(&vec![b'y'; WRITE_BUFFER]).await.unwrap();
        assert_eq!(tmp(), 1, "a full buffer goes to the temporary file");
        drop(w);
        assert_eq!(tmp(), 0, "an abandoned write leaves nothing");
    }
}
