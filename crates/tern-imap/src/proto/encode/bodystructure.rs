//! `BODY` and `BODYSTRUCTURE` (RFC 9051 §7.5.2, grammar `body`) from the cached
//! [`BodyPart`] tree.
//!
//! Sizes come from the part's byte offsets (`end - body_start`: the body in octets as
//! stored, RFC 9051 `body-fld-octets`); line counts from `lines`. `message/rfc822` and
//! `message/global` parts carrying their encapsulated message are written with its envelope
//! and body (`body-type-msg`).

use super::envelope::envelope;
use super::string::{nstring, string};
use super::{EncodeOptions, number};
use tern_store::BodyPart;

/// Which form to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyForm {
    /// FETCH `BODY`: no extension data.
    Body,
    /// FETCH `BODYSTRUCTURE`: with extension data (md5 / parameters, disposition, language,
    /// location).
    BodyStructure,
}

/// Writes the body structure of `part` (the message's root part).
pub fn body_structure(out: &mut Vec<u8>, part: &BodyPart, form: BodyForm, opts: EncodeOptions) {
    out.push(b'(');
    if part.content_type.eq_ignore_ascii_case("multipart") && !part.parts.is_empty() {
        multipart(out, part, form, opts);
    } else {
        single_part(out, part, form, opts);
    }
    out.push(b')');
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`.
fn multipart(out: &mut Vec<u8>, part: &BodyPart, form: BodyForm, opts: EncodeOptions) {
    for child in &part.parts {
        body_structure(out, child, form, opts);
    }
    out.push(b' ');
    string(out, part.subtype.as_bytes(), opts);
    if form == BodyForm::BodyStructure {
        // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        out.push(b' ');
        params(out, &part.params, opts);
        extension_tail(out, part, opts);
    }
}

/// `body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]`.
fn single_part(out: &mut Vec<u8>, part: &BodyPart, form: BodyForm, opts: EncodeOptions) {
    string(out, part.content_type.as_bytes(), opts);
    out.push(b' ');
    string(out, part.subtype.as_bytes(), opts);
    out.push(b' ');
    // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
    params(out, &part.params, opts);
    out.push(b' ');
    nstring(out, part.id.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    nstring(out, part.description.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    let encoding = if part.encoding.is_empty() {
        "7BIT"
    } else {
        part.encoding.as_str()
    };
    string(out, encoding.as_bytes(), opts);
    out.push(b' ');
    number(out, part.end.saturating_sub(part.body_start));

    let is_message = part.content_type.eq_ignore_ascii_case("message")
        && (part.subtype.eq_ignore_ascii_case("rfc822")
            || part.subtype.eq_ignore_ascii_case("global"));
    match (&part.message, is_message) {
        (Some(inner), true) => {
            // body-type-msg: ... SP envelope SP body SP body-fld-lines
            let (env, body) = &**inner;
            out.push(b' ');
            envelope(out, env, opts);
            out.push(b' ');
            body_structure(out, body, form, opts);
            out.push(b' ');
            number(out, u64::from(part.lines));
        }
        _ if part.content_type.eq_ignore_ascii_case("text") => {
            out.push(b' ');
            number(out, u64::from(part.lines));
        }
        _ => {}
    }
    if form == BodyForm::BodyStructure {
        // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        out.push(b' ');
        nstring(out, part.md5.as_deref().map(str::as_bytes), opts);
        extension_tail(out, part, opts);
    }
}

/// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc` (always all three: simpler for
/// clients than stopping at the first NIL, and allowed by the grammar).
fn extension_tail(out: &mut Vec<u8>, part: &BodyPart, opts: EncodeOptions) {
    out.push(b' ');
    match &part.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some((kind, p)) => {
            out.push(b'(');
            string(out, kind.as_bytes(), opts);
            out.push(b' ');
            params(out, p, opts);
            out.push(b')');
        }
    }
    out.push(b' ');
    match part.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one.as_bytes(), opts),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, l.as_bytes(), opts);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(out, part.location.as_deref().map(str::as_bytes), opts);
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`.
fn params(out: &mut Vec<u8>, params: &[(String, String)], opts: EncodeOptions) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        // The name upper-cased in place once written: the string syntax around it (quotes,
        // backslashes, a literal's `{n}`) has no lower-case letters, and the length is kept.
        let at = out.len();
        string(out, k.as_bytes(), opts);
        out[at..].make_ascii_uppercase();
        out.push(b' ');
        string(out, v.as_bytes(), opts);
    }
    out.push(b')');
}

#[cfg(test)]
#[path = "bodystructure_tests.rs"]
mod tests;
