//! A minimal HTTP/1.1 client: one `POST` per connection (`Connection: close`), the
//! response read to its end and parsed by [`parse_response`].
//!
//! Why hand-written: rspamd's protocol needs one request shape and one response shape, and
//! no HTTP client is in the workspace's dependency tree; hyper (plus its connection pool and
//! body types) would be the largest dependency of the gateway for about 150 lines of code.
//! The parser is fuzzed (`fuzz/fuzz_targets/filter_reply.rs`).
//!
//! Accepted responses: a status line `HTTP/1.x NNN reason`, header fields, then a body
//! delimited by `Content-Length`, `Transfer-Encoding: chunked`, or the end of the
//! connection. Responses larger than [`MAX_RESPONSE`] are refused.

use crate::FilterError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest response read (rspamd's replies are a few KiB; symbols lists stay far below).
pub const MAX_RESPONSE: usize = 1024 * 1024;

/// A parsed response.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `POST path` with `headers` and `body` to `addr`, returns the parsed response.
/// (No deadline here: the caller wraps the exchange in one.)
pub async fn post(
    addr: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Response, FilterError> {
    let mut stream = crate::connect(addr).await?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        // Values come from the SMTP envelope: never let one end the header section.
        let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(name);
        head.push_str(": ");
        head.push_str(&value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let send = |e| FilterError::io("sending the request", e);
    stream.write_all(head.as_bytes()).await.map_err(send)?;
    for chunk in body.chunks(64 * 1024) {
        stream.write_all(chunk).await.map_err(send)?;
    }
    stream.flush().await.map_err(send)?;
    let mut raw = Vec::with_capacity(4096);
    let mut buf = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| FilterError::io("reading the response", e))?;
        if n == 0 {
            break;
        }
        if raw.len() + n > MAX_RESPONSE {
            return Err(FilterError::Protocol("response too large".into()));
        }
        raw.extend_from_slice(&buf[..n]);
        // Stop as soon as a delimited body is complete (a server may keep the socket).
        if let Ok(Some(_)) = parse_complete(&raw) {
            break;
        }
    }
    parse_response(&raw)
}

/// Parses a whole response (the connection has ended).
pub fn parse_response(raw: &[u8]) -> Result<Response, FilterError> {
    match parse_complete(raw)? {
        Some(r) => Ok(r),
        None => {
            // Body delimited by the end of the connection.
            let (status, body_start, framing) = parse_head(raw)?;
            match framing {
                Framing::UntilClose => Ok(Response {
                    status,
                    body: raw[body_start..].to_vec(),
                }),
                _ => Err(FilterError::Protocol("truncated HTTP response".into())),
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn bad(why: &str) -> FilterError {
    FilterError::Protocol(format!("bad HTTP response: {why}"))
}

/// The status, where the body starts and how it is delimited; `Err` if the head is not
/// complete or malformed.
fn parse_head(raw: &[u8]) -> Result<(u16, usize, Framing), FilterError> {
    let end = memchr::memmem::find(raw, b"\r\n\r\n").ok_or_else(|| bad("no end of header"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("header is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not HTTP/1.x"));
    }
    let code = parts.next().unwrap_or_default();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("bad status code"));
    }
    let status: u16 = code.parse().map_err(|_| bad("bad status code"))?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| bad("header line"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| bad("Content-Length"))?;
            if n > MAX_RESPONSE {
                return Err(bad("body too large"));
            }
            if !matches!(framing, Framing::Chunked) {
                framing = Framing::Length(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if value.eq_ignore_ascii_case("chunked") {
                framing = Framing::Chunked;
            } else {
                return Err(bad("unsupported Transfer-Encoding"));
            }
        }
    }
    Ok((status, end + 4, framing))
}

/// `Ok(Some)` when the response is complete by its own framing, `Ok(None)` when more may
/// follow, `Err` when what arrived is malformed.
fn parse_complete(raw: &[u8]) -> Result<Option<Response>, FilterError> {
    if memchr::memmem::find(raw, b"\r\n\r\n").is_none() {
        return Ok(None);
    }
    let (status, start, framing) = parse_head(raw)?;
    let rest = &raw[start..];
    match framing {
        Framing::Length(n) => Ok((rest.len() >= n).then(|| Response {
            status,
            body: rest[..n].to_vec(),
        })),
        Framing::Chunked => Ok(dechunk(rest)?.map(|body| Response { status, body })),
        Framing::UntilClose => Ok(None),
    }
}

/// Decodes a chunked body; `Ok(None)` while the last chunk has not arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, FilterError> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = memchr::memmem::find(rest, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
        if size > MAX_RESPONSE || body.len() + size > MAX_RESPONSE {
            return Err(bad("chunk too large"));
        }
        rest = &rest[eol + 2..];
        if size == 0 {
            // Trailers are ignored; the body is complete.
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(bad("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let ok = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((ok.status, ok.body.as_slice()), (200, &b"{}"[..]));
        let chunked = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        let close = parse_response(b"HTTP/1.0 500 Oops\r\nServer: x\r\n\r\nerror").unwrap();
        assert_eq!((close.status, close.body.as_slice()), (500, &b"error"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").is_err());
        assert!(parse_response(b"SMTP 200 OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"
            )
            .is_err()
        );
        // Complete by its framing while the connection is still open.
        assert!(
            parse_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
                .unwrap()
                .is_some()
        );
        assert!(
            parse_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nx")
                .unwrap()
                .is_none()
        );
    }
}
