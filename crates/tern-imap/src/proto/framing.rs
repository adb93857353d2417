//! Sans-I/O framing: turns the client's byte stream into command [`Frame`]s.
//!
//! An IMAP command is one line, or several lines joined by literals (`{n}` / `{n+}` /
//! `~{n}` at the end of a line announces `n` octets that follow the CRLF; RFC 9051 §4.3,
//! RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8). The [`Framer`] splits input into frames
//! before anything is parsed, so a malformed command is dropped cleanly and the parser
//! ([`crate::proto::parse::parse_command`]) always sees one whole command.
//!
//! ## How the session drives it
//! ```text
//! loop {
//!     read some bytes from the socket; framer.push(&bytes);
//!     while let Some(event) = framer.next_event() {
//!         match event {
//!             Event::Frame(f)          => parse_command(&f) and execute (BAD on ParseError),
//!             Event::LiteralStart(l)   => decide NOW: framer.accept_literal() (then send
//!                                         "+ Ready" if l.sync), framer.stream_literal()
//!                                         (APPEND: chunks follow), or framer.refuse_literal()
//!                                         (then send a tagged NO/BAD),
//!             Event::LiteralData(b)    => bytes of a streamed literal (write to the blob),
//!             Event::LiteralEnd        => the streamed literal is complete,
//!             Event::LiteralTooLarge{..} / Event::LineTooLong{..} => send a tagged BAD/NO,
//!             Event::RawLine(l)        => the line asked for by expect_raw_line (IDLE's DONE,
//!                                         an AUTHENTICATE response),
//!         }
//!     }
//! }
//! ```
//!
//! ## Invariants
//! - Memory is bounded: at most `max_line` bytes of an unfinished line, plus the frame being
//!   assembled (at most `max_buffered` bytes: lines and *buffered* literals), plus whatever
//!   the session pushed in one read. Streamed literals and skipped data are never buffered.
//! - Every announced literal gets exactly one decision; if the session asks for the next event
//!   without deciding, the framer buffers the literal when it fits in `max_buffered`, and
//!   refuses it otherwise.
//! - A refused or oversized command is discarded whole: a refused synchronizing literal is
//!   never sent by the client (it waits for `+`), and the octets of a refused
//!   non-synchronizing literal are skipped as they arrive, with the rest of the command.
//! - Lines end in CRLF; a bare LF is accepted too (lenient, like most servers).

use crate::proto::chars::is_tag_char;
use bytes::{Buf, Bytes, BytesMut};

/// Limits for one connection's framer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramerConfig {
    /// Longest accepted line (without CRLF), in octets. Longer lines are skipped and
    /// reported as [`Event::LineTooLong`]. RFC 7162 §4 asks for at least 8192.
    pub max_line: usize,
    /// Largest literal the framer will announce; larger ones are refused without asking the
    /// session ([`Event::LiteralTooLarge`]). Set it to the APPENDLIMIT.
    pub max_literal: u64,
    /// Largest frame (lines plus buffered literals) assembled in memory. A literal the
    /// session asks to buffer that would exceed it is refused.
    pub max_buffered: usize,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_buffered: 1024 * 1024,
        }
    }
}

/// A literal streamed to the session instead of being buffered into the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamedLiteral {
    /// Offset in [`Frame::bytes`] where the literal's octets would have been (just after
    /// the CRLF that follows the `{n}` announcement).
    pub at: usize,
    /// The literal's length in octets.
    pub len: u64,
}

/// One complete command: its lines and buffered literals exactly as received, without the
/// final CRLF. A literal announcement `{n}` inside is followed by CRLF and the `n` octets,
/// except for literals listed in `streamed`, whose octets went to the session as
/// [`Event::LiteralData`] and are absent here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub streamed: Vec<StreamedLiteral>,
}

impl Frame {
    /// A frame holding exactly `bytes` (no streamed literals). Handy in tests and fuzzing.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Frame {
        Frame {
            bytes: bytes.into(),
            streamed: Vec::new(),
        }
    }

    /// The command tag, if the frame starts with a syntactically valid one.
    pub fn tag(&self) -> Option<String> {
        tag_of(&self.bytes)
    }

    /// The command name upper-cased (`"APPEND"`, `"UID FETCH"`), if readable.
    pub fn command_name(&self) -> Option<String> {
        command_name_of(&self.bytes)
    }
}

/// A literal announced at the end of a line, awaiting the session's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralStart {
    /// Announced length in octets.
    pub len: u64,
    /// `{n}`: the client waits for a `+` continuation before sending the octets.
    /// `false` for `{n+}` (LITERAL+/LITERAL-): the octets follow at once.
    pub sync: bool,
    /// `~{n}`: a literal8 (RFC 3516), which may contain NUL.
    pub binary: bool,
    /// The command's tag, if readable (for the tagged refusal).
    pub tag: Option<String>,
    /// The command name upper-cased, `UID ` prefix included (`"APPEND"`, `"LOGIN"`).
    pub command: Option<String>,
    /// How many literals of this frame came before this one (0 for the first).
    pub index: usize,
}

/// Why a literal was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The literal would make the buffered frame exceed `max_buffered`; it was refused and
    /// the command discarded.
    #[error("literal too large to buffer")]
    TooLarge,
    /// No literal is awaiting a decision.
    #[error("no literal is awaiting a decision")]
    NotPending,
}

/// What the framer found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete command: hand it to [`crate::proto::parse::parse_command`].
    Frame(Frame),
    /// A literal was announced; decide before asking for the next event (see the module doc).
    /// [`Framer::pending`] shows the frame so far (ending with the announcement).
    LiteralStart(LiteralStart),
    /// Octets of a literal the session chose to stream, in order.
    LiteralData(Bytes),
    /// The streamed literal is complete; the framer goes on with the rest of the command.
    LiteralEnd,
    /// A literal larger than `max_literal` (or whose length does not fit in a u64) was
    /// refused and its command discarded. Answer with a tagged NO/BAD (`[TOOBIG]`).
    LiteralTooLarge {
        tag: Option<String>,
        len: Option<u64>,
        sync: bool,
    },
    /// A line longer than `max_line`, or a command whose lines and buffered literals
    /// exceed `max_buffered`, was skipped (with the rest of its command).
    /// Answer BAD (tagged when `tag` is known).
    LineTooLong { tag: Option<String> },
    /// The line requested by [`Framer::expect_raw_line`], without CRLF, literals not
    /// interpreted.
    RawLine(Vec<u8>),
}

/// How a literal is taken once accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LiteralMode {
    Buffer,
    Stream,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Assembling a line of the current frame.
    Line,
    /// A literal was announced; waiting for accept/stream/refuse.
    AwaitDecision(LiteralStart),
    /// Taking a literal's octets.
    Literal { remaining: u64, mode: LiteralMode },
    /// Discarding input up to the next LF. `tail` keeps the last octets seen, to notice a
    /// non-synchronizing literal announced at the end of the skipped line.
    SkipLine { tail: Vec<u8> },
    /// Discarding a refused non-synchronizing literal's octets, then the rest of its command.
    SkipLiteral { remaining: u64 },
}

/// Input buffer capacity kept while idle; more is released once drained.
const IDLE_CAPACITY: usize = 16 * 1024;

/// Octets kept at the end of a skipped line: enough for `~{18446744073709551615+}`.
const TAIL_KEEP: usize = 32;

/// The sans-I/O framer. See the module documentation for the protocol.
#[derive(Debug)]
pub struct Framer {
    config: FramerConfig,
    buf: BytesMut,
    /// How much of `buf` has been searched for LF without finding one.
    scanned: usize,
    frame: Frame,
    literals_in_frame: usize,
    state: State,
    raw_line: bool,
}

impl Framer {
    pub fn new(config: FramerConfig) -> Framer {
        Framer {
            config,
            buf: BytesMut::new(),
            scanned: 0,
            frame: Frame::default(),
            literals_in_frame: 0,
            state: State::Line,
            raw_line: false,
        }
    }

    pub fn config(&self) -> &FramerConfig {
        &self.config
    }

    /// Changes the limits, e.g. `max_literal` after login. Applies to literals announced later.
    pub fn set_config(&mut self, config: FramerConfig) {
        self.config = config;
    }

    /// Adds received octets. Call [`Framer::next_event`] until it returns `None` before
    /// pushing more, to keep memory bounded.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Octets pushed but not yet consumed.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the framer is in the middle of a command (a partial line, frame or literal).
    /// At a command boundary with nothing buffered this is `false`.
    pub fn in_command(&self) -> bool {
        !self.buf.is_empty() || self.state != State::Line || !self.frame.bytes.is_empty()
    }

    /// Takes every octet pushed but not yet consumed, resetting any partial command.
    /// For STARTTLS (discard them: RFC 9051 §11.1 forbids acting on pipelined plaintext)
    /// and COMPRESS (they are the first compressed octets).
    pub fn take_buffered(&mut self) -> Bytes {
        self.reset_frame();
        self.state = State::Line;
        self.scanned = 0;
        self.buf.split().freeze()
    }

    /// The next line is delivered as [`Event::RawLine`], with no literal interpretation
    /// (IDLE's `DONE`, AUTHENTICATE client responses). Applies at a command boundary.
    pub fn expect_raw_line(&mut self) {
        self.raw_line = true;
    }

    /// The frame assembled so far. While a literal awaits a decision it ends with that
    /// literal's announcement (`... {n}`, no CRLF): [`crate::proto::parse::parse_append_head`]
    /// reads an APPEND's mailbox, flags and date from it.
    pub fn pending(&self) -> &Frame {
        &self.frame
    }

    /// Accepts the announced literal and buffers its octets into the frame.
    /// For a synchronizing literal the session then sends `+ Ready`.
    /// Fails (and refuses the literal, discarding the command) if it would not fit in
    /// `max_buffered`.
    pub fn accept_literal(&mut self) -> Result<(), FrameError> {
        let State::AwaitDecision(start) = &self.state else {
            return Err(FrameError::NotPending);
        };
        let fits = (self.frame.bytes.len() as u64)
            .checked_add(start.len)
            .is_some_and(|total| total <= self.config.max_buffered as u64);
        if !fits {
            self.refuse_current();
            return Err(FrameError::TooLarge);
        }
        self.begin_literal(LiteralMode::Buffer);
        Ok(())
    }

    /// Accepts the announced literal and delivers its octets as [`Event::LiteralData`]
    /// chunks followed by [`Event::LiteralEnd`] (APPEND: write them to the blob store).
    /// The finished frame lists it in [`Frame::streamed`].
    pub fn stream_literal(&mut self) -> Result<(), FrameError> {
        if !matches!(self.state, State::AwaitDecision(_)) {
            return Err(FrameError::NotPending);
        }
        self.begin_literal(LiteralMode::Stream);
        Ok(())
    }

    /// Refuses the announced literal: the command is discarded (the session sends a tagged
    /// NO/BAD). A non-synchronizing literal's octets are skipped as they arrive.
    pub fn refuse_literal(&mut self) -> Result<(), FrameError> {
        if !matches!(self.state, State::AwaitDecision(_)) {
            return Err(FrameError::NotPending);
        }
        self.refuse_current();
        Ok(())
    }

    /// The next event, or `None` when more input is needed.
    pub fn next_event(&mut self) -> Option<Event> {
        if self.buf.is_empty() && self.buf.capacity() > IDLE_CAPACITY {
            // Give back a large read buffer once drained: idle connections stay small.
            self.buf = BytesMut::new();
            self.scanned = 0;
        }
        loop {
            match std::mem::replace(&mut self.state, State::Line) {
                State::Line => return self.next_line(),
                State::AwaitDecision(start) => {
                    // The session did not decide: apply the documented default.
                    self.state = State::AwaitDecision(start.clone());
                    if self.accept_literal().is_err() {
                        return Some(Event::LiteralTooLarge {
                            tag: start.tag,
                            len: Some(start.len),
                            sync: start.sync,
                        });
                    }
                }
                State::Literal { remaining, mode } => {
                    if remaining == 0 {
                        // The rest of the command follows the literal (state Line).
                        if mode == LiteralMode::Stream {
                            return Some(Event::LiteralEnd);
                        }
                        continue;
                    }
                    if self.buf.is_empty() {
                        self.state = State::Literal { remaining, mode };
                        return None;
                    }
                    let take = (self.buf.len() as u64).min(remaining) as usize;
                    let chunk = self.buf.split_to(take);
                    self.state = State::Literal {
                        remaining: remaining - take as u64,
                        mode,
                    };
                    match mode {
                        LiteralMode::Buffer => self.frame.bytes.extend_from_slice(&chunk),
                        LiteralMode::Stream => return Some(Event::LiteralData(chunk.freeze())),
                    }
                }
                State::SkipLiteral { remaining } => {
                    let take = (self.buf.len() as u64).min(remaining) as usize;
                    self.buf.advance(take);
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::SkipLiteral { remaining };
                        return None;
                    }
                    self.state = State::SkipLine { tail: Vec::new() };
                }
                State::SkipLine { mut tail } => {
                    match memchr::memchr(b'\n', &self.buf) {
                        None => {
                            keep_tail(&mut tail, &self.buf);
                            self.buf.clear();
                            self.scanned = 0;
                            self.state = State::SkipLine { tail };
                            return None;
                        }
                        Some(i) => {
                            keep_tail(&mut tail, &self.buf[..i]);
                            self.buf.advance(i + 1);
                            self.scanned = 0;
                            strip_cr(&mut tail);
                            // A non-synchronizing literal at the end of the skipped line is
                            // part of the discarded command: skip its octets too. A
                            // synchronizing one is never sent (no `+` comes).
                            if let Some(Announce {
                                len: Some(len),
                                sync: false,
                                ..
                            }) = literal_announce(&tail)
                            {
                                self.state = State::SkipLiteral { remaining: len };
                            }
                        }
                    }
                }
            }
        }
    }

    /// In state `Line`: look for the end of the current line.
    fn next_line(&mut self) -> Option<Event> {
        let Some(rel) = memchr::memchr(b'\n', &self.buf[self.scanned..]) else {
            self.scanned = self.buf.len();
            if self.buf.len() > self.config.max_line + 1 {
                return Some(self.line_too_long());
            }
            return None;
        };
        let lf = self.scanned + rel;
        self.scanned = 0;
        let line_len = if lf > 0 && self.buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        if line_len > self.config.max_line {
            return Some(self.line_too_long());
        }
        let line = self.buf.split_to(lf + 1);
        let line = &line[..line_len];

        if self.raw_line {
            self.raw_line = false;
            return Some(Event::RawLine(line.to_vec()));
        }
        if self.frame.bytes.len() + line.len() > self.config.max_buffered {
            // The line itself is fine, but the frame has grown too big: discard the command.
            let tag = self.frame_tag_or(line);
            self.reset_frame();
            // A non-synchronizing literal announced by this line belongs to the discarded
            // command: skip its octets.
            if let Some(Announce {
                len: Some(len),
                sync: false,
                ..
            }) = literal_announce(line)
            {
                self.state = State::SkipLiteral { remaining: len };
            }
            return Some(Event::LineTooLong { tag });
        }
        self.frame.bytes.extend_from_slice(line);

        match literal_announce(line) {
            None => {
                let frame = std::mem::take(&mut self.frame);
                self.literals_in_frame = 0;
                Some(Event::Frame(frame))
            }
            Some(announce) => {
                let tag = self.frame.tag();
                match announce.len {
                    Some(len) if len <= self.config.max_literal => {
                        let start = LiteralStart {
                            len,
                            sync: announce.sync,
                            binary: announce.binary,
                            tag,
                            command: self.frame.command_name(),
                            index: self.literals_in_frame,
                        };
                        self.state = State::AwaitDecision(start.clone());
                        Some(Event::LiteralStart(start))
                    }
                    len => {
                        self.reset_frame();
                        if let (Some(len), false) = (len, announce.sync) {
                            self.state = State::SkipLiteral { remaining: len };
                        } else if !announce.sync {
                            // A length beyond u64 cannot be skipped: drop everything buffered
                            // and resynchronize at the next line.
                            self.buf.clear();
                            self.state = State::SkipLine { tail: Vec::new() };
                        }
                        Some(Event::LiteralTooLarge {
                            tag,
                            len,
                            sync: announce.sync,
                        })
                    }
                }
            }
        }
    }

    /// The current line is too long: report it and skip to its end.
    fn line_too_long(&mut self) -> Event {
        let tag = self.frame_tag_or(&self.buf[..self.buf.len().min(self.config.max_line)]);
        self.reset_frame();
        self.raw_line = false;
        self.state = State::SkipLine { tail: Vec::new() };
        Event::LineTooLong { tag }
    }

    /// The tag of the frame being assembled, or of `line` if it is the frame's first line.
    fn frame_tag_or(&self, line: &[u8]) -> Option<String> {
        if self.frame.bytes.is_empty() {
            tag_of(line)
        } else {
            self.frame.tag()
        }
    }

    fn begin_literal(&mut self, mode: LiteralMode) {
        let State::AwaitDecision(start) = std::mem::replace(&mut self.state, State::Line) else {
            return;
        };
        self.frame.bytes.extend_from_slice(b"\r\n");
        if mode == LiteralMode::Stream {
            self.frame.streamed.push(StreamedLiteral {
                at: self.frame.bytes.len(),
                len: start.len,
            });
        }
        self.literals_in_frame += 1;
        self.state = State::Literal {
            remaining: start.len,
            mode,
        };
    }

    fn refuse_current(&mut self) {
        let State::AwaitDecision(start) = std::mem::replace(&mut self.state, State::Line) else {
            return;
        };
        self.reset_frame();
        if !start.sync {
            self.state = State::SkipLiteral {
                remaining: start.len,
            };
        }
    }

    fn reset_frame(&mut self) {
        self.frame = Frame::default();
        self.literals_in_frame = 0;
    }
}

/// A literal announcement found at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Announce {
    /// `None` if the number does not fit in a u64.
    len: Option<u64>,
    sync: bool,
    binary: bool,
}

/// Recognizes `{n}`, `{n+}`, `~{n}`, `~{n+}` at the very end of `line` (RFC 9051 `literal`,
/// RFC 7888 `literal`, RFC 3516 `literal8`).
fn literal_announce(line: &[u8]) -> Option<Announce> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let mut digits = &body[open + 1..];
    let mut sync = true;
    if let Some(d) = digits.strip_suffix(b"+") {
        digits = d;
        sync = false;
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    let binary = open > 0 && body[open - 1] == b'~';
    Some(Announce { len, sync, binary })
}

fn keep_tail(tail: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= TAIL_KEEP {
        tail.clear();
        tail.extend_from_slice(&data[data.len() - TAIL_KEEP..]);
    } else {
        tail.extend_from_slice(data);
        if tail.len() > TAIL_KEEP {
            let excess = tail.len() - TAIL_KEEP;
            tail.drain(..excess);
        }
    }
}

fn strip_cr(tail: &mut Vec<u8>) {
    if tail.last() == Some(&b'\r') {
        tail.pop();
    }
}

/// The tag at the start of `line`, if valid and followed by SP or the end of the line.
fn tag_of(line: &[u8]) -> Option<String> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let tag = &line[..end];
    if tag.is_empty() || tag.len() > 64 || !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    Some(String::from_utf8_lossy(tag).into_owned())
}

/// The upper-cased command word after the tag (`UID X` kept together).
fn command_name_of(line: &[u8]) -> Option<String> {
    let mut words = line.splitn(4, |&b| b == b' ');
    words.next()?;
    let word = |w: &[u8]| -> Option<String> {
        let w: Vec<u8> = w
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .copied()
            .collect();
        (!w.is_empty()).then(|| String::from_utf8_lossy(&w).to_ascii_uppercase())
    };
    let first = word(words.next()?)?;
    if first == "UID" {
        let second = word(words.next()?)?;
        return Some(format!("UID {second}"));
    }
    Some(first)
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
