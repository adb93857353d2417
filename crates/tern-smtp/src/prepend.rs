//! Header fields computed *after* a message arrived (by the DATA checks: message
//! authentication's `Authentication-Results:`, the gateway filters' `X-Spam-*`/`X-Virus-*`),
//! put at the top of the stored message; and header fields the checks want gone (an
//! `Authentication-Results:` forged with this host's name, RFC 8601 §5).
//!
//! The content is streamed into the blob store as it arrives (`body`), behind the trace
//! fields written first (`Return-Path:` + `Received:`, [`crate::trace`]). The checks read
//! that staged blob ([`MessageView`]: a memory map, no heap copy), each recording what it
//! wants in one shared [`HeaderEdits`]; after the last check, [`MessageView::apply`] makes
//! ONE new blob:
//!
//! ```text
//! Return-Path: ...          (the staged blob's first octets, unchanged)
//! <added fields>            (HeaderEdits::add*, in the order added)
//! Received: ...             (the rest of the trace fields, unchanged)
//! <client content>          (minus the HeaderEdits::remove ranges)
//! ```
//!
//! Added fields go above our `Received:` because they are newer trace information (RFC 8601
//! §4: Authentication-Results is prepended like a trace field) and below `Return-Path:`,
//! which stays the first field, so [`crate::QueuedMessage::skip`] (its length) is still right
//! for the queue. The old blob is left unreferenced: `collect_garbage` removes it after its
//! grace period, as for any staged blob that is never delivered.
//!
//! ## How a check uses it (in `smtp::checks`)
//! ```ignore
//! let view = MessageView::open(&self.mail, &finished).await?;   // once, shared
//! let mut edits = HeaderEdits::new();
//! // each check: read view.content() (the client's octets), then
//! edits.add("X-Spam-Status", "Yes, score=7.2");                // or add_field(raw bytes)
//! let finished = view.apply(&self.mail, finished, &edits).await?; // once, after all checks
//! ```
//!
//! ## Invariants
//! - At most one re-stage per message, however many checks add fields; none at all (and no
//!   copy) when nothing is added or removed.
//! - Added fields are well-formed: each is `name: value` ending in CRLF; a value's line
//!   breaks are folds (CRLF followed by a tab), so nothing a filter reports can end the
//!   header section or start a field of its own.
//! - Removed ranges are whole fields inside the client's header section (checked when
//!   recorded; a range that is not is ignored).
//! - The re-stage streams from the mapped blob in 64 KiB pieces: the message is never copied
//!   onto the heap.

use crate::body::Finished;
use crate::reply::Reply;
use std::ops::Range;
use tern_mail::{IngestError, Mail};
use tern_store::Blob;

/// Octets copied per write when re-staging.
const COPY_CHUNK: usize = 64 * 1024;

/// Header fields to add at the top and to leave out, collected from every DATA check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Complete fields, each ending in CRLF.
    added: Vec<u8>,
    /// Ranges of the client content to leave out, sorted, disjoint.
    removed: Vec<Range<usize>>,
}

impl HeaderEdits {
    pub fn new() -> HeaderEdits {
        HeaderEdits::default()
    }

    /// Adds `name: value`. Control characters in `value` become spaces, and its line breaks
    /// (CR, LF or CRLF) become folds, so the result is always one field. `name` must be a
    /// field name (printable ASCII without `:`); other characters are dropped.
    pub fn add(&mut self, name: &str, value: &str) {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != ':')
            .collect();
        if name.is_empty() {
            return;
        }
        self.added.extend_from_slice(name.as_bytes());
        self.added.extend_from_slice(b": ");
        let mut chars = value.trim().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                        chars.next();
                    }
                    self.added.extend_from_slice(b"\r\n\t");
                }
                c if c.is_control() && c != '\t' => self.added.push(b' '),
                c => {
                    let mut buf = [0u8; 4];
                    self.added
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        self.added.extend_from_slice(b"\r\n");
    }

    /// Adds a complete field as produced by a library (for example mail-auth's
    /// `AuthenticationResults::to_header()`), already folded. It is checked: it must start
    /// with a field name and a colon, and every line break must be a CRLF followed by white
    /// space (a fold) except the final one, which is added when missing. A field that fails
    /// the check is added through [`HeaderEdits::add`] instead (unfolded and cleaned).
    pub fn add_field(&mut self, field: &[u8]) {
        let field = field.strip_suffix(b"\r\n").unwrap_or(field);
        if field_is_safe(field) {
            self.added.extend_from_slice(field);
            self.added.extend_from_slice(b"\r\n");
            return;
        }
        let text = String::from_utf8_lossy(field);
        if let Some((name, value)) = text.split_once(':') {
            self.add(name.trim(), value);
        }
    }

    /// Leaves out `range` of the client content (offsets into [`MessageView::content`]),
    /// which must be one or more whole header fields: it starts at the start of a line of
    /// the header section and ends just after a CRLF that is followed by a field name or the
    /// empty line. Returns whether it was recorded.
    pub fn remove(&mut self, view: &MessageView, range: Range<usize>) -> bool {
        if !whole_fields(view.content(), &range)
            || self
                .removed
                .iter()
                .any(|r| r.start < range.end && range.start < r.end)
        {
            return false;
        }
        let at = self.removed.partition_point(|r| r.start < range.start);
        self.removed.insert(at, range);
        true
    }

    /// The fields added so far, exactly as they will be written.
    pub fn added(&self) -> &[u8] {
        &self.added
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// A staged message as the DATA checks see it: the blob (memory-mapped by the file backend)
/// and where the client's content starts in it.
pub struct MessageView {
    blob: Blob,
    /// Length of the `Return-Path:` field at the start of the blob.
    return_path_len: usize,
    /// Length of every trace field this server wrote before the client's content.
    trace_len: usize,
}

impl MessageView {
    /// Maps the staged blob of a finished body.
    pub(crate) async fn open(mail: &Mail, finished: &Finished) -> Result<MessageView, Reply> {
        let blob = mail.blobs.get(&finished.staged.blob).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot read a staged message back");
            Reply::local_error("Cannot read the message")
        })?;
        let len = (*blob).as_ref().len();
        let trace_len = usize::try_from(finished.trace_len).unwrap_or(len).min(len);
        let return_path_len = usize::try_from(finished.return_path_len)
            .unwrap_or(0)
            .min(trace_len);
        Ok(MessageView {
            blob,
            return_path_len,
            trace_len,
        })
    }

    /// The message as the client sent it (after submission's header fix-up): what the
    /// checks verify (DKIM signatures cover these octets) and send to filters.
    pub fn content(&self) -> &[u8] {
        &self.bytes()[self.trace_len..]
    }

    /// The whole staged blob: trace fields + content.
    pub fn bytes(&self) -> &[u8] {
        (*self.blob).as_ref()
    }

    /// Applies `edits`: returns `finished` itself when there is nothing to change, else the
    /// message re-staged into a new blob (see the module doc).
    pub(crate) async fn apply(
        &self,
        mail: &Mail,
        finished: Finished,
        edits: &HeaderEdits,
    ) -> Result<Finished, Reply> {
        if edits.is_empty() {
            return Ok(finished);
        }
        let cannot = |e: IngestError| {
            tracing::warn!(error = %e, "re-staging a message failed");
            Reply::local_error("Cannot store the message")
        };
        let bytes = self.bytes();
        let limit = (bytes.len() + edits.added.len()) as u64;
        let mut stager = mail.stager(limit).await.map_err(cannot)?;
        stager
            .write(&bytes[..self.return_path_len])
            .await
            .map_err(cannot)?;
        stager.write(&edits.added).await.map_err(cannot)?;
        stager
            .write(&bytes[self.return_path_len..self.trace_len])
            .await
            .map_err(cannot)?;
        let content = self.content();
        let mut at = 0;
        for keep in kept(content.len(), &edits.removed) {
            at = keep.end;
            for piece in content[keep].chunks(COPY_CHUNK) {
                stager.write(piece).await.map_err(cannot)?;
            }
        }
        debug_assert_eq!(at, content.len());
        let staged = stager.finish().await.map_err(cannot)?;
        let added = edits.added.len() as u64;
        Ok(Finished {
            staged,
            received_at: finished.received_at,
            headers: finished.headers,
            return_path_len: finished.return_path_len,
            trace_len: finished.trace_len + added,
        })
    }
}

/// The ranges of `0..len` outside `removed` (sorted, disjoint), in order.
fn kept(len: usize, removed: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(removed.len() + 1);
    let mut at = 0;
    for r in removed {
        if r.start > at {
            out.push(at..r.start);
        }
        at = at.max(r.end);
    }
    if at < len {
        out.push(at..len);
    }
    out
}

/// Whether `field` (without its final CRLF) is `name:` then a value whose line breaks are
/// all folds.
fn field_is_safe(field: &[u8]) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &field[..colon];
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let value = &field[colon + 1..];
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\r' => {
                if value.get(i + 1) != Some(&b'\n')
                    || !matches!(value.get(i + 2), Some(b' ' | b'\t'))
                {
                    return false;
                }
                i += 3;
            }
            b'\n' | 0 => return false,
            _ => i += 1,
        }
    }
    true
}

/// Whether `range` of `content` is whole header fields of its header section.
fn whole_fields(content: &[u8], range: &Range<usize>) -> bool {
    if range.start >= range.end || range.end > content.len() {
        return false;
    }
    let header_end = memchr::memmem::find(content, b"\r\n\r\n").map_or(content.len(), |p| p + 2);
    if range.end > header_end {
        return false;
    }
    let starts_line = range.start == 0 || content[..range.start].ends_with(b"\r\n");
    let starts_field = !matches!(content[range.start], b' ' | b'\t');
    let ends_line = content[..range.end].ends_with(b"\r\n");
    let next_is_field = range.end == header_end
        || content
            .get(range.end)
            .is_some_and(|b| !matches!(b, b' ' | b'\t'));
    starts_line && starts_field && ends_line && next_is_field
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn view(trace: &[u8], return_path_len: usize, content: &[u8]) -> MessageView {
        let mut bytes = trace.to_vec();
        bytes.extend_from_slice(content);
        MessageView {
            blob: Arc::new(bytes),
            return_path_len,
            trace_len: trace.len(),
        }
    }

    #[test]
    fn add_folds_and_cleans() {
        let cases: &[(&str, &str, &[u8])] = &[
            ("X-Spam", "yes", b"X-Spam: yes\r\n"),
            ("X-Spam", " two\r\n  lines ", b"X-Spam: two\r\n\tlines\r\n"),
            ("X-A", "a\nb\rc", b"X-A: a\r\n\tb\r\n\tc\r\n"),
            ("X-A", "bell\x07here", b"X-A: bell here\r\n"),
            ("X: B", "v", b"XB: v\r\n"),
            ("X-U", "caf\u{e9}", "X-U: caf\u{e9}\r\n".as_bytes()),
        ];
        for (name, value, want) in cases {
            let mut e = HeaderEdits::new();
            e.add(name, value);
            assert_eq!(e.added(), *want, "{name:?} {value:?}");
        }
        let mut e = HeaderEdits::new();
        e.add(":", "dropped");
        assert!(e.is_empty());
    }

    #[test]
    fn add_field_checks_folding() {
        let mut e = HeaderEdits::new();
        e.add_field(b"Authentication-Results: mx.test;\r\n\tspf=pass\r\n");
        assert_eq!(
            e.added(),
            b"Authentication-Results: mx.test;\r\n\tspf=pass\r\n"
        );
        let mut e = HeaderEdits::new();
        e.add_field(b"X-Bad: a\r\nInjected: yes");
        assert_eq!(e.added(), b"X-Bad: a\r\n\tInjected: yes\r\n");
        let mut e = HeaderEdits::new();
        e.add_field(b"X-Bad: a\nb\r\n");
        assert_eq!(e.added(), b"X-Bad: a\r\n\tb\r\n");
    }

    #[test]
    fn remove_accepts_only_whole_header_fields() {
        let content = b"A: 1\r\nB: 2\r\n\tmore\r\nC: 3\r\n\r\nbody\r\nD: 4\r\n";
        let v = view(b"", 0, content);
        let mut e = HeaderEdits::new();
        let b = 6..19; // "B: 2\r\n\tmore\r\n"
        assert_eq!(&content[b.clone()], b"B: 2\r\n\tmore\r\n");
        assert!(!e.remove(&v, 6..12), "a field without its continuation");
        assert!(!e.remove(&v, 12..19), "a continuation line");
        assert!(!e.remove(&v, 7..19), "not at a line start");
        assert!(!e.remove(&v, 33..39), "in the body");
        assert!(!e.remove(&v, 0..0));
        assert!(e.remove(&v, b.clone()));
        assert!(!e.remove(&v, 6..12), "overlaps");
        assert!(e.remove(&v, 0..6));
        assert_eq!(e.removed, vec![0..6, b]);
    }

    #[test]
    fn kept_ranges() {
        assert_eq!(kept(10, &[]), vec![0..10]);
        assert_eq!(kept(10, &[0..3, 5..7]), vec![3..5, 7..10]);
        let tail: &[Range<usize>] = &[Range { start: 2, end: 10 }];
        assert_eq!(kept(10, tail), vec![0..2]);
        assert_eq!(kept(0, &[]), Vec::<Range<usize>>::new());
    }

    #[tokio::test]
    async fn apply_restages_once_with_fields_at_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let mail = test_mail(dir.path()).await;
        let trace = b"Return-Path: <a@b.test>\r\nReceived: from x\r\n\tby y; now\r\n";
        let content = b"Authentication-Results: mx.test; spf=pass\r\nSubject: hi\r\n\r\nbody\r\n";
        let mut bytes = trace.to_vec();
        bytes.extend_from_slice(content);
        let staged = mail.stage_bytes(&bytes, 1 << 20).await.unwrap();
        let finished = Finished {
            staged,
            received_at: tern_store::Timestamp {
                unix: 0,
                offset_minutes: 0,
            },
            headers: None,
            return_path_len: 25,
            trace_len: trace.len() as u64,
        };
        let v = MessageView::open(&mail, &finished).await.unwrap();
        assert_eq!(v.content(), content);
        let mut e = HeaderEdits::new();
        let same = v.apply(&mail, finished.clone(), &e).await.unwrap();
        assert_eq!(
            same.staged.blob, finished.staged.blob,
            "nothing to do: no copy"
        );
        e.add("Authentication-Results", "mx.test; dkim=none");
        e.add("X-Spam", "no");
        assert!(e.remove(&v, 0..43));
        let out = v.apply(&mail, finished, &e).await.unwrap();
        let blob = mail.blobs.get(&out.staged.blob).await.unwrap();
        let want: &[u8] = b"Return-Path: <a@b.test>\r\n\
            Authentication-Results: mx.test; dkim=none\r\nX-Spam: no\r\n\
            Received: from x\r\n\tby y; now\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!((*blob).as_ref(), want);
        assert_eq!(out.staged.size, want.len() as u64);
        assert_eq!(out.return_path_len, 25);
        let v2 = MessageView::open(&mail, &out).await.unwrap();
        assert_eq!(v2.content(), b"Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(out.staged.meta.envelope.subject.as_deref(), Some("hi"));
    }

    async fn test_mail(dir: &std::path::Path) -> Mail {
        let (store, blobs) = tern_store_sqlite::open_embedded(dir).await.unwrap();
        let directory = tern_directory::internal::InternalDirectory::open_in(dir).unwrap();
        Mail::new(store, blobs, Arc::new(directory))
    }
}
