"""Python smtplib (and imaplib to read back) against a running `tern serve`, for tests/smtp.rs.

Usage: smtp_client.py HOST SMTP_PORT SUBMISSION_PORT SUBMISSIONS_PORT IMAP_PORT CAFILE USER PASSWORD

Sends one message over each of MX (25), submission with STARTTLS (587) and submissions with
implicit TLS (465), tries to relay on MX and on submission, then reads the INBOX over IMAP.
Prints one JSON object with what the clients saw; the Rust test asserts on it. A protocol
error that is not caught here makes the exit status non-zero. TLS is verified against the
server's generated certificate (CAFILE); only the host name check is off (127.0.0.1).
"""

import imaplib
import json
import smtplib
import ssl
import sys


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def message(subject, sender, rcpt):
    return (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@client.test>\r\n"
        f"\r\nHello via {subject}.\r\n"
    )


def refused(fn):
    """The (code, text) a recipient refusal carries, or None when it was accepted."""
    try:
        fn()
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()))
        return [code, text.decode()]
    return None


def main():
    host, smtp_port, sub_port, subs_port, imap_port, cafile, user, password = sys.argv[1:]
    ctx = tls_context(cafile)
    out = {}

    # MX: no AUTH offered, local mail from anyone, relaying refused.
    with smtplib.SMTP(host, int(smtp_port), "client.example.test", timeout=20) as s:
        s.ehlo()
        out["mx_extensions"] = sorted(s.esmtp_features)
        s.sendmail("alice@example.org", [user], message("smtplib mx", "alice@example.org", user))
        out["mx_relay"] = refused(
            lambda: s.sendmail("alice@example.org", ["carol@other.test"], "Subject: x\r\n\r\nx\r\n")
        )

    # Submission: MAIL before AUTH is refused; STARTTLS, AUTH, send; a remote recipient is
    # accepted into the outbound queue.
    with smtplib.SMTP(host, int(sub_port), "client.example.test", timeout=20) as s:
        s.ehlo()
        code, text = s.mail(user)
        out["sub_mail_before_auth"] = [code, text.decode()]
        s.rset()
        s.starttls(context=ctx)
        s.ehlo()
        out["sub_extensions_after_tls"] = sorted(s.esmtp_features)
        s.login(user, password)
        s.sendmail(user, [user], message("smtplib submission", user, user))
        out["sub_relay"] = s.sendmail(
            user, ["carol@other.test"], message("smtplib relay", user, "carol@other.test")
        )

    # Submissions: implicit TLS from the first octet.
    with smtplib.SMTP_SSL(host, int(subs_port), "client.example.test", context=ctx, timeout=20) as s:
        s.login(user, password)
        s.sendmail(user, [user], message("smtplib submissions", user, user))

    imap = imaplib.IMAP4(host, int(imap_port), timeout=20)
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    _, data = imap.fetch("1:*", "(BODY.PEEK[HEADER])")
    out["headers"] = [part[1].decode() for part in data if isinstance(part, tuple)]
    imap.logout()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
