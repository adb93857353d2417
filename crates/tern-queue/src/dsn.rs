//! Delivery status notifications (RFC 3464, RFC 3462 multipart/report, RFC 3461 §6).
//!
//! A DSN is a `multipart/report; report-type=delivery-status` with three parts: a human
//! explanation, the `message/delivery-status` fields (per message: Reporting-MTA,
//! Original-Envelope-Id, Arrival-Date; per recipient: Final-Recipient, Original-Recipient,
//! Action, Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until) and the
//! original message (`message/rfc822`) or its header (`text/rfc822-headers`) as RET asks.
//!
//! A message sent with SMTPUTF8 gets an internationalized DSN (RFC 6533): its report is
//! `message/global-delivery-status`, a non-ASCII address is written raw with the `utf-8`
//! address type, and the original is `message/global` (or `message/global-headers`).
//!
//! Invariants (enforced by the caller, [`crate::report`]): never a DSN about a message from
//! the null sender, never one a recipient's NOTIFY does not ask for; a DSN itself is sent
//! from `<>`.

use chrono::{TimeZone, Utc};

/// The original message is returned whole only up to this size; beyond, its header only.
pub const MAX_RETURNED: usize = 10 * 1024 * 1024;

/// What the DSN reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnKind {
    Failed,
    Delayed,
    /// Delivered (`relayed`: handed to a server without DSN support, RFC 3461 §5.2.2.3).
    Relayed,
    /// Delivered into a local mailbox (`delivered`, RFC 3461 §5.2.2.2 / RFC 3464 §2.3.3).
    Delivered,
}

impl DsnKind {
    fn action(self) -> &'static str {
        match self {
            DsnKind::Failed => "failed",
            DsnKind::Delayed => "delayed",
            DsnKind::Relayed => "relayed",
            DsnKind::Delivered => "delivered",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            DsnKind::Failed => "Undelivered Mail Returned to Sender",
            DsnKind::Delayed => "Delayed Mail (still being retried)",
            DsnKind::Relayed | DsnKind::Delivered => "Successful Mail Delivery Report",
        }
    }
}

/// One recipient in a DSN.
#[derive(Clone, Debug)]
pub struct DsnRecipient {
    pub address: String,
    pub orcpt: Option<String>,
    /// RFC 3463 status, `5.1.1`.
    pub status: String,
    pub remote_mta: Option<String>,
    /// The reply or reason, e.g. `550 5.1.1 no such user` (sent as `smtp; ...` when it is a
    /// server's reply).
    pub diagnostic: Option<String>,
    pub last_attempt: Option<i64>,
}

/// The message a DSN is about.
pub struct Original<'a> {
    pub sender: &'a str,
    pub envid: Option<&'a str>,
    pub arrival: i64,
    /// `FULL`, `HDRS` or `None` (the default: the whole message for failures, the header
    /// otherwise).
    pub ret: Option<&'a str>,
    /// The message as transmitted.
    pub content: &'a [u8],
}

/// Everything needed to write one DSN.
pub struct DsnInput<'a> {
    pub hostname: &'a str,
    pub kind: DsnKind,
    pub original: Original<'a>,
    pub recipients: &'a [DsnRecipient],
    /// For delayed DSNs: when the queue gives up.
    pub will_retry_until: Option<i64>,
    pub now: i64,
    /// Makes the boundary and Message-ID unique.
    pub unique: &'a str,
    /// The original was sent with SMTPUTF8: an RFC 6533 internationalized DSN.
    pub global: bool,
}

/// The status for a reply: its enhanced code, else one derived from its class.
pub fn status_of(code: u16, enhanced: Option<&str>) -> String {
    match enhanced {
        Some(e) => e.to_string(),
        None => format!("{}.0.0", code / 100),
    }
}

fn date(unix: i64) -> String {
    Utc.timestamp_opt(unix, 0)
        .single()
        .unwrap_or_default()
        .to_rfc2822()
}

/// A field value without line breaks or control characters, at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// `TYPE; address` for Final-/Original-Recipient: `rfc822` for an ASCII address, `utf-8`
/// for a non-ASCII one (RFC 6533 §3; raw in a global report, else `\x{HEX}` escaped).
fn typed_address(address: &str, global: bool) -> String {
    let address = clean(address, 512);
    if address.is_ascii() {
        return format!("rfc822; {address}");
    }
    if global {
        return format!("utf-8; {address}");
    }
    let mut escaped = String::with_capacity(address.len() + 16);
    for c in address.chars() {
        if c.is_ascii() && c != '\\' {
            escaped.push(c);
        } else {
            escaped.push_str(&format!("\\x{{{:X}}}", c as u32));
        }
    }
    format!("utf-8; {escaped}")
}

/// The header section of a message (up to and including the empty line), or all of it.
fn header_section(content: &[u8]) -> &[u8] {
    match content.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &content[..i + 4],
        None => match content.windows(2).position(|w| w == b"\n\n") {
            Some(i) => &content[..i + 2],
            None => content,
        },
    }
}

/// Writes the DSN message (CRLF line endings).
pub fn build(input: &DsnInput<'_>) -> Vec<u8> {
    let boundary = format!("{}/{}", input.unique, input.hostname);
    let host = clean(input.hostname, 255);
    let mut out = String::with_capacity(4096);
    out.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n"
    ));
    out.push_str(&format!("To: <{}>\r\n", clean(input.original.sender, 512)));
    out.push_str(&format!("Subject: {}\r\n", input.kind.subject()));
    out.push_str(&format!("Date: {}\r\n", date(input.now)));
    out.push_str(&format!("Message-ID: <{}.dsn@{host}>\r\n", input.unique));
    out.push_str("Auto-Submitted: auto-replied\r\n");
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n"
    ));
    out.push_str("\r\nThis is a MIME-encapsulated message.\r\n\r\n");

    // 1. For people.
    out.push_str(&format!("--{boundary}\r\n"));
    out.push_str("Content-Description: Notification\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    out.push_str(&format!("This is the mail system at host {host}.\r\n\r\n"));
    out.push_str(match input.kind {
        DsnKind::Failed => {
            "Your message could not be delivered to one or more recipients.\r\n\
             It is attached below.\r\n"
        }
        DsnKind::Delayed => {
            "Your message could not be delivered yet to one or more recipients.\r\n\
             The mail system will keep trying; you do not need to send it again.\r\n"
        }
        DsnKind::Relayed => {
            "Your message was delivered to the destination server, which does not\r\n\
             send delivery notifications itself.\r\n"
        }
        DsnKind::Delivered => "Your message was delivered to the recipient's mailbox.\r\n",
    });
    out.push_str("\r\n");
    for r in input.recipients {
        out.push_str(&format!("<{}>: ", clean(&r.address, 512)));
        match (&r.remote_mta, &r.diagnostic) {
            (Some(mta), Some(d)) => {
                out.push_str(&format!("host {} said: {}", clean(mta, 255), clean(d, 900)))
            }
            (None, Some(d)) => out.push_str(&clean(d, 900)),
            _ => out.push_str(input.kind.action()),
        }
        out.push_str("\r\n");
    }
    out.push_str("\r\n");

    // 2. For programs (RFC 3464 §2.2, §2.3).
    out.push_str(&format!("--{boundary}\r\n"));
    out.push_str("Content-Description: Delivery report\r\n");
    out.push_str(if input.global {
        "Content-Type: message/global-delivery-status\r\n\r\n"
    } else {
        "Content-Type: message/delivery-status\r\n\r\n"
    });
    out.push_str(&format!("Reporting-MTA: dns; {host}\r\n"));
    if let Some(envid) = input.original.envid {
        out.push_str(&format!("Original-Envelope-Id: {}\r\n", clean(envid, 100)));
    }
    out.push_str(&format!(
        "Arrival-Date: {}\r\n",
        date(input.original.arrival)
    ));
    for r in input.recipients {
        out.push_str("\r\n");
        out.push_str(&format!(
            "Final-Recipient: {}\r\n",
            typed_address(&r.address, input.global)
        ));
        if let Some(orcpt) = &r.orcpt {
            out.push_str(&format!(
                "Original-Recipient: {}\r\n",
                typed_address(orcpt, input.global)
            ));
        }
        out.push_str(&format!("Action: {}\r\n", input.kind.action()));
        out.push_str(&format!("Status: {}\r\n", clean(&r.status, 16)));
        if let Some(mta) = &r.remote_mta {
            out.push_str(&format!("Remote-MTA: dns; {}\r\n", clean(mta, 255)));
        }
        if let Some(d) = &r.diagnostic {
            // A server's reply is an SMTP diagnostic; a local reason is X-Tern.
            let kind = if r.remote_mta.is_some() {
                "smtp"
            } else {
                "X-Tern"
            };
            out.push_str(&format!("Diagnostic-Code: {kind}; {}\r\n", clean(d, 900)));
        }
        if let Some(at) = r.last_attempt {
            out.push_str(&format!("Last-Attempt-Date: {}\r\n", date(at)));
        }
        if let Some(until) = input.will_retry_until {
            out.push_str(&format!("Will-Retry-Until: {}\r\n", date(until)));
        }
    }
    out.push_str("\r\n");

    // 3. The original (RFC 3461 §4.3 RET).
    let full = match input.original.ret {
        Some(r) if r.eq_ignore_ascii_case("FULL") => true,
        Some(_) => false,
        None => input.kind == DsnKind::Failed,
    } && input.original.content.len() <= MAX_RETURNED;
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    if full {
        bytes.extend_from_slice(b"Content-Description: Undelivered Message\r\n");
        bytes.extend_from_slice(if input.global {
            b"Content-Type: message/global\r\n\r\n"
        } else {
            b"Content-Type: message/rfc822\r\n\r\n"
        });
        bytes.extend_from_slice(input.original.content);
    } else {
        bytes.extend_from_slice(b"Content-Description: Message Headers\r\n");
        bytes.extend_from_slice(if input.global {
            b"Content-Type: message/global-headers\r\n\r\n"
        } else {
            b"Content-Type: text/rfc822-headers\r\n\r\n"
        });
        bytes.extend_from_slice(header_section(input.original.content));
    }
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(kind: DsnKind, ret: Option<&'a str>, rcpts: &'a [DsnRecipient]) -> DsnInput<'a> {
        DsnInput {
            hostname: "mail.example.test",
            kind,
            original: Original {
                sender: "alice@example.test",
                envid: Some("env-1"),
                arrival: 1_700_000_000,
                ret,
                content: b"Subject: hi\r\nFrom: alice@example.test\r\n\r\nsecret body\r\n",
            },
            recipients: rcpts,
            will_retry_until: None,
            now: 1_700_000_100,
            unique: "q1",
            global: false,
        }
    }

    fn rcpt() -> DsnRecipient {
        DsnRecipient {
            address: "bob@remote.test".into(),
            orcpt: Some("Bob@Remote.test".into()),
            status: "5.1.1".into(),
            remote_mta: Some("mx.remote.test".into()),
            diagnostic: Some("550 5.1.1 no such user".into()),
            last_attempt: Some(1_700_000_050),
        }
    }

    #[test]
    fn an_smtputf8_message_gets_an_rfc_6533_global_report() {
        let mut r = rcpt();
        r.address = "bøb@remote.test".into();
        r.orcpt = None;
        let rcpts = [r, rcpt()];
        let mut i = input(DsnKind::Failed, None, &rcpts);
        i.global = true;
        let text = String::from_utf8(build(&i)).unwrap();
        for want in [
            "Content-Type: message/global-delivery-status\r\n",
            "Final-Recipient: utf-8; bøb@remote.test\r\n",
            "Final-Recipient: rfc822; bob@remote.test\r\n",
            "Content-Type: message/global\r\n",
        ] {
            assert!(text.contains(want), "{want:?} missing in:\n{text}");
        }
        i.original.ret = Some("HDRS");
        let text = String::from_utf8(build(&i)).unwrap();
        assert!(
            text.contains("Content-Type: message/global-headers\r\n"),
            "{text}"
        );
        // Outside a global report a non-ASCII address is escaped (RFC 6533 §3).
        assert_eq!(
            typed_address("bøb@remote.test", false),
            "utf-8; b\\x{F8}b@remote.test"
        );
    }

    #[test]
    fn a_failure_report_has_the_rfc_3464_fields_and_the_message() {
        let rcpts = [rcpt()];
        let text = String::from_utf8(build(&input(DsnKind::Failed, None, &rcpts))).unwrap();
        for want in [
            "Content-Type: multipart/report; report-type=delivery-status;",
            "Content-Type: message/delivery-status\r\n",
            "Reporting-MTA: dns; mail.example.test\r\n",
            "Original-Envelope-Id: env-1\r\n",
            "Arrival-Date: ",
            "Final-Recipient: rfc822; bob@remote.test\r\n",
            "Original-Recipient: rfc822; Bob@Remote.test\r\n",
            "Action: failed\r\n",
            "Status: 5.1.1\r\n",
            "Remote-MTA: dns; mx.remote.test\r\n",
            "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n",
            "Content-Type: message/rfc822\r\n",
            "secret body",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let parsed = mail_parser_free_check(&text);
        assert!(parsed);
    }

    /// The report ends with the closing boundary and every line is CRLF-terminated.
    fn mail_parser_free_check(text: &str) -> bool {
        text.ends_with("--q1/mail.example.test--\r\n") && !text.replace("\r\n", "").contains('\n')
    }

    #[test]
    fn ret_hdrs_returns_only_the_header() {
        let rcpts = [rcpt()];
        let text = String::from_utf8(build(&input(DsnKind::Failed, Some("HDRS"), &rcpts))).unwrap();
        assert!(text.contains("Content-Type: text/rfc822-headers\r\n"));
        assert!(text.contains("Subject: hi"));
        assert!(!text.contains("secret body"));
        // Delayed defaults to headers too.
        let text = String::from_utf8(build(&input(DsnKind::Delayed, None, &rcpts))).unwrap();
        assert!(text.contains("Action: delayed\r\n"));
        assert!(!text.contains("secret body"));
    }

    #[test]
    fn status_from_a_reply() {
        assert_eq!(status_of(550, Some("5.7.1")), "5.7.1");
        assert_eq!(status_of(554, None), "5.0.0");
        assert_eq!(status_of(451, None), "4.0.0");
    }
}
