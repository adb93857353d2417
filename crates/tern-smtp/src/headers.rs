//! The header fix-up a message submission agent applies on the fly (RFC 6409 §8): it scans
//! the header section as it streams past, counts the fields submission checks (`From:`),
//! and adds `Date:` (§8.2) and `Message-ID:` (§8.3) at the end of the header section when
//! the client did not send them.
//!
//! Sans-I/O: [`HeaderFixup::feed`] takes content as it arrives and copies the header part of
//! it (with any insertion) into an output buffer; the body after the header section passes
//! through untouched.
//!
//! ## Invariants
//! - The fields are inserted just before the empty line that ends the header section
//!   (RFC 5322 §2.1), or at the end of a message that has no such line; nothing else in the
//!   message changes.
//! - A CR at the start of a header line is held back until the next octet shows whether it
//!   begins the empty line, so that the insertion can still go before it.
//! - Field names are matched case-insensitively, allowing white space before the colon
//!   (RFC 5322 §4.5.1 obsolete syntax); continuation lines are not fields.

/// Field names longer than this are none of the ones looked for.
const NAME_MAX: usize = 16;

/// What the header section contained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderSummary {
    pub from_fields: u32,
    pub had_date: bool,
    pub had_message_id: bool,
}

/// The streaming scanner and inserter.
pub struct HeaderFixup {
    date: String,
    message_id: String,
    summary: HeaderSummary,
    done: bool,
    line_start: bool,
    held_cr: bool,
    collecting: bool,
    name: [u8; NAME_MAX],
    name_len: usize,
    last: Option<u8>,
}

impl HeaderFixup {
    /// `date` (RFC 5322 date-time) and `message_id` (`<...>`) are added if missing.
    pub fn new(date: String, message_id: String) -> HeaderFixup {
        HeaderFixup {
            date,
            message_id,
            summary: HeaderSummary::default(),
            done: false,
            line_start: true,
            held_cr: false,
            collecting: false,
            name: [0; NAME_MAX],
            name_len: 0,
            last: None,
        }
    }

    /// The header section has ended: the rest passes through.
    pub fn header_done(&self) -> bool {
        self.done
    }

    pub fn summary(&self) -> HeaderSummary {
        self.summary.clone()
    }

    /// Takes the next content; copies what belongs to the header section (with the
    /// insertion, once its end is seen) into `out` and returns how many octets of `chunk`
    /// that was. `chunk[returned..]` is body, to be written after `out` unchanged.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> usize {
        let mut i = 0;
        while i < chunk.len() && !self.done {
            let b = chunk[i];
            i += 1;
            if self.held_cr {
                self.held_cr = false;
                if b == b'\n' {
                    self.insert(out);
                    out.extend_from_slice(b"\r\n");
                    self.done = true;
                    break;
                }
                // A line that starts with a CR: content, not a field.
                out.push(b'\r');
                self.line_start = false;
                self.collecting = false;
            }
            if self.line_start {
                match b {
                    b'\r' => {
                        self.held_cr = true;
                        continue;
                    }
                    // A bare-LF empty line also ends the header section.
                    b'\n' => {
                        self.insert(out);
                        out.push(b'\n');
                        self.done = true;
                        break;
                    }
                    _ => {
                        self.line_start = false;
                        self.name_len = 0;
                        self.collecting = b != b' ' && b != b'\t';
                    }
                }
            }
            out.push(b);
            self.last = Some(b);
            if b == b'\n' {
                self.line_start = true;
                self.collecting = false;
            } else if self.collecting {
                if b == b':' {
                    self.field_name_done();
                    self.collecting = false;
                } else if self.name_len < NAME_MAX {
                    self.name[self.name_len] = b;
                    self.name_len += 1;
                } else {
                    self.collecting = false;
                }
            }
        }
        i
    }

    /// The content has ended: a message without an empty line after its header gets the
    /// fields at its end.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        if self.held_cr {
            out.push(b'\r');
            self.last = Some(b'\r');
        }
        if self.last.is_some_and(|b| b != b'\n') {
            out.extend_from_slice(b"\r\n");
        }
        self.insert(out);
        self.done = true;
    }

    fn field_name_done(&mut self) {
        let name = self.name[..self.name_len].trim_ascii_end();
        if name.eq_ignore_ascii_case(b"from") {
            self.summary.from_fields += 1;
        } else if name.eq_ignore_ascii_case(b"date") {
            self.summary.had_date = true;
        } else if name.eq_ignore_ascii_case(b"message-id") {
            self.summary.had_message_id = true;
        }
    }

    fn insert(&self, out: &mut Vec<u8>) {
        if !self.summary.had_date {
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(self.date.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !self.summary.had_message_id {
            out.extend_from_slice(b"Message-ID: ");
            out.extend_from_slice(self.message_id.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDED: &str = "Date: D\r\nMessage-ID: <m@h>\r\n";

    /// Runs the fix-up over `input` split into `pieces`, as a body sink would.
    fn run(pieces: &[&[u8]]) -> (Vec<u8>, HeaderSummary) {
        let mut f = HeaderFixup::new("D".into(), "<m@h>".into());
        let mut all = Vec::new();
        for piece in pieces {
            if f.header_done() {
                all.extend_from_slice(piece);
                continue;
            }
            let mut out = Vec::new();
            let used = f.feed(piece, &mut out);
            all.extend_from_slice(&out);
            all.extend_from_slice(&piece[used..]);
        }
        let mut out = Vec::new();
        f.finish(&mut out);
        all.extend_from_slice(&out);
        (all, f.summary())
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, String, u32)> = vec![
            (
                "From: a@b\r\nSubject: x\r\n\r\nbody\r\n",
                format!("From: a@b\r\nSubject: x\r\n{ADDED}\r\nbody\r\n"),
                1,
            ),
            (
                "Date: x\r\nMessage-ID: <y>\r\n\r\nbody\r\n",
                "Date: x\r\nMessage-ID: <y>\r\n\r\nbody\r\n".into(),
                0,
            ),
            (
                "message-id : <y>\r\nFROM:a\r\n\r\n",
                "message-id : <y>\r\nFROM:a\r\nDate: D\r\n\r\n".into(),
                1,
            ),
            // Continuation lines are not fields; the body's "Date:" is not the header's.
            (
                "Subject: a\r\n Date: no\r\n\r\nDate: body\r\n",
                format!("Subject: a\r\n Date: no\r\n{ADDED}\r\nDate: body\r\n"),
                0,
            ),
            // No empty line: the fields go at the end.
            ("Subject: a\r\n", format!("Subject: a\r\n{ADDED}"), 0),
            ("Subject: a", format!("Subject: a\r\n{ADDED}"), 0),
            ("", ADDED.into(), 0),
            // Bare LF line ends.
            (
                "From: a\nFrom: b\n\nx",
                format!("From: a\nFrom: b\n{ADDED}\nx"),
                2,
            ),
            // An empty header section.
            ("\r\nbody", format!("{ADDED}\r\nbody"), 0),
            // A line starting with CR that is not the empty line.
            (
                "A: 1\r\n\rB: 2\r\n\r\n",
                format!("A: 1\r\n\rB: 2\r\n{ADDED}\r\n"),
                0,
            ),
        ];
        for (input, want, from) in &cases {
            let bytes = input.as_bytes();
            for split in 0..=bytes.len() {
                let (a, b) = bytes.split_at(split);
                let (got, summary) = run(&[a, b]);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    *want,
                    "{input:?} split at {split}"
                );
                assert_eq!(summary.from_fields, *from, "{input:?}");
            }
            let single: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(String::from_utf8_lossy(&run(&single).0), *want, "{input:?}");
        }
    }
}
