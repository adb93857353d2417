//! Trace header fields a delivery agent prepends (RFC 5321 §4.4): `Return-Path:` with the
//! envelope sender, and a `Received:` line naming the client, this host, the protocol
//! (RFC 3848 `with` keywords) and the transaction id, as Dovecot's LMTP does.
//!
//! Invariant: the fields are syntactically safe whatever the client sent: values from the
//! client (LHLO name, sender, recipient) are stripped of control characters and of anything
//! that would end a comment or an angle-addr early.

use std::net::{IpAddr, SocketAddr};

/// What a `Received:` line says about the transaction.
pub struct TraceInfo<'a> {
    /// The name the client gave in LHLO/EHLO.
    pub helo: &'a str,
    pub peer: Option<SocketAddr>,
    /// This host's name.
    pub hostname: &'a str,
    /// RFC 3848 / RFC 6531 protocol keyword: `LMTP`, `UTF8LMTP`, `ESMTP`, ...
    pub protocol: &'a str,
    /// The transaction id (also logged).
    pub id: &'a str,
    /// The envelope sender (empty for `<>`).
    pub from: &'a str,
    /// Named in `for <...>` only when the message has exactly one recipient: the blob is shared
    /// by every recipient, so it must not name one of several.
    pub single_recipient: Option<&'a str>,
    /// RFC 5322 date-time.
    pub date: &'a str,
}

/// `Return-Path:` and `Received:` fields, CRLF-terminated, to put before the message.
pub fn trace_fields(info: &TraceInfo<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("Return-Path: <");
    if !info.from.is_empty() {
        out.push_str(&clean(info.from, &['<', '>']));
    }
    out.push_str(">\r\n");
    out.push_str("Received: from ");
    out.push_str(&clean(info.helo, &['(', ')', ';']));
    if let Some(peer) = info.peer {
        out.push_str(" (");
        out.push_str(&address_literal(peer.ip()));
        out.push(')');
    }
    out.push_str("\r\n\tby ");
    out.push_str(&clean(info.hostname, &['(', ')', ';']));
    out.push_str(" (Tern) with ");
    out.push_str(info.protocol);
    out.push_str(" id ");
    out.push_str(&clean(info.id, &['(', ')', ';']));
    if let Some(rcpt) = info.single_recipient {
        out.push_str("\r\n\tfor <");
        out.push_str(&clean(rcpt, &['<', '>', ';']));
        out.push('>');
    }
    out.push_str("; ");
    out.push_str(info.date);
    out.push_str("\r\n");
    out.into_bytes()
}

/// An RFC 5321 §4.1.3 address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]`.
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{v6}]"),
        },
    }
}

/// A transaction id, unique in this process across every front end and server instance
/// (LMTP, MX and submission share the counter), prefixed by the process start time in hex so
/// that ids do not repeat across restarts. Not unique across cluster nodes: the queue keys its
/// entries itself.
pub fn transaction_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static EPOCH: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let epoch = *EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{epoch:x}{n:06x}")
}

/// The current time as an RFC 5322 date-time and as a store timestamp (same instant).
pub fn now() -> (String, tern_store::Timestamp) {
    let now = chrono::Local::now();
    let date = now.format("%a, %d %b %Y %H:%M:%S %z").to_string();
    let offset_minutes = (now.offset().local_minus_utc() / 60) as i16;
    (
        date,
        tern_store::Timestamp {
            unix: now.timestamp(),
            offset_minutes,
        },
    )
}

fn clean(value: &str, forbidden: &[char]) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !forbidden.contains(c))
        .collect();
    if cleaned.is_empty() {
        "unknown".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(single: Option<&'a str>, helo: &'a str, from: &'a str) -> TraceInfo<'a> {
        TraceInfo {
            helo,
            peer: Some("127.0.0.1:4000".parse().unwrap()),
            hostname: "mx.example.test",
            protocol: "LMTP",
            id: "abc123",
            from,
            single_recipient: single,
            date: "Mon, 07 Dec 2026 10:00:00 +0000",
        }
    }

    #[test]
    fn fields() {
        let cases: &[(TraceInfo<'_>, &str)] = &[
            (
                info(Some("u@example.test"), "front.example.test", "s@x.test"),
                "Return-Path: <s@x.test>\r\nReceived: from front.example.test ([127.0.0.1])\r\n\tby mx.example.test (Tern) with LMTP id abc123\r\n\tfor <u@example.test>; Mon, 07 Dec 2026 10:00:00 +0000\r\n",
            ),
            (
                info(None, "front", ""),
                "Return-Path: <>\r\nReceived: from front ([127.0.0.1])\r\n\tby mx.example.test (Tern) with LMTP id abc123; Mon, 07 Dec 2026 10:00:00 +0000\r\n",
            ),
            (
                info(None, "evil)\r\nX-Injected: 1", "a>\r\nX: y"),
                "Return-Path: <aX:y>\r\nReceived: from evilX-Injected:1 ([127.0.0.1])\r\n\tby mx.example.test (Tern) with LMTP id abc123; Mon, 07 Dec 2026 10:00:00 +0000\r\n",
            ),
        ];
        for (info, want) in cases {
            assert_eq!(String::from_utf8(trace_fields(info)).unwrap(), *want);
        }
    }

    #[test]
    fn transaction_ids_are_unique() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| transaction_id()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn literals() {
        assert_eq!(address_literal("192.0.2.1".parse().unwrap()), "[192.0.2.1]");
        assert_eq!(address_literal("::1".parse().unwrap()), "[IPv6:::1]");
        assert_eq!(
            address_literal("::ffff:192.0.2.1".parse().unwrap()),
            "[192.0.2.1]"
        );
    }
}
