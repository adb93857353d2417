//! `data_dir/queue/`: the queue's own name for each queued message's bytes.
//!
//! The message stays in the blob store, which collects blobs that no mailbox references
//! (`collect_garbage`: unreferenced and older than the grace period). A message queued for
//! five days is often referenced by no mailbox at all (a submission to remote recipients
//! only), so the queue must keep its bytes alive itself. It does so with a **hard link** to
//! the blob file, named by the queue id: blob files are immutable once written
//! (content-addressed, replaced only by a rename of identical bytes), so the link is the
//! same message whatever the blob store's GC does to its own name, and costs no copy. When
//! the blob store cannot give a path on the same file system (another backend, another
//! device), the bytes are copied instead. Either way the queue never depends on the GC
//! consulting it, and `tern queue` (another process) sees the same files.
//!
//! ## Invariants
//! - The spool file is durable (file and directory fsync'd) before the queue row naming it
//!   commits; a crash in between leaves a file without a row, removed by [`Spool::sweep`]
//!   at the next start.
//! - The row is deleted before its file: a file may outlive its row, never the reverse.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The spool folder.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    pub fn open(dir: PathBuf) -> io::Result<Spool> {
        fs::create_dir_all(&dir)?;
        Ok(Spool { dir })
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Hard-links `source` as the spool file of `id`, durably.
    pub fn link(&self, id: &str, source: &Path) -> io::Result<()> {
        fs::hard_link(source, self.path(id))?;
        sync_dir(&self.dir)
    }

    /// Writes `bytes` as the spool file of `id`, durably (temporary name, fsync, rename).
    pub fn write(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let temp = self.dir.join(format!(".{id}.tmp"));
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, self.path(id))?;
        sync_dir(&self.dir)
    }

    /// Removes the spool file of `id` (nothing if already gone).
    pub fn remove(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes files that belong to no queue row (a crash between link and commit, or a
    /// temporary file). Run at start, before anything is enqueued. Returns how many.
    pub fn sweep(&self, keep: &HashSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_outlives_the_blob_name_and_sweep_keeps_only_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let blob = tmp.path().join("blob");
        fs::write(&blob, b"message").unwrap();
        let spool = Spool::open(tmp.path().join("queue")).unwrap();
        spool.link("q1", &blob).unwrap();
        spool.write("q2", b"copied").unwrap();
        fs::remove_file(&blob).unwrap(); // what the blob GC does
        assert_eq!(fs::read(spool.path("q1")).unwrap(), b"message");
        let keep: HashSet<String> = ["q1".to_string()].into();
        assert_eq!(spool.sweep(&keep).unwrap(), 1);
        assert!(spool.path("q1").exists());
        assert!(!spool.path("q2").exists());
        spool.remove("q1").unwrap();
        spool.remove("q1").unwrap();
    }
}
