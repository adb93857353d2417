//! Output queued ahead of `Session::out`: segments of owned bytes or byte ranges of stored
//! blobs, and the connection a running command may flush them to.
//!
//! A FETCH of a large message queues its literal as a reference into the blob (memory-mapped
//! by the blob store for large blobs: file-backed pages, not heap) instead of copying it, and
//! a FETCH over many messages flushes as it goes once [`FLUSH_AT`] octets are pending, so a
//! connection never holds a whole large message, nor a whole large response, in its heap
//! (DESIGN.md).
//!
//! ## Invariants
//! - Order on the wire: every queued segment, in order, then `Session::out`. Whoever pushes a
//!   blob range first moves the bytes written so far into the queue ([`Writer::content`]).
//! - Only the connection loop lends the connection ([`Pending::lend`]) and takes it back
//!   ([`Pending::take_back`]) around one command; without it, nothing is written early.
//! - Blob ranges are written in [`WRITE_CHUNK`] slices so that layers which buffer what they
//!   accept (DEFLATE) apply their back-pressure between slices.
//! - After a write error nothing more is written; the loop ends the session with it.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use tern_net::Conn;
use tern_store::Blob;
use tokio::io::AsyncWriteExt;

/// Pending octets past which a command's [`Writer::flush_if_large`] writes them out.
pub const FLUSH_AT: usize = 256 * 1024;
/// Content at least this long that lies inside the current blob is queued by reference.
pub const REFERENCE_AT: usize = 16 * 1024;
/// Largest single write of a blob range.
pub const WRITE_CHUNK: usize = 64 * 1024;

/// One piece of queued output.
enum Segment {
    Bytes(Vec<u8>),
    Blob { blob: Blob, range: Range<usize> },
}

impl Segment {
    fn bytes(&self) -> &[u8] {
        match self {
            Segment::Bytes(b) => b,
            Segment::Blob { blob, range } => &(**blob).as_ref()[range.clone()],
        }
    }
}

/// The queue in front of `Session::out`, and the connection lent for one command.
#[derive(Default)]
pub struct Pending {
    segments: VecDeque<Segment>,
    /// Octets in `segments`.
    queued: usize,
    /// The lent connection. In a mutex only so that `Session` stays `Sync` (`Conn` is not);
    /// it is only ever reached through `&mut` (`get_mut`, no locking).
    sink: std::sync::Mutex<Option<Conn>>,
    error: Option<io::Error>,
}

impl Pending {
    /// Octets queued (not counting `Session::out`).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Lends the connection to the running command (the loop, before dispatch).
    pub(super) fn lend(&mut self, conn: Conn) {
        *self.sink_mut() = Some(conn);
    }

    fn sink_mut(&mut self) -> &mut Option<Conn> {
        self.sink.get_mut().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the connection back after the command, with the first write error if any.
    pub(super) fn take_back(&mut self) -> (Option<Conn>, Option<io::Error>) {
        (self.sink_mut().take(), self.error.take())
    }

    fn push(&mut self, seg: Segment) {
        self.queued += seg.bytes().len();
        self.segments.push_back(seg);
    }

    /// Writes every queued segment, then `tail`, to `conn` (not flushed).
    pub(super) async fn write_to(&mut self, conn: &mut Conn, tail: &mut Vec<u8>) -> io::Result<()> {
        while let Some(seg) = self.segments.pop_front() {
            let bytes = seg.bytes();
            self.queued -= bytes.len();
            for chunk in bytes.chunks(WRITE_CHUNK) {
                conn.write_all(chunk).await?;
            }
        }
        if !tail.is_empty() {
            conn.write_all(tail).await?;
            tail.clear();
        }
        Ok(())
    }

    /// Drops everything queued (the session is ending).
    pub(super) fn clear(&mut self) {
        self.segments.clear();
        self.queued = 0;
    }
}

/// A command's view of its output: `Session::out` plus the queue in front of it, and the
/// blob whose bytes may be queued by reference. Made by `Session::writer`.
pub struct Writer<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) pending: &'a mut Pending,
    pub(super) blob: Option<Blob>,
}

/// A point to return to if writing a response fails half-way ([`Writer::rollback`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    segments: usize,
    out: usize,
}

impl Writer<'_> {
    /// The buffer for small output (response syntax, headers, decoded parts).
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Sets the blob that [`Writer::content`] may reference (the message being written).
    pub fn set_blob(&mut self, blob: Option<Blob>) {
        self.blob = blob;
    }

    /// Octets written and not yet sent.
    pub fn pending_len(&self) -> usize {
        self.pending.queued + self.out.len()
    }

    /// Writes `content`: by reference when it is long and lies inside the current blob,
    /// otherwise copied.
    pub fn content(&mut self, content: &[u8]) {
        if content.len() >= REFERENCE_AT
            && let Some(blob) = &self.blob
            && let Some(range) = range_within((**blob).as_ref(), content)
        {
            let blob = blob.clone();
            if !self.out.is_empty() {
                let bytes = std::mem::take(self.out);
                self.pending.push(Segment::Bytes(bytes));
            }
            self.pending.push(Segment::Blob { blob, range });
            return;
        }
        self.out.extend_from_slice(content);
    }

    pub fn mark(&self) -> Mark {
        Mark {
            segments: self.pending.segments.len(),
            out: self.out.len(),
        }
    }

    /// Forgets everything written since `mark` (no flush may have happened in between).
    pub fn rollback(&mut self, mark: Mark) {
        let p = &mut *self.pending;
        if p.segments.len() > mark.segments {
            // The first segment after the mark holds `out` as it was then, if it was not
            // empty (see `content`).
            while p.segments.len() > mark.segments + 1 {
                let seg = p.segments.pop_back().expect("longer than the mark");
                p.queued -= seg.bytes().len();
            }
            let seg = p.segments.pop_back().expect("longer than the mark");
            p.queued -= seg.bytes().len();
            *self.out = match seg {
                Segment::Bytes(b) => b,
                Segment::Blob { .. } => Vec::new(),
            };
        }
        self.out.truncate(mark.out);
    }

    /// Writes everything pending to the lent connection once [`FLUSH_AT`] octets are
    /// pending (between messages of a long FETCH). Without a lent connection this does
    /// nothing. A write error is kept for the loop and returned.
    pub async fn flush_if_large(&mut self) -> io::Result<()> {
        if self.pending_len() < FLUSH_AT {
            return Ok(());
        }
        self.flush().await
    }

    /// Writes everything pending to the lent connection, if there is one.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.pending.error.is_some() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let Some(mut conn) = self.pending.sink_mut().take() else {
            return Ok(());
        };
        let mut r = self.pending.write_to(&mut conn, self.out).await;
        if r.is_ok() {
            r = conn.flush().await;
        }
        *self.pending.sink_mut() = Some(conn);
        if let Err(e) = r {
            let kind = e.kind();
            self.pending.error = Some(e);
            self.pending.clear();
            self.out.clear();
            return Err(kind.into());
        }
        if self.out.capacity() > FLUSH_AT * 2 {
            *self.out = Vec::with_capacity(4096);
        }
        Ok(())
    }
}

/// The range of `inner` within `outer`, when `inner` is a sub-slice of it.
fn range_within(outer: &[u8], inner: &[u8]) -> Option<Range<usize>> {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    let start = i.checked_sub(o)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn blob(n: usize) -> Blob {
        Arc::new((0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
    }

    fn contents(p: &Pending, out: &[u8]) -> Vec<u8> {
        let mut all: Vec<u8> = p.segments.iter().flat_map(|s| s.bytes().to_vec()).collect();
        all.extend_from_slice(out);
        all
    }

    #[test]
    fn sub_slices_are_found() {
        let outer = [0u8; 10];
        assert_eq!(range_within(&outer, &outer[2..5]), Some(2..5));
        assert_eq!(range_within(&outer, &outer[..]), Some(0..10));
        let other = [0u8; 4];
        assert_eq!(range_within(&outer, &other), None);
    }

    #[test]
    fn large_blob_content_is_referenced_in_order() {
        let b = blob(100_000);
        let mut out = b"* 1 FETCH (BODY[] {100000}\r\n".to_vec();
        let mut pending = Pending::default();
        let mut w = Writer {
            out: &mut out,
            pending: &mut pending,
            blob: Some(b.clone()),
        };
        w.content((*b).as_ref());
        w.buf().extend_from_slice(b")\r\n");
        w.content(&(*b).as_ref()[..10]);
        assert_eq!(pending.segments.len(), 2);
        assert_eq!(pending.queued(), 28 + 100_000);
        let mut want = b"* 1 FETCH (BODY[] {100000}\r\n".to_vec();
        want.extend_from_slice((*b).as_ref());
        want.extend_from_slice(b")\r\n");
        want.extend_from_slice(&(*b).as_ref()[..10]);
        assert_eq!(contents(&pending, &out), want);
        // A copy of the bytes elsewhere is copied, not referenced.
        let copy = (*b).as_ref().to_vec();
        let mut w = Writer {
            out: &mut out,
            pending: &mut pending,
            blob: Some(b.clone()),
        };
        w.content(&copy);
        assert_eq!(pending.segments.len(), 2);
    }

    #[test]
    fn rollback_restores_the_mark() {
        let b = blob(50_000);
        for before in [&b""[..], b"* 1 FETCH (UID 1)\r\n"] {
            let mut out = before.to_vec();
            let mut pending = Pending::default();
            pending.push(Segment::Bytes(b"first\r\n".to_vec()));
            let mut w = Writer {
                out: &mut out,
                pending: &mut pending,
                blob: Some(b.clone()),
            };
            let mark = w.mark();
            w.buf().extend_from_slice(b"* 2 FETCH (BODY[] {50000}\r\n");
            w.content((*b).as_ref());
            w.buf().extend_from_slice(b" BINARY[1] ");
            w.content(&(*b).as_ref()[..20_000]);
            w.rollback(mark);
            let mut want = b"first\r\n".to_vec();
            want.extend_from_slice(before);
            assert_eq!(contents(&pending, &out), want);
            assert_eq!(pending.queued(), 7);
        }
    }
}
