//! The mail transaction's envelope (RFC 5321 §3.3): the reverse-path and the MAIL FROM
//! parameters this server supports, and the recipients accepted so far.
//!
//! Shared by LMTP and SMTP: which parameters are supported is decided here once, so that
//! both front ends answer the same parameter the same way.
//!
//! Always supported MAIL FROM parameters: `SIZE=` (RFC 1870), `BODY=7BIT|8BITMIME|BINARYMIME`
//! (RFC 6152, RFC 3030), `SMTPUTF8` (RFC 6531). A front end that advertises DSN also takes
//! `RET=` and `ENVID=` (RFC 3461 §4.3, §4.4) and, on RCPT, `NOTIFY=` and `ORCPT=` (§4.1,
//! §4.2); one that advertises AUTH takes `AUTH=` (RFC 4954 §5). Anything else `smtp-proto`
//! recognizes but this server does not advertise (REQUIRETLS, DELIVERBY, FUTURERELEASE,
//! MT-PRIORITY, RRVS, ...) gets `555 5.5.4`, as RFC 5321 §4.1.1.11 asks for unrecognized
//! parameters. DSN parameters are recorded, not acted on locally (see the SMTP module).

use crate::reply::Reply;
use smtp_proto::{MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_BODY_BINARYMIME, MAIL_SMTPUTF8};
use smtp_proto::{MAIL_RET_FULL, MAIL_RET_HDRS, MailFrom, RcptTo};
use smtp_proto::{RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS};

/// Which optional parameters a front end advertised (and so accepts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// DSN (RFC 3461): RET, ENVID, NOTIFY, ORCPT.
    pub dsn: bool,
    /// AUTH (RFC 4954 §5): the `AUTH=` MAIL FROM parameter.
    pub auth: bool,
}

/// RFC 3461 §4.3 RET: what a failure DSN should return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnRet {
    Full,
    Headers,
}

/// RFC 3461 §4.1 NOTIFY: `NEVER`, or any of the three conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    pub never: bool,
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

/// RCPT TO parameters that were accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParams {
    pub notify: Option<Notify>,
    /// ORCPT's address (after `rfc822;`), xtext-decoded, control characters removed.
    pub orcpt: Option<String>,
}

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
    /// RFC 3461 RET, when DSN is advertised and the client gave it.
    pub ret: Option<DsnRet>,
    /// RFC 3461 ENVID (xtext-decoded), when DSN is advertised and the client gave it.
    pub envid: Option<String>,
    /// RFC 4954 §5 `AUTH=` (xtext-decoded; `<>` when the client vouches for nobody).
    /// Recorded only: it never grants anything.
    pub auth_param: Option<String>,
}

impl<R> Envelope<R> {
    /// Validates MAIL FROM against what LMTP supports (no DSN, no AUTH) and the size limit.
    pub fn from_mail(mail: &MailFrom<String>, max_message_size: u64) -> Result<Envelope<R>, Reply> {
        Envelope::from_mail_with(mail, max_message_size, Extensions::default())
    }

    /// Validates MAIL FROM against the advertised `extensions` and the size limit.
    pub fn from_mail_with(
        mail: &MailFrom<String>,
        max_message_size: u64,
        extensions: Extensions,
    ) -> Result<Envelope<R>, Reply> {
        let mut supported =
            MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_BODY_BINARYMIME | MAIL_SMTPUTF8;
        if extensions.dsn {
            supported |= MAIL_RET_FULL | MAIL_RET_HDRS;
        }
        let unsupported = mail.flags & !supported != 0
            || (mail.env_id.is_some() && !extensions.dsn)
            || mail.trans_id.is_some()
            || mail.solicit.is_some()
            || mail.mtrk.is_some()
            || (mail.auth.is_some() && !extensions.auth)
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
        let ret = if mail.flags & MAIL_RET_FULL != 0 {
            Some(DsnRet::Full)
        } else if mail.flags & MAIL_RET_HDRS != 0 {
            Some(DsnRet::Headers)
        } else {
            None
        };
        Ok(Envelope {
            from: mail.address.clone(),
            body,
            smtputf8: mail.flags & MAIL_SMTPUTF8 != 0,
            declared_size,
            recipients: Vec::new(),
            ret,
            envid: mail.env_id.as_deref().map(printable),
            auth_param: mail.auth.as_deref().map(printable),
        })
    }

    /// `250 2.1.0` for an accepted MAIL FROM.
    pub fn accepted_reply(&self) -> Reply {
        Reply::new(250, [2, 1, 0], format!("<{}> sender ok", self.from))
    }
}

/// Checks RCPT TO parameters for LMTP: none are advertised (no DSN), so any is `555 5.5.4`.
pub fn check_rcpt(rcpt: &RcptTo<String>) -> Result<(), Reply> {
    rcpt_params(rcpt, Extensions::default()).map(|_| ())
}

/// Checks RCPT TO parameters against the advertised `extensions` and returns them.
pub fn rcpt_params(rcpt: &RcptTo<String>, extensions: Extensions) -> Result<RcptParams, Reply> {
    let notify_flags =
        RCPT_NOTIFY_NEVER | RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY;
    let dsn_given = rcpt.flags & notify_flags != 0 || rcpt.orcpt.is_some();
    let unsupported = rcpt.flags & !notify_flags != 0 || rcpt.rrvs != 0;
    if unsupported || (dsn_given && !extensions.dsn) {
        return Err(Reply::new(
            555,
            [5, 5, 4],
            "RCPT TO parameter not supported",
        ));
    }
    let notify = (rcpt.flags & notify_flags != 0).then_some(Notify {
        never: rcpt.flags & RCPT_NOTIFY_NEVER != 0,
        success: rcpt.flags & RCPT_NOTIFY_SUCCESS != 0,
        failure: rcpt.flags & RCPT_NOTIFY_FAILURE != 0,
        delay: rcpt.flags & RCPT_NOTIFY_DELAY != 0,
    });
    Ok(RcptParams {
        notify,
        orcpt: rcpt.orcpt.as_deref().map(printable),
    })
}

/// An xtext-decoded value with control characters removed (it may end up in headers).
fn printable(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
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
            ("MAIL FROM:<a@b.test> RET=HDRS", Err(555)),
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
    fn dsn_and_auth_parameters_when_advertised() {
        let smtp = Extensions {
            dsn: true,
            auth: true,
        };
        let e = Envelope::<()>::from_mail_with(
            &parse_mail("MAIL FROM:<a@b.test> RET=HDRS ENVID=QQ+2Bx AUTH=u+40b.test"),
            1000,
            smtp,
        )
        .unwrap();
        assert_eq!(e.ret, Some(DsnRet::Headers));
        assert_eq!(e.envid.as_deref(), Some("QQ+x"));
        assert_eq!(e.auth_param.as_deref(), Some("u@b.test"));
        let e = Envelope::<()>::from_mail_with(&parse_mail("MAIL FROM:<> RET=FULL"), 1000, smtp)
            .unwrap();
        assert_eq!(e.ret, Some(DsnRet::Full));
        // AUTH= without AUTH advertised (the MX): refused, as is anything not advertised.
        let mx = Extensions {
            dsn: true,
            auth: false,
        };
        for line in [
            "MAIL FROM:<a@b.test> AUTH=<>",
            "MAIL FROM:<a@b.test> REQUIRETLS",
        ] {
            assert_eq!(
                Envelope::<()>::from_mail_with(&parse_mail(line), 1000, mx)
                    .unwrap_err()
                    .code,
                555,
                "{line}"
            );
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
        let dsn = Extensions {
            dsn: true,
            auth: false,
        };
        let p = rcpt_params(
            &parse("RCPT TO:<u@x.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+40x.test"),
            dsn,
        )
        .unwrap();
        assert_eq!(
            p.notify,
            Some(Notify {
                never: false,
                success: true,
                failure: false,
                delay: true
            })
        );
        assert_eq!(p.orcpt.as_deref(), Some("u@x.test"));
        let p = rcpt_params(&parse("RCPT TO:<u@x.test> NOTIFY=NEVER"), dsn).unwrap();
        assert!(p.notify.unwrap().never);
        assert_eq!(
            rcpt_params(&parse("RCPT TO:<u@x.test>"), dsn).unwrap(),
            RcptParams::default()
        );
        assert_eq!(
            rcpt_params(&parse("RCPT TO:<u@x.test> RRVS=2030-01-01T00:00:00Z"), dsn)
                .unwrap_err()
                .code,
            555
        );
    }
}
