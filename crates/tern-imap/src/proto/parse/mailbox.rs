//! Mailbox names and the commands that take little more than one: SELECT/EXAMINE
//! (RFC 7162 CONDSTORE/QRESYNC parameters), CREATE (RFC 6154 USE), RENAME, STATUS
//! (RFC 9051 + RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 8474
//! MAILBOXID), COPY/MOVE (RFC 6851).

use super::lexer::{Cursor, PResult, fail};
use super::sequence::sequence_set;
use super::{ParseError, ParseOptions};
use crate::proto::command::{By, CommandBody, QresyncParams, SelectMode, SelectParams, StatusItem};
use crate::proto::utf7;

/// Decodes a mailbox name as sent into the store's form (UTF-8, `/` delimiter):
/// - with UTF8=ACCEPT, or when the name has 8-bit octets, it must be UTF-8 and is taken as
///   is (RFC 6855 §3; 8-bit names without UTF8=ACCEPT are accepted leniently);
/// - otherwise it is modified UTF-7 (RFC 3501 §5.1.3) and is decoded, strictly;
/// - control characters are refused;
/// - `INBOX` in any case, alone or as the first level (`inbox/x`), becomes `INBOX`
///   (RFC 9051 §5.1: INBOX is case-insensitive).
pub fn decode_mailbox(raw: &[u8], opts: ParseOptions) -> Result<String, ParseError> {
    let err = |reason: &str| ParseError {
        tag: None,
        reason: reason.to_string(),
    };
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(err("Mailbox name contains a control character"));
    }
    let name = if opts.utf8 || !raw.is_ascii() {
        String::from_utf8(raw.to_vec()).map_err(|_| err("Mailbox name is not valid UTF-8"))?
    } else {
        utf7::decode(raw).map_err(|e| err(&format!("Mailbox name: {e}")))?
    };
    if name.chars().any(char::is_control) {
        return Err(err("Mailbox name contains a control character"));
    }
    Ok(canonicalize_inbox(name))
}

/// `INBOX` (any case) as the whole name or its first level is spelled `INBOX`.
pub(crate) fn canonicalize_inbox(name: String) -> String {
    let first_len = name.find('/').unwrap_or(name.len());
    if name[..first_len].eq_ignore_ascii_case("INBOX") && &name[..first_len] != "INBOX" {
        format!("INBOX{}", &name[first_len..])
    } else {
        name
    }
}

/// `mailbox = "INBOX" / astring`, decoded.
pub(crate) fn mailbox(c: &mut Cursor<'_>) -> PResult<String> {
    let raw = c.astring_named("a mailbox name")?;
    decode_mailbox(&raw, c.opts)
}

/// `SP mailbox` as the only argument.
pub(crate) fn one_mailbox(c: &mut Cursor<'_>) -> PResult<String> {
    c.sp()?;
    mailbox(c)
}

/// `select = "SELECT" SP mailbox [select-params]` (RFC 9051, RFC 7162 §3.1.8 / §3.2.5).
pub(crate) fn select(c: &mut Cursor<'_>, mode: SelectMode) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c)?;
    let mut params = SelectParams::default();
    if c.eat(b' ') {
        c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            match name.as_str() {
                "CONDSTORE" => params.condstore = true,
                "QRESYNC" => {
                    c.sp()?;
                    params.qresync = Some(qresync(c)?);
                }
                other => return fail(format!("Unknown SELECT parameter {other}")),
            }
            Ok(())
        })?;
    }
    Ok(CommandBody::Select {
        mailbox,
        mode,
        params,
    })
}

/// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
fn qresync(c: &mut Cursor<'_>) -> PResult<QresyncParams> {
    c.expect(b'(', "'(' after QRESYNC")?;
    let uidvalidity = c.nz_number()?;
    c.sp()?;
    let modseq = c.number64()?;
    let mut known_uids = None;
    let mut seq_match = None;
    if c.eat(b' ') {
        if c.peek() != Some(b'(') {
            known_uids = Some(sequence_set(c)?);
            if c.eat(b' ') {
                seq_match = Some(seq_match_data(c)?);
            }
        } else {
            seq_match = Some(seq_match_data(c)?);
        }
    }
    c.expect(b')', "')' closing QRESYNC parameters")?;
    Ok(QresyncParams {
        uidvalidity,
        modseq,
        known_uids,
        seq_match,
    })
}

/// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
fn seq_match_data(
    c: &mut Cursor<'_>,
) -> PResult<(
    crate::proto::command::SequenceSet,
    crate::proto::command::SequenceSet,
)> {
    c.expect(b'(', "'(' starting sequence match data")?;
    let seqs = sequence_set(c)?;
    c.sp()?;
    let uids = sequence_set(c)?;
    c.expect(b')', "')' closing sequence match data")?;
    Ok((seqs, uids))
}

/// `create = "CREATE" SP mailbox [create-params]`, with RFC 6154 §3 `USE (...)`.
pub(crate) fn create(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c)?;
    let mut special_use = Vec::new();
    if c.eat(b' ') {
        c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            if name != "USE" {
                return fail(format!("Unknown CREATE parameter {name}"));
            }
            c.sp()?;
            let attrs = c.paren_list(true, |c| {
                c.expect(b'\\', "a special-use attribute")?;
                let a = c.atom()?;
                Ok(format!("\\{}", String::from_utf8_lossy(a)))
            })?;
            special_use.extend(attrs);
            Ok(())
        })?;
    }
    Ok(CommandBody::Create {
        mailbox,
        special_use,
    })
}

/// `rename = "RENAME" SP mailbox SP mailbox`.
pub(crate) fn rename(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let from = one_mailbox(c)?;
    let to = one_mailbox(c)?;
    Ok(CommandBody::Rename { from, to })
}

/// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
pub(crate) fn status(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c)?;
    c.sp()?;
    let items = status_items(c)?;
    Ok(CommandBody::Status { mailbox, items })
}

/// `"(" status-att *(SP status-att) ")"` (also used by LIST-STATUS).
pub(crate) fn status_items(c: &mut Cursor<'_>) -> PResult<Vec<StatusItem>> {
    c.paren_list(false, |c| {
        let name = c.atom_upper()?;
        Ok(match name.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "DELETED" => StatusItem::Deleted,
            "SIZE" => StatusItem::Size,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            "APPENDLIMIT" => StatusItem::AppendLimit,
            "MAILBOXID" => StatusItem::MailboxId,
            other => return fail(format!("Unknown STATUS item {other}")),
        })
    })
}

/// `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`.
pub(crate) fn copy_move(c: &mut Cursor<'_>, by: By, is_move: bool) -> PResult<CommandBody> {
    c.sp()?;
    let set = sequence_set(c)?;
    let mailbox = one_mailbox(c)?;
    Ok(if is_move {
        CommandBody::Move { by, set, mailbox }
    } else {
        CommandBody::Copy { by, set, mailbox }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASCII: ParseOptions = ParseOptions { utf8: false };
    const UTF8: ParseOptions = ParseOptions { utf8: true };

    #[test]
    fn names_decode_and_canonicalize() {
        let cases: &[(&[u8], ParseOptions, Result<&str, ()>)] = &[
            (b"INBOX", ASCII, Ok("INBOX")),
            (b"inbox", ASCII, Ok("INBOX")),
            (b"InBoX", UTF8, Ok("INBOX")),
            (b"inbox/Sub", ASCII, Ok("INBOX/Sub")),
            (b"inboxes", ASCII, Ok("inboxes")),
            (b"Archive/inbox", ASCII, Ok("Archive/inbox")),
            (b"Entw&APw-rfe", ASCII, Ok("Entwürfe")),
            (b"Entw&APw-rfe", UTF8, Ok("Entw&APw-rfe")),
            (b"A&-B", ASCII, Ok("A&B")),
            (b"A&B", ASCII, Err(())),
            (b"A&B", UTF8, Ok("A&B")),
            ("Entwürfe".as_bytes(), ASCII, Ok("Entwürfe")),
            ("Entwürfe".as_bytes(), UTF8, Ok("Entwürfe")),
            (b"bad\xff", UTF8, Err(())),
            (b"bad\xff", ASCII, Err(())),
            (b"tab\tname", ASCII, Err(())),
            (b"&AAE-", ASCII, Err(())), // U+0001
            (b"", ASCII, Ok("")),
        ];
        for (raw, opts, want) in cases {
            let got = decode_mailbox(raw, *opts);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?} should fail: {got:?}"),
            }
        }
    }
}
