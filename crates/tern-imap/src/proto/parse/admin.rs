//! Administrative commands: QUOTA (RFC 9208), ACL (RFC 4314), METADATA (RFC 5464).

use super::lexer::{Cursor, PResult, fail};
use super::mailbox::{mailbox, one_mailbox};
use crate::proto::command::{CommandBody, MetadataOptions};

/// `getquota = "GETQUOTA" SP quota-root-name` (quota-root-name = astring).
pub(crate) fn getquota(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    Ok(CommandBody::GetQuota(c.astring_utf8("Quota root")?))
}

/// `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`;
/// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`;
/// `setquota-resource = resource-name SP resource-limit` (RFC 9208 §9). Resource names are
/// upper-cased.
pub(crate) fn setquota(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    let root = c.astring_utf8("Quota root")?;
    c.sp()?;
    let limits = c.paren_list(true, |c| {
        let name = c.atom_upper()?;
        c.sp()?;
        Ok((name, c.number64()?))
    })?;
    Ok(CommandBody::SetQuota { root, limits })
}

/// `SP mailbox SP identifier`.
fn mailbox_identifier(c: &mut Cursor<'_>) -> PResult<(String, String)> {
    let mailbox = one_mailbox(c)?;
    c.sp()?;
    Ok((mailbox, c.astring_utf8("Identifier")?))
}

/// `setacl = "SETACL" SP mailbox SP identifier SP mod-rights` (RFC 4314 §9);
/// `mod-rights = astring` (rights, optionally prefixed by `+` or `-`).
pub(crate) fn setacl(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let (mailbox, identifier) = mailbox_identifier(c)?;
    c.sp()?;
    let rights = c.astring_utf8("Rights")?;
    Ok(CommandBody::SetAcl {
        mailbox,
        identifier,
        rights,
    })
}

/// `deleteacl = "DELETEACL" SP mailbox SP identifier`.
pub(crate) fn deleteacl(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let (mailbox, identifier) = mailbox_identifier(c)?;
    Ok(CommandBody::DeleteAcl {
        mailbox,
        identifier,
    })
}

/// `listrights = "LISTRIGHTS" SP mailbox SP identifier`.
pub(crate) fn listrights(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let (mailbox, identifier) = mailbox_identifier(c)?;
    Ok(CommandBody::ListRights {
        mailbox,
        identifier,
    })
}

/// `getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries`
/// (RFC 5464 §4.2). The RFC's own examples put the options after the mailbox
/// (`GETMETADATA "INBOX" (MAXSIZE 1024) (...)`); both placements are accepted.
/// `entries = entry / "(" entry *(SP entry) ")"`. The mailbox `""` means server entries.
pub(crate) fn getmetadata(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    let mut options = MetadataOptions {
        max_size: None,
        depth: Some(0),
    };
    if c.peek() == Some(b'(') {
        metadata_options(c, &mut options)?;
        c.sp()?;
    }
    let mailbox = mailbox(c)?;
    c.sp()?;
    if c.peek() == Some(b'(') && (lookahead_keyword(c, "MAXSIZE") || lookahead_keyword(c, "DEPTH"))
    {
        metadata_options(c, &mut options)?;
        c.sp()?;
    }
    let entries = if c.peek() == Some(b'(') {
        c.paren_list(false, |c| c.astring_utf8("Entry name"))?
    } else {
        vec![c.astring_utf8("Entry name")?]
    };
    Ok(CommandBody::GetMetadata {
        mailbox,
        options,
        entries,
    })
}

/// Whether the input is `(` followed by `word`.
fn lookahead_keyword(c: &Cursor<'_>, word: &str) -> bool {
    let mut probe = c.clone();
    probe.eat(b'(') && probe.keyword(word)
}

/// `getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"`;
/// `getmetadata-option = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")`.
fn metadata_options(c: &mut Cursor<'_>, options: &mut MetadataOptions) -> PResult<()> {
    c.paren_list(false, |c| {
        let name = c.atom_upper()?;
        c.sp()?;
        match name.as_str() {
            "MAXSIZE" => options.max_size = Some(c.number64()?),
            "DEPTH" => {
                options.depth = if c.keyword("INFINITY") {
                    None
                } else {
                    match c.number()? {
                        d @ (0 | 1) => Some(d),
                        _ => return fail("DEPTH must be 0, 1 or infinity"),
                    }
                }
            }
            other => return fail(format!("Unknown GETMETADATA option {other}")),
        }
        Ok(())
    })?;
    Ok(())
}

/// `setmetadata = "SETMETADATA" SP mailbox SP entry-values`;
/// `entry-values = "(" entry-value *(SP entry-value) ")"`;
/// `entry-value = entry SP value`; `value = nstring / literal8` (NIL removes the entry).
pub(crate) fn setmetadata(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c)?;
    c.sp()?;
    let entries = c.paren_list(false, |c| {
        let entry = c.astring_utf8("Entry name")?;
        c.sp()?;
        Ok((entry, c.nstring8()?))
    })?;
    Ok(CommandBody::SetMetadata { mailbox, entries })
}
