//! The process-wide backend of the session targets: a tokio runtime and the real embedded
//! store (SQLite + blob files) with the internal directory, in a temp dir, holding one user
//! whose INBOX is seeded with a few messages.
//!
//! Built once per fuzzing process ([`backend`]); every iteration reuses it, so an iteration
//! costs a session, not a store. [`Backend::reset`] keeps the account near its seeded state
//! (INBOX topped up and bounded, surplus mailboxes removed), so that later iterations still
//! reach selected-state commands with messages to act on, and the store does not grow
//! without bound over a long run.
//!
//! ## Invariants
//! - The temp dir is on tmpfs (`/dev/shm`) when it exists: fsyncs are then cheap. It is named
//!   after the process id; directories of processes that no longer exist are removed when a
//!   new backend starts (statics are never dropped, so a fuzzing process cannot clean up
//!   after itself).
//! - The runtime is current-thread: an iteration's server, client writer and client reader
//!   interleave deterministically apart from the store's own threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tern_directory::internal::{HashParams, InternalDirectory, QuotaSetting};
use tern_directory::{Account, Directory};
use tern_mail::{DEFAULT_MAILBOXES, Mail, Recipient};
use tern_store::{AccountId, Flags, Timestamp};

/// The one user: login name and password.
pub const USER: &str = "fuzz@example.test";
pub const PASSWORD: &str = "secret";
/// The domain delivered to locally (LMTP).
pub const DOMAIN: &str = "example.test";

/// INBOX is refilled to the seeds when it holds fewer messages than this…
const MIN_INBOX: u32 = SEED_MESSAGES.len() as u32;
/// …and emptied (then refilled) when it holds more than this.
const MAX_INBOX: u32 = 200;
/// Past this many mailboxes, those that are not default folders are deleted.
const MAX_MAILBOXES: usize = 40;

/// Messages delivered to INBOX at start and whenever it runs low. Chosen to reach the MIME
/// paths (multipart, encapsulated message, encoded words) and the POP3 encoder (a line
/// starting with a dot, a bare LF line end). No line starts with `+` or `-ERR`, so the
/// POP3 output checker can tell status lines from message lines.
pub const SEED_MESSAGES: &[&[u8]] = &[
    b"From: Alice <alice@example.test>\r\n\
To: fuzz@example.test\r\n\
Subject: =?utf-8?q?caf=C3=A9?= plain\r\n\
Date: Mon, 7 Dec 2026 10:00:00 +0100\r\n\
Message-ID: <plain@example.test>\r\n\
\r\n\
Hello.\r\n\
.a line starting with a dot\r\n\
bare LF next\n\
last line\r\n",
    b"From: Bob <bob@example.test>\r\n\
To: fuzz@example.test, Carol <carol@example.test>\r\n\
Subject: Re: multipart\r\n\
Date: Tue, 8 Dec 2026 11:30:00 +0000\r\n\
Message-ID: <multi@example.test>\r\n\
In-Reply-To: <plain@example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
preamble\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
caf=C3=A9 au lait\r\n\
--b1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: inner@example.test\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--b1\r\n\
Content-Type: application/octet-stream; name=\"a.bin\"\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAwQFBgcICQ==\r\n\
--b1--\r\n\
epilogue\r\n",
    b"From: carol@example.test\r\n\
Subject: flagged and short\r\n\
\r\n\
x\r\n",
];

/// The shared runtime, store and user.
pub struct Backend {
    pub runtime: tokio::runtime::Runtime,
    pub mail: Mail,
    pub directory: Arc<InternalDirectory>,
    pub account: Account,
    pub account_id: AccountId,
    pub dir: PathBuf,
}

/// The process's backend, created on first use.
pub fn backend() -> &'static Backend {
    static BACKEND: OnceLock<Backend> = OnceLock::new();
    BACKEND.get_or_init(Backend::create)
}

impl Backend {
    fn create() -> Backend {
        let dir = scratch_dir();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (mail, directory, account, account_id) = runtime.block_on(async {
            let (store, blobs) = tern_store_sqlite::open_embedded(&dir)
                .await
                .expect("open embedded store");
            let directory = Arc::new(
                InternalDirectory::open_in(&dir)
                    .expect("open internal directory")
                    .with_hash_params(HashParams::insecure_fast())
                    .expect("hash params"),
            );
            directory
                .add_user(USER, Some(PASSWORD), None)
                .await
                .expect("add user");
            directory
                .set_quota(USER, QuotaSetting::Unlimited)
                .await
                .expect("set quota");
            let account = directory
                .lookup(USER)
                .await
                .expect("lookup")
                .expect("user exists");
            let mail = Mail::new(store, blobs, directory.clone());
            let account_id = mail.open_account(&account).await.expect("open account");
            (mail, directory, account, account_id)
        });
        let backend = Backend {
            runtime,
            mail,
            directory,
            account,
            account_id,
            dir,
        };
        backend.runtime.block_on(backend.reset());
        backend
    }

    /// Runs a future on the shared runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Brings the account back near its seeded state (see the module doc). Cheap when
    /// nothing drifted: two store reads.
    pub async fn reset(&self) {
        let store = &self.mail.store;
        let Ok(mailboxes) = store.mailboxes(self.account_id).await else {
            return;
        };
        if mailboxes.len() > MAX_MAILBOXES {
            for m in &mailboxes {
                let default = DEFAULT_MAILBOXES
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(&m.name));
                if !default {
                    let _ = store.delete_mailbox(m.id).await;
                }
            }
        }
        let Some(inbox) = mailboxes.iter().find(|m| m.name == "INBOX").map(|m| m.id) else {
            return;
        };
        let Ok(status) = store.status(inbox).await else {
            return;
        };
        if status.messages > MAX_INBOX {
            if let Ok((_, records)) = store.messages(inbox).await {
                let uids: Vec<_> = records.iter().map(|r| r.uid).collect();
                let _ = store.expunge(inbox, &uids).await;
            }
        } else if status.messages >= MIN_INBOX {
            return;
        }
        self.seed().await;
    }

    /// Delivers the seed messages to INBOX (the second one `\Seen`, the third with a
    /// keyword).
    async fn seed(&self) {
        let date = Timestamp {
            unix: 1_796_000_000,
            offset_minutes: 60,
        };
        for (i, message) in SEED_MESSAGES.iter().enumerate() {
            let staged = self
                .mail
                .stage_bytes(message, 1 << 20)
                .await
                .expect("stage seed message");
            let mut flags = Flags::default();
            if i == 1 {
                flags.system |= Flags::SEEN;
            }
            if i == 2 {
                flags.insert_name("$Important");
            }
            let recipient = Recipient {
                account: self.account.clone(),
                mailbox: None,
                flags,
            };
            for result in self.mail.deliver(&staged, &[recipient], date).await {
                result.expect("deliver seed message");
            }
        }
    }
}

/// `/dev/shm/tern-fuzz-<pid>` (or the same under the system temp dir), after removing the
/// directories of processes that are gone.
fn scratch_dir() -> PathBuf {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() {
        base.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("tern-fuzz-"))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!("tern-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch dir");
    dir
}
