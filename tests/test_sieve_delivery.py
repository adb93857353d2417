"""Sieve at delivery, end to end: scripts stored with `tern sieve put`, mail delivered over
LMTP (smtplib.LMTP) and the SMTP MX (smtplib), checked with imaplib (folders and flags);
redirects and vacation replies leave through the real outbound queue to Postfix's
smtp-sink, found by the MX records of a loopback DNS server (tests/dnsserver.py)."""

import email
import email.policy
import imaplib
import os
import smtplib
import uuid

import pytest

from harness import DOMAIN, IO_TIMEOUT
from test_queue import Sink, outbound_config, wait_for  # noqa: F401 (Sink: the fixture's type)
from test_queue import dns, sink_port, sinks  # noqa: F401 (fixtures)

SIEVE_CONFIG = '[sieve]\nmax_redirects = 2\n'


@pytest.fixture
def mx(make_server, dns, sink_port):  # noqa: F811
    return make_server(services=("lmtp", "smtp", "imap"),
                       extra_config=outbound_config(dns, sink_port) + SIEVE_CONFIG)


def put_script(server, user, source, name="main", activate=True):
    path = os.path.join(server.dir, f"{uuid.uuid4().hex}.sieve")
    with open(path, "w") as f:
        f.write(source)
    server.cli("sieve", "put", user.address, name, path)
    if activate:
        server.cli("sieve", "activate", user.address, name)


def message(to, subject, sender="alice@remote.test", extra=""):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@remote.test>\r\n{extra}"
            f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n")


def folder(server, user, mailbox):
    """[(flags, subject)] of every message in a mailbox ([] when it does not exist)."""
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        c.login(user.address, user.password)
        typ, _ = c.select(f'"{mailbox}"', readonly=True)
        if typ != "OK":
            return []
        _, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                flags = imaplib.ParseFlags(item[0])
                subject = email.message_from_bytes(item[1])["Subject"]
                out.append((sorted(f.decode() for f in flags), subject))
        return out
    finally:
        c.logout()


def log_has(server, text):
    return wait_for(lambda: text in server.log_tail(400), f"{text!r} in the server log")


FILTERS = r'''require ["fileinto", "imap4flags", "mailbox"];
if header :contains "subject" "report" {
    fileinto :create :flags "\\Flagged" "Reports";
    fileinto "Archive";
    stop;
}
if header :contains "subject" "junkmail" { discard; stop; }
if header :contains "subject" "nowhere" { fileinto "No-Such-Folder"; stop; }
if header :contains "subject" "tagged" { keep :flags ["\\Seen", "$Label1"]; stop; }
'''


def test_lmtp_deliveries_land_where_the_script_says(mx):
    user = mx.add_user()
    put_script(mx, user, FILTERS)
    for subject in ["weekly report", "junkmail offer", "nowhere to go", "tagged note", "plain"]:
        res = mx.deliver([user.address], message(user.address, subject))
        assert res[user.address][0] == 250, res
    reports = folder(mx, user, "Reports")
    assert [s for _, s in reports] == ["weekly report"] and "\\Flagged" in reports[0][0]
    assert [s for _, s in folder(mx, user, "Archive")] == ["weekly report"]
    inbox = folder(mx, user, "INBOX")
    assert [s for _, s in inbox] == ["nowhere to go", "tagged note", "plain"]
    tagged = dict((s, f) for f, s in inbox)["tagged note"]
    assert "\\Seen" in tagged and "$Label1" in tagged
    assert not any("junkmail" in s for _, s in inbox)


def test_lmtp_reject_is_550_with_the_reason_for_that_recipient_only(mx):
    refusing, other = mx.add_user(), mx.add_user()
    put_script(mx, refusing, 'require "reject";\r\nreject "Not accepting mail, sorry";\r\n')
    res = mx.deliver([refusing.address, other.address], message(refusing.address, "hi"))
    code, text = res[refusing.address]
    assert code == 550 and b"5.7.1" in text and b"Not accepting mail, sorry" in text, res
    assert res[other.address][0] == 250
    assert folder(mx, refusing, "INBOX") == []
    assert [s for _, s in folder(mx, other, "INBOX")] == ["hi"]


def test_script_errors_keep_the_message_in_inbox(mx):
    user = mx.add_user()
    # Three redirects with [sieve] max_redirects = 2: a run-time error.
    put_script(mx, user, 'redirect "a@remote.test";\r\nredirect "b@remote.test";\r\n'
                         'redirect "c@remote.test";\r\n')
    res = mx.deliver([user.address], message(user.address, "too many redirects"))
    assert res[user.address][0] == 250
    assert [s for _, s in folder(mx, user, "INBOX")] == ["too many redirects"]
    log_has(mx, "too many redirects")


def test_smtp_mx_fileinto_and_refusal_at_data(mx):
    user, refusing = mx.add_user(), mx.add_user()
    put_script(mx, user, 'require "fileinto";\r\nfileinto "Archive";\r\n')
    put_script(mx, refusing, 'require "ereject";\r\nereject "No thanks";\r\n')
    with smtplib.SMTP("127.0.0.1", mx.port("smtp"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.remote.test")
        s.sendmail("alice@remote.test", [user.address], message(user.address, "via mx"))
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("alice@remote.test", [refusing.address], message(refusing.address, "no"))
        assert refused.value.smtp_code == 550 and b"No thanks" in refused.value.smtp_error
    assert [s for _, s in folder(mx, user, "Archive")] == ["via mx"]
    assert folder(mx, refusing, "INBOX") == []


def test_redirect_goes_through_the_queue_with_loop_protection(mx, sinks, sink_port):  # noqa: F811
    sink = sinks(sink_port)
    user = mx.add_user()
    put_script(mx, user, 'redirect "carol@remote.test";\r\n')
    res = mx.deliver([user.address], message(user.address, "forward me"),
                     sender="alice@remote.test")
    assert res[user.address][0] == 250
    got = wait_for(lambda: sink.messages(), "the redirected copy at the sink")
    mail_from, rcpts, body = got[0]
    assert [r.strip("<>") for r in rcpts] == ["carol@remote.test"] and "alice@remote.test" in mail_from
    parsed = email.message_from_bytes(body, policy=email.policy.compat32)
    assert parsed["Subject"] == "forward me"
    assert parsed["Delivered-To"] == user.address
    assert folder(mx, user, "INBOX") == [], "redirect cancels the implicit keep"
    # A message that already went through this account is kept, not sent around again.
    looped = message(user.address, "loop", extra=f"Delivered-To: {user.address}\r\n")
    assert mx.deliver([user.address], looped)[user.address][0] == 250
    assert [s for _, s in folder(mx, user, "INBOX")] == ["loop"]
    log_has(mx, "loop: the message already went through")


VACATION = ('require "vacation";\r\n'
            'vacation :days 3 :subject "Out of office" "I am away until Monday.";\r\n')


def test_vacation_replies_once_per_period_and_never_to_lists(mx, sinks, sink_port):  # noqa: F811
    sink = sinks(sink_port)
    user = mx.add_user()
    put_script(mx, user, VACATION)
    first = message(user.address, "Lunch?")
    assert mx.deliver([user.address], first, sender="alice@remote.test")[user.address][0] == 250
    got = wait_for(lambda: sink.messages(), "the vacation reply at the sink")
    mail_from, rcpts, body = got[0]
    assert [r.strip("<>") for r in rcpts] == ["alice@remote.test"]
    assert mail_from.split()[0] in ("", "<>"), mail_from
    reply = email.message_from_bytes(body, policy=email.policy.compat32)
    assert reply["Subject"] == "Out of office"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == email.message_from_string(first)["Message-ID"]
    assert reply["From"] == user.address
    assert "I am away until Monday." in reply.get_payload()
    # The kept copy is in INBOX.
    assert [s for _, s in folder(mx, user, "INBOX")] == ["Lunch?"]

    # Same sender within the period: no second reply.
    again = message(user.address, "Again")
    assert mx.deliver([user.address], again, sender="ALICE@remote.test")[user.address][0] == 250
    log_has(mx, "already replied within the period")
    # A mailing list's message and an auto-reply get none.
    mx.deliver([user.address], message(user.address, "digest", sender="bob@remote.test",
                                       extra="List-Id: <news.remote.test>\r\n"),
               sender="bob@remote.test")
    log_has(mx, "mailing list")
    mx.deliver([user.address], message(user.address, "auto", sender="dave@remote.test",
                                       extra="Auto-Submitted: auto-replied\r\n"),
               sender="dave@remote.test")
    log_has(mx, "Auto-Submitted: auto-replied")
    assert len(sink.messages()) == 1
    assert len(folder(mx, user, "INBOX")) == 4
