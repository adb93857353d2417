//! Micro-benchmark: the embedded store's write path (the writer thread's group commit) and
//! the metadata read FETCH makes.
//!
//! - `store/append_1`: one APPEND / one delivery: one job, one COMMIT.
//! - `store/deliver_{10,100}`: that many single-message appends in flight at once (as
//!   concurrent LMTP deliveries make them): the writer takes every waiting job into one
//!   COMMIT. How many commits an op took is printed at the end of the case (stderr).
//! - `store/multiappend_{10,100}`: one MULTIAPPEND of that many messages (one job).
//! - `store/meta_read_100`: the metadata (ENVELOPE and body structure parts) of 100
//!   messages, as `FETCH (ENVELOPE BODYSTRUCTURE)` reads it, decoded.
//!
//! Every append stores a new blob's metadata row, as a delivery of a new message does. The
//! database lives in `$MICRO_DIR` (default `/dev/shm`, a tmpfs: fsync costs nothing there,
//! so the figures are CPU only); point `MICRO_DIR` at a directory on the data disk to see
//! what fsync adds to the wall-clock time. Instruction counts never include fsync's wait.
//!
//! `cargo bench -p tern-store-sqlite --bench store_commit`; instruction counts:
//! `bench/micro --callgrind store/`. Harness: bench/micro/harness.rs.

#[path = "../../../bench/micro/harness.rs"]
mod harness;

use harness::{Harness, Per, Threads};
use std::hint::black_box;
use std::sync::Arc;
use tern_store::*;
use tern_store_sqlite::{SqliteMailStore, open_embedded};

fn addr(name: &str, mailbox: &str, host: &str) -> Address {
    Address {
        name: Some(name.into()),
        adl: None,
        mailbox: Some(mailbox.into()),
        host: Some(host.into()),
    }
}

fn text_part(subtype: &str, start: u64, len: u64, lines: u32) -> BodyPart {
    BodyPart {
        content_type: "text".into(),
        subtype: subtype.into(),
        params: vec![("charset".into(), "utf-8".into())],
        encoding: "quoted-printable".into(),
        header_start: start,
        body_start: start + 90,
        end: start + 90 + len,
        lines,
        ..BodyPart::default()
    }
}

/// Metadata shaped like `tern_mail::analyze` makes it for a reply with a PDF attached
/// (≈ 1 KB once encoded).
fn meta(n: u64) -> MessageMeta {
    let alternative = BodyPart {
        content_type: "multipart".into(),
        subtype: "alternative".into(),
        params: vec![("boundary".into(), format!("=_alt_{n}"))],
        encoding: "7BIT".into(),
        header_start: 1900,
        body_start: 1980,
        end: 9800,
        parts: vec![
            text_part("plain", 2000, 2400, 40),
            text_part("html", 4600, 5100, 70),
        ],
        ..BodyPart::default()
    };
    let pdf = BodyPart {
        content_type: "application".into(),
        subtype: "pdf".into(),
        params: vec![("name".into(), "Q3 report.pdf".into())],
        encoding: "base64".into(),
        disposition: Some((
            "attachment".into(),
            vec![("filename".into(), "Q3 report.pdf".into())],
        )),
        header_start: 9900,
        body_start: 10050,
        end: 113_000,
        ..BodyPart::default()
    };
    MessageMeta {
        envelope: Envelope {
            date: Some("Wed, 4 Dec 2026 18:43:12 +0100".into()),
            subject: Some(format!("Re: Fwd: Q3 report – numbers für review {n}")),
            from: vec![addr("Souza, Ana", "ana.souza", "example.com")],
            sender: vec![],
            reply_to: vec![addr("Finance Team", "finance", "example.com")],
            to: vec![
                addr("Bruno Keller", "bruno", "example.org"),
                addr("Chen, Li", "li.chen", "example.org"),
            ],
            cc: vec![addr("Jürgen Müller", "juergen", "example.net")],
            bcc: vec![],
            in_reply_to: Some("<a1.thread@mail.example.org>".into()),
            message_id: Some(format!("<{n}.5f3a9c@mail.example.com>")),
        },
        body: BodyPart {
            content_type: "multipart".into(),
            subtype: "mixed".into(),
            params: vec![("boundary".into(), format!("=_mixed_{n}"))],
            encoding: "7BIT".into(),
            header_start: 0,
            body_start: 1850,
            end: 113_100,
            parts: vec![alternative, pdf],
            ..BodyPart::default()
        },
        sort: SortKeys {
            sent_date: Some(1_796_406_192),
            base_subject: format!("Q3 report – numbers für review {n}"),
            from: "ana.souza".into(),
            to: "bruno".into(),
            cc: "juergen".into(),
            display_from: "Souza, Ana".into(),
            display_to: "Bruno Keller".into(),
        },
        thread: ThreadKeys {
            message_id: Some(format!("{n}.5f3a9c@mail.example.com")),
            in_reply_to: vec!["a1.thread@mail.example.org".into()],
            references: vec![
                "a0.thread@mail.example.com".into(),
                "a1.thread@mail.example.org".into(),
                "a2.thread@mail.example.net".into(),
            ],
            is_reply: true,
        },
        preview: "Hi Bruno, the numbers for the third quarter are in the attached report; \
                  please review them before Friday's meeting so that we can send the final \
                  version to the board."
            .into(),
    }
}

/// A store in a fresh directory with one account and its INBOX.
struct Fixture {
    rt: tokio::runtime::Runtime,
    store: Arc<SqliteMailStore>,
    inbox: MailboxId,
    next_blob: u64,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let base = std::env::var_os("MICRO_DIR").unwrap_or_else(|| "/dev/shm".into());
        let dir = tempfile::tempdir_in(base).expect("temp dir in $MICRO_DIR");
        let (store, inbox) = rt.block_on(async {
            let (store, _blobs) = open_embedded(dir.path()).await.expect("open store");
            let acct = store
                .account("bench@example.org", true)
                .await
                .unwrap()
                .unwrap();
            let inbox = store
                .create_mailbox(acct, "INBOX", CreateMailbox::default())
                .await
                .unwrap();
            (store, inbox.id)
        });
        Fixture {
            rt,
            store,
            inbox,
            next_blob: 0,
            _dir: dir,
        }
    }

    /// A new message (a blob the store has not seen) for INBOX.
    fn message(&mut self) -> NewMessage {
        self.next_blob += 1;
        let mut blob = [0u8; 32];
        blob[..8].copy_from_slice(&self.next_blob.to_le_bytes());
        blob[8..16].copy_from_slice(
            &self
                .next_blob
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .to_le_bytes(),
        );
        NewMessage {
            mailbox: self.inbox,
            blob: BlobId(blob),
            size: 113_100,
            flags: Flags::default(),
            internaldate: Timestamp {
                unix: 1_796_406_192 + self.next_blob as i64,
                offset_minutes: 60,
            },
            meta: Arc::new(meta(self.next_blob)),
            quota_bytes: Some(1 << 40),
            import_uid: None,
            import_modseq: None,
            pop3_uidl: None,
        }
    }

    fn commits(&self) -> u64 {
        self.store.writer_stats().commits()
    }
}

/// Prints how many COMMITs the case's ops took, when the case ends.
struct CommitReport {
    name: &'static str,
    store: Arc<SqliteMailStore>,
    start: u64,
    ops: u64,
    jobs_per_op: u64,
}

impl CommitReport {
    /// Counts one op (a method, so the closure captures the whole report, not one field).
    fn op_done(&mut self) {
        self.ops += 1;
    }
}

impl Drop for CommitReport {
    fn drop(&mut self) {
        let commits = self.store.writer_stats().commits() - self.start;
        eprintln!(
            "{}: {} ops of {} job(s): {:.2} commits per op",
            self.name,
            self.ops,
            self.jobs_per_op,
            commits as f64 / self.ops.max(1) as f64
        );
    }
}

fn main() {
    let mut h = Harness::from_args();

    // One APPEND: one job, one commit.
    h.bench("store/append_1", 200, Threads::All, Per::Items(1), || {
        let mut f = Fixture::new();
        let mut report = CommitReport {
            name: "store/append_1",
            store: f.store.clone(),
            start: f.commits(),
            ops: 0,
            jobs_per_op: 1,
        };
        move || {
            let msg = f.message();
            let r = f.rt.block_on(f.store.append(vec![msg], AppendMode::Atomic));
            black_box(r.expect("append"));
            report.op_done();
        }
    });

    // Concurrent single-message appends (deliveries): group commit.
    for (name, n, cg) in [("store/deliver_10", 10, 40), ("store/deliver_100", 100, 6)] {
        h.bench(name, cg, Threads::All, Per::Items(n), || {
            let mut f = Fixture::new();
            let mut report = CommitReport {
                name,
                store: f.store.clone(),
                start: f.commits(),
                ops: 0,
                jobs_per_op: n,
            };
            move || {
                let msgs: Vec<NewMessage> = (0..n).map(|_| f.message()).collect();
                let store = f.store.clone();
                f.rt.block_on(async move {
                    let tasks: Vec<_> = msgs
                        .into_iter()
                        .map(|m| {
                            let store = store.clone();
                            tokio::spawn(
                                async move { store.append(vec![m], AppendMode::Atomic).await },
                            )
                        })
                        .collect();
                    for t in tasks {
                        black_box(t.await.expect("task").expect("append"));
                    }
                });
                report.op_done();
            }
        });
    }

    // One MULTIAPPEND of n messages: one job.
    for (name, n, cg) in [
        ("store/multiappend_10", 10, 40),
        ("store/multiappend_100", 100, 6),
    ] {
        h.bench(name, cg, Threads::All, Per::Items(n), || {
            let mut f = Fixture::new();
            let mut report = CommitReport {
                name,
                store: f.store.clone(),
                start: f.commits(),
                ops: 0,
                jobs_per_op: 1,
            };
            move || {
                let msgs: Vec<NewMessage> = (0..n).map(|_| f.message()).collect();
                let r = f.rt.block_on(f.store.append(msgs, AppendMode::Atomic));
                black_box(r.expect("multiappend"));
                report.op_done();
            }
        });
    }

    // FETCH's metadata read: 100 messages' envelope and body structure.
    h.bench(
        "store/meta_read_100",
        50,
        Threads::All,
        Per::Items(100),
        || {
            let mut f = Fixture::new();
            let msgs: Vec<NewMessage> = (0..1000).map(|_| f.message()).collect();
            let appended =
                f.rt.block_on(f.store.append(msgs, AppendMode::Atomic))
                    .expect("fill");
            let uids: Vec<Uid> = appended[450..550]
                .iter()
                .map(|a| a.as_ref().expect("appended").uid)
                .collect();
            let parts = MetaParts {
                envelope: true,
                body: true,
                ..MetaParts::NONE
            };
            move || {
                let metas =
                    f.rt.block_on(f.store.meta_parts(f.inbox, &uids, parts))
                        .expect("meta");
                assert_eq!(metas.len(), 100);
                black_box(metas);
            }
        },
    );
}
