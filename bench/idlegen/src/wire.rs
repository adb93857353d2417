//! A buffered line reader for IMAP and LMTP responses that remembers *when* bytes arrived.
//!
//! Invariants:
//! - [`Wire::response`] is cancel-safe: nothing is consumed from the buffer until a whole
//!   response (a line, with any `{n}` literals it announces spliced in) is there, so a
//!   `select!` that drops it loses no bytes.
//! - The instant returned with a response is the one taken right after the `read` that
//!   completed it: the time the bytes were read from the socket, not the time they were parsed.

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest response accepted (a literal included); past it the connection is treated as
/// broken. A SEARCH or SORT of 100,000 messages is one line of about 600 KB.
const MAX_RESPONSE: usize = 16 << 20;

pub struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of the unconsumed part of `buf`.
    start: usize,
    /// How many bytes from `start` are known to hold no line end (a long line arriving in
    /// many reads is not scanned again from its start after each).
    scanned: usize,
    last_read: Instant,
}

impl Wire {
    pub fn new(stream: TcpStream) -> Self {
        Wire {
            stream,
            buf: Vec::with_capacity(512),
            start: 0,
            scanned: 0,
            last_read: Instant::now(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// One response without its final CRLF (literals spliced in with their CRLF-ended
    /// announcing line), and the instant the read that completed it returned.
    pub async fn response(&mut self) -> io::Result<(Vec<u8>, Instant)> {
        loop {
            match scan(&self.buf[self.start..], self.scanned) {
                Ok(end) => {
                    let line = self.buf[self.start..self.start + end - 2].to_vec();
                    self.start += end;
                    self.scanned = 0;
                    return Ok((line, self.last_read));
                }
                Err(clean) => self.scanned = clean,
            }
            if self.buf.len() - self.start > MAX_RESPONSE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response over 1 MiB",
                ));
            }
            self.fill().await?;
        }
    }

    /// One LMTP/SMTP reply (possibly multi-line); an error unless its code starts with `code`.
    pub async fn reply(&mut self, code: &[u8]) -> io::Result<Vec<u8>> {
        loop {
            let (line, _) = self.response().await?;
            if !line.starts_with(code) {
                return Err(io::Error::other(format!(
                    "expected {}, got {:?}",
                    String::from_utf8_lossy(code),
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                )));
            }
            if line.get(3) != Some(&b'-') {
                return Ok(line);
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut tmp = [0u8; 16 * 1024];
        let n = self.stream.read(&mut tmp).await?;
        self.last_read = Instant::now();
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by server",
            ));
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }
}

/// The length (CRLF included) of the first complete response in `b`, or None if more bytes
/// are needed. A line ending in `{n}` or `{n+}` continues after n literal bytes.
#[cfg(test)]
fn complete_response(b: &[u8]) -> Option<usize> {
    scan(b, 0).ok()
}

/// [`complete_response`], knowing that the first `clean` bytes of `b` hold no CRLF; when more
/// bytes are needed, `Err` says how many bytes at the front are now known to hold none.
fn scan(b: &[u8], clean: usize) -> Result<usize, usize> {
    let mut pos = 0;
    let mut from = clean.saturating_sub(1);
    loop {
        let Some(nl) = b[from..].windows(2).position(|w| w == b"\r\n") else {
            // Known clean: the whole first line so far (not past a literal).
            return Err(if pos == 0 { b.len() } else { 0 });
        };
        let nl = nl + from;
        let line = &b[pos..nl];
        match literal_size(line) {
            None => return Ok(nl + 2),
            Some(size) => {
                let after = nl + 2 + size;
                if b.len() < after {
                    return Err(0);
                }
                pos = after;
                from = after;
            }
        }
    }
}

fn literal_size(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&c| c == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 9 {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `Some(n)` for an untagged `* n EXISTS` response.
pub fn exists_count(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"* ")?;
    let (num, word) = rest.split_at(rest.iter().position(|&c| c == b' ')?);
    if !word[1..].eq_ignore_ascii_case(b"EXISTS") {
        return None;
    }
    std::str::from_utf8(num).ok()?.parse().ok()
}

/// The status word of a tagged response `tag STATUS ...` (upper-cased), or None if `line`
/// does not carry `tag`.
pub fn tagged_status(line: &[u8], tag: &[u8]) -> Option<Vec<u8>> {
    let rest = line.strip_prefix(tag)?.strip_prefix(b" ")?;
    let word = rest.split(|&c| c == b' ').next().unwrap_or(b"");
    Some(word.to_ascii_uppercase())
}

pub fn show(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_split_at_crlf_and_wait_for_literals() {
        assert_eq!(complete_response(b"* 3 EXISTS\r\n* 1 RECENT\r\n"), Some(12));
        assert_eq!(complete_response(b"* 3 EXISTS\r"), None);
        let lit = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\nT1 OK\r\n";
        assert_eq!(complete_response(lit), Some(31));
        assert_eq!(complete_response(&lit[..25]), None);
        assert_eq!(complete_response(b"* X {3+}\r\nabc\r\n"), Some(15));
        assert_eq!(complete_response(b"* X {}\r\n"), Some(8));
    }

    #[test]
    fn a_long_line_is_scanned_once() {
        assert_eq!(scan(b"* SORT 1 2 3", 0), Err(12));
        assert_eq!(scan(b"* SORT 1 2 3\r", 12), Err(13));
        assert_eq!(scan(b"* SORT 1 2 3\r\nT1 OK\r\n", 13), Ok(14));
        assert_eq!(scan(b"* X {3}\r\nab", 0), Err(0));
    }

    #[test]
    fn exists_and_tagged_status() {
        assert_eq!(exists_count(b"* 17 EXISTS"), Some(17));
        assert_eq!(exists_count(b"* 17 exists"), Some(17));
        assert_eq!(exists_count(b"* 17 RECENT"), None);
        assert_eq!(exists_count(b"* OK EXISTS"), None);
        assert_eq!(exists_count(b"T1 OK"), None);
        assert_eq!(tagged_status(b"T12 ok done", b"T12"), Some(b"OK".to_vec()));
        assert_eq!(tagged_status(b"T123 OK done", b"T12"), None);
        assert_eq!(tagged_status(b"* OK", b"T1"), None);
    }
}
