//! The layout of a session target's input: one control byte, then the client's bytes.
//!
//! Control byte:
//! - bits 0–2: the chunk size the client bytes are written in ([`CHUNK_SIZES`]); the client
//!   yields to the server after each chunk, so the server sees partial lines and literals;
//! - bits 3–4: the prefix (0–3) the target sends first (e.g. none, log in, log in and
//!   select): which protocol state the fuzzed bytes start in;
//! - bit 5: ask the server to shut down after the last chunk, before the client closes;
//! - bits 6–7: left to the target.
//!
//! An empty input is no session at all.

/// Chunk sizes selectable by the control byte (`usize::MAX`: all at once).
pub const CHUNK_SIZES: [usize; 8] = [1, 2, 3, 7, 16, 64, 512, usize::MAX];

/// A decoded session input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInput<'a> {
    pub chunk: usize,
    pub prefix: u8,
    pub shutdown: bool,
    /// Bits 6–7 of the control byte (0–3).
    pub extra: u8,
    pub client: &'a [u8],
}

impl<'a> SessionInput<'a> {
    /// `None` for an empty input.
    pub fn parse(data: &'a [u8]) -> Option<SessionInput<'a>> {
        let (&control, client) = data.split_first()?;
        Some(SessionInput {
            chunk: CHUNK_SIZES[usize::from(control & 0x07)],
            prefix: (control >> 3) & 0x03,
            shutdown: control & 0x20 != 0,
            extra: control >> 6,
            client,
        })
    }

    /// The bytes the client sends: `prefix`, then the fuzzed bytes, cut into chunks.
    pub fn chunks(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        let mut all = Vec::with_capacity(prefix.len() + self.client.len());
        all.extend_from_slice(prefix);
        all.extend_from_slice(self.client);
        all.chunks(self.chunk).map(<[u8]>::to_vec).collect()
    }
}

/// The control byte for the given choices (seed corpora are written with it).
pub fn control(chunk_index: u8, prefix: u8, shutdown: bool, extra: u8) -> u8 {
    (chunk_index & 0x07) | ((prefix & 0x03) << 3) | (u8::from(shutdown) << 5) | (extra << 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_byte_round_trips() {
        for chunk in 0..8 {
            for prefix in 0..4 {
                for shutdown in [false, true] {
                    for extra in 0..4 {
                        let data = [control(chunk, prefix, shutdown, extra), b'x'];
                        let input = SessionInput::parse(&data).unwrap();
                        assert_eq!(input.chunk, CHUNK_SIZES[usize::from(chunk)]);
                        assert_eq!(input.prefix, prefix);
                        assert_eq!(input.shutdown, shutdown);
                        assert_eq!(input.extra, extra);
                        assert_eq!(input.client, b"x");
                    }
                }
            }
        }
        assert_eq!(SessionInput::parse(b""), None);
    }

    #[test]
    fn chunks_cover_prefix_and_client_in_order() {
        let data = [control(2, 0, false, 0), b'a', b'b', b'c', b'd'];
        let input = SessionInput::parse(&data).unwrap();
        let chunks = input.chunks(b"P:");
        assert_eq!(chunks, vec![b"P:a".to_vec(), b"bcd".to_vec()]);
        let all = SessionInput::parse(&[7, b'z']).unwrap().chunks(b"");
        assert_eq!(all, vec![b"z".to_vec()]);
    }
}
