//! `FsBlobStore`: content-addressed message files.
//!
//! Layout: `ROOT/ab/<64 hex>` where `ab…` is the SHA-256 of the bytes; `ROOT/tmp/` holds
//! blobs being written (same filesystem, so the final step is an atomic rename). The 256
//! fan-out directories `00` … `ff` are made when the store is opened, so a write never
//! creates a directory.
//!
//! Older stores put blobs one level deeper, at `ROOT/ab/cd/<64 hex>`. Those files stay where
//! they are: every read looks in the one-level place first and then in the two-level one,
//! [`BlobStore::list`] and [`BlobStore::remove_if_stale`] cover both, and garbage collection
//! removes them from either place once unreferenced. A store whose blob directory was made
//! empty by this version carries the mark file `ROOT/one-level` and never looks at the
//! old place when writing; without the mark, a write first checks (one `stat`) whether the
//! same bytes are already in the old place and, if so, replaces that copy instead of making
//! a second one.
//!
//! Invariants:
//! - A file under its hash name is complete and durable: it is fsync'd before the rename
//!   and its directory is fsync'd after, before `finish` returns. The fan-out directories
//!   are made durable in the root when the store is opened (or, if one was removed behind
//!   the store's back, by the writer that makes it again) before a file is named through
//!   them.
//! - A blob is never moved between the layouts: a read that misses the one-level place and
//!   then finds the file in the two-level one cannot have raced with a move.
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
/// Present in a blob directory that never held the two-level layout (`ab/cd/<hex>`).
const ONE_LEVEL_MARK: &str = "one-level";

/// Content-addressed blobs in a directory.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    tmp: PathBuf,
    /// Blobs may exist in the two-level layout: writes check there first (dedup).
    two_level: bool,
}

impl FsBlobStore {
    /// Opens (creating if needed) the blob directory `root`.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<FsBlobStore> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp)?;
        let two_level = create_fanout(&root)?;
        Ok(FsBlobStore {
            root,
            tmp,
            two_level,
        })
    }

    /// Where a blob written now is stored (the one-level layout). A blob written by an
    /// older version may be at [`FsBlobStore::locate`]'s other place instead.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        one_level_path(&self.root, &id.to_hex())
    }

    /// The file holding the blob `id` now, in either layout; `None` if there is none.
    /// Blocking (up to two `stat`s).
    pub fn locate(&self, id: &BlobId) -> io::Result<Option<PathBuf>> {
        for path in self.places(id) {
            match fs::symlink_metadata(&path) {
                Ok(_) => return Ok(Some(path)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Where the blob `id` can be, in the order reads look: one-level, then two-level.
    fn places(&self, id: &BlobId) -> [PathBuf; 2] {
        let hex = id.to_hex();
        [
            one_level_path(&self.root, &hex),
            two_level_path(&self.root, &hex),
        ]
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

    /// Every blob in both layouts, each once.
    fn list_sync(&self) -> io::Result<Vec<BlobId>> {
        let mut out = Vec::new();
        for a in fs::read_dir(&self.root)? {
            let a = a?;
            if !is_fanout_dir(&a)? {
                continue;
            }
            for b in fs::read_dir(a.path())? {
                let b = b?;
                if let Some(id) = blob_name(&b) {
                    out.push(id);
                } else if is_fanout_dir(&b)? {
                    // A two-level directory of an older store.
                    for f in fs::read_dir(b.path())? {
                        if let Some(id) = blob_name(&f?) {
                            out.push(id);
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Removes each copy of the blob (one per layout, normally one in all) that is older
    /// than `grace`; true when one was removed and none is left.
    fn remove_if_stale_sync(&self, id: &BlobId, grace: Duration) -> io::Result<bool> {
        let mut removed = false;
        let mut kept = false;
        for path in self.places(id) {
            match remove_if_stale_at(&path, grace)? {
                Removal::Removed => removed = true,
                Removal::Fresh => kept = true,
                Removal::Absent => {}
            }
        }
        Ok(removed && !kept)
    }
}

fn one_level_path(root: &Path, hex: &str) -> PathBuf {
    root.join(&hex[0..2]).join(hex)
}

fn two_level_path(root: &Path, hex: &str) -> PathBuf {
    root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
}

/// What [`remove_if_stale_at`] found.
enum Removal {
    Removed,
    Fresh,
    Absent,
}

/// Rename the file aside, check its age again, and put it back if it turned fresh: a
/// writer finishing the same content concurrently either renamed over the file before
/// (fresh mtime: restored) or lands a new file after (untouched by the unlink).
fn remove_if_stale_at(path: &Path, grace: Duration) -> io::Result<Removal> {
    match fs::metadata(path) {
        Ok(m) if is_older(&m, grace) => {}
        Ok(_) => return Ok(Removal::Fresh),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Absent),
        Err(e) => return Err(e),
    }
    let aside = path.with_extension(format!("gc-{:016x}", rand::random::<u64>()));
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Absent),
        Err(e) => return Err(e),
    }
    if is_older(&fs::metadata(&aside)?, grace) {
        fs::remove_file(&aside)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(Removal::Removed)
    } else {
        fs::rename(&aside, path)?;
        Ok(Removal::Fresh)
    }
}

/// The blob id a directory entry is named for (files only: 64 hex digits).
fn blob_name(entry: &fs::DirEntry) -> Option<BlobId> {
    let name = entry.file_name();
    let name = name.to_str()?;
    if name.len() != 64 {
        return None;
    }
    BlobId::from_hex(name)
}

fn is_fanout_dir(entry: &fs::DirEntry) -> io::Result<bool> {
    let name = entry.file_name();
    let name = name.to_string_lossy();
    Ok(name.len() == 2
        && name.bytes().all(|b| b.is_ascii_hexdigit())
        && entry.file_type()?.is_dir())
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

/// Creates the missing fan-out directories (`00` … `ff`) and makes them durable, so that a
/// write never creates one. Returns whether blobs may exist in the two-level layout: false
/// only when the mark [`ONE_LEVEL_MARK`] is there, which is written when all 256 had to be
/// made (a new, empty blob directory).
fn create_fanout(root: &Path) -> io::Result<bool> {
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
    let mark = root.join(ONE_LEVEL_MARK);
    let new_store = !present.contains(&true);
    let mut created = false;
    for (i, _) in present.iter().enumerate().filter(|(_, p)| !**p) {
        match fs::create_dir(root.join(format!("{i:02x}"))) {
            Ok(()) => created = true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if new_store {
        File::create(&mark)?;
    }
    if created || new_store {
        // Their entries (and the mark) in the root, before any file is named through them.
        sync_dir(root)?;
    }
    Ok(!fs::exists(&mark)?)
}

/// Moves the finished temporary file to its hash name and makes that durable: one rename
/// and one fsync of the fan-out directory. When the store may hold two-level blobs and
/// these bytes are one, that copy is replaced instead (one `stat` more), so content is never
/// stored twice.
fn place(root: &Path, temp: &Path, id: &BlobId, two_level: bool) -> io::Result<()> {
    let hex = id.to_hex();
    if two_level {
        let old = two_level_path(root, &hex);
        if fs::symlink_metadata(&old).is_ok() {
            match fs::rename(temp, &old) {
                Ok(()) => return sync_dir(old.parent().unwrap_or(root)),
                // Its directory went since the check: store it in the one-level place.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    let dir = root.join(&hex[0..2]);
    let target = dir.join(&hex);
    match fs::rename(temp, &target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // The fan-out directory was removed since the store was opened.
            fs::create_dir_all(&dir)?;
            sync_dir(root)?;
            fs::rename(temp, &target)?;
        }
        Err(e) => return Err(e),
    }
    sync_dir(&dir)
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
            two_level: self.two_level,
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
        let places = self.places(id);
        let id = *id;
        tokio::task::spawn_blocking(move || {
            for path in &places {
                match load(path) {
                    Ok(b) => return Ok(b),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(StoreError::BlobMissing(id.to_hex()))
        })
        .await
        .map_err(join_error)?
    }

    async fn exists(&self, id: &BlobId) -> StoreResult<bool> {
        let this = self.clone();
        let id = *id;
        // One blocking hand-off for both layouts' places.
        let found = tokio::task::spawn_blocking(move || this.locate(&id))
            .await
            .map_err(join_error)??;
        Ok(found.is_some())
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
    /// [`FsBlobStore::two_level`]: look for the same bytes in the two-level layout first.
    two_level: bool,
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
        let two_level = self.two_level;
        let size = self.size;
        let buf = std::mem::take(&mut self.buf);
        // One blocking call: the rest of the bytes, fsync, rename, fsync of the directory.
        let whole = state.file.is_none();
        let (id, buf) = tokio::task::spawn_blocking(move || -> io::Result<(BlobId, Vec<u8>)> {
            state.write(&temp, &buf)?.sync_all()?;
            let WriteState { file, hasher } = state;
            drop(file);
            let id = BlobId(hasher.finalize().into());
            place(&root, &temp, &id, two_level)?;
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

    fn age(path: &Path, by: Duration) {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - by)
            .unwrap();
    }

    fn is_fresh(path: &Path) -> bool {
        !is_older(&fs::metadata(path).unwrap(), Duration::from_secs(60))
    }

    /// Directories below the fan-out level (the two-level layout's).
    fn second_level_dirs(root: &Path) -> usize {
        let mut n = 0;
        for a in fs::read_dir(root).unwrap() {
            let a = a.unwrap();
            if is_fanout_dir(&a).unwrap() {
                for b in fs::read_dir(a.path()).unwrap() {
                    n += usize::from(b.unwrap().file_type().unwrap().is_dir());
                }
            }
        }
        n
    }

    /// Stores `bytes` where a store of the two-level layout put them.
    fn put_two_level(root: &Path, bytes: &[u8]) -> (BlobId, PathBuf) {
        let id = BlobId(Sha256::digest(bytes).into());
        let path = two_level_path(root, &id.to_hex());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        (id, path)
    }

    #[tokio::test]
    async fn new_blobs_go_one_level_deep_without_making_directories() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let fanout = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| is_fanout_dir(e.as_ref().unwrap()).unwrap())
            .count();
        assert_eq!(fanout, 256);
        assert!(dir.path().join(ONE_LEVEL_MARK).exists());
        assert!(!blobs.two_level, "a new store never held the old layout");
        let id = put(&blobs, b"one").await;
        let hex = id.to_hex();
        assert_eq!(blobs.path_of(&id), dir.path().join(&hex[0..2]).join(&hex));
        assert_eq!(fs::read(blobs.path_of(&id)).unwrap(), b"one");
        assert_eq!(blobs.locate(&id).unwrap(), Some(blobs.path_of(&id)));
        assert_eq!(second_level_dirs(dir.path()), 0);
        // Same bytes again: renamed over the first copy.
        assert_eq!(put(&blobs, b"one").await, id);
        assert_eq!(blobs.list().await.unwrap(), vec![id]);
        // A fan-out directory removed behind the store's back is made again.
        fs::remove_dir_all(blobs.path_of(&id).parent().unwrap()).unwrap();
        assert_eq!(put(&blobs, b"one").await, id);
        assert_eq!((*blobs.get(&id).await.unwrap()).as_ref(), b"one");
        // Reopening finds them all and creates nothing; no temporary file is left.
        let again = FsBlobStore::open(dir.path()).unwrap();
        assert!(!again.two_level);
        assert_eq!(fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_two_level_store_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        // What an older version left: all 256 fan-out directories, second-level ones
        // under some of them, no mark.
        for i in 0..=255u8 {
            fs::create_dir(dir.path().join(format!("{i:02x}"))).unwrap();
        }
        let (old, old_path) = put_two_level(dir.path(), b"written by an older version");
        let (other, other_path) = put_two_level(dir.path(), b"another old one");
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        assert!(blobs.two_level);
        assert!(!dir.path().join(ONE_LEVEL_MARK).exists());

        // Read.
        assert_eq!(
            (*blobs.get(&old).await.unwrap()).as_ref(),
            b"written by an older version"
        );
        assert!(blobs.exists(&old).await.unwrap());
        assert_eq!(blobs.locate(&old).unwrap(), Some(old_path.clone()));

        // New bytes go one level deep; the old bytes written again replace the old copy
        // (fresh mtime, for GC) instead of being stored twice.
        let new = put(&blobs, b"written now").await;
        assert!(blobs.path_of(&new).exists());
        age(&old_path, Duration::from_secs(7200));
        assert_eq!(put(&blobs, b"written by an older version").await, old);
        assert!(
            !blobs.path_of(&old).exists(),
            "not copied to the new layout"
        );
        assert!(is_fresh(&old_path));
        assert_eq!(second_level_dirs(dir.path()), 2, "no directory made");

        // Listed: both layouts, each blob once.
        let mut want = vec![old, other, new];
        want.sort_unstable();
        assert_eq!(blobs.list().await.unwrap(), want);

        // Removed from either layout once stale; a fresh one stays.
        let hour = Duration::from_secs(3600);
        assert!(!blobs.remove_if_stale(&old, 3600).await.unwrap());
        for path in [&old_path, &other_path, &blobs.path_of(&new)] {
            age(path, 2 * hour);
        }
        for id in [old, other, new] {
            assert!(blobs.remove_if_stale(&id, 3600).await.unwrap());
            assert!(!blobs.exists(&id).await.unwrap());
            assert!(matches!(
                blobs.get(&id).await,
                Err(StoreError::BlobMissing(_))
            ));
            assert_eq!(blobs.locate(&id).unwrap(), None);
        }
        assert!(blobs.list().await.unwrap().is_empty());
        // Reopening does not mistake it for a new store.
        assert!(FsBlobStore::open(dir.path()).unwrap().two_level);
    }

    #[tokio::test]
    async fn a_blob_in_both_layouts_is_listed_once_and_removed_from_both() {
        // A new store into which an old blob file was copied afterwards (a restore by
        // hand): it is still read, and writing its bytes makes a second copy, which list
        // and remove handle.
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        assert!(!blobs.two_level);
        let (id, old_path) = put_two_level(dir.path(), b"twice");
        assert_eq!((*blobs.get(&id).await.unwrap()).as_ref(), b"twice");
        assert_eq!(put(&blobs, b"twice").await, id);
        let new_path = blobs.path_of(&id);
        assert!(new_path.exists() && old_path.exists());
        assert_eq!(blobs.list().await.unwrap(), vec![id]);
        assert_eq!(blobs.locate(&id).unwrap(), Some(new_path.clone()));

        let hour = Duration::from_secs(3600);
        age(&old_path, 2 * hour);
        // Only the stale copy goes; the fresh one keeps the blob readable (and counts as
        // kept).
        assert!(!blobs.remove_if_stale(&id, 3600).await.unwrap());
        assert!(!old_path.exists() && new_path.exists());
        assert_eq!((*blobs.get(&id).await.unwrap()).as_ref(), b"twice");
        age(&new_path, 2 * hour);
        assert!(blobs.remove_if_stale(&id, 3600).await.unwrap());
        assert!(!blobs.exists(&id).await.unwrap());
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
