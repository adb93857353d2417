//! QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA.
//!
//! Every account has one quota root, named `""`, covering all of its mailboxes. Its
//! resources are STORAGE (RFC 9208 §5.1, in units of 1024 octets) when the account has a
//! byte limit, and MESSAGE (§5.2) when it has a message-count limit; the directory has no
//! message limits yet, so only STORAGE is reported. An unlimited account's root has no
//! resources (`* QUOTA "" ()`): §4.2 reports only resources that have a limit.
//!
//! Mailboxes shared by other accounts (`Other Users/...`) are charged to their owner, whose
//! quota is not this user's to see: GETQUOTAROOT on them lists no root.
//!
//! SETQUOTA is for administrators (§4.1.3); there are none in IMAP yet, so it is refused
//! with `NO [NOPERM]`.

use super::acl::encode_options;
use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::proto::encode::string::{astring, mailbox as encode_mailbox};
use crate::session::Session;
use crate::session::mailbox_ref::resolve;

/// The name of the one quota root of the user's own account.
pub const ACCOUNT_ROOT: &str = "";

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::GetQuota(root) => get_quota(s, &root).await,
        CommandBody::GetQuotaRoot(mailbox) => get_quota_root(s, &mailbox).await,
        CommandBody::SetQuota { .. } => Err(CmdError::no_code(
            "NOPERM",
            "Only an administrator may change quotas",
        )),
        _ => Err(CmdError::bad("not a QUOTA command")),
    }
}

/// STORAGE usage and limit in KiB: usage is rounded up (a 1-octet mailbox uses 1 KiB, so a
/// non-empty account never reports 0), the limit down (never promise more than enforced).
pub fn storage_kib(used_bytes: u64, limit_bytes: u64) -> (u64, u64) {
    (used_bytes.div_ceil(1024), limit_bytes / 1024)
}

/// Writes `* QUOTA "" (STORAGE used limit)` for the user's account.
async fn write_account_quota(s: &mut Session) -> Result<(), CmdError> {
    let auth = s.auth().ok_or_else(|| CmdError::bad("Not authenticated"))?;
    let (account_id, quota) = (auth.account_id, auth.account.quota_bytes);
    let usage = s.server.mail.store.usage(account_id).await?;
    let opts = encode_options(s);
    let mut line = b"QUOTA ".to_vec();
    astring(&mut line, ACCOUNT_ROOT.as_bytes(), opts);
    line.extend_from_slice(b" (");
    if let Some(limit) = quota {
        let (used, limit) = storage_kib(usage.bytes, limit);
        line.extend_from_slice(format!("STORAGE {used} {limit}").as_bytes());
    }
    line.push(b')');
    s.untagged(line);
    Ok(())
}

/// RFC 9208 §4.2.
async fn get_quota(s: &mut Session, root: &str) -> CmdResult {
    if root != ACCOUNT_ROOT {
        return Err(CmdError::no_code("NONEXISTENT", "No such quota root"));
    }
    write_account_quota(s).await?;
    Ok(Done::ok("GETQUOTA completed"))
}

/// RFC 9208 §4.3: `* QUOTAROOT mailbox root...` then a QUOTA response per root.
async fn get_quota_root(s: &mut Session, mailbox: &str) -> CmdResult {
    let target = resolve(s, mailbox).await?;
    let opts = encode_options(s);
    let mut line = b"QUOTAROOT ".to_vec();
    encode_mailbox(&mut line, mailbox, opts);
    if target.is_personal() {
        line.push(b' ');
        astring(&mut line, ACCOUNT_ROOT.as_bytes(), opts);
    }
    s.untagged(line);
    if target.is_personal() {
        write_account_quota(s).await?;
    }
    Ok(Done::ok("GETQUOTAROOT completed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_in_kib() {
        let cases = [
            (0, 0, (0, 0)),
            (1, 1024, (1, 1)),
            (1024, 2048, (1, 2)),
            (1025, 2047, (2, 1)),
            // the 200 MB default
            (0, 200_000_000, (0, 195_312)),
        ];
        for (used, limit, want) in cases {
            assert_eq!(storage_kib(used, limit), want, "{used} {limit}");
        }
    }
}
