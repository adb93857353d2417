//! The multi-line body of RETR and TOP (RFC 1939 §3): every line ends in CRLF, a line that
//! starts with `.` gets another `.` in front (byte-stuffing), and the response ends with
//! `.` CRLF. No I/O: [`DotStuffer::encode`] takes the message in chunks of any size and
//! appends the wire bytes to a buffer, so a large message is sent in pieces.
//!
//! ## Invariants
//! - The output does not depend on how the input is split into chunks.
//! - Line ends are normalized: CRLF stays, a bare LF becomes CRLF, a CR at the very end
//!   becomes CRLF; a CR inside a line (not before LF) is kept as it is.
//! - A message that does not end with a line end gets one before the terminating `.`.
//! - With a line limit (TOP, RFC 1939 §7), the header, the blank line after it and at most
//!   that many body lines are produced; a message without a blank line is all header.
use memchr::memchr2;

/// Encodes one message.
#[derive(Debug)]
pub(crate) struct DotStuffer {
    /// Body lines still to send (`None`: the whole message).
    body_lines_left: Option<u32>,
    /// The blank line ending the header has been passed.
    in_body: bool,
    /// Nothing of the current line has been produced yet.
    line_start: bool,
    /// A CR was read and not produced yet: it is either the CR of CRLF or a bare CR.
    cr_pending: bool,
    /// The line limit was reached; further input is ignored.
    done: bool,
}

impl DotStuffer {
    /// A whole message (RETR).
    pub(crate) fn whole() -> DotStuffer {
        DotStuffer::new(None)
    }

    /// The header and the first `lines` body lines (TOP).
    pub(crate) fn top(lines: u32) -> DotStuffer {
        DotStuffer::new(Some(lines))
    }

    fn new(body_lines_left: Option<u32>) -> DotStuffer {
        DotStuffer {
            body_lines_left,
            in_body: false,
            line_start: true,
            cr_pending: false,
            done: false,
        }
    }

    /// Whether the line limit was reached (the caller may stop reading).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Appends the wire form of `input` to `out`.
    pub(crate) fn encode(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32 + 8);
        while !self.done && !input.is_empty() {
            let run = memchr2(b'\r', b'\n', input).unwrap_or(input.len());
            if run > 0 {
                self.content(&input[..run], out);
                input = &input[run..];
                continue;
            }
            match input[0] {
                b'\r' => {
                    if self.cr_pending {
                        // The earlier CR was not followed by LF: it is line content.
                        self.content(b"", out);
                    }
                    self.cr_pending = true;
                }
                _ => self.line_end(out),
            }
            input = &input[1..];
        }
    }

    /// Ends the response: a final line end if the message lacked one, then `.` CRLF.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) {
        if !self.done && (self.cr_pending || !self.line_start) {
            self.line_end(out);
        }
        out.extend_from_slice(b".\r\n");
    }

    /// Produces bytes inside a line (none of them CR or LF); a held bare CR goes first.
    fn content(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.cr_pending {
            self.cr_pending = false;
            out.push(b'\r');
            self.line_start = false;
        }
        if let Some(&first) = bytes.first() {
            if self.line_start && first == b'.' {
                out.push(b'.');
            }
            out.extend_from_slice(bytes);
            self.line_start = false;
        }
    }

    /// A line end (LF, CRLF, or a CR at the very end): CRLF out, limits counted.
    fn line_end(&mut self, out: &mut Vec<u8>) {
        let empty = self.line_start;
        self.cr_pending = false;
        self.line_start = true;
        out.extend_from_slice(b"\r\n");
        if !self.in_body {
            if empty {
                self.in_body = true;
                if self.body_lines_left == Some(0) {
                    self.done = true;
                }
            }
        } else if let Some(left) = self.body_lines_left.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(input: &[u8], limit: Option<u32>) -> Vec<u8> {
        let mut e = DotStuffer::new(limit);
        let mut out = Vec::new();
        e.encode(input, &mut out);
        e.finish(&mut out);
        out
    }

    /// Every way of splitting the input in two, and byte by byte, gives the same output.
    fn encode_split_everywhere(input: &[u8], limit: Option<u32>) -> Vec<u8> {
        let whole = encode(input, limit);
        for cut in 0..=input.len() {
            let mut e = DotStuffer::new(limit);
            let mut out = Vec::new();
            e.encode(&input[..cut], &mut out);
            e.encode(&input[cut..], &mut out);
            e.finish(&mut out);
            assert_eq!(
                out,
                whole,
                "split at {cut} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut e = DotStuffer::new(limit);
        let mut out = Vec::new();
        for b in input {
            e.encode(std::slice::from_ref(b), &mut out);
        }
        e.finish(&mut out);
        assert_eq!(out, whole, "byte by byte");
        whole
    }

    #[test]
    fn retr_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
            (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\r", b"a\r\n.\r\n"),
            (b"a\rb\r\n", b"a\rb\r\n.\r\n"),
            (b"a\r\r\nb", b"a\r\r\nb\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b".x\r\n..y\r\nz.\r\n", b"..x\r\n...y\r\nz.\r\n.\r\n"),
            (b"a\r\n.", b"a\r\n..\r\n.\r\n"),
            (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"\r.x\r\n", b"\r.x\r\n.\r\n"),
            (b"\r\n\r\n", b"\r\n\r\n.\r\n"),
            (b"H: v\r\n\r\n.\r\n", b"H: v\r\n\r\n..\r\n.\r\n"),
        ];
        for (input, want) in table {
            let got = encode_split_everywhere(input, None);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn top_table() {
        let msg: &[u8] = b"From: a\r\nSubject: s\r\n\r\nline1\r\n.line2\r\nline3\r\n";
        let table: &[(&[u8], u32, &[u8])] = &[
            (msg, 0, b"From: a\r\nSubject: s\r\n\r\n.\r\n"),
            (msg, 1, b"From: a\r\nSubject: s\r\n\r\nline1\r\n.\r\n"),
            (
                msg,
                2,
                b"From: a\r\nSubject: s\r\n\r\nline1\r\n..line2\r\n.\r\n",
            ),
            (
                msg,
                3,
                b"From: a\r\nSubject: s\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n",
            ),
            (
                msg,
                99,
                b"From: a\r\nSubject: s\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n",
            ),
            (b"From: a\r\n", 0, b"From: a\r\n.\r\n"),
            (b"From: a", 5, b"From: a\r\n.\r\n"),
            (b"From: a\n\nbody\nmore", 1, b"From: a\r\n\r\nbody\r\n.\r\n"),
            (b"From: a\n\nbody", 1, b"From: a\r\n\r\nbody\r\n.\r\n"),
            (b"\r\nbody\r\n", 0, b"\r\n.\r\n"),
        ];
        for (input, n, want) in table {
            let got = encode_split_everywhere(input, Some(*n));
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "TOP {n} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn done_after_limit_ignores_rest() {
        let mut e = DotStuffer::top(0);
        let mut out = Vec::new();
        e.encode(b"A: b\r\n\r\n", &mut out);
        assert!(e.is_done());
        e.encode(b"ignored\r\n", &mut out);
        e.finish(&mut out);
        assert_eq!(out, b"A: b\r\n\r\n.\r\n");
    }
}
