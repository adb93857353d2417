//! The per-user report of a migration run (text and `--json`; stable field names).
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct UserReport {
    /// The Tern account (its canonical address).
    pub user: String,
    pub source_user: String,
    /// `dovecot`, `cyrus` or `generic`.
    pub profile: String,
    /// Folders seen on the source and synced.
    pub folders: u32,
    /// Messages copied in this run.
    pub messages: u64,
    /// Octets copied in this run.
    pub bytes: u64,
    /// Messages that could not be copied (the reasons are in `errors`).
    pub skipped: u64,
    /// Messages whose flags were brought in line with the source.
    pub flags_updated: u64,
    /// Messages removed on Tern because the source expunged them (`--delete`).
    pub expunged: u64,
    /// Messages the source no longer has that stay on Tern (no `--delete`).
    pub gone_on_source: u64,
    /// Folders re-copied into a new mailbox because the source's UIDVALIDITY changed.
    pub uidvalidity_resets: u32,
    /// Folders whose source has nothing new since the last run (CONDSTORE).
    pub unchanged_folders: u32,
    pub seconds: f64,
    pub errors: Vec<String>,
    /// Things that were done differently from a plain copy (renamed levels, renumbered UIDs).
    pub notes: Vec<String>,
    pub folder_details: Vec<FolderReport>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct FolderReport {
    pub source: String,
    pub target: String,
    pub uidvalidity: u32,
    /// Whether Tern's UIDVALIDITY and UIDs are the source's.
    pub uids_preserved: bool,
    pub special_use: Option<String>,
    pub copied: u64,
}

impl UserReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// One human-readable block.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} (source {} , {}): {} folders, {} messages, {} bytes copied, {} skipped, \
             {} flag updates, {} expunged, {:.1}s\n",
            self.user,
            self.source_user,
            self.profile,
            self.folders,
            self.messages,
            self.bytes,
            self.skipped,
            self.flags_updated,
            self.expunged,
            self.seconds
        );
        if self.gone_on_source > 0 {
            s.push_str(&format!(
                "  {} messages are gone on the source but kept on Tern (use --delete)\n",
                self.gone_on_source
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        for e in &self.errors {
            s.push_str(&format!("  error: {e}\n"));
        }
        s
    }
}
