//! The mail transaction's envelope (RFC 5321 §3.3): the reverse-path and the MAIL FROM
//! parameters this server supports, and the recipients accepted so far.
//!
//! Shared by LMTP and (later) SMTP: which parameters are supported is decided here once, so
//! that both front ends answer the same parameter the same way.
//!
//! Supported MAIL FROM parameters: `SIZE=` (RFC 1870), `BODY=7BIT|8BITMIME|BINARYMIME`
//! (RFC 6152, RFC 3030), `SMTPUTF8` (RFC 6531). Anything else `smtp-proto` recognizes but this
//! server does not advertise (DSN, REQUIRETLS, DELIVERBY, FUTURERELEASE, MT-PRIORITY, AUTH=,
//! ...) gets `555 5.5.4`, as RFC 5321 §4.1.1.11 asks for unrecognized parameters.

use crate::reply::Reply;
use smtp_proto::{MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_BODY_BINARYMIME, MAIL_SMTPUTF8};
use smtp_proto::{MailFrom, RcptTo};

/// The body type declared with `BODY=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyType {
    #[default]
    SevenBit,
    EightBitMime,
    /// RFC 3030: only BDAT may carry it.
    BinaryMime,
}

/// A transaction in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<R> {
    /// The reverse-path without angle brackets; empty for the null sender `<>`.
    pub from: String,
    pub body: BodyType,
    pub smtputf8: bool,
    /// The size declared with `SIZE=`, if any (RFC 1870 §6).
    pub declared_size: Option<u64>,
    /// Accepted recipients, in RCPT order.
    pub recipients: Vec<R>,
}

impl<R> Envelope<R> {
    /// Validates MAIL FROM against what this server supports and its size limit.
    pub fn from_mail(mail: &MailFrom<String>, max_message_size: u64) -> Result<Envelope<R>, Reply> {
        let supported = MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_BODY_BINARYMIME | MAIL_SMTPUTF8;
        let unsupported = mail.flags & !supported != 0
            || mail.env_id.is_some()
            || mail.trans_id.is_some()
            || mail.solicit.is_some()
            || mail.mtrk.is_some()
            || mail.auth.is_some()
            || mail.by != 0
            || mail.hold_for != 0
            || mail.hold_until != 0
            || mail.mt_priority != 0;
        if unsupported {
            return Err(Reply::new(
                555,
                [5, 5, 4],
                "MAIL FROM parameter not supported",
            ));
        }
        let declared_size = (mail.size > 0).then_some(mail.size as u64);
        // RFC 1870 §6: a declared size over the fixed limit is a permanent failure.
        if declared_size.is_some_and(|size| size > max_message_size) {
            return Err(Reply::too_large(max_message_size));
        }
        let body = if mail.flags & MAIL_BODY_BINARYMIME != 0 {
            BodyType::BinaryMime
        } else if mail.flags & MAIL_BODY_8BITMIME != 0 {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
        };
        Ok(Envelope {
            from: mail.address.clone(),
            body,
            smtputf8: mail.flags & MAIL_SMTPUTF8 != 0,
            declared_size,
            recipients: Vec::new(),
        })
    }

    /// `250 2.1.0` for an accepted MAIL FROM.
    pub fn accepted_reply(&self) -> Reply {
        Reply::new(250, [2, 1, 0], format!("<{}> sender ok", self.from))
    }
}

/// Checks RCPT TO parameters: none are advertised (no DSN), so any is `555 5.5.4`.
pub fn check_rcpt(rcpt: &RcptTo<String>) -> Result<(), Reply> {
    if rcpt.flags != 0 || rcpt.orcpt.is_some() || rcpt.rrvs != 0 {
        return Err(Reply::new(
            555,
            [5, 5, 4],
            "RCPT TO parameter not supported",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::Request;

    fn parse_mail(line: &str) -> MailFrom<String> {
        let line = format!("{line}\r\n");
        match Request::parse(&mut line.as_bytes().iter()).map(Request::into_owned) {
            Ok(Request::Mail { from }) => from,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn mail_from_table() {
        type Want = Result<(&'static str, BodyType, bool, Option<u64>), u16>;
        let cases: &[(&str, Want)] = &[
            (
                "MAIL FROM:<a@b.test>",
                Ok(("a@b.test", BodyType::SevenBit, false, None)),
            ),
            ("MAIL FROM:<>", Ok(("", BodyType::SevenBit, false, None))),
            (
                "MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME",
                Ok(("a@b.test", BodyType::EightBitMime, false, Some(1000))),
            ),
            (
                "MAIL FROM:<a@b.test> BODY=BINARYMIME SMTPUTF8",
                Ok(("a@b.test", BodyType::BinaryMime, true, None)),
            ),
            (
                "MAIL FROM:<δοκιμή@παράδειγμα.test> SMTPUTF8",
                Ok(("δοκιμή@παράδειγμα.test", BodyType::SevenBit, true, None)),
            ),
            ("MAIL FROM:<a@b.test> SIZE=1000001", Err(552)),
            (
                "MAIL FROM:<a@b.test> SIZE=1000000",
                Ok(("a@b.test", BodyType::SevenBit, false, Some(1_000_000))),
            ),
            ("MAIL FROM:<a@b.test> RET=FULL", Err(555)),
            ("MAIL FROM:<a@b.test> ENVID=abc", Err(555)),
            ("MAIL FROM:<a@b.test> REQUIRETLS", Err(555)),
            ("MAIL FROM:<a@b.test> AUTH=<>", Err(555)),
        ];
        for (line, want) in cases {
            let got = Envelope::<()>::from_mail(&parse_mail(line), 1_000_000)
                .map(|e| (e.from, e.body, e.smtputf8, e.declared_size))
                .map_err(|r| r.code);
            let want = want.map(|(f, b, u, s)| (f.to_string(), b, u, s));
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn rcpt_parameters() {
        let parse = |line: &str| {
            let line = format!("{line}\r\n");
            match Request::parse(&mut line.as_bytes().iter()).map(Request::into_owned) {
                Ok(Request::Rcpt { to }) => to,
                other => panic!("{line:?}: {other:?}"),
            }
        };
        assert!(check_rcpt(&parse("RCPT TO:<u@x.test>")).is_ok());
        assert_eq!(
            check_rcpt(&parse("RCPT TO:<u@x.test> NOTIFY=NEVER"))
                .unwrap_err()
                .code,
            555
        );
        assert_eq!(
            check_rcpt(&parse("RCPT TO:<u@x.test> ORCPT=rfc822;u@x.test"))
                .unwrap_err()
                .code,
            555
        );
    }
}
