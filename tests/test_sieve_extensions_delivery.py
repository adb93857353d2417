"""Sieve extensions at delivery, end to end (issue 5): one script per account using envelope,
subaddress, body, variables, mailbox (mailboxexists), date, relational, copy, include and
imap4flags, stored with `tern sieve put`, run by the real `tern serve` on mail delivered over
LMTP and the SMTP MX, checked with imaplib. The interpreter's own tables test each extension
in depth (crates/tern-sieve/src/tests); this checks that delivery feeds them the envelope,
the account's mailboxes and scripts, and the message."""

import smtplib
import uuid

import pytest

from harness import DOMAIN, IO_TIMEOUT
from test_sieve_delivery import folder, put_script

MAIN = r'''require ["fileinto", "envelope", "subaddress", "body", "variables", "mailbox",
           "date", "relational", "copy", "include", "imap4flags"];
if envelope :detail "to" "lists" { fileinto :create "Lists"; stop; }
if envelope :domain :is "from" "partner.test" { fileinto :create "Partners"; stop; }
if body :text :contains "invoice number" { fileinto :create "Invoices"; stop; }
if header :matches "subject" "[*] *" {
    set :lower "tag" "${1}";
    fileinto :create "Tagged/${tag}";
    stop;
}
if allof (mailboxexists "Existing", header :contains "subject" "existing") {
    fileinto "Existing";
    stop;
}
if date :value "lt" "date" "year" "2000" { fileinto :create "Old"; stop; }
if header :count "ge" "received" "3" { addflag "$Hops"; }
if header :contains "subject" "copy me" { fileinto :copy :create "Copies"; }
include :personal "helper";
'''

HELPER = r'''require ["fileinto", "mailbox"];
if header :contains "subject" "helper" { fileinto :create "FromHelper"; }
'''


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from harness import TernServer

    s = TernServer(str(tmp_path_factory.mktemp("sieve-ext")),
                   services=("lmtp", "smtp", "imap")).start()
    yield s
    s.stop()


def msg(to, subject, *, date="Fri, 04 Dec 2026 10:00:00 +0000", body="Hello.\r\n", extra=""):
    return (f"From: <alice@remote.test>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@remote.test>\r\nDate: {date}\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")


def subjects(server, user, mailbox):
    return [s for _, s in folder(server, user, mailbox)]


def test_extensions_at_lmtp_delivery(srv):
    user = srv.add_user()
    local = user.address.split("@")[0]
    put_script(srv, user, HELPER, name="helper", activate=False)
    put_script(srv, user, MAIN)
    c = srv.imap(user)
    try:
        assert c.create("Existing")[0] == "OK"
    finally:
        c.logout()

    def deliver(message, rcpt=user.address, sender="alice@remote.test"):
        res = srv.deliver([rcpt], message, sender=sender)
        assert res[rcpt][0] == 250, res

    deliver(msg(user.address, "digest"), rcpt=f"{local}+lists@{DOMAIN}")
    deliver(msg(user.address, "from a partner"), sender="bob@partner.test")
    deliver(msg(user.address, "payment", body="Please find invoice number 42.\r\n"))
    deliver(msg(user.address, "[Build] nightly failed"))
    deliver(msg(user.address, "an existing folder"))
    deliver(msg(user.address, "ancient", date="Sat, 01 Jan 1994 10:00:00 +0000"))
    hops = "".join(f"Received: from h{i}.remote.test by h{i+1}.remote.test; "
                   f"Fri, 04 Dec 2026 09:0{i}:00 +0000\r\n" for i in range(3))
    deliver(msg(user.address, "well travelled", extra=hops))
    deliver(msg(user.address, "please copy me"))
    deliver(msg(user.address, "ask the helper"))
    deliver(msg(user.address, "plain"))

    assert subjects(srv, user, "Lists") == ["digest"], "subaddress :detail of the RCPT"
    assert subjects(srv, user, "Partners") == ["from a partner"], "envelope from"
    assert subjects(srv, user, "Invoices") == ["payment"], "body :text"
    assert subjects(srv, user, "Tagged/build") == ["[Build] nightly failed"], "variables"
    assert subjects(srv, user, "Existing") == ["an existing folder"], "mailboxexists"
    assert subjects(srv, user, "Old") == ["ancient"], "date + relational"
    assert subjects(srv, user, "Copies") == ["please copy me"], ":copy"
    assert subjects(srv, user, "FromHelper") == ["ask the helper"], "include"
    inbox = dict((s, f) for f, s in folder(srv, user, "INBOX"))
    assert sorted(inbox) == ["plain", "please copy me", "well travelled"], inbox
    assert "$Hops" in inbox["well travelled"], "relational :count + imap4flags"
    assert "$Hops" not in inbox["plain"]


def test_same_script_over_the_smtp_mx(srv):
    user = srv.add_user()
    put_script(srv, user, HELPER, name="helper", activate=False)
    put_script(srv, user, MAIN)
    with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.remote.test")
        s.sendmail("bob@partner.test", [user.address], msg(user.address, "partner via mx"))
        s.sendmail("alice@remote.test", [user.address],
                   msg(user.address, "[Ops] disk full"))
        s.sendmail("alice@remote.test", [user.address], msg(user.address, "helper via mx"))
    assert subjects(srv, user, "Partners") == ["partner via mx"]
    assert subjects(srv, user, "Tagged/ops") == ["[Ops] disk full"]
    assert subjects(srv, user, "FromHelper") == ["helper via mx"]
    assert subjects(srv, user, "INBOX") == []
