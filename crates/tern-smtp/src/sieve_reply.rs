//! Messages Sieve delivery generates: the vacation auto-reply (RFC 5230 §5, RFC 3834 §3)
//! and the rejection notice SMTP sends when it cannot refuse at DATA (RFC 5429 §2.1).
//! Both go out from the null reverse-path `<>` and carry `Auto-Submitted: auto-replied`, so
//! well-behaved responders never answer them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tern_directory::Account;
use tern_sieve::Vacation;

/// The vacation reply to `message` (its header section supplies the subject and
/// threading fields).
pub(crate) fn vacation(hostname: &str, account: &Account, v: &Vacation, message: &[u8]) -> Vec<u8> {
    let header = crate::sieve::header_block(message);
    let first = |name: &str| crate::sieve::field_values(header, name).into_iter().next();
    // `:from` only when it names one of the account's own addresses (as submission
    // demands of a From field): a script cannot make Tern send mail as someone else.
    let from = v
        .from
        .as_deref()
        .filter(|f| {
            let owned = owns(account, f);
            if !owned {
                tracing::info!(user = %account.name, from = %f,
                    "vacation :from is not one of the account's addresses; using the account's");
            }
            owned
        })
        .map(str::to_string)
        .or_else(|| account.addresses.first().cloned())
        .unwrap_or_else(|| account.name.clone());
    let subject = v.subject.clone().unwrap_or_else(|| {
        let original = first("subject").unwrap_or_default();
        format!("Auto: {original}")
    });
    let mut out = String::new();
    field(&mut out, "From", &from);
    field(&mut out, "To", &v.reply_to);
    field(&mut out, "Subject", &encode_word(&subject));
    common(&mut out, hostname);
    if let Some(id) = first("message-id") {
        field(&mut out, "In-Reply-To", &id);
        let references = match first("references") {
            Some(r) => format!("{r} {id}"),
            None => id,
        };
        field(&mut out, "References", &references);
    }
    field(&mut out, "Auto-Submitted", "auto-replied");
    field(&mut out, "Precedence", "bulk");
    if v.mime {
        // RFC 5230 §4.4: with :mime the reason is a MIME entity, header fields included.
        out.push_str(&crlf(v.reason.trim_start_matches(['\r', '\n'])));
    } else {
        field(&mut out, "Content-Type", "text/plain; charset=utf-8");
        field(&mut out, "Content-Transfer-Encoding", "8bit");
        out.push_str("\r\n");
        out.push_str(&crlf(&v.reason));
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Whether `from` (an address, or `Name <address>`) is one of `account`'s addresses.
fn owns(account: &Account, from: &str) -> bool {
    if from.contains(['\r', '\n']) {
        return false;
    }
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    }
    .trim();
    account.name.eq_ignore_ascii_case(address)
        || account
            .addresses
            .iter()
            .any(|a| a.eq_ignore_ascii_case(address))
}

/// The notice to `sender` that `account`'s filter refused its message.
pub(crate) fn rejection(hostname: &str, account: &Account, sender: &str, reason: &str) -> Vec<u8> {
    let rcpt = account.addresses.first().unwrap_or(&account.name);
    let mut out = String::new();
    field(
        &mut out,
        "From",
        &format!("Mail Delivery System <MAILER-DAEMON@{hostname}>"),
    );
    field(&mut out, "To", sender);
    field(&mut out, "Subject", &format!("Message rejected by {rcpt}"));
    common(&mut out, hostname);
    field(&mut out, "Auto-Submitted", "auto-replied");
    field(&mut out, "Content-Type", "text/plain; charset=utf-8");
    field(&mut out, "Content-Transfer-Encoding", "8bit");
    out.push_str("\r\n");
    out.push_str(&format!(
        "Your message to <{rcpt}> was refused by the recipient's mail filter:\r\n\r\n"
    ));
    out.push_str(&crlf(reason));
    out.push_str("\r\n");
    out.into_bytes()
}

fn common(out: &mut String, hostname: &str) {
    field(out, "Date", &chrono::Local::now().to_rfc2822());
    let id: u128 = rand::random();
    field(out, "Message-ID", &format!("<sieve.{id:032x}@{hostname}>"));
    field(out, "MIME-Version", "1.0");
}

/// One header field; CR and LF in the value are dropped (no header injection).
fn field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.extend(value.chars().filter(|c| *c != '\r' && *c != '\n'));
    out.push_str("\r\n");
}

/// RFC 2047 B-encoding for a non-ASCII header value.
fn encode_word(value: &str) -> String {
    if value.is_ascii() {
        return value.to_string();
    }
    // Encoded words are at most 75 characters: split the UTF-8 at character boundaries.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| format!("=?utf-8?b?{}?=", BASE64.encode(w)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every line end as CRLF.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            name: "bob@x.test".into(),
            addresses: vec!["bob@x.test".into()],
            quota_bytes: None,
            enabled: true,
            display_name: None,
            groups: vec![],
            disabled_reason: None,
            attributes: Default::default(),
        }
    }

    #[test]
    fn vacation_from_must_be_the_accounts_own() {
        let a = account();
        let mut v = vacation_of(None, false, "away");
        v.from = Some("Bob B <BOB@x.test>".into());
        let text = String::from_utf8(vacation("h", &a, &v, b"Subject: hi\r\n\r\n")).unwrap();
        assert!(text.contains("From: Bob B <BOB@x.test>\r\n"), "{text}");
        v.from = Some("ceo@x.test".into());
        let text = String::from_utf8(vacation("h", &a, &v, b"Subject: hi\r\n\r\n")).unwrap();
        assert!(text.contains("From: bob@x.test\r\n"), "{text}");
        v.from = Some("bob@x.test\r\nBcc: x@y".into());
        let text = String::from_utf8(vacation("h", &a, &v, b"Subject: hi\r\n\r\n")).unwrap();
        assert!(!text.contains("Bcc"), "{text}");
    }

    fn vacation_of(subject: Option<&str>, mime: bool, reason: &str) -> Vacation {
        Vacation {
            handle: "h".into(),
            period_seconds: 86_400,
            subject: subject.map(str::to_string),
            from: None,
            addresses: vec![],
            mime,
            reason: reason.into(),
            reply_to: "alice@y.test".into(),
        }
    }

    #[test]
    fn vacation_reply_threads_and_marks_itself() {
        let msg = b"Subject: Lunch?\r\nMessage-ID: <1@y.test>\r\nReferences: <0@y.test>\r\n\r\nhi";
        let v = vacation_of(None, false, "I am away.\nBack Monday.");
        let reply = String::from_utf8(vacation("mx.x.test", &account(), &v, msg)).unwrap();
        for want in [
            "From: bob@x.test\r\n",
            "To: alice@y.test\r\n",
            "Subject: Auto: Lunch?\r\n",
            "In-Reply-To: <1@y.test>\r\n",
            "References: <0@y.test> <1@y.test>\r\n",
            "Auto-Submitted: auto-replied\r\n",
            "\r\n\r\nI am away.\r\nBack Monday.\r\n",
        ] {
            assert!(reply.contains(want), "{want:?} in {reply}");
        }
    }

    #[test]
    fn subjects_are_encoded_and_mime_reasons_kept() {
        let v = vacation_of(
            Some("Abwesend – zurück"),
            true,
            "Content-Type: text/plain\n\nweg",
        );
        let reply = String::from_utf8(vacation("h", &account(), &v, b"\r\n")).unwrap();
        assert!(reply.contains("Subject: =?utf-8?b?"), "{reply}");
        assert!(
            reply.contains("Content-Type: text/plain\r\n\r\nweg\r\n"),
            "{reply}"
        );
        assert!(!reply.contains("In-Reply-To"));
    }

    #[test]
    fn rejection_notice() {
        let n = String::from_utf8(rejection("h", &account(), "a@y", "go\r\nBcc: x")).unwrap();
        assert!(n.contains("To: a@y\r\n"));
        assert!(n.contains("Subject: Message rejected by bob@x.test\r\n"));
        assert!(
            n.contains("go\r\nBcc: x\r\n"),
            "the reason is body text: {n}"
        );
    }
}
