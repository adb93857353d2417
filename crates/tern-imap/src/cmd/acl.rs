//! ACL (RFC 4314): GETACL, SETACL, DELETEACL, LISTRIGHTS, MYRIGHTS.
//!
//! Identifiers are account names (a login is resolved through the directory to its
//! canonical name, so `bob`, `Bob@Example.Test` and an alias all name one entry), the
//! special identifier `anyone`, and their `-negative` forms (RFC 4314 §2).
//!
//! ## Invariants
//! - The owner of a mailbox always has every right; no ACL entry is stored for the owner and
//!   the owner's rights cannot be reduced (§2: "the owner ... implicitly").
//! - The store holds only real rights (`lrswipkxtea`). The obsolete virtual rights `c`
//!   (= `k` + `x`) and `d` (= `e` + `t`) are expanded on input and added on output
//!   (§2.1.1, the "c = kx, d = et" choice).
//! - A mailbox the user has no right on is reported exactly as a missing one (§6).

use super::{CmdError, CmdResult, Done};
use crate::proto::command::CommandBody;
use crate::proto::encode::EncodeOptions;
use crate::proto::encode::string::{astring, mailbox as encode_mailbox};
use crate::session::Session;
use crate::session::mailbox_ref::{MailboxRef, Rights, resolve};

/// The real rights this server implements, in response order (RFC 4314 §2.1).
pub const REAL_RIGHTS: &str = "lrswipkxtea";

/// A mailbox an ACL command names, with its owner's canonical name.
struct Target {
    mailbox: MailboxRef,
    owner: String,
}

/// Resolves a client-visible name (own mailbox, or `Other Users/<owner>/...`) through the
/// session's namespace rules; missing and rightless mailboxes are `NO [NONEXISTENT]`.
async fn target(s: &Session, name: &str) -> Result<Target, CmdError> {
    let mailbox = resolve(s, name).await?;
    let owner = match &mailbox.owner {
        Some(o) => o.clone(),
        None => s
            .auth()
            .map(|a| a.account.name.clone())
            .ok_or_else(|| CmdError::bad("Not authenticated"))?,
    };
    Ok(Target { mailbox, owner })
}

/// How SETACL changes the rights (RFC 4314 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsChange {
    Add(Rights),
    Remove(Rights),
    Replace(Rights),
}

/// Parses SETACL's `mod-rights`. Unknown rights are an error (§3.1: "MUST NOT silently
/// ignore unrecognized rights"); `c` and `d` expand to their members (§2.1.1).
pub fn parse_change(s: &str) -> Result<RightsChange, String> {
    let (kind, letters) = match s.as_bytes().first() {
        Some(b'+') => ('+', &s[1..]),
        Some(b'-') => ('-', &s[1..]),
        _ => ('=', s),
    };
    let mut expanded = String::new();
    for c in letters.chars() {
        match c {
            'c' => expanded.push_str("kx"),
            'd' => expanded.push_str("et"),
            c if REAL_RIGHTS.contains(c) => expanded.push(c),
            c if c.is_ascii_uppercase() => {
                return Err(format!("Uppercase rights are not allowed: {c}"));
            }
            c => return Err(format!("The {c} right is not supported")),
        }
    }
    let rights = Rights::parse(&expanded);
    Ok(match kind {
        '+' => RightsChange::Add(rights),
        '-' => RightsChange::Remove(rights),
        _ => RightsChange::Replace(rights),
    })
}

impl RightsChange {
    pub fn apply(self, current: Rights) -> Rights {
        match self {
            RightsChange::Add(r) => current.union(r),
            RightsChange::Remove(r) => current.minus(r),
            RightsChange::Replace(r) => r,
        }
    }
}

/// Rights as sent in ACL and MYRIGHTS responses: the real ones plus the virtual `c` when
/// `k` or `x` is held and `d` when `e` or `t` is (§2.1.1).
pub fn wire_rights(r: Rights) -> String {
    let mut out: String = REAL_RIGHTS.chars().filter(|c| r.has(*c)).collect();
    if r.has('k') || r.has('x') {
        out.push('c');
    }
    if r.has('e') || r.has('t') {
        out.push('d');
    }
    out
}

/// Stored form: real rights only.
fn stored_rights(r: Rights) -> String {
    REAL_RIGHTS.chars().filter(|c| r.has(*c)).collect()
}

pub(crate) fn encode_options(s: &Session) -> EncodeOptions {
    EncodeOptions {
        utf8: s.enabled.utf8_accept,
    }
}

/// A canonical identifier for an ACL entry: `anyone`, or an account's canonical name, each
/// optionally with a leading `-`. `for_delete` accepts identifiers the directory no longer
/// knows (so stale entries can be removed).
async fn canonical_identifier(
    s: &Session,
    identifier: &str,
    for_delete: bool,
) -> Result<String, CmdError> {
    let (negative, who) = match identifier.strip_prefix('-') {
        Some(who) => (true, who),
        None => (false, identifier),
    };
    if who.is_empty() || who.chars().any(|c| c.is_control()) {
        // RFC 4314 §3: an identifier that fails preparation is a BAD.
        return Err(CmdError::bad("Invalid identifier"));
    }
    let sign = if negative { "-" } else { "" };
    if who.eq_ignore_ascii_case("anyone") {
        return Ok(format!("{sign}anyone"));
    }
    match s.server.mail.directory.lookup(who).await {
        Ok(Some(account)) => Ok(format!("{sign}{}", account.name)),
        Ok(None) if for_delete => Ok(format!("{sign}{}", who.to_lowercase())),
        Ok(None) => Err(CmdError::no_code("CANNOT", "No such identifier")),
        Err(e) => {
            tracing::warn!(error = %e, "directory lookup failed during ACL change");
            Err(CmdError::no_code(
                "UNAVAILABLE",
                "Directory unavailable, try again later",
            ))
        }
    }
}

/// Resolves the mailbox and requires the `a` right (GETACL, SETACL, DELETEACL, LISTRIGHTS:
/// RFC 4314 §4).
async fn admin_target(s: &Session, name: &str) -> Result<Target, CmdError> {
    let t = target(s, name).await?;
    if !t.mailbox.rights.has('a') {
        return Err(CmdError::no_code(
            "NOPERM",
            "You lack the administer right on this mailbox",
        ));
    }
    Ok(t)
}

pub async fn run(s: &mut Session, cmd: CommandBody) -> CmdResult {
    match cmd {
        CommandBody::GetAcl(mailbox) => get_acl(s, &mailbox).await,
        CommandBody::SetAcl {
            mailbox,
            identifier,
            rights,
        } => set_acl(s, &mailbox, &identifier, &rights).await,
        CommandBody::DeleteAcl {
            mailbox,
            identifier,
        } => delete_acl(s, &mailbox, &identifier).await,
        CommandBody::ListRights {
            mailbox,
            identifier,
        } => list_rights(s, &mailbox, &identifier).await,
        CommandBody::MyRights(mailbox) => my_rights(s, &mailbox).await,
        _ => Err(CmdError::bad("not an ACL command")),
    }
}

/// RFC 4314 §3.3: `* ACL mailbox owner rights id rights ...`.
async fn get_acl(s: &mut Session, mailbox: &str) -> CmdResult {
    let t = admin_target(s, mailbox).await?;
    let acl = s.server.mail.store.acl(t.mailbox.info.id).await?;
    let opts = encode_options(s);
    let mut line = b"ACL ".to_vec();
    encode_mailbox(&mut line, mailbox, opts);
    line.push(b' ');
    astring(&mut line, t.owner.as_bytes(), opts);
    line.push(b' ');
    line.extend_from_slice(wire_rights(Rights::parse(REAL_RIGHTS)).as_bytes());
    for (id, rights) in &acl {
        if id.eq_ignore_ascii_case(&t.owner) {
            continue;
        }
        line.push(b' ');
        astring(&mut line, id.as_bytes(), opts);
        line.push(b' ');
        astring(
            &mut line,
            wire_rights(Rights::parse(rights)).as_bytes(),
            opts,
        );
    }
    s.untagged(line);
    Ok(Done::ok("GETACL completed"))
}

/// RFC 4314 §3.1.
async fn set_acl(s: &mut Session, mailbox: &str, identifier: &str, rights: &str) -> CmdResult {
    let change = parse_change(rights).map_err(CmdError::bad)?;
    let t = admin_target(s, mailbox).await?;
    let id = canonical_identifier(s, identifier, false).await?;
    let store = s.server.mail.store.clone();
    if id.eq_ignore_ascii_case(&t.owner) {
        // The owner's rights are implicit and complete: only a change that leaves them
        // complete is accepted, and there is nothing to store.
        let full = Rights::parse(REAL_RIGHTS);
        return if change.apply(full) == full {
            Ok(Done::ok("SETACL completed"))
        } else {
            Err(CmdError::no_code(
                "CANNOT",
                "The owner of a mailbox always has all rights",
            ))
        };
    }
    let current = store
        .acl(t.mailbox.info.id)
        .await?
        .into_iter()
        .find(|(i, _)| i.eq_ignore_ascii_case(&id))
        .map(|(_, r)| Rights::parse(&r))
        .unwrap_or_default();
    let new = change.apply(current).minus(Rights::parse("cd"));
    let stored = stored_rights(new);
    // An entry with no rights left is the same as no entry (§3.1 with an empty string).
    let value = (!stored.is_empty()).then_some(stored.as_str());
    store.set_acl(t.mailbox.info.id, &id, value).await?;
    Ok(Done::ok("SETACL completed"))
}

/// RFC 4314 §3.2.
async fn delete_acl(s: &mut Session, mailbox: &str, identifier: &str) -> CmdResult {
    let t = admin_target(s, mailbox).await?;
    let id = canonical_identifier(s, identifier, true).await?;
    if id.eq_ignore_ascii_case(&t.owner) {
        return Err(CmdError::no_code(
            "CANNOT",
            "The owner of a mailbox always has all rights",
        ));
    }
    s.server
        .mail
        .store
        .set_acl(t.mailbox.info.id, &id, None)
        .await?;
    Ok(Done::ok("DELETEACL completed"))
}

/// RFC 4314 §3.4/§3.7. No rights are tied together here, so each is listed on its own
/// (with the virtual `c` and `d` after their members, as §2.1.1 asks). The owner is
/// always granted everything. The identifier is echoed as the client spelled it.
async fn list_rights(s: &mut Session, mailbox: &str, identifier: &str) -> CmdResult {
    let t = admin_target(s, mailbox).await?;
    let id = canonical_identifier(s, identifier, true).await?;
    let opts = encode_options(s);
    let mut line = b"LISTRIGHTS ".to_vec();
    encode_mailbox(&mut line, mailbox, opts);
    line.push(b' ');
    astring(&mut line, identifier.as_bytes(), opts);
    if id.eq_ignore_ascii_case(&t.owner) {
        line.push(b' ');
        line.extend_from_slice(wire_rights(Rights::parse(REAL_RIGHTS)).as_bytes());
    } else {
        line.extend_from_slice(b" \"\"");
        for c in REAL_RIGHTS.chars().chain("cd".chars()) {
            line.push(b' ');
            line.push(c as u8);
        }
    }
    s.untagged(line);
    Ok(Done::ok("LISTRIGHTS completed"))
}

/// RFC 4314 §3.5: any of `l r i k x a` is needed (§4); `resolve` already hides mailboxes
/// with no rights at all.
async fn my_rights(s: &mut Session, mailbox: &str) -> CmdResult {
    let t = resolve(s, mailbox).await?;
    if !"lrikxa".chars().any(|c| t.rights.has(c)) {
        return Err(CmdError::no_code("NONEXISTENT", "No such mailbox"));
    }
    let opts = encode_options(s);
    let mut line = b"MYRIGHTS ".to_vec();
    encode_mailbox(&mut line, mailbox, opts);
    line.push(b' ');
    astring(&mut line, wire_rights(t.rights).as_bytes(), opts);
    s.untagged(line);
    Ok(Done::ok("MYRIGHTS completed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rights_changes() {
        let cases: &[(&str, Result<RightsChange, ()>)] = &[
            ("lr", Ok(RightsChange::Replace(Rights::parse("lr")))),
            ("+w", Ok(RightsChange::Add(Rights::parse("w")))),
            ("-lr", Ok(RightsChange::Remove(Rights::parse("lr")))),
            ("", Ok(RightsChange::Replace(Rights::default()))),
            // §2.1.1: c = k + x, d = e + t
            ("+cda", Ok(RightsChange::Add(Rights::parse("kxeta")))),
            ("lrQs", Err(())),
            ("lrqs", Err(())),
        ];
        for (input, want) in cases {
            assert_eq!(parse_change(input).map_err(|_| ()), *want, "{input}");
        }
    }

    #[test]
    fn applies_changes() {
        let cur = Rights::parse("lrs");
        assert_eq!(
            RightsChange::Add(Rights::parse("w")).apply(cur).letters(),
            "lrsw"
        );
        assert_eq!(
            RightsChange::Remove(Rights::parse("s"))
                .apply(cur)
                .letters(),
            "lr"
        );
        assert_eq!(
            RightsChange::Replace(Rights::parse("i"))
                .apply(cur)
                .letters(),
            "i"
        );
    }

    #[test]
    fn wire_rights_add_virtual_c_and_d() {
        // RFC 4314 §3.1 example: "+cda" on lrswi gives lrswicdakxet (order aside).
        assert_eq!(wire_rights(Rights::parse(REAL_RIGHTS)), "lrswipkxteacd");
        assert_eq!(wire_rights(Rights::parse("lr")), "lr");
        assert_eq!(wire_rights(Rights::parse("lrk")), "lrkc");
        assert_eq!(wire_rights(Rights::parse("lrt")), "lrtd");
    }
}
