//! The message as tests see it: the top-level header fields in order (split here, so
//! every field, known or not, is visible exactly as sent), their RFC 2047-decoded values
//! and address lists (decoded by mail-parser), and the MIME parts for `body` (parsed by
//! mail-parser only when a body test runs).

use std::cell::OnceCell;

use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

pub struct RawHeader<'m> {
    pub name: &'m str,
    /// The raw value after the colon, folding kept, without the final line break.
    pub value: &'m [u8],
}

pub struct MessageView<'m> {
    pub raw: &'m [u8],
    pub headers: Vec<RawHeader<'m>>,
    pub body_offset: usize,
    parsed: OnceCell<Option<mail_parser::Message<'m>>>,
}

impl<'m> MessageView<'m> {
    pub fn new(raw: &'m [u8]) -> MessageView<'m> {
        let mut headers: Vec<RawHeader<'m>> = Vec::new();
        let mut at = 0;
        let mut body_offset = raw.len();
        // (name, value start) of the field being read.
        let mut current: Option<(&'m str, usize)> = None;
        let mut value_end = 0;
        while at < raw.len() {
            let end = memchr_nl(&raw[at..])
                .map(|i| at + i + 1)
                .unwrap_or(raw.len());
            let line = &raw[at..end];
            let content = trim_eol(line);
            if matches!(line.first(), Some(b' ' | b'\t')) && current.is_some() {
                value_end = at + content.len();
                at = end;
                continue;
            }
            if let Some((name, start)) = current.take() {
                headers.push(RawHeader {
                    name,
                    value: &raw[start..value_end.max(start)],
                });
            }
            if content.is_empty() {
                body_offset = end;
                break;
            }
            if let Some(colon) = content.iter().position(|&b| b == b':') {
                let name = std::str::from_utf8(&content[..colon])
                    .unwrap_or("")
                    .trim_end();
                if !name.is_empty() && !name.contains(' ') {
                    current = Some((name, at + colon + 1));
                    value_end = at + content.len();
                }
            }
            at = end;
        }
        if let Some((name, start)) = current.take() {
            headers.push(RawHeader {
                name,
                value: &raw[start..value_end.max(start)],
            });
        }
        MessageView {
            raw,
            headers,
            body_offset,
            parsed: OnceCell::new(),
        }
    }

    /// The fields named `name` (case-insensitive), in message order.
    pub fn fields<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s RawHeader<'m>> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    }

    pub fn parsed(&self) -> Option<&mail_parser::Message<'m>> {
        self.parsed
            .get_or_init(|| MessageParser::default().parse(self.raw))
            .as_ref()
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    if l.last() == Some(&b'\n') {
        l = &l[..l.len() - 1];
    }
    if l.last() == Some(&b'\r') {
        l = &l[..l.len() - 1];
    }
    l
}

fn with_eol(value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    v.extend_from_slice(b"\r\n");
    v
}

/// The unfolded, RFC 2047-decoded value, surrounding whitespace removed.
pub fn decoded(value: &[u8]) -> String {
    let bytes = with_eol(value);
    let text = match MessageStream::new(&bytes).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    };
    text.trim().to_string()
}

/// The unfolded raw value (no decoding), for dates.
pub fn unfolded(value: &[u8]) -> String {
    let s = String::from_utf8_lossy(value);
    s.replace("\r\n", "").replace('\n', "").trim().to_string()
}

/// The addr-specs in an address-list field (groups flattened).
pub fn addresses(value: &[u8]) -> Vec<String> {
    let bytes = with_eol(value);
    let mut out = Vec::new();
    match MessageStream::new(&bytes).parse_address() {
        HeaderValue::Address(Address::List(list)) => {
            out.extend(
                list.into_iter()
                    .filter_map(|a| a.address.map(|s| s.into_owned())),
            );
        }
        HeaderValue::Address(Address::Group(groups)) => {
            for g in groups {
                out.extend(
                    g.addresses
                        .into_iter()
                        .filter_map(|a| a.address.map(|s| s.into_owned())),
                );
            }
        }
        _ => {}
    }
    out
}

/// One leaf MIME part for `body :content` / `:text`.
pub struct BodyPart {
    /// Lower-cased "type/subtype".
    pub content_type: String,
    /// Decoded content (transfer encoding and charset).
    pub text: String,
    pub is_html: bool,
}

/// Every leaf part, nested messages included, in order.
pub fn body_parts(msg: &mail_parser::Message<'_>, out: &mut Vec<BodyPart>, depth: usize) {
    if depth > 8 {
        return;
    }
    for part in &msg.parts {
        let content_type = match part.content_type() {
            Some(ct) => format!("{}/{}", ct.c_type, ct.c_subtype.as_deref().unwrap_or(""))
                .to_ascii_lowercase(),
            None => "text/plain".to_string(),
        };
        let (text, is_html) = match &part.body {
            PartType::Text(t) => (t.to_string(), false),
            PartType::Html(t) => (t.to_string(), true),
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                (String::from_utf8_lossy(b).into_owned(), false)
            }
            PartType::Message(m) => {
                body_parts(m, out, depth + 1);
                continue;
            }
            PartType::Multipart(_) => continue,
        };
        out.push(BodyPart {
            content_type,
            text,
            is_html,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_and_decode() {
        let m = b"From: \"Joe\" <joe@example.com>, x@y.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nX-Empty:\r\nto: a@b.c\r\n\r\nbody\r\n";
        let v = MessageView::new(m);
        let names: Vec<&str> = v.headers.iter().map(|h| h.name).collect();
        assert_eq!(names, ["From", "Subject", "X-Empty", "to"]);
        assert_eq!(
            decoded(v.fields("subject").next().unwrap().value),
            "café folded"
        );
        assert_eq!(decoded(v.fields("x-empty").next().unwrap().value), "");
        assert_eq!(
            addresses(v.fields("FROM").next().unwrap().value),
            ["joe@example.com", "x@y.org"]
        );
        assert_eq!(&m[v.body_offset..], b"body\r\n");
    }

    #[test]
    fn no_body() {
        let v = MessageView::new(b"Subject: x");
        assert_eq!(v.headers.len(), 1);
        assert_eq!(decoded(v.headers[0].value), "x");
    }
}
