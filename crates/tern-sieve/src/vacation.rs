//! Vacation support (RFC 5230, RFC 3834): the default `:handle`, and the checks made before
//! any reply is sent. The once-per-period bookkeeping (keyed by handle and sender) is the
//! delivering side's, since it needs durable state.

use crate::exec::message::{self, MessageView};
use crate::{Envelope, Vacation};

/// A stable handle from the fields RFC 5230 §4.2 names (FNV-1a, 64 bits, hex).
pub fn derive_handle(
    reason: &str,
    subject: Option<&str>,
    from: Option<&str>,
    mime: bool,
) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(reason.as_bytes());
    feed(subject.unwrap_or("").as_bytes());
    feed(from.unwrap_or("").as_bytes());
    feed(if mime { b"1" } else { b"0" });
    format!("auto-{h:016x}")
}

fn local_part(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(l, _)| l).unwrap_or(addr)
}

/// Lower-cased, with any `+detail` removed from the local part.
fn canonical(addr: &str) -> String {
    let a = addr
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase();
    match a.rsplit_once('@') {
        Some((l, d)) => format!("{}@{d}", l.split_once('+').map(|(u, _)| u).unwrap_or(l)),
        None => a,
    }
}

fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim()) || canonical(a) == canonical(b)
}

/// RFC 5230 §4.5–4.6 / RFC 3834 §2: `Ok(())` when a reply may be sent.
pub fn vacation_allowed(
    message: &[u8],
    envelope: &Envelope,
    vacation: &Vacation,
    own: &[String],
) -> Result<(), String> {
    let sender = envelope.from.trim();
    if sender.is_empty() {
        return Err("the message has a null reverse-path".into());
    }
    let local = local_part(sender).to_ascii_lowercase();
    if local == "mailer-daemon"
        || local == "postmaster"
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local == "listserv"
        || local == "majordomo"
    {
        return Err(format!("the sender {sender} is a list or system address"));
    }
    let view = MessageView::new(message);
    for h in &view.headers {
        let name = h.name.to_ascii_lowercase();
        if name.starts_with("list-") {
            return Err(format!(
                "the message has a {} header (mailing list)",
                h.name
            ));
        }
        let value = message::decoded(h.value).to_ascii_lowercase();
        if name == "precedence" && ["bulk", "list", "junk"].contains(&value.as_str()) {
            return Err(format!("the message has Precedence: {value}"));
        }
        if name == "auto-submitted" && value.split(';').next().unwrap_or("").trim() != "no" {
            return Err(format!("the message has Auto-Submitted: {value}"));
        }
    }
    let mine: Vec<&String> = own.iter().chain(vacation.addresses.iter()).collect();
    if mine.iter().any(|a| same_address(a, sender)) {
        return Err("the message was sent by the account itself".into());
    }
    const RECIPIENT_FIELDS: [&str; 6] = ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"];
    let addressed = view
        .headers
        .iter()
        .filter(|h| {
            RECIPIENT_FIELDS
                .iter()
                .any(|f| h.name.eq_ignore_ascii_case(f))
        })
        .flat_map(|h| message::addresses(h.value))
        .any(|r| mine.iter().any(|a| same_address(a, &r)));
    if !addressed {
        return Err("none of the account's addresses is in To, Cc, Bcc or Resent-*".into());
    }
    Ok(())
}
