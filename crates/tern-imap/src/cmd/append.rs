//! APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), literal8 (RFC 3516 BINARY),
//! UIDPLUS `APPENDUID` (RFC 4315), APPENDLIMIT (RFC 7889) and quota (RFC 9208).
//!
//! The connection loop streams each message's literal into the blob store as it arrives
//! ([`Target::open`] and [`Target::admit`] decide before the octets come, the
//! [`tern_mail::Stager`] takes them) and calls [`commit`] once the whole command has been
//! received and parsed. [`run`] serves the same command when its literals were buffered.
//!
//! ## Invariants
//! - Nothing is stored unless the whole command arrived and parsed: the staged blobs of an
//!   aborted APPEND are unreferenced and collected later.
//! - All messages of one command commit atomically, in one commit (RFC 3502 §3).
//! - Over quota, nothing is stored (`NO [OVERQUOTA]`); too large, `NO [TOOBIG]`.
//! - Flags the user has no right to set are dropped (RFC 4314 §4: `s`, `t`, `w`).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::session::Session;
use crate::session::mailbox_ref::{MailboxRef, Rights, resolve_opt};
use crate::session::selected::compress_uids;
use tern_mail::{IngestError, Staged};
use tern_store::{Flags, StoreError, Timestamp};

/// Where an APPEND goes, checked before any message octet is accepted.
#[derive(Clone, Debug)]
pub struct Target {
    pub mailbox: MailboxRef,
    /// The owning account's quota in bytes.
    pub quota: Option<u64>,
    /// The owning account, for the early quota check.
    owner: tern_directory::Account,
    /// Octets admitted so far by this command.
    admitted: u64,
}

impl Target {
    /// Resolves the destination: `NO [TRYCREATE]` if it does not exist (RFC 9051 §6.3.12),
    /// `NO [NOPERM]` without the `i` right.
    pub async fn open(s: &Session, name: &str) -> Result<Target, CmdError> {
        let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
        let Some(mailbox) = resolve_opt(s, name).await? else {
            return Err(CmdError::no_code("TRYCREATE", "No such mailbox"));
        };
        mailbox.require('i')?;
        let owner = match &mailbox.owner {
            None => auth.account.clone(),
            Some(owner) => match s.server.mail.directory.lookup(owner).await {
                Ok(Some(a)) => a,
                Ok(None) => return Err(CmdError::no_code("TRYCREATE", "No such mailbox")),
                Err(e) => {
                    tracing::warn!(error = %e, "directory unavailable during APPEND");
                    return Err(CmdError::no_code(
                        "UNAVAILABLE",
                        "Directory temporarily unavailable",
                    ));
                }
            },
        };
        Ok(Target {
            mailbox,
            quota: owner.quota_bytes,
            owner,
            admitted: 0,
        })
    }

    /// Admits one more message of `len` octets: within APPENDLIMIT (`NO [TOOBIG]`) and,
    /// with what this command already admitted, within quota (`NO [OVERQUOTA]`). The
    /// store checks quota again at commit, so concurrent deliveries cannot overshoot.
    pub async fn admit(&mut self, s: &Session, len: u64) -> Result<(), CmdError> {
        let limit = s.server.config.max_message_size;
        if len > limit {
            return Err(too_big(limit));
        }
        let total = self.admitted.saturating_add(len);
        if !s.server.mail.fits_quota(&self.owner, total).await? {
            return Err(CmdError::no_code("OVERQUOTA", "Quota exceeded"));
        }
        self.admitted = total;
        Ok(())
    }

    /// The flags of a new message, minus those the user may not set; `\Recent` never.
    pub fn flags(&self, names: &[String]) -> Flags {
        allowed_flags(self.mailbox.rights, names)
    }
}

fn too_big(limit: u64) -> CmdError {
    CmdError::no_code(
        "TOOBIG",
        format!("Message exceeds the size limit of {limit} octets"),
    )
}

/// Maps a staging failure to the wire.
pub fn ingest_error(e: IngestError, limit: u64) -> CmdError {
    match e {
        IngestError::TooLarge { .. } => too_big(limit),
        IngestError::Store(e) => e.into(),
        other => {
            tracing::error!(error = %other, "APPEND staging failed");
            CmdError::no_code("SERVERBUG", "Internal error, try again later")
        }
    }
}

fn allowed_flags(rights: Rights, names: &[String]) -> Flags {
    let mut flags = Flags::default();
    for n in names {
        let allowed = match Flags::system_bit(n) {
            Some(Flags::SEEN) => rights.has('s'),
            Some(Flags::DELETED) => rights.has('t'),
            _ => rights.has('w'),
        };
        if allowed {
            flags.insert_name(n);
        }
    }
    flags.normalize();
    flags
}

/// INTERNALDATE as given, or now (UTC).
pub fn internal_date(date: Option<(i64, i16)>) -> Timestamp {
    match date {
        Some((unix, offset_minutes)) => Timestamp {
            unix,
            offset_minutes,
        },
        None => Timestamp {
            unix: chrono::Utc::now().timestamp(),
            offset_minutes: 0,
        },
    }
}

/// Commits staged messages in one atomic commit and answers with `APPENDUID`.
pub async fn commit(
    s: &mut Session,
    target: &Target,
    messages: Vec<(Staged, Flags, Timestamp)>,
) -> CmdResult {
    let mail = &s.server.mail;
    let id = target.mailbox.info.id;
    let result = if messages.len() == 1 {
        let (staged, flags, date) = messages.into_iter().next().expect("one message");
        mail.append(id, &staged, flags, date, target.quota)
            .await
            .map(|a| vec![a])
    } else {
        mail.append_many(id, messages, target.quota).await
    };
    let appended = match result {
        Ok(a) => a,
        Err(StoreError::NoSuchMailbox) => {
            return Err(CmdError::no_code("TRYCREATE", "No such mailbox"));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(first) = appended.first() else {
        return Err(CmdError::bad("APPEND without a message"));
    };
    let mut uids: Vec<u32> = appended.iter().map(|a| a.uid).collect();
    uids.sort_unstable();
    Ok(Done::with_code(
        format!("APPENDUID {} {}", first.uidvalidity, compress_uids(&uids)),
        "APPEND completed",
    ))
}

/// APPEND whose literals are in memory (buffered by the framer, or from tests).
pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let CommandBody::Append { mailbox, messages } = cmd else {
        return Err(CmdError::bad("Expected APPEND"));
    };
    if messages.is_empty() {
        return Err(CmdError::bad("APPEND without a message"));
    }
    let mut target = Target::open(s, &mailbox).await?;
    let limit = s.server.config.max_message_size;
    let mut staged = Vec::with_capacity(messages.len());
    for m in &messages {
        target.admit(s, m.data.len() as u64).await?;
    }
    for m in messages {
        let st = s
            .server
            .mail
            .stage_bytes(&m.data, limit)
            .await
            .map_err(|e| ingest_error(e, limit))?;
        staged.push((st, target.flags(&m.flags), internal_date(m.date)));
    }
    commit(s, &target, staged).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_rights() {
        let names: Vec<String> = ["\\Seen", "\\Deleted", "\\Flagged", "$Work", "\\Recent"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let all = allowed_flags(Rights::all(), &names);
        assert_eq!(
            all.names().collect::<Vec<_>>(),
            vec!["\\Seen", "\\Flagged", "\\Deleted", "$Work"]
        );
        let seen_only = allowed_flags(Rights::parse("lrsi"), &names);
        assert_eq!(seen_only.names().collect::<Vec<_>>(), vec!["\\Seen"]);
        assert!(allowed_flags(Rights::parse("li"), &names).is_empty());
    }
}
