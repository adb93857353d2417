//! `ENVELOPE` (RFC 9051 §7.5.2, grammar `envelope`) from the cached [`Envelope`].

use super::EncodeOptions;
use super::string::nstring;
use tern_store::{Address, Envelope};

/// Writes `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
///
/// RFC 9051 §7.5.2: when Sender or Reply-To is absent or empty, the server sends the From
/// list in its place; this is done here, so the cached envelope may leave them empty.
pub fn envelope<'a>(out: &mut Vec<u8>, env: &'a Envelope, opts: EncodeOptions) {
    // Borrowed, not cloned: this runs for every message of `FETCH 1:* ENVELOPE`.
    let or_from =
        |list: &'a [Address]| -> &'a [Address] { if list.is_empty() { &env.from } else { list } };
    out.push(b'(');
    nstring(out, env.date.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    nstring(out, env.subject.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    address_list(out, &env.from, opts);
    out.push(b' ');
    address_list(out, or_from(&env.sender), opts);
    out.push(b' ');
    address_list(out, or_from(&env.reply_to), opts);
    out.push(b' ');
    address_list(out, &env.to, opts);
    out.push(b' ');
    address_list(out, &env.cc, opts);
    out.push(b' ');
    address_list(out, &env.bcc, opts);
    out.push(b' ');
    nstring(out, env.in_reply_to.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    nstring(out, env.message_id.as_deref().map(str::as_bytes), opts);
    out.push(b')');
}

/// `"(" 1*address ")" / nil`.
fn address_list(out: &mut Vec<u8>, list: &[Address], opts: EncodeOptions) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        address(out, a, opts);
    }
    out.push(b')');
}

/// `"(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`.
fn address(out: &mut Vec<u8>, a: &Address, opts: EncodeOptions) {
    out.push(b'(');
    for (i, field) in [&a.name, &a.adl, &a.mailbox, &a.host]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b' ');
        }
        nstring(out, field.as_deref().map(str::as_bytes), opts);
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, mailbox: Option<&str>, host: Option<&str>) -> Address {
        Address {
            name: name.map(Into::into),
            adl: None,
            mailbox: mailbox.map(Into::into),
            host: host.map(Into::into),
        }
    }

    fn enc(env: &Envelope, opts: EncodeOptions) -> String {
        let mut out = Vec::new();
        envelope(&mut out, env, opts);
        String::from_utf8(out).unwrap()
    }

    /// RFC 9051 §8 example (`* 12 FETCH (... ENVELOPE (...))`), reproduced field by field.
    #[test]
    fn rfc_example_envelope() {
        let terry = addr(Some("Terry Gray"), Some("gray"), Some("cac.washington.edu"));
        let env = Envelope {
            date: Some("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)".into()),
            subject: Some("IMAP4rev2 WG mtg summary and minutes".into()),
            from: vec![terry.clone()],
            sender: vec![terry.clone()],
            reply_to: vec![],
            to: vec![addr(None, Some("imap"), Some("cac.washington.edu"))],
            cc: vec![
                addr(None, Some("minutes"), Some("CNRI.Reston.VA.US")),
                addr(Some("John Klensin"), Some("KLENSIN"), Some("MIT.EDU")),
            ],
            bcc: vec![],
            in_reply_to: None,
            message_id: Some("<B27397-0100000@cac.washington.edu>".into()),
        };
        assert_eq!(
            enc(&env, EncodeOptions::default()),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" \
             ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
             ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
             ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
             ((NIL NIL \"imap\" \"cac.washington.edu\")) \
             ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")\
             (\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
             \"<B27397-0100000@cac.washington.edu>\")"
        );
    }

    #[test]
    fn empty_envelope_and_groups_and_8bit() {
        assert_eq!(
            enc(&Envelope::default(), EncodeOptions::default()),
            "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
        let env = Envelope {
            subject: Some("Grüße".into()),
            to: vec![
                addr(None, Some("undisclosed"), None),
                addr(None, None, None),
            ],
            ..Envelope::default()
        };
        assert_eq!(
            enc(&env, EncodeOptions::default()),
            "(NIL {7}\r\nGrüße NIL NIL NIL ((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"
        );
        assert_eq!(
            enc(&env, EncodeOptions { utf8: true }),
            "(NIL \"Grüße\" NIL NIL NIL ((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"
        );
    }
}
