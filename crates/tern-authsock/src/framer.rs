//! Splits the client's byte stream into lines (LF-terminated; a CR before the LF is dropped),
//! with a bound on line length. Sans-I/O: the connection pushes what it read and takes
//! frames out.
//!
//! ## Invariants
//! - Frames do not depend on how the input was chunked.
//! - Memory is bounded: at most `max_line` octets of an unfinished line are kept, plus the
//!   frames of the last push (which the caller drains before pushing more).
//! - A line longer than `max_line` is discarded up to its LF and reported once as
//!   [`Frame::TooLong`] with its first [`PREFIX`] octets, so the connection can still
//!   answer the request it belonged to.
use std::collections::VecDeque;

/// How much of an over-long line is kept (enough for `AUTH\t<id>` or `CONT\t<id>`).
pub const PREFIX: usize = 32;

/// One unit of client input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its line end.
    Line(Vec<u8>),
    /// A line longer than the limit; its start.
    TooLong { prefix: Vec<u8> },
}

/// The line splitter of one connection.
#[derive(Debug)]
pub struct Framer {
    max_line: usize,
    partial: Vec<u8>,
    /// Discarding an over-long line: its prefix.
    discarding: Option<Vec<u8>>,
    ready: VecDeque<Frame>,
}

impl Framer {
    /// `max_line`: the longest line accepted, line end excluded (at least [`PREFIX`]).
    pub fn new(max_line: usize) -> Framer {
        Framer {
            max_line: max_line.max(PREFIX),
            partial: Vec::new(),
            discarding: None,
            ready: VecDeque::new(),
        }
    }

    /// Adds input.
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let lf = memchr::memchr(b'\n', data);
            if let Some(prefix) = &mut self.discarding {
                match lf {
                    None => return,
                    Some(i) => {
                        let prefix = std::mem::take(prefix);
                        self.discarding = None;
                        self.ready.push_back(Frame::TooLong { prefix });
                        data = &data[i + 1..];
                    }
                }
                continue;
            }
            let take = lf.unwrap_or(data.len());
            if self.partial.len() + take > self.max_line {
                let mut prefix = std::mem::take(&mut self.partial);
                prefix.truncate(PREFIX);
                let more = PREFIX.saturating_sub(prefix.len()).min(take);
                prefix.extend_from_slice(&data[..more]);
                match lf {
                    Some(i) => {
                        self.ready.push_back(Frame::TooLong { prefix });
                        data = &data[i + 1..];
                    }
                    None => {
                        self.discarding = Some(prefix);
                        return;
                    }
                }
                continue;
            }
            self.partial.extend_from_slice(&data[..take]);
            match lf {
                Some(i) => {
                    let mut line = std::mem::take(&mut self.partial);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.ready.push_back(Frame::Line(line));
                    data = &data[i + 1..];
                }
                None => return,
            }
        }
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }

    /// Whether input ended in the middle of a line (for the log when the client leaves).
    pub fn mid_line(&self) -> bool {
        !self.partial.is_empty() || self.discarding.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c);
            while let Some(frame) = f.next_frame() {
                out.push(frame);
            }
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn lines_with_lf_or_crlf_in_any_chunking() {
        let input = b"VERSION\t1\t0\nCPID\t42\r\n\nAUTH\t1\tPLAIN\tservice=smtp\n";
        let expected = vec![
            line("VERSION\t1\t0"),
            line("CPID\t42"),
            line(""),
            line("AUTH\t1\tPLAIN\tservice=smtp"),
        ];
        assert_eq!(frames(100, &[input]), expected);
        for size in 1..input.len() {
            let chunks: Vec<&[u8]> = input.chunks(size).collect();
            assert_eq!(frames(100, &chunks), expected, "chunks of {size}");
        }
    }

    #[test]
    fn an_unfinished_line_waits() {
        let mut f = Framer::new(100);
        f.push(b"CONT\t1\tab");
        assert_eq!(f.next_frame(), None);
        assert!(f.mid_line());
        f.push(b"cd\n");
        assert_eq!(f.next_frame(), Some(line("CONT\t1\tabcd")));
        assert!(!f.mid_line());
    }

    #[test]
    fn over_long_lines_are_reported_once_with_their_prefix() {
        let long = format!("AUTH\t7\tPLAIN\tservice=smtp\tresp={}", "A".repeat(200));
        let input = format!("{long}\nCPID\t1\n");
        let expected = vec![
            Frame::TooLong {
                prefix: long.as_bytes()[..PREFIX].to_vec(),
            },
            line("CPID\t1"),
        ];
        for size in [1, 3, 40, 64, 1000] {
            let chunks: Vec<&[u8]> = input.as_bytes().chunks(size).collect();
            assert_eq!(frames(64, &chunks), expected, "chunks of {size}");
        }
        // Exactly at the limit is accepted; one more octet is not.
        let at = "x".repeat(64);
        assert_eq!(frames(64, &[format!("{at}\n").as_bytes()]), vec![line(&at)]);
        let over = "x".repeat(65);
        assert!(matches!(
            frames(64, &[format!("{over}\n").as_bytes()])[0],
            Frame::TooLong { .. }
        ));
    }

    #[test]
    fn memory_stays_bounded_while_discarding() {
        let mut f = Framer::new(64);
        for _ in 0..1000 {
            f.push(&[b'A'; 4096]);
            assert!(f.partial.len() <= 64);
        }
        f.push(b"\n");
        assert!(matches!(f.next_frame(), Some(Frame::TooLong { .. })));
    }
}
