//! RFC 9051 §7.5.2 ENVELOPE from a header section.
//!
//! Strings are the raw values, unfolded and trimmed but not decoded (clients decode RFC 2047
//! themselves). The first occurrence of each field counts. Sender and Reply-To, when absent
//! or empty, are left empty: RFC 9051 asks the server to send From in their place, which the
//! IMAP encoder does, so the stored and cached envelope does not hold From three times.
use super::address::parse_address_list;
use super::headers;
use tern_store::{Address, Envelope};

/// The ENVELOPE of a message whose header section is `header`.
pub fn envelope(header: &[u8]) -> Envelope {
    let mut env = Envelope::default();
    let mut seen = [false; 10];
    for field in headers::fields(header) {
        let Some(slot) = [
            "Date",
            "Subject",
            "From",
            "Sender",
            "Reply-To",
            "To",
            "Cc",
            "Bcc",
            "In-Reply-To",
            "Message-ID",
        ]
        .iter()
        .position(|n| field.is(n)) else {
            continue;
        };
        if std::mem::replace(&mut seen[slot], true) {
            continue;
        }
        let value = field.unfolded();
        let list = |v: &str| parse_address_list(v);
        match slot {
            0 => env.date = Some(value),
            1 => env.subject = Some(value),
            2 => env.from = list(&value),
            3 => env.sender = list(&value),
            4 => env.reply_to = list(&value),
            5 => env.to = list(&value),
            6 => env.cc = list(&value),
            7 => env.bcc = list(&value),
            8 => env.in_reply_to = Some(value),
            _ => env.message_id = Some(value),
        }
    }
    env
}

/// The first address of a list that is not a group marker, else the first entry.
pub fn first_address(list: &[Address]) -> Option<&Address> {
    list.iter().find(|a| a.host.is_some()).or(list.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_and_defaults() {
        let header = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\r\n\
Subject: =?utf-8?q?caf=C3=A9?=\r\n\tfolded\r\n\
To: a@x.test, b@y.test\r\n\
Subject: second subject is ignored\r\n\
Message-ID: <1234@local.machine.example>\r\n\
In-Reply-To:   <parent@x.test>  \r\n\
Reply-To:\r\n\
\r\n";
        let env = envelope(header);
        assert_eq!(
            env.date.as_deref(),
            Some("Mon, 7 Feb 1994 21:52:25 -0800 (PST)")
        );
        assert_eq!(
            env.subject.as_deref(),
            Some("=?utf-8?q?caf=C3=A9?=\tfolded")
        );
        assert_eq!(env.from.len(), 1);
        assert_eq!(
            env.from[0].name.as_deref(),
            Some("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=")
        );
        // Absent and empty: left empty (the encoder sends From in their place).
        assert!(env.sender.is_empty());
        assert!(env.reply_to.is_empty());
        assert_eq!(env.to.len(), 2);
        assert!(env.cc.is_empty() && env.bcc.is_empty());
        assert_eq!(
            env.message_id.as_deref(),
            Some("<1234@local.machine.example>")
        );
        assert_eq!(env.in_reply_to.as_deref(), Some("<parent@x.test>"));
    }

    #[test]
    fn missing_fields_are_nil() {
        let env = envelope(b"X-Other: 1\r\n\r\n");
        assert_eq!(env, Envelope::default());
    }
}
