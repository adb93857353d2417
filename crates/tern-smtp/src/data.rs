//! Message content as it arrives: DATA with dot-unstuffing (RFC 5321 §4.5.2, §4.1.1.4) and
//! BDAT chunks (RFC 3030), streamed into a [`BodySink`] buffer by buffer.
//!
//! ## Invariants
//! - Content is passed on as it arrives; nothing here holds more than one input buffer of it.
//! - The content handed to the sink is exactly the message: for DATA, everything before the
//!   terminating `CRLF.CRLF` with the leading dot of each stuffed line removed and the final
//!   CRLF kept; for BDAT, the chunk's octets unchanged.
//! - A bare `LF.LF` or `CR.CR` never ends DATA (the "SMTP smuggling" defense of
//!   `smtp-proto`'s [`DataReceiver`]).
//! - The connection stays in sync whatever the sink does: the announced BDAT octets and the
//!   DATA content up to its terminator are always consumed, even when the sink discards them.

use crate::session::{Session, SessionEnd};
use smtp_proto::request::receiver::{BdatReceiver, DataReceiver};
use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite};

/// Where message content goes. Writing cannot fail from the reader's point of view: a sink
/// that runs into trouble (size limit, store error) remembers it and discards the rest, so
/// the reader still consumes the content and the session stays in sync.
pub trait BodySink: Send {
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = ()> + Send;
}

/// A sink that drops everything (BDAT outside a transaction).
pub struct Discard;

impl BodySink for Discard {
    async fn write(&mut self, _chunk: &[u8]) {}
}

/// Memory sink for tests and small control messages.
impl BodySink for Vec<u8> {
    async fn write(&mut self, chunk: &[u8]) {
        self.extend_from_slice(chunk);
    }
}

/// DATA dot-unstuffing over input that arrives in arbitrary pieces.
pub struct Unstuffer {
    receiver: DataReceiver,
    /// Unstuffed content not yet handed out (at most one input buffer and one held CR).
    pending: Vec<u8>,
    /// Octets of `pending` already handed out by the last [`Unstuffer::feed`].
    taken: usize,
}

impl Default for Unstuffer {
    fn default() -> Self {
        Unstuffer::new()
    }
}

impl Unstuffer {
    pub fn new() -> Unstuffer {
        let mut receiver = DataReceiver::new();
        let mut pending = Vec::new();
        // DataReceiver recognizes a stuffed or terminating dot only after a CRLF it has
        // seen; the content starts right after DATA's own CRLF, so feed it one (and drop it)
        // so that an empty message (".") and a first line starting with a dot are handled.
        receiver.ingest(&mut b"\r\n".iter(), &mut pending);
        pending.clear();
        Unstuffer {
            receiver,
            pending,
            taken: 0,
        }
    }

    /// Takes input; returns how many octets of it were consumed, the content that is final
    /// so far, and whether the terminator was seen (input after it is not consumed).
    pub fn feed(&mut self, input: &[u8]) -> (usize, &[u8], bool) {
        self.pending.drain(..self.taken);
        let mut bytes = input.iter();
        let done = self.receiver.ingest(&mut bytes, &mut self.pending);
        let consumed = input.len() - bytes.as_slice().len();
        // The receiver removes the CR of the terminating ".\r\n" by popping it from its
        // buffer when the LF arrives: a trailing CR must stay until the next input.
        let hold = usize::from(!done && self.pending.last() == Some(&b'\r'));
        self.taken = self.pending.len() - hold;
        (consumed, &self.pending[..self.taken], done)
    }
}

/// Reads DATA content up to and including the terminating `CRLF.CRLF`, unstuffed, into
/// `sink`. Input after the terminator (pipelined commands) stays buffered in the session.
pub async fn receive_data<S, K>(session: &mut Session<S>, sink: &mut K) -> Result<(), SessionEnd>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    K: BodySink,
{
    let mut unstuffer = Unstuffer::new();
    loop {
        let available = session.buffered();
        if !available.is_empty() {
            let (consumed, ready, done) = unstuffer.feed(available);
            if !ready.is_empty() {
                sink.write(ready).await;
            }
            session.consume(consumed);
            if done {
                return Ok(());
            }
        }
        session.fill().await?;
    }
}

/// Reads one BDAT chunk of exactly `size` octets into `sink`.
pub async fn receive_bdat<S, K>(
    session: &mut Session<S>,
    size: usize,
    sink: &mut K,
) -> Result<(), SessionEnd>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    K: BodySink,
{
    let mut receiver = BdatReceiver::new(size, false);
    let mut chunk = Vec::with_capacity(size.min(crate::session::READ_BUFFER));
    if size == 0 {
        return Ok(());
    }
    loop {
        let available = session.buffered();
        if !available.is_empty() {
            let mut bytes = available.iter();
            let done = receiver.ingest(&mut bytes, &mut chunk);
            let consumed = available.len() - bytes.as_slice().len();
            session.consume(consumed);
            sink.write(&chunk).await;
            chunk.clear();
            if done {
                return Ok(());
            }
        }
        session.fill().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionLimits;
    use smtp_proto::Request;
    use tern_net::Shutdown;
    use tokio::io::{AsyncWriteExt, duplex};

    /// Sends `pieces` one write at a time (so the reader sees every split), runs `read`,
    /// then returns what the sink got and the next command.
    async fn run_data(pieces: Vec<&'static [u8]>) -> (Vec<u8>, Option<&'static str>) {
        let (mut client, server) = duplex(1 << 20);
        let mut session = Session::new(server, SessionLimits::default());
        let writer = tokio::spawn(async move {
            for piece in pieces {
                client.write_all(piece).await.unwrap();
                client.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        let mut body = Vec::new();
        receive_data(&mut session, &mut body).await.unwrap();
        let _client = writer.await.unwrap();
        let (_tx, mut shutdown) = Shutdown::new();
        let next = if session.buffered().is_empty() {
            None
        } else {
            match session.next_input(&mut shutdown).await.unwrap() {
                crate::session::Input::Command(r) => Some(r.name()),
                crate::session::Input::Invalid(_) => Some("invalid"),
            }
        };
        (body, next)
    }

    /// Pieces written, content expected, next command expected.
    type DataCase = (Vec<&'static [u8]>, &'static [u8], Option<&'static str>);

    #[tokio::test]
    async fn dot_unstuffing_table() {
        let cases: Vec<DataCase> = vec![
            // Empty message.
            (vec![b".\r\n"], b"", None),
            // First line stuffed.
            (vec![b"..hidden\r\n.\r\n"], b".hidden\r\n", None),
            (
                vec![b"Subject: x\r\n\r\n..\r\n...two\r\nend\r\n.\r\nQUIT\r\n"],
                b"Subject: x\r\n\r\n.\r\n..two\r\nend\r\n",
                Some("QUIT"),
            ),
            // Terminator split at every position.
            (vec![b"a\r", b"\n", b".", b"\r", b"\n"], b"a\r\n", None),
            (vec![b"a\r\n.", b"\r\n"], b"a\r\n", None),
            (vec![b"a\r\n.\r", b"\nRSET\r\n"], b"a\r\n", Some("RSET")),
            // A CR at a buffer's end that is not part of the terminator is kept.
            (vec![b"a\r", b"b\r\n.\r\n"], b"a\rb\r\n", None),
            (vec![b"a\r\n.\r", b"x\r\n.\r\n"], b"a\r\n\rx\r\n", None),
            // Smuggling: bare LF.LF / CR.CR do not end the data.
            (
                vec![b"a\n.\nMAIL FROM:<x@y>\r\n", b"\r\n.\r\n"],
                b"a\n.\nMAIL FROM:<x@y>\r\n\r\n",
                None,
            ),
            // Binary-ish octets pass through.
            (
                vec![b"\x00\xff\x80\r\n", b"..\x01\r\n.\r\n"],
                b"\x00\xff\x80\r\n.\x01\r\n",
                None,
            ),
        ];
        for (pieces, want, next) in cases {
            let label = format!("{pieces:?}");
            let (body, got_next) = run_data(pieces).await;
            assert_eq!(body, want, "{label}");
            assert_eq!(got_next, next, "{label}");
        }
    }

    /// Every message of the table, split in two at every position and fed byte by byte,
    /// unstuffs to the same content.
    #[test]
    fn unstuffer_any_split() {
        let cases: &[(&[u8], &[u8])] = &[
            (b".\r\n", b""),
            (b"..x\r\n.\r\n", b".x\r\n"),
            (
                b"a\r\n..\r\n.b\r\n\r\n.\r\nNOOP\r\n",
                b"a\r\n.\r\nb\r\n\r\n",
            ),
            (b"a\rb\r\r\n.\r\n", b"a\rb\r\r\n"),
            (b"x\r\n.\rx\r\n.\r\n", b"x\r\n\rx\r\n"),
            (b"a\n.\nb\r.\r\r\n.\r\n", b"a\n.\nb\r.\r\r\n"),
        ];
        let run = |pieces: &[&[u8]]| {
            let mut u = Unstuffer::new();
            let mut out = Vec::new();
            let mut rest = Vec::new();
            let mut finished = false;
            for piece in pieces {
                if finished {
                    rest.extend_from_slice(piece);
                    continue;
                }
                let (consumed, ready, done) = u.feed(piece);
                out.extend_from_slice(ready);
                if done {
                    finished = true;
                    rest.extend_from_slice(&piece[consumed..]);
                } else {
                    assert_eq!(consumed, piece.len());
                }
            }
            assert!(finished, "no terminator in {pieces:?}");
            (out, rest)
        };
        for (input, want) in cases {
            let tail = &input[input
                .windows(5)
                .position(|w| w == b"\r\n.\r\n")
                .map_or(3, |p| p + 5)..];
            let tail = if input.starts_with(b".\r\n") {
                &input[3..]
            } else {
                tail
            };
            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                let (out, rest) = run(&[a, b]);
                assert_eq!(out, *want, "{input:?} split at {split}");
                assert_eq!(rest, tail, "{input:?} split at {split}");
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(run(&bytes).0, *want, "{input:?} byte by byte");
        }
    }

    #[tokio::test]
    async fn bdat_takes_exact_octets() {
        let (mut client, server) = duplex(1 << 20);
        let mut session = Session::new(server, SessionLimits::default());
        client
            .write_all(b"\r\n.\r\nxyzBDAT 0 LAST\r\n")
            .await
            .unwrap();
        let mut body = Vec::new();
        receive_bdat(&mut session, 8, &mut body).await.unwrap();
        assert_eq!(body, b"\r\n.\r\nxyz");
        let (_tx, mut shutdown) = Shutdown::new();
        match session.next_input(&mut shutdown).await.unwrap() {
            crate::session::Input::Command(Request::Bdat {
                chunk_size: 0,
                is_last: true,
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn large_bdat_streams_across_reads() {
        let (mut client, server) = duplex(4096);
        let mut session = Session::new(server, SessionLimits::default());
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client
        });
        let mut body = Vec::new();
        receive_bdat(&mut session, payload.len(), &mut body)
            .await
            .unwrap();
        assert_eq!(body, payload);
        drop(writer.await.unwrap());
    }
}
