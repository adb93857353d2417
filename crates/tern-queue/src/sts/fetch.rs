//! Fetching a policy (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
//! over TLS verified for that host name, one request per connection.
//!
//! The HTTP/1.1 exchange is a small client of its own (see ARCHITECTURE.md, "MTA-STS"):
//! the response head is parsed by `httparse`, the body is delimited by `Content-Length`,
//! `Transfer-Encoding: chunked` (chunk sizes by `httparse` too) or the end of the
//! connection. What the RFC asks of a fetch is enforced here:
//! - only `200` is a policy; redirects are not followed (§3.3);
//! - `Content-Type` must be `text/plain` (parameters such as `charset` allowed);
//! - the body is at most [`MAX_POLICY`] octets (§3.3 suggests 64 KiB) and UTF-8;
//! - the whole fetch runs under one deadline.

use crate::dns::Dns;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The largest policy body accepted.
pub const MAX_POLICY: usize = 64 * 1024;
/// The largest response head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Header fields read in a head (more is an error).
const MAX_FIELDS: usize = 64;
/// The HTTPS port of the policy host (RFC 8461 §3.3 names no other).
pub const HTTPS_PORT: u16 = 443;

/// Why no policy could be fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

fn err(why: impl Into<String>) -> FetchError {
    FetchError(why.into())
}

/// A complete response.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The media type of `Content-Type`, lower-case, without parameters.
    pub media_type: Option<String>,
    pub body: Vec<u8>,
}

/// Fetches the policy text of `domain`, within `deadline`. `tls` verifies the server's
/// certificate (system roots plus the configured extra CA).
pub async fn fetch(
    dns: &Dns,
    tls: Arc<rustls::ClientConfig>,
    domain: &str,
    connect_timeout: Duration,
    deadline: Duration,
) -> Result<String, FetchError> {
    let host = format!("mta-sts.{}", domain.trim_end_matches('.'));
    tokio::time::timeout(deadline, fetch_from(dns, tls, &host, connect_timeout))
        .await
        .map_err(|_| err(format!("https://{host}: timed out")))?
}

async fn fetch_from(
    dns: &Dns,
    tls: Arc<rustls::ClientConfig>,
    host: &str,
    connect_timeout: Duration,
) -> Result<String, FetchError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| err(format!("{host} is not a host name: {e}")))?;
    let addrs = dns
        .addresses(host)
        .await
        .map_err(|e| err(format!("{host}: {e:?}")))?;
    if addrs.is_empty() {
        return Err(err(format!("{host} has no address")));
    }
    let mut last = err(format!("{host}: no connection"));
    for ip in addrs {
        let addr = SocketAddr::new(ip, HTTPS_PORT);
        let tcp = match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                last = err(format!("https://{host} ({addr}): {e}"));
                continue;
            }
            Err(_) => {
                last = err(format!("https://{host} ({addr}): connect timed out"));
                continue;
            }
        };
        let mut stream = TlsConnector::from(tls.clone())
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| err(format!("https://{host}: TLS: {e}")))?;
        let request = format!(
            "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Tern\r\n\
             Accept: text/plain\r\nConnection: close\r\n\r\n"
        );
        let io = |e: std::io::Error| err(format!("https://{host}: {e}"));
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        let mut raw = Vec::with_capacity(4096);
        let mut buf = [0u8; 8192];
        let response = loop {
            let n = stream.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                break parse_response(&raw, true)?
                    .ok_or_else(|| err(format!("https://{host}: truncated response")))?;
            }
            raw.extend_from_slice(&buf[..n]);
            if raw.len() > MAX_HEAD + 2 * MAX_POLICY {
                return Err(err(format!("https://{host}: response too large")));
            }
            if let Some(r) = parse_response(&raw, false)? {
                break r;
            }
        };
        return policy_text(response).map_err(|e| err(format!("https://{host}: {e}")));
    }
    Err(last)
}

/// The policy in a response, if the response may carry one.
fn policy_text(r: Response) -> Result<String, FetchError> {
    if r.status != 200 {
        let why = if (300..400).contains(&r.status) {
            " (redirects are not followed)"
        } else {
            ""
        };
        return Err(err(format!("HTTP status {}{why}", r.status)));
    }
    match r.media_type.as_deref() {
        Some("text/plain") => {}
        Some(other) => return Err(err(format!("Content-Type {other}, not text/plain"))),
        None => return Err(err("no Content-Type")),
    }
    String::from_utf8(r.body).map_err(|_| err("the policy is not UTF-8"))
}

/// Parses what has arrived so far. `Ok(None)`: incomplete (more may come); with `eof` the
/// connection has ended, so a body delimited by the close is complete. A response that is
/// not a `200` is complete once its head is (its body is not needed).
pub fn parse_response(raw: &[u8], eof: bool) -> Result<Option<Response>, FetchError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut head = httparse::Response::new(&mut fields);
    let start = match head.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if raw.len() > MAX_HEAD {
                return Err(err("response head too large"));
            }
            return if eof {
                Err(err("truncated response head"))
            } else {
                Ok(None)
            };
        }
        Err(e) => return Err(err(format!("bad HTTP response: {e}"))),
    };
    if start > MAX_HEAD {
        return Err(err("response head too large"));
    }
    let status = head.code.unwrap_or(0);
    let mut media_type = None;
    let mut length = None;
    let mut chunked = false;
    for f in head.headers.iter() {
        let value = std::str::from_utf8(f.value)
            .map_err(|_| err(format!("bad {} field", f.name)))?
            .trim();
        if f.name.eq_ignore_ascii_case("content-type") && media_type.is_none() {
            let essence = value.split(';').next().unwrap_or("").trim();
            media_type = Some(essence.to_ascii_lowercase());
        } else if f.name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| err("bad Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(err("conflicting Content-Length fields"));
            }
            length = Some(n);
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else {
                return Err(err(format!("unsupported Transfer-Encoding {value}")));
            }
        }
    }
    let done = |body: Vec<u8>| {
        Ok(Some(Response {
            status,
            media_type: media_type.clone(),
            body,
        }))
    };
    if status != 200 {
        return done(Vec::new());
    }
    let rest = &raw[start..];
    if chunked {
        return match dechunk(rest)? {
            Some(body) => done(body),
            None if eof => Err(err("truncated chunked body")),
            None => Ok(None),
        };
    }
    if let Some(n) = length {
        if n > MAX_POLICY {
            return Err(err(format!("policy larger than {MAX_POLICY} octets")));
        }
        return if rest.len() >= n {
            done(rest[..n].to_vec())
        } else if eof {
            Err(err("truncated body"))
        } else {
            Ok(None)
        };
    }
    if rest.len() > MAX_POLICY {
        return Err(err(format!("policy larger than {MAX_POLICY} octets")));
    }
    if eof { done(rest.to_vec()) } else { Ok(None) }
}

/// Decodes a chunked body; `Ok(None)` until the last chunk has arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, FetchError> {
    let mut body = Vec::new();
    loop {
        let (used, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(err("bad chunk size")),
        };
        let size = usize::try_from(size)
            .ok()
            .filter(|s| body.len().saturating_add(*s) <= MAX_POLICY)
            .ok_or_else(|| err(format!("policy larger than {MAX_POLICY} octets")))?;
        rest = &rest[used..];
        if size == 0 {
            // Trailer fields are not needed; the body is complete.
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(err("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &[u8]) -> Result<String, FetchError> {
        policy_text(parse_response(raw, true)?.expect("complete"))
    }

    #[test]
    fn accepted_responses() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
                   Content-Length: 5\r\n\r\nhello";
        assert_eq!(text(ok).unwrap(), "hello");
        // Complete by its length before the connection ends.
        assert!(parse_response(ok, false).unwrap().is_some());
        assert!(
            parse_response(&ok[..ok.len() - 1], false)
                .unwrap()
                .is_none()
        );
        let chunked =
            b"HTTP/1.1 200 OK\r\nContent-Type: TEXT/PLAIN\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
        assert_eq!(text(chunked).unwrap(), "abcde");
        let close = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
        assert!(parse_response(close, false).unwrap().is_none());
        assert_eq!(text(close).unwrap(), "until close");
    }

    #[test]
    fn refused_responses() {
        for (raw, why) in [
            (&b"HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n"[..], "redirects"),
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "status"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1\r\n\r\nx", "type"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", "no Content-Type"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n\xff\xfe", "UTF-8"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nab", "truncated"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99999\r\n\r\n", "size"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n", "coding"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", "chunk"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", "two lengths"),
            (b"SMTP/1.1 200 OK\r\n\r\n", "not HTTP"),
            (b"HTTP/1.1 200 OK\r\n", "no end of head"),
        ] {
            assert!(text(raw).is_err(), "{why}");
        }
        let big = [b'a'; MAX_POLICY + 1];
        let mut close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        close.extend_from_slice(&big);
        assert!(parse_response(&close, false).is_err());
    }
}
