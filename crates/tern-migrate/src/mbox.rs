//! The mbox splitter: a push parser fed arbitrary chunks, emitting messages as events.
//!
//! Rules (explicit, because "mbox" is several formats):
//! - A message starts at a `From ` line (the From_ line) that is the first line of the file
//!   or follows an empty line. A `From ` line elsewhere is body text (a writer that did not
//!   quote it).
//! - The empty line before a From_ line, and the one at the end of the file, belong to the
//!   mbox, not to the message: they are dropped.
//! - Unquoting: [`MboxFormat::Mboxrd`] (the default) removes one `>` from any line matching
//!   `^>+From `; [`MboxFormat::Mboxo`] only from `^>From ` (mboxo writers quote one level and
//!   never unquote, so `>>From ` stays). mboxcl `Content-Length:` headers are not used.
//! - Lines end in CRLF on output (IMAP's form); a line already ending in CRLF is kept.
//! - Bytes before the first From_ line are not a message: they are counted and skipped.
//! - Memory is bounded: a line longer than [`MAX_LINE`] is passed through in pieces (such a
//!   line cannot be a From_ line worth recognizing).
use std::borrow::Cow;

/// Longest line held whole while looking for From_ lines and quoting.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MboxFormat {
    #[default]
    Mboxrd,
    Mboxo,
}

/// What the splitter found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A message starts; its From_ line (without the line end).
    Begin(&'a [u8]),
    /// Bytes of the current message (unquoted, CRLF line ends).
    Data(Cow<'a, [u8]>),
    /// The current message is complete.
    End,
}

pub struct Splitter {
    format: MboxFormat,
    line: Vec<u8>,
    /// The current line passed `MAX_LINE` and is being passed through.
    long_line: bool,
    /// The last byte passed through of a long line was `\r` (so a following `\n` is
    /// already a CRLF).
    long_cr: bool,
    in_message: bool,
    /// An empty line seen and held back (it may precede a From_ line).
    held_blank: bool,
    /// The previous line was empty (or this is the start of the file).
    after_blank: bool,
    /// Bytes before the first message.
    pub skipped: u64,
    pub messages: u64,
}

impl Splitter {
    pub fn new(format: MboxFormat) -> Splitter {
        Splitter {
            format,
            line: Vec::new(),
            long_line: false,
            long_cr: false,
            in_message: false,
            held_blank: false,
            after_blank: true,
            skipped: 0,
            messages: 0,
        }
    }

    /// Feeds a chunk; calls `out` for every event it completes.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut dyn FnMut(Event<'_>)) {
        while !chunk.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    let (line, rest) = chunk.split_at(i + 1);
                    chunk = rest;
                    if self.long_line {
                        let crlf_already = line == b"\n" && self.long_cr;
                        self.emit_data(Cow::Borrowed(line), !crlf_already, out);
                        self.long_line = false;
                        self.long_cr = false;
                        self.after_blank = false;
                    } else if self.line.is_empty() {
                        self.on_line(line, out);
                    } else {
                        let mut whole = std::mem::take(&mut self.line);
                        whole.extend_from_slice(line);
                        self.on_line(&whole, out);
                        whole.clear();
                        self.line = whole;
                    }
                }
                None => {
                    if self.long_line {
                        self.long_cr = chunk.ends_with(b"\r");
                        self.emit_data(Cow::Borrowed(chunk), false, out);
                    } else {
                        self.line.extend_from_slice(chunk);
                        if self.line.len() > MAX_LINE {
                            self.long_line = true;
                            let held = std::mem::take(&mut self.line);
                            self.long_cr = held.ends_with(b"\r");
                            self.release_blank(out);
                            self.after_blank = false;
                            self.emit_data(Cow::Owned(held), false, out);
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Ends the input: a last line without a line end, and the last message.
    pub fn finish(&mut self, out: &mut dyn FnMut(Event<'_>)) {
        if !self.line.is_empty() {
            let mut last = std::mem::take(&mut self.line);
            last.push(b'\n');
            self.on_line(&last, out);
        } else if self.long_line && self.in_message {
            let end: &[u8] = if self.long_cr { b"\n" } else { b"\r\n" };
            out(Event::Data(Cow::Borrowed(end)));
        }
        self.long_line = false;
        self.long_cr = false;
        // The held blank line at the end of the file is the mbox's own.
        self.held_blank = false;
        if self.in_message {
            self.in_message = false;
            out(Event::End);
        }
    }

    fn release_blank(&mut self, out: &mut dyn FnMut(Event<'_>)) {
        if self.held_blank {
            self.held_blank = false;
            if self.in_message {
                out(Event::Data(Cow::Borrowed(b"\r\n")));
            } else {
                self.skipped += 1;
            }
        }
    }

    /// Data of the current message (or skipped bytes before the first one). `line_end`:
    /// the data ends with `\n`, to be written as CRLF.
    fn emit_data(&mut self, data: Cow<'_, [u8]>, line_end: bool, out: &mut dyn FnMut(Event<'_>)) {
        if !self.in_message {
            self.skipped += data.len() as u64;
            return;
        }
        if line_end {
            out(Event::Data(crlf(data)));
        } else {
            out(Event::Data(data));
        }
    }

    fn on_line(&mut self, line: &[u8], out: &mut dyn FnMut(Event<'_>)) {
        if line.len() > MAX_LINE + 1 {
            // Too long to be a From_ line or quoted: passed through as a long line would be.
            self.release_blank(out);
            self.after_blank = false;
            self.emit_data(Cow::Borrowed(line), true, out);
            return;
        }
        let content = strip_eol(line);
        if content.is_empty() {
            // Hold it: an empty line before a From_ line is the separator.
            self.release_blank(out);
            self.held_blank = true;
            self.after_blank = true;
            return;
        }
        if content.starts_with(b"From ") && self.after_blank {
            self.held_blank = false;
            if self.in_message {
                out(Event::End);
            }
            self.in_message = true;
            self.messages += 1;
            self.after_blank = false;
            out(Event::Begin(content));
            return;
        }
        self.release_blank(out);
        self.after_blank = false;
        let unquoted = self.unquote(line);
        self.emit_data(Cow::Borrowed(unquoted), true, out);
    }

    fn unquote<'l>(&self, line: &'l [u8]) -> &'l [u8] {
        let quotes = line.iter().take_while(|b| **b == b'>').count();
        let quoted = quotes > 0
            && line[quotes..].starts_with(b"From ")
            && (self.format == MboxFormat::Mboxrd || quotes == 1);
        if quoted { &line[1..] } else { line }
    }
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// A line ending in `\n` rewritten to end in `\r\n` (already CRLF: unchanged).
fn crlf(line: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    if line.ends_with(b"\r\n") || !line.ends_with(b"\n") {
        return line;
    }
    let mut v = Vec::with_capacity(line.len() + 1);
    v.extend_from_slice(&line[..line.len() - 1]);
    v.extend_from_slice(b"\r\n");
    Cow::Owned(v)
}

/// A message as [`split_all`] returns it: its From_ line and its bytes.
pub type SplitMessage = (Vec<u8>, Vec<u8>);

/// Splits a whole buffer fed in `chunk`-sized pieces (tests and the fuzz target); also
/// returns the bytes skipped before the first message.
pub fn split_all(data: &[u8], format: MboxFormat, chunk: usize) -> (Vec<SplitMessage>, u64) {
    let mut sp = Splitter::new(format);
    let mut msgs: Vec<SplitMessage> = Vec::new();
    let mut sink = |e: Event<'_>| match e {
        Event::Begin(f) => msgs.push((f.to_vec(), Vec::new())),
        Event::Data(d) => {
            if let Some(m) = msgs.last_mut() {
                m.1.extend_from_slice(&d);
            }
        }
        Event::End => {}
    };
    for piece in data.chunks(chunk.max(1)) {
        sp.push(piece, &mut sink);
    }
    sp.finish(&mut sink);
    (msgs, sp.skipped)
}

/// The date of a From_ line (`From sender Wed Dec  4 19:06:06 2026`, asctime, UTC unless a
/// zone is given), as Unix seconds.
pub fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("From ")?.trim_start();
    // Skip the envelope sender (one token), then parse the rest.
    let (_, date) = rest.split_once(char::is_whitespace)?;
    let date = date.split_whitespace().collect::<Vec<_>>().join(" ");
    for fmt in ["%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M %Y"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&date, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    for fmt in ["%a %b %d %H:%M:%S %z %Y", "%a %b %d %H:%M:%S %Y %z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(&date, fmt) {
            return Some(t.timestamp());
        }
    }
    None
}

/// Flags from mbox `Status:` (R read, O old) and `X-Status:` (A answered, F flagged,
/// T draft, D deleted) header values.
pub fn status_flags(status: &str, x_status: &str) -> tern_store::Flags {
    use tern_store::Flags;
    let mut f = Flags::default();
    if status.contains('R') {
        f.system |= Flags::SEEN;
    }
    for c in x_status.chars() {
        match c {
            'A' => f.system |= Flags::ANSWERED,
            'F' => f.system |= Flags::FLAGGED,
            'T' => f.system |= Flags::DRAFT,
            'D' => f.system |= Flags::DELETED,
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: &[u8] = b"From a@x Wed Dec  4 19:06:06 2026\nSubject: one\n\nbody\n>From quoted\n>>From twice\n\nFrom b@x Thu Jan  1 00:00:00 1970\nSubject: two\n\nFrom not a separator\n\n\n";

    #[test]
    fn splits_and_unquotes() {
        for chunk in [1, 3, 7, 1000] {
            let (msgs, skipped) = split_all(BOX, MboxFormat::Mboxrd, chunk);
            assert_eq!(skipped, 0);
            assert_eq!(msgs.len(), 3, "chunk {chunk}");
            assert_eq!(msgs[0].0, b"From a@x Wed Dec  4 19:06:06 2026");
            assert_eq!(
                msgs[0].1,
                b"Subject: one\r\n\r\nbody\r\nFrom quoted\r\n>From twice\r\n"
            );
            // "From not..." follows an empty line, so by the rule it starts a (third, empty)
            // message; the blank lines at the end belong to the mbox.
            assert_eq!(msgs[1].1, b"Subject: two\r\n");
            assert_eq!(
                msgs[2],
                (b"From not a separator".to_vec(), b"\r\n".to_vec())
            );
        }
        let (msgs, _) = split_all(BOX, MboxFormat::Mboxo, 5);
        assert_eq!(
            msgs[0].1,
            b"Subject: one\r\n\r\nbody\r\nFrom quoted\r\n>>From twice\r\n"
        );
    }

    #[test]
    fn from_inside_paragraph_is_body() {
        let data = b"From a@x Wed Dec  4 19:06:06 2026\nA: b\n\nline\nFrom here on\n";
        let (msgs, _) = split_all(data, MboxFormat::Mboxrd, 4);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].1, b"A: b\r\n\r\nline\r\nFrom here on\r\n");
    }

    #[test]
    fn garbage_before_first_and_no_final_newline() {
        let data = b"junk\n\nFrom a@x Wed Dec  4 19:06:06 2026\nA: b\r\n\r\nx";
        let (msgs, skipped) = split_all(data, MboxFormat::Mboxrd, 2);
        assert_eq!(skipped, 5);
        assert_eq!(msgs[0].1, b"A: b\r\n\r\nx\r\n");
    }

    #[test]
    fn long_lines_pass_through() {
        let mut data = b"From a@x Wed Dec  4 19:06:06 2026\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE * 3));
        data.extend_from_slice(b"\nend\n");
        for chunk in [1000, 70_000] {
            let (msgs, _) = split_all(&data, MboxFormat::Mboxrd, chunk);
            assert_eq!(msgs[0].1.len(), MAX_LINE * 3 + 2 + 5);
            assert!(msgs[0].1.ends_with(b"x\r\nend\r\n"));
        }
    }

    #[test]
    fn chunking_does_not_matter() {
        let mut data = BOX.to_vec();
        data.extend_from_slice(b"From c@x Wed Dec  4 19:06:06 2026\n>From q\r\n");
        data.extend(std::iter::repeat_n(b'y', MAX_LINE + 1));
        data.extend_from_slice(b"\r\n\nFrom d@x Wed Dec  4 19:06:06 2026\n");
        data.extend(std::iter::repeat_n(b'z', MAX_LINE));
        data.extend_from_slice(b"\r");
        let whole = split_all(&data, MboxFormat::Mboxrd, data.len());
        for chunk in [1, 2, 3, 7, 64, 4096, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1] {
            assert_eq!(
                split_all(&data, MboxFormat::Mboxrd, chunk),
                whole,
                "chunk {chunk}"
            );
        }
        for (_, body) in &whole.0 {
            for (i, b) in body.iter().enumerate() {
                assert!(*b != b'\n' || (i > 0 && body[i - 1] == b'\r'));
            }
        }
    }

    #[test]
    fn dates_and_status() {
        assert_eq!(
            from_line_date(b"From a@x Thu Jan  1 00:01:00 1970"),
            Some(60)
        );
        assert_eq!(
            from_line_date(b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011"),
            Some(1310126914)
        );
        assert_eq!(from_line_date(b"From a@x garbage"), None);
        let f = status_flags("RO", "AF");
        assert!(f.has(tern_store::Flags::SEEN) && f.has(tern_store::Flags::ANSWERED));
        assert!(f.has(tern_store::Flags::FLAGGED) && !f.has(tern_store::Flags::DELETED));
    }
}
