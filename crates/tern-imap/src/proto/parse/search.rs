//! SEARCH (RFC 9051 §6.4.4) with RFC 4731/9051 RETURN options (ESEARCH), RFC 5182 SAVE and
//! `$`, RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER, RFC 8474 EMAILID/THREADID; SORT and THREAD
//! (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 SORT RETURN).

use super::lexer::{Cursor, PResult, fail, text, text_from_vec};
use super::sequence::{at_sequence_set, sequence_set};
use crate::proto::command::{
    By, CommandBody, SearchCommand, SearchKey, SearchReturn, SortField, SortKey, ThreadAlgorithm,
};

/// Deepest nesting of NOT/OR/parentheses accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// `search = "SEARCH" [search-return-opts] SP search-program`;
/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
pub(crate) fn search(c: &mut Cursor<'_>, by: By) -> PResult<CommandBody> {
    let return_opts = return_options(c)?;
    c.sp()?;
    let mut charset = None;
    if c.keyword("CHARSET") {
        c.sp()?;
        charset = Some(c.astring_utf8("Charset")?);
        c.sp()?;
    }
    let criteria = keys(c)?;
    Ok(CommandBody::Search {
        by,
        search: SearchCommand {
            return_opts,
            charset,
            criteria,
        },
    })
}

/// `[SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]`.
fn return_options(c: &mut Cursor<'_>) -> PResult<Option<Vec<SearchReturn>>> {
    let mut probe = c.clone();
    if !(probe.eat(b' ') && probe.keyword("RETURN")) {
        return Ok(None);
    }
    *c = probe;
    c.sp()?;
    let opts = c.paren_list(true, |c| {
        let name = c.atom_upper()?;
        Ok(match name.as_str() {
            "MIN" => SearchReturn::Min,
            "MAX" => SearchReturn::Max,
            "ALL" => SearchReturn::All,
            "COUNT" => SearchReturn::Count,
            "SAVE" => SearchReturn::Save,
            other => return fail(format!("Unknown SEARCH RETURN option {other}")),
        })
    })?;
    Ok(Some(opts))
}

/// `search-key *(SP search-key)`.
fn keys(c: &mut Cursor<'_>) -> PResult<Vec<SearchKey>> {
    let mut keys = vec![key(c, 0)?];
    while c.eat(b' ') {
        keys.push(key(c, 0)?);
    }
    Ok(keys)
}

/// One `search-key`.
fn key(c: &mut Cursor<'_>, depth: usize) -> PResult<SearchKey> {
    use SearchKey as K;
    if depth > MAX_DEPTH {
        return fail("Search criteria nested too deeply");
    }
    if c.peek() == Some(b'(') {
        let inner = c.paren_list(false, |c| key(c, depth + 1))?;
        return Ok(K::And(inner));
    }
    if at_sequence_set(c) {
        return Ok(K::SeqSet(sequence_set(c)?));
    }
    let name = c.atom_upper().or_else(|_| fail("Expected a search key"))?;
    let k = match name.as_str() {
        "ALL" => K::All,
        "ANSWERED" => K::Answered,
        "DELETED" => K::Deleted,
        "DRAFT" => K::Draft,
        "FLAGGED" => K::Flagged,
        "NEW" => K::New,
        "OLD" => K::Old,
        "RECENT" => K::Recent,
        "SEEN" => K::Seen,
        "UNANSWERED" => K::Unanswered,
        "UNDELETED" => K::Undeleted,
        "UNDRAFT" => K::Undraft,
        "UNFLAGGED" => K::Unflagged,
        "UNSEEN" => K::Unseen,
        "BCC" => K::Bcc(arg_astring(c)?),
        "BODY" => K::Body(arg_astring(c)?),
        "CC" => K::Cc(arg_astring(c)?),
        "FROM" => K::From(arg_astring(c)?),
        "SUBJECT" => K::Subject(arg_astring(c)?),
        "TEXT" => K::Text(arg_astring(c)?),
        "TO" => K::To(arg_astring(c)?),
        "BEFORE" => K::Before(arg_date(c)?),
        "ON" => K::On(arg_date(c)?),
        "SINCE" => K::Since(arg_date(c)?),
        "SENTBEFORE" => K::SentBefore(arg_date(c)?),
        "SENTON" => K::SentOn(arg_date(c)?),
        "SENTSINCE" => K::SentSince(arg_date(c)?),
        "HEADER" => {
            c.sp()?;
            let field = text_from_vec(c.astring()?);
            K::Header(field, arg_astring(c)?)
        }
        "KEYWORD" => {
            c.sp()?;
            K::Keyword(text(c.atom()?))
        }
        "UNKEYWORD" => {
            c.sp()?;
            K::Unkeyword(text(c.atom()?))
        }
        "LARGER" => {
            c.sp()?;
            K::Larger(c.number64()?)
        }
        "SMALLER" => {
            c.sp()?;
            K::Smaller(c.number64()?)
        }
        "NOT" => {
            c.sp()?;
            K::Not(Box::new(key(c, depth + 1)?))
        }
        "OR" => {
            c.sp()?;
            let a = key(c, depth + 1)?;
            c.sp()?;
            let b = key(c, depth + 1)?;
            K::Or(Box::new(a), Box::new(b))
        }
        "UID" => {
            c.sp()?;
            K::Uid(sequence_set(c)?)
        }
        "MODSEQ" => {
            // search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
            // search-modseq-ext = SP entry-name SP entry-type-req (RFC 7162 §3.1.5)
            c.sp()?;
            if c.peek() == Some(b'"') {
                c.quoted()?;
                c.sp()?;
                let kind = c.atom_upper()?;
                if !matches!(kind.as_str(), "PRIV" | "SHARED" | "ALL") {
                    return fail("MODSEQ entry type must be priv, shared or all");
                }
                c.sp()?;
            }
            K::ModSeq(c.number64()?)
        }
        "OLDER" => {
            c.sp()?;
            K::Older(u64::from(c.nz_number()?))
        }
        "YOUNGER" => {
            c.sp()?;
            K::Younger(u64::from(c.nz_number()?))
        }
        "EMAILID" => K::EmailId(arg_objectid(c)?),
        "THREADID" => K::ThreadId(arg_objectid(c)?),
        other => {
            let shown: String = other.chars().take(32).collect();
            return fail(format!("Unknown search key {shown}"));
        }
    };
    Ok(k)
}

fn arg_astring(c: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    c.sp()?;
    c.astring()
}

fn arg_date(c: &mut Cursor<'_>) -> PResult<i64> {
    c.sp()?;
    c.date()
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 §7), possibly quoted.
fn arg_objectid(c: &mut Cursor<'_>) -> PResult<String> {
    c.sp()?;
    let id = c.astring()?;
    if id.is_empty()
        || id.len() > 255
        || !id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
    {
        return fail("Invalid object id");
    }
    Ok(text_from_vec(id))
}

/// `sort = "SORT" [search-return-opts] SP sort-criteria SP search-charset
/// 1*(SP search-key)` (RFC 5256 §5, RFC 5267 §3.2). The charset is also copied into
/// `search.charset`.
pub(crate) fn sort(c: &mut Cursor<'_>, by: By) -> PResult<CommandBody> {
    let return_opts = return_options(c)?;
    c.sp()?;
    let criteria = c.paren_list(false, |c| {
        let reverse = c.keyword("REVERSE");
        if reverse {
            c.sp()?;
        }
        let name = c.atom_upper()?;
        let field = match name.as_str() {
            "ARRIVAL" => SortField::Arrival,
            "CC" => SortField::Cc,
            "DATE" => SortField::Date,
            "FROM" => SortField::From,
            "SIZE" => SortField::Size,
            "SUBJECT" => SortField::Subject,
            "TO" => SortField::To,
            "DISPLAYFROM" => SortField::DisplayFrom,
            "DISPLAYTO" => SortField::DisplayTo,
            other => return fail(format!("Unknown sort key {other}")),
        };
        Ok(SortKey { reverse, field })
    })?;
    c.sp()?;
    let charset = c.astring_utf8("Charset")?;
    c.sp()?;
    let criteria_keys = keys(c)?;
    Ok(CommandBody::Sort {
        by,
        criteria,
        charset: charset.clone(),
        search: SearchCommand {
            return_opts,
            charset: Some(charset),
            criteria: criteria_keys,
        },
    })
}

/// `thread = "THREAD" SP thread-alg SP search-charset 1*(SP search-key)` (RFC 5256 §5).
pub(crate) fn thread(c: &mut Cursor<'_>, by: By) -> PResult<CommandBody> {
    c.sp()?;
    let name = c.atom_upper()?;
    let algorithm = match name.as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        other => return fail(format!("Unknown THREAD algorithm {other}")),
    };
    c.sp()?;
    let charset = c.astring_utf8("Charset")?;
    c.sp()?;
    let criteria = keys(c)?;
    Ok(CommandBody::Thread {
        by,
        algorithm,
        charset: charset.clone(),
        search: SearchCommand {
            return_opts: None,
            charset: Some(charset),
            criteria,
        },
    })
}
