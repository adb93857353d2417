//! FETCH (RFC 9051 §6.4.5) with RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE / VANISHED,
//! RFC 8474 EMAILID/THREADID, RFC 8970 PREVIEW, RFC 8514 SAVEDATE; and STORE (§6.4.6) with
//! RFC 7162 UNCHANGEDSINCE.

use super::lexer::{Cursor, PResult, fail, text_from_vec, upper_text};
use super::sequence::sequence_set;
use crate::proto::command::{
    By, CommandBody, FetchAttr, FetchItems, FetchModifiers, Section, SectionText, StoreOp,
};

/// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
/// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`.
pub(crate) fn fetch(c: &mut Cursor<'_>, by: By) -> PResult<CommandBody> {
    c.sp()?;
    let set = sequence_set(c)?;
    c.sp()?;
    let mut items = if c.peek() == Some(b'(') {
        fetch_att_list(c)?
    } else if c.keyword("ALL") {
        FetchItems(vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
        ])
    } else if c.keyword("FAST") {
        FetchItems(vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ])
    } else if c.keyword("FULL") {
        FetchItems(vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
            FetchAttr::Body,
        ])
    } else {
        FetchItems(vec![fetch_att(c)?])
    };
    let mut modifiers = FetchModifiers::default();
    if c.eat(b' ') {
        c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            match name.as_str() {
                "CHANGEDSINCE" => {
                    c.sp()?;
                    modifiers.changed_since = Some(c.number64()?);
                }
                "VANISHED" => modifiers.vanished = true,
                other => return fail(format!("Unknown FETCH modifier {other}")),
            }
            Ok(())
        })?;
        // RFC 7162 §3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
        if modifiers.vanished && (by != By::Uid || modifiers.changed_since.is_none()) {
            return fail("VANISHED needs UID FETCH with CHANGEDSINCE");
        }
    }
    // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ in the response.
    if modifiers.changed_since.is_some() && !items.0.contains(&FetchAttr::ModSeq) {
        items.0.push(FetchAttr::ModSeq);
    }
    Ok(CommandBody::Fetch {
        by,
        set,
        items,
        modifiers,
    })
}

/// `"(" fetch-att *(SP fetch-att) ")"`.
pub(crate) fn fetch_att_list(c: &mut Cursor<'_>) -> PResult<FetchItems> {
    Ok(FetchItems(c.paren_list(false, fetch_att)?))
}

/// One `fetch-att`.
fn fetch_att(c: &mut Cursor<'_>) -> PResult<FetchAttr> {
    let name = c.take_while1(|b| b.is_ascii_alphanumeric() || b == b'.', "a FETCH item")?;
    let name = upper_text(name);
    let attr = match name.as_str() {
        "ENVELOPE" => FetchAttr::Envelope,
        "FLAGS" => FetchAttr::Flags,
        "INTERNALDATE" => FetchAttr::InternalDate,
        "RFC822" => FetchAttr::Rfc822,
        "RFC822.HEADER" => FetchAttr::Rfc822Header,
        "RFC822.SIZE" => FetchAttr::Rfc822Size,
        "RFC822.TEXT" => FetchAttr::Rfc822Text,
        "BODYSTRUCTURE" => FetchAttr::BodyStructure,
        "UID" => FetchAttr::Uid,
        "MODSEQ" => FetchAttr::ModSeq,
        "EMAILID" => FetchAttr::EmailId,
        "THREADID" => FetchAttr::ThreadId,
        "SAVEDATE" => FetchAttr::SaveDate,
        "PREVIEW" => {
            let mut lazy = false;
            if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') && {
                let mut probe = c.clone();
                probe.sp().is_ok() && probe.eat(b'(') && probe.keyword("LAZY")
            } {
                c.sp()?;
                c.paren_list(false, |c| {
                    if c.keyword("LAZY") {
                        lazy = true;
                        Ok(())
                    } else {
                        fail("Unknown PREVIEW modifier")
                    }
                })?;
            }
            FetchAttr::Preview { lazy }
        }
        "BODY" if c.peek() != Some(b'[') => FetchAttr::Body,
        "BODY" | "BODY.PEEK" => {
            let section = section(c)?;
            FetchAttr::BodySection {
                peek: name == "BODY.PEEK",
                section,
                partial: partial(c)?,
            }
        }
        "BINARY" | "BINARY.PEEK" => {
            let part = section_binary(c)?;
            FetchAttr::Binary {
                peek: name == "BINARY.PEEK",
                part,
                partial: partial(c)?,
            }
        }
        "BINARY.SIZE" => FetchAttr::BinarySize {
            part: section_binary(c)?,
        },
        _ => {
            let shown: String = name.chars().take(32).collect();
            return fail(format!("Unknown FETCH item {shown}"));
        }
    };
    Ok(attr)
}

/// `section = "[" [section-spec] "]"`;
/// `section-spec = section-msgtext / (section-part ["." section-text])`.
fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    c.expect(b'[', "'[' starting a section")?;
    let mut part = Vec::new();
    let mut text = None;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part.push(c.nz_number()?);
        while c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            c.eat(b'.');
            part.push(c.nz_number()?);
        }
        if c.eat(b'.') {
            text = Some(section_text(c, true)?);
        }
    } else if c.peek() != Some(b']') {
        text = Some(section_text(c, false)?);
    }
    c.expect(b']', "']' closing a section")?;
    Ok(Section { part, text })
}

/// `section-text = section-msgtext / "MIME"` (MIME only after a part number);
/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`.
fn section_text(c: &mut Cursor<'_>, after_part: bool) -> PResult<SectionText> {
    let word = c.take_while1(|b| b.is_ascii_alphabetic() || b == b'.', "a section name")?;
    let word = upper_text(word);
    Ok(match word.as_str() {
        "HEADER" => SectionText::Header,
        "TEXT" => SectionText::Text,
        "MIME" if after_part => SectionText::Mime,
        "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
            c.sp()?;
            // header-list = "(" header-fld-name *(SP header-fld-name) ")"
            let fields = c.paren_list(false, |c| Ok(text_from_vec(c.astring()?)))?;
            SectionText::HeaderFields {
                not: word.ends_with(".NOT"),
                fields,
            }
        }
        _ => return fail("Invalid section"),
    })
}

/// `section-binary = "[" [section-part] "]"` (RFC 3516 §6).
fn section_binary(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    c.expect(b'[', "'[' starting a BINARY section")?;
    let mut part = Vec::new();
    if !c.eat(b']') {
        part.push(c.nz_number()?);
        while c.eat(b'.') {
            part.push(c.nz_number()?);
        }
        c.expect(b']', "']' closing a BINARY section")?;
    }
    Ok(part)
}

/// `partial = "<" number64 "." nz-number64 ">"` → (offset, length).
fn partial(c: &mut Cursor<'_>) -> PResult<Option<(u64, u64)>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number64()?;
    c.expect(b'.', "'.' in a partial range")?;
    let len = c.nz_number64()?;
    c.expect(b'>', "'>' closing a partial range")?;
    Ok(Some((offset, len)))
}

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
/// `store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"` (RFC 7162 §3.1.3);
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`.
pub(crate) fn store(c: &mut Cursor<'_>, by: By) -> PResult<CommandBody> {
    c.sp()?;
    let set = sequence_set(c)?;
    c.sp()?;
    let mut unchanged_since = None;
    if c.peek() == Some(b'(') {
        c.paren_list(false, |c| {
            if !c.keyword("UNCHANGEDSINCE") {
                return fail("Unknown STORE modifier");
            }
            c.sp()?;
            unchanged_since = Some(c.number64()?);
            Ok(())
        })?;
        c.sp()?;
    }
    let op = if c.eat(b'+') {
        StoreOp::Add
    } else if c.eat(b'-') {
        StoreOp::Remove
    } else {
        StoreOp::Replace
    };
    let silent = if c.keyword("FLAGS") {
        false
    } else if c.keyword("FLAGS.SILENT") {
        true
    } else {
        return fail("Expected FLAGS, +FLAGS or -FLAGS");
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut flags = vec![c.flag()?];
        while c.eat(b' ') {
            flags.push(c.flag()?);
        }
        flags
    };
    Ok(CommandBody::Store {
        by,
        set,
        op,
        silent,
        flags,
        unchanged_since,
    })
}
