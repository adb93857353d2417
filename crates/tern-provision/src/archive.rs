//! The archive of an account: its folders as a Maildir++ tree, the layout `tern import
//! maildir` (tern-migrate) reads back, so an archived account can be restored with one
//! command and read by any Maildir tool meanwhile.
//!
//! - `ARCHIVE_DIR/NAME-YYYYMMDDTHHMMSSZ/`: the root's `cur/` is INBOX; folder `A/B` is
//!   `.A.B/` (each level modified UTF-7, a `.` inside a level as `&AC4-`, which the reader
//!   decodes back to `.`).
//! - One file per message, its exact stored bytes (CRLF line ends, as received), named
//!   `INTERNALDATE.UUID.tern:2,FLAGS` with the standard flag letters; keywords as letters
//!   through `dovecot-keywords` (the first 26 of a folder; more are listed in the manifest
//!   only); the file's mtime is the INTERNALDATE.
//! - `dovecot-uidlist` (version 3) per folder keeps UIDVALIDITY and every UID, so a restore
//!   gives clients the same UIDs.
//! - `tern-archive.json`: the account, when and why, and per folder its name, special use,
//!   UIDVALIDITY and message count.
//!
//! Invariants: the tree is written under a `.partial` name, every file and directory
//! fsync'd, then renamed into place; only a complete archive ever has the final name, and
//! the caller deletes the account only after this returns.
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tern_store::{AccountId, BlobStore, Flags, MailStore, MailboxInfo, SpecialUse};

#[derive(Serialize)]
struct Manifest<'a> {
    account: &'a str,
    archived_unix: i64,
    reason: &'a str,
    disabled_since_unix: i64,
    folders: Vec<FolderEntry>,
}

#[derive(Serialize)]
struct FolderEntry {
    name: String,
    directory: String,
    special_use: Option<String>,
    uidvalidity: u32,
    messages: usize,
    /// Keywords beyond the 26 a Maildir file name can carry.
    keywords_not_in_file_names: Vec<String>,
}

/// What one archive holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    pub path: PathBuf,
    pub folders: usize,
    pub messages: usize,
}

/// The account to archive, and why.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub id: AccountId,
    pub name: &'a str,
    pub disabled_since: i64,
    pub reason: &'a str,
}

/// Writes the account's archive under `dir`; returns where.
pub async fn archive_account(
    store: &dyn MailStore,
    blobs: &dyn BlobStore,
    subject: Subject<'_>,
    dir: &Path,
    now: i64,
) -> Result<Archived, String> {
    let Subject {
        id,
        name,
        disabled_since,
        reason,
    } = subject;
    let stamp = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let safe = name.replace(['/', '\\', '\0'], "_");
    let final_path = unique(dir, &format!("{safe}-{stamp}"));
    let partial = dir.join(format!(
        ".{}.partial",
        final_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&safe)
    ));
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io("cannot clear", &partial, e))?;
    }
    std::fs::create_dir(&partial).map_err(|e| io("cannot create", &partial, e))?;

    let mailboxes = store.mailboxes(id).await.map_err(|e| e.to_string())?;
    let mut folders = Vec::new();
    let mut total = 0;
    for mb in &mailboxes {
        let sub = folder_dir(&mb.name);
        let root = if sub.is_empty() {
            partial.clone()
        } else {
            partial.join(&sub)
        };
        let entry = write_folder(store, blobs, mb, &root).await?;
        total += entry.messages;
        folders.push(FolderEntry {
            directory: if sub.is_empty() { ".".into() } else { sub },
            ..entry
        });
    }
    let manifest = Manifest {
        account: name,
        archived_unix: now,
        reason,
        disabled_since_unix: disabled_since,
        folders,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    write_file(&partial.join("tern-archive.json"), &json, None)
        .map_err(|e| io("cannot write", &partial, e))?;
    sync_dir(&partial).map_err(|e| io("cannot sync", &partial, e))?;
    std::fs::rename(&partial, &final_path).map_err(|e| io("cannot rename", &partial, e))?;
    sync_dir(dir).map_err(|e| io("cannot sync", dir, e))?;
    Ok(Archived {
        path: final_path,
        folders: manifest.folders.len(),
        messages: total,
    })
}

/// `NAME`, or `NAME.2`, ... if an archive of that name exists already.
fn unique(dir: &Path, base: &str) -> PathBuf {
    let first = dir.join(base);
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{base}.{n}")))
        .find(|p| !p.exists())
        .expect("some free name")
}

/// The Maildir++ directory of a folder (`""` for INBOX).
pub fn folder_dir(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return String::new();
    }
    let levels: Vec<String> = name
        .split(tern_store::HIERARCHY_DELIMITER)
        .map(|l| tern_migrate::utf7::encode(l).replace('.', "&AC4-"))
        .collect();
    format!(".{}", levels.join("."))
}

async fn write_folder(
    store: &dyn MailStore,
    blobs: &dyn BlobStore,
    mb: &MailboxInfo,
    root: &Path,
) -> Result<FolderEntry, String> {
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    for d in ["cur", "new", "tmp"] {
        let p = root.join(d);
        std::fs::create_dir_all(&p).map_err(|e| io("cannot create", &p, e))?;
    }
    let (status, messages) = store.messages(mb.id).await.map_err(|e| e.to_string())?;
    // Keyword letters: the first 26 keywords of the folder, in order of appearance.
    let mut letters: HashMap<String, char> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut overflow: Vec<String> = Vec::new();
    for m in &messages {
        for k in &m.flags.keywords {
            let key = k.to_ascii_lowercase();
            if letters.contains_key(&key) || overflow.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                continue;
            }
            if order.len() < 26 {
                letters.insert(key, (b'a' + order.len() as u8) as char);
                order.push(k.clone());
            } else {
                overflow.push(k.clone());
            }
        }
    }
    let mut uidlist = format!("3 V{} N{}\n", status.uidvalidity, status.uidnext);
    for m in &messages {
        let base = format!("{}.U{}.tern", m.internaldate.unix.max(0), m.uid);
        let file = format!("{base}:2,{}", info(&m.flags, &letters));
        let bytes = blobs.get(&m.blob).await.map_err(|e| e.to_string())?;
        let path = root.join("cur").join(&file);
        let mtime = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(m.internaldate.unix.max(0) as u64);
        let p = path.clone();
        tokio::task::spawn_blocking(move || write_file(&p, (*bytes).as_ref(), Some(mtime)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| io("cannot write", &path, e))?;
        uidlist.push_str(&format!("{} :{base}\n", m.uid));
    }
    let kw: String = order
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{i} {k}\n"))
        .collect();
    if !kw.is_empty() {
        let p = root.join("dovecot-keywords");
        write_file(&p, kw.as_bytes(), None).map_err(|e| io("cannot write", &p, e))?;
    }
    let p = root.join("dovecot-uidlist");
    write_file(&p, uidlist.as_bytes(), None).map_err(|e| io("cannot write", &p, e))?;
    for d in ["cur", "new", "tmp"] {
        let p = root.join(d);
        sync_dir(&p).map_err(|e| io("cannot sync", &p, e))?;
    }
    sync_dir(root).map_err(|e| io("cannot sync", root, e))?;
    Ok(FolderEntry {
        name: mb.name.clone(),
        directory: String::new(),
        special_use: mb.special_use.map(special_use_name),
        uidvalidity: status.uidvalidity,
        messages: messages.len(),
        keywords_not_in_file_names: overflow,
    })
}

/// The `:2,` info letters, in ASCII order as Maildir asks.
fn info(flags: &Flags, letters: &HashMap<String, char>) -> String {
    let mut out: Vec<char> = [
        (Flags::DRAFT, 'D'),
        (Flags::FLAGGED, 'F'),
        (Flags::ANSWERED, 'R'),
        (Flags::SEEN, 'S'),
        (Flags::DELETED, 'T'),
    ]
    .iter()
    .filter(|(bit, _)| flags.has(*bit))
    .map(|(_, c)| *c)
    .collect();
    out.extend(
        flags
            .keywords
            .iter()
            .filter_map(|k| letters.get(&k.to_ascii_lowercase())),
    );
    out.sort_unstable();
    out.dedup();
    out.into_iter().collect()
}

fn special_use_name(s: SpecialUse) -> String {
    format!("{s:?}")
}

fn write_file(
    path: &Path,
    bytes: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    if let Some(t) = mtime {
        f.set_modified(t)?;
    }
    f.sync_all()
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}
