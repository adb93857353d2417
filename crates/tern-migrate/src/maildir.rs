//! Maildir++ trees (Courier, Dovecot's default `maildir:` layout) into Tern.
//!
//! - The root's `cur/` and `new/` are INBOX; a `.A.B` directory is the folder `A/B`
//!   (levels decoded from modified UTF-7, as Dovecot writes them).
//! - Flags come from the `:2,` info suffix: `D` Draft, `F` Flagged, `R` Answered, `S` Seen,
//!   `T` Deleted (trashed); lower-case letters are keywords through the folder's
//!   `dovecot-keywords` file (`0 $Label1` = letter `a`).
//! - INTERNALDATE is the file's mtime (Dovecot keeps the received date there), else the
//!   leading timestamp of the file name.
//! - With a `dovecot-uidlist`, a folder created by the import keeps its UIDVALIDITY and
//!   every listed message its UID; messages are imported in UID order.
//! - Files stream into blobs in 64 KiB pieces, LF line ends rewritten to CRLF.
use crate::import::{Batcher, ImportReport, folder, open};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use tern_mail::Mail;
use tern_store::{Flags, Timestamp};

/// One folder of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaildirFolder {
    pub name: String,
    pub path: PathBuf,
}

/// The folders of a Maildir++ tree, INBOX first.
pub fn folders(root: &Path) -> std::io::Result<Vec<MaildirFolder>> {
    let mut out = Vec::new();
    if root.join("cur").is_dir() || root.join("new").is_dir() {
        out.push(MaildirFolder {
            name: "INBOX".into(),
            path: root.to_path_buf(),
        });
    }
    let mut subs = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let file = entry.file_name();
        let Some(name) = file.to_str() else { continue };
        if !name.starts_with('.') || name == "." || name == ".." || !entry.path().is_dir() {
            continue;
        }
        if !entry.path().join("cur").is_dir() && !entry.path().join("new").is_dir() {
            continue;
        }
        let levels: Vec<String> = name[1..]
            .split('.')
            .map(|l| crate::utf7::decode(l).unwrap_or_else(|_| l.to_string()))
            .map(|l| l.replace('/', "_"))
            .collect();
        let mut tern = levels.join("/");
        if tern.eq_ignore_ascii_case("INBOX") || tern.to_ascii_uppercase().starts_with("INBOX/") {
            tern = format!("INBOX{}", &tern[5..]);
        }
        subs.push(MaildirFolder {
            name: tern,
            path: entry.path(),
        });
    }
    subs.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(subs);
    Ok(out)
}

/// Flags of a file name's `:2,` suffix (keyword letters through `keywords`).
pub fn flags_from_name(name: &str, keywords: &HashMap<char, String>) -> Flags {
    let mut f = Flags::default();
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return f;
    };
    for c in info.chars() {
        match c {
            'D' => f.system |= Flags::DRAFT,
            'F' => f.system |= Flags::FLAGGED,
            'R' => f.system |= Flags::ANSWERED,
            'S' => f.system |= Flags::SEEN,
            'T' => f.system |= Flags::DELETED,
            'a'..='z' => {
                if let Some(k) = keywords.get(&c) {
                    f.insert_name(k);
                }
            }
            _ => {}
        }
    }
    f.normalize();
    f
}

/// `dovecot-keywords`: `N name` lines, N = 0 for `a`.
pub fn parse_keywords(text: &str) -> HashMap<char, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some((n, name)) = line.split_once(' ')
            && let Ok(n) = n.parse::<u8>()
            && n < 26
        {
            out.insert((b'a' + n) as char, name.trim().to_string());
        }
    }
    out
}

/// `dovecot-uidlist` (version 3): UIDVALIDITY and base file name → UID.
pub fn parse_uidlist(text: &str) -> Option<(u32, HashMap<String, u32>)> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let mut fields = header.split(' ');
    if fields.next()? != "3" {
        return None;
    }
    let uidvalidity = fields
        .find_map(|f| f.strip_prefix('V'))
        .and_then(|v| v.parse().ok())?;
    let mut map = HashMap::new();
    for line in lines {
        let Some((head, file)) = line.split_once(':') else {
            continue;
        };
        let Some(uid) = head.split(' ').next().and_then(|u| u.parse().ok()) else {
            continue;
        };
        map.insert(base_name(file).to_string(), uid);
    }
    Some((uidvalidity, map))
}

/// The base of a maildir file name (before `:2,`), as `dovecot-uidlist` names it.
fn base_name(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// INTERNALDATE of a message file.
fn file_date(path: &Path, name: &str) -> i64 {
    if let Ok(meta) = std::fs::metadata(path)
        && let Ok(m) = meta.modified()
        && let Ok(d) = m.duration_since(std::time::UNIX_EPOCH)
    {
        return d.as_secs() as i64;
    }
    name.split('.')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// Imports a whole Maildir++ tree into the account.
pub async fn import_maildir(
    mail: &Mail,
    address: &str,
    root: &Path,
) -> Result<ImportReport, String> {
    let (account, account_id) = open(mail, address).await?;
    let tree = folders(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if tree.is_empty() {
        return Err(format!(
            "{}: not a Maildir (no cur/ or new/)",
            root.display()
        ));
    }
    let mut batcher = Batcher::new(mail, &account.name);
    for f in &tree {
        batcher.report.folders += 1;
        let keywords = std::fs::read_to_string(f.path.join("dovecot-keywords"))
            .map(|t| parse_keywords(&t))
            .unwrap_or_default();
        let uidlist = std::fs::read_to_string(f.path.join("dovecot-uidlist"))
            .ok()
            .and_then(|t| parse_uidlist(&t));
        let (mailbox, created) = folder(mail, account_id, &f.name, uidlist.as_ref().map(|u| u.0))
            .await
            .map_err(|e| format!("{}: {e}", f.name))?;
        // UIDs are kept only in a mailbox this import created with the list's UIDVALIDITY.
        let uids = if created { uidlist.map(|u| u.1) } else { None };
        let mut files: Vec<(Option<u32>, String, PathBuf)> = Vec::new();
        for sub in ["cur", "new"] {
            let Ok(dir) = std::fs::read_dir(f.path.join(sub)) else {
                continue;
            };
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.path().is_file() {
                    continue;
                }
                let uid = uids.as_ref().and_then(|m| m.get(base_name(&name)).copied());
                files.push((uid, name, entry.path()));
            }
        }
        // Listed messages in UID order, then the others by name (their timestamp).
        files.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        for (uid, name, path) in files {
            let what = path.display().to_string();
            let mut stager = match batcher.stager().await {
                Ok(s) => s,
                Err(e) => return Err(e),
            };
            if let Err(e) = stream_file(&path, &mut stager).await {
                batcher.report.skipped += 1;
                batcher.report.errors.push(format!("{what}: {e}"));
                continue;
            }
            let flags = flags_from_name(&name, &keywords);
            let date = Timestamp {
                unix: file_date(&path, &name),
                offset_minutes: 0,
            };
            batcher.add(stager, mailbox, flags, date, uid, &what).await;
        }
        // Flush per folder so that UIDs of the next folder start in a fresh commit.
        batcher.flush().await;
    }
    Ok(batcher.done().await)
}

/// Streams a file into a stager, LF → CRLF.
async fn stream_file(path: &Path, stager: &mut tern_mail::Stager) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len() + 1024);
    let mut last_cr = false;
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        out.clear();
        for &b in &buf[..n] {
            if b == b'\n' && !last_cr {
                out.push(b'\r');
            }
            out.push(b);
            last_cr = b == b'\r';
        }
        stager.write(&out).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags_lists() {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "cur",
            "new",
            ".Work/cur",
            ".Work.2024/new",
            ".Entw&APw-rfe/cur",
            ".junk",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let names: Vec<String> = folders(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["INBOX", "Entwürfe", "Work", "Work/2024"]);
        let kw = parse_keywords("0 $Label1\n1 NonJunk\n");
        let f = flags_from_name("1700000000.M1P2.host,S=12:2,FRSab", &kw);
        assert_eq!(
            f.names().collect::<Vec<_>>(),
            ["\\Seen", "\\Answered", "\\Flagged", "$Label1", "NonJunk"]
        );
        assert!(flags_from_name("1700000000.M1P2.host", &kw).is_empty());
        let (v, m) = parse_uidlist("3 V1700000001 N5 Gabc\n1 :a.host\n4 W12 :b.host\n").unwrap();
        assert_eq!(v, 1700000001);
        assert_eq!(m.get("a.host"), Some(&1));
        assert_eq!(m.get("b.host"), Some(&4));
        assert_eq!(base_name("b.host:2,S"), "b.host");
    }
}
