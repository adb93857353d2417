//! How a message's cached [`MessageMeta`] is laid out in `blobs.meta`.
//!
//! The value is a BLOB: one format byte ([`FORMAT`]), then the five parts in field order
//! (envelope, body, sort keys, thread keys, preview), each as a little-endian `u32` length
//! and the part's postcard encoding. The lengths let a reader decode only the parts it needs
//! ([`MetaParts`]): SORT and THREAD decode a few short strings, not the envelope and body
//! structure, and parts not asked for cost neither parsing nor allocation.
//!
//! Databases written before this layout hold the metadata as JSON TEXT; [`decode`] still
//! reads those (whole, whatever parts are asked for), so an old file opens and serves.
//!
//! Invariant: postcard is not self-describing, so the bytes of a part are only meaningful
//! for the Rust types they were written from. A change to [`MessageMeta`] or the types in it
//! must come with a new [`FORMAT`] value and a decoder for the old one.

use crate::fail::{DbResult, Fail};
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tern_store::{MessageMeta, MetaParts, StoreError};

/// The format byte of the layout above.
pub(crate) const FORMAT: u8 = 1;

/// Encodes `meta` for `blobs.meta`.
pub(crate) fn encode(meta: &MessageMeta) -> DbResult<Vec<u8>> {
    // Destructured so that a field added to MessageMeta fails to compile here.
    let MessageMeta {
        envelope,
        body,
        sort,
        thread,
        preview,
    } = meta;
    let mut out = Vec::with_capacity(512);
    out.push(FORMAT);
    put(&mut out, envelope)?;
    put(&mut out, body)?;
    put(&mut out, sort)?;
    put(&mut out, thread)?;
    put(&mut out, preview)?;
    Ok(out)
}

fn put<T: Serialize>(out: &mut Vec<u8>, part: &T) -> DbResult<()> {
    let bytes = postcard::to_allocvec(part).map_err(corrupt)?;
    let len = u32::try_from(bytes.len())
        .map_err(|_| Fail(StoreError::Invalid("message metadata over 4 GiB".into())))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Decodes a stored `blobs.meta` value, filling in the `parts` asked for (the others are
/// left at their defaults; JSON values of older databases are always decoded whole).
pub(crate) fn decode(value: ValueRef<'_>, parts: MetaParts) -> DbResult<MessageMeta> {
    match value {
        ValueRef::Blob(bytes) => decode_binary(bytes, parts),
        ValueRef::Text(json) => Ok(serde_json::from_slice(json)?),
        other => Err(Fail(StoreError::Backend(format!(
            "stored metadata has SQLite type {}",
            other.data_type()
        )))),
    }
}

fn decode_binary(bytes: &[u8], parts: MetaParts) -> DbResult<MessageMeta> {
    let Some((&format, mut rest)) = bytes.split_first() else {
        return Err(Fail(StoreError::Backend("stored metadata is empty".into())));
    };
    if format != FORMAT {
        return Err(Fail(StoreError::Backend(format!(
            "stored metadata has format {format}; this build reads format {FORMAT}"
        ))));
    }
    let mut meta = MessageMeta::default();
    take(&mut rest, parts.envelope, &mut meta.envelope)?;
    take(&mut rest, parts.body, &mut meta.body)?;
    take(&mut rest, parts.sort, &mut meta.sort)?;
    take(&mut rest, parts.thread, &mut meta.thread)?;
    take(&mut rest, parts.preview, &mut meta.preview)?;
    Ok(meta)
}

/// Splits the next part off `rest`, decoding it into `into` if `wanted`.
fn take<T: DeserializeOwned>(rest: &mut &[u8], wanted: bool, into: &mut T) -> DbResult<()> {
    let truncated = || Fail(StoreError::Backend("stored metadata is truncated".into()));
    let (len, after) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
    let len = u32::from_le_bytes(*len) as usize;
    if after.len() < len {
        return Err(truncated());
    }
    let (part, after) = after.split_at(len);
    if wanted {
        *into = postcard::from_bytes(part).map_err(corrupt)?;
    }
    *rest = after;
    Ok(())
}

fn corrupt(e: postcard::Error) -> Fail {
    Fail(StoreError::Backend(format!("stored metadata: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::{Address, BodyPart, Envelope, SortKeys, ThreadKeys};

    fn sample() -> MessageMeta {
        let inner = BodyPart {
            content_type: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "utf-8".into())],
            encoding: "7BIT".into(),
            disposition: Some(("inline".into(), vec![("filename".into(), "a.txt".into())])),
            language: vec!["en".into()],
            header_start: 10,
            body_start: 40,
            end: 1 << 40,
            lines: 3,
            ..BodyPart::default()
        };
        let envelope = Envelope {
            date: Some("Fri, 4 Dec 2026 10:00:00 +0000".into()),
            subject: Some("Grüße".into()),
            from: vec![Address {
                name: Some("A".into()),
                adl: None,
                mailbox: Some("a".into()),
                host: Some("example.test".into()),
            }],
            in_reply_to: Some("<x@y>".into()),
            ..Envelope::default()
        };
        MessageMeta {
            envelope: envelope.clone(),
            body: BodyPart {
                content_type: "multipart".into(),
                subtype: "mixed".into(),
                parts: vec![
                    inner.clone(),
                    BodyPart {
                        content_type: "message".into(),
                        subtype: "rfc822".into(),
                        message: Some(Box::new((envelope, inner))),
                        ..BodyPart::default()
                    },
                ],
                ..BodyPart::default()
            },
            sort: SortKeys {
                sent_date: Some(-5),
                base_subject: "GRÜSSE".into(),
                from: "A".into(),
                ..SortKeys::default()
            },
            thread: ThreadKeys {
                message_id: Some("m@x".into()),
                in_reply_to: vec!["x@y".into()],
                references: vec!["r@x".into(), "x@y".into()],
                is_reply: true,
            },
            preview: "hello".into(),
        }
    }

    #[test]
    fn round_trips_whole_and_by_part() {
        let meta = sample();
        let bytes = encode(&meta).unwrap();
        assert_eq!(bytes[0], FORMAT);
        assert_eq!(
            decode(ValueRef::Blob(&bytes), MetaParts::ALL).unwrap(),
            meta
        );
        assert_eq!(
            decode(ValueRef::Blob(&bytes), MetaParts::NONE).unwrap(),
            MessageMeta::default()
        );
        let keys = MetaParts {
            sort: true,
            thread: true,
            ..MetaParts::NONE
        };
        let got = decode(ValueRef::Blob(&bytes), keys).unwrap();
        assert_eq!((&got.sort, &got.thread), (&meta.sort, &meta.thread));
        assert_eq!(got.envelope, Envelope::default());
        assert_eq!(got.body, BodyPart::default());
        assert!(got.preview.is_empty());
        let env = MetaParts {
            envelope: true,
            preview: true,
            ..MetaParts::NONE
        };
        let got = decode(ValueRef::Blob(&bytes), env).unwrap();
        assert_eq!(
            (&got.envelope, &got.preview),
            (&meta.envelope, &meta.preview)
        );
        assert_eq!(got.sort, SortKeys::default());
    }

    #[test]
    fn reads_json_of_older_databases() {
        let meta = sample();
        let json = serde_json::to_string(&meta).unwrap();
        assert_eq!(
            decode(ValueRef::Text(json.as_bytes()), MetaParts::NONE).unwrap(),
            meta
        );
    }

    #[test]
    fn refuses_damaged_values() {
        let bytes = encode(&sample()).unwrap();
        for cut in [0, 1, 3, bytes.len() - 1] {
            assert!(
                decode(ValueRef::Blob(&bytes[..cut]), MetaParts::ALL).is_err(),
                "cut at {cut}"
            );
        }
        let mut newer = bytes.clone();
        newer[0] = FORMAT + 1;
        assert!(decode(ValueRef::Blob(&newer), MetaParts::ALL).is_err());
        assert!(decode(ValueRef::Integer(1), MetaParts::ALL).is_err());
        assert!(decode(ValueRef::Text(b"{"), MetaParts::ALL).is_err());
    }
}
