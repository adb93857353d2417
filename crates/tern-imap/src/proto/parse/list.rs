//! LIST with RFC 5258 LIST-EXTENDED selection and return options, RFC 5819 LIST-STATUS and
//! RFC 6154 SPECIAL-USE; LSUB (IMAP4rev1).

use super::lexer::{Cursor, PResult, fail};
use super::mailbox::{decode_mailbox, mailbox, status_items};
use crate::proto::command::{CommandBody, ListCommand};

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`.
pub(crate) fn list(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mut cmd = ListCommand::default();
    c.sp()?;
    if c.peek() == Some(b'(') {
        cmd.extended = true;
        select_options(c, &mut cmd)?;
        c.sp()?;
    }
    cmd.reference = mailbox(c)?;
    c.sp()?;
    if c.peek() == Some(b'(') {
        cmd.extended = true;
        cmd.patterns = c.paren_list(false, pattern)?;
    } else {
        cmd.patterns = vec![pattern(c)?];
    }
    if c.eat(b' ') {
        if !c.keyword("RETURN") {
            return fail("Expected RETURN options");
        }
        cmd.extended = true;
        c.sp()?;
        return_options(c, &mut cmd)?;
    }
    Ok(CommandBody::List(cmd))
}

/// `list-mailbox`, decoded like a mailbox name (modified UTF-7, INBOX prefix).
fn pattern(c: &mut Cursor<'_>) -> PResult<String> {
    let raw = c.list_mailbox()?;
    decode_mailbox(&raw, c.opts)
}

/// `list-select-opts` (RFC 5258 §3.1, RFC 6154 §5.1).
fn select_options(c: &mut Cursor<'_>, cmd: &mut ListCommand) -> PResult<()> {
    c.paren_list(true, |c| {
        let name = c.atom_upper()?;
        match name.as_str() {
            "SUBSCRIBED" => cmd.select_subscribed = true,
            "REMOTE" => cmd.select_remote = true,
            "RECURSIVEMATCH" => cmd.select_recursive_match = true,
            "SPECIAL-USE" => cmd.select_special_use = true,
            other => return fail(format!("Unknown LIST selection option {other}")),
        }
        Ok(())
    })?;
    // RFC 5258 §3.1: RECURSIVEMATCH alone (without a base option) is an error.
    if cmd.select_recursive_match && !cmd.select_subscribed && !cmd.select_special_use {
        return fail("RECURSIVEMATCH needs another selection option");
    }
    Ok(())
}

/// `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`.
fn return_options(c: &mut Cursor<'_>, cmd: &mut ListCommand) -> PResult<()> {
    c.paren_list(true, |c| {
        let name = c.atom_upper()?;
        match name.as_str() {
            "SUBSCRIBED" => cmd.return_subscribed = true,
            "CHILDREN" => cmd.return_children = true,
            "SPECIAL-USE" => cmd.return_special_use = true,
            "STATUS" => {
                c.sp()?;
                cmd.return_status = Some(status_items(c)?);
            }
            other => return fail(format!("Unknown LIST return option {other}")),
        }
        Ok(())
    })?;
    Ok(())
}

/// `lsub = "LSUB" SP mailbox SP list-mailbox`.
pub(crate) fn lsub(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp()?;
    let reference = mailbox(c)?;
    c.sp()?;
    let pattern = pattern(c)?;
    Ok(CommandBody::Lsub { reference, pattern })
}
