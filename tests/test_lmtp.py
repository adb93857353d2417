"""LMTP (RFC 2033) into Tern's mailboxes, seen through IMAP: Python's smtplib.LMTP with
per-recipient replies, unknown recipients (550 5.1.1), quota at RCPT (452 4.2.2, incl. the
SIZE declared in MAIL FROM), too large (552 5.3.4), and Postfix's smtp-source -L."""

import os
import subprocess

import pytest

from harness import DOMAIN, imaplib_fetch, message, status

SMTP_SOURCE = "/usr/sbin/smtp-source"


def test_lhlo_capabilities(server):
    with server.lmtp() as l:
        code, text = l.ehlo("client.example.test")
        assert code == 250
        ext = text.decode().upper()
        for keyword in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"):
            assert keyword in ext, ext


def test_delivery_lands_in_inbox(server, user):
    body = message("over lmtp", "Delivered by LMTP.\r\n", to=user.address)
    results = server.deliver([user.address], body)
    code, text = results[user.address]
    assert code == 250, results
    assert text.startswith(b"2."), text  # RFC 2034 enhanced status code
    c = server.imap(user)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 1
        c.select("INBOX")
        item = imaplib_fetch(c, "1", "(BODY.PEEK[] FLAGS)")[1]
        # The delivered message ends with what was sent (trace headers may be prepended).
        assert item["BODY[]"].endswith(body), item["BODY[]"][:300]
        assert "\\Seen" not in item["FLAGS"]
    finally:
        c.logout()


def test_per_recipient_replies_and_unknown_recipient(server, user, user2):
    unknown = f"nobody-{os.getpid()}@{DOMAIN}"
    body = message("multi", to=f"{user.address}, {user2.address}")
    results = server.deliver([user.address, unknown, user2.address], body)
    assert results[user.address][0] == 250
    assert results[user2.address][0] == 250
    code, text = results[unknown]
    assert code == 550 and text.startswith(b"5.1.1"), results
    for u in (user, user2):
        c = server.imap(u)
        try:
            assert status(c, "INBOX")["MESSAGES"] == 1
        finally:
            c.logout()


def test_recipient_over_quota_at_rcpt(server):
    small = server.add_user(quota="10KB")
    big = message("too big for quota", "x" * 20_000, to=small.address)
    with server.lmtp() as l:
        l.ehlo("client.example.test")
        code, text = l.mail(f"sender@{DOMAIN}", [f"SIZE={len(big)}"])
        assert code == 250, text
        code, text = l.rcpt(small.address)
        # The declared SIZE would take the account over quota: refused at RCPT.
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
    c = server.imap(small)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 0
    finally:
        c.logout()


def test_recipient_already_over_quota(server):
    small = server.add_user(quota="10KB")
    first = message("fills the quota", "y" * 9_000, to=small.address)
    assert server.deliver([small.address], first)[small.address][0] == 250
    results = server.deliver([small.address], message("one more", "z" * 3_000))
    code, text = results[small.address]
    assert code == 452 and text.startswith(b"4.2.2"), results


def test_message_too_large(server, user):
    with server.lmtp() as l:
        code, text = l.ehlo("client.example.test")
        sizes = [int(w) for line in text.decode().splitlines()
                 for w in line.split()[1:2] if line.upper().startswith("SIZE") and w.isdigit()]
        limit = sizes[0] if sizes else 50_000_000
        code, text = l.mail(f"sender@{DOMAIN}", [f"SIZE={limit + 1}"])
        if code == 250:
            code, text = l.rcpt(user.address)
        assert code == 552 and text.startswith(b"5.3.4"), (code, text)


def test_delivery_to_alias_case_insensitive(server, user):
    results = server.deliver([user.address.upper()], message("case", to=user.address))
    assert list(results.values())[0][0] == 250, results
    c = server.imap(user)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 1
    finally:
        c.logout()


def test_one_blob_for_many_recipients_reads_back_identically(server):
    users = [server.add_user() for _ in range(3)]
    body = message("to all", "Same bytes for everyone.\r\n")
    results = server.deliver([u.address for u in users], body)
    assert all(r[0] == 250 for r in results.values()), results
    seen = []
    for u in users:
        c = server.imap(u)
        try:
            c.select("INBOX", readonly=True)
            seen.append(imaplib_fetch(c, "1", "(BODY.PEEK[TEXT])")[1]["BODY[TEXT]"])
        finally:
            c.logout()
    assert seen[0] == seen[1] == seen[2] == b"Same bytes for everyone.\r\n"


@pytest.mark.skipif(not os.path.exists(SMTP_SOURCE),
                    reason="Postfix's smtp-source is not installed (apt-get install postfix)")
def test_postfix_smtp_source_delivers_exactly_n(server):
    u = server.add_user()
    n = 40
    res = subprocess.run(
        [SMTP_SOURCE, "-L", "-s", "4", "-m", str(n), "-l", "2048",
         "-f", f"source@{DOMAIN}", "-t", u.address,
         f"127.0.0.1:{server.port('lmtp')}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
    )
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    c = server.imap(u)
    try:
        assert status(c, "INBOX")["MESSAGES"] == n
        c.select("INBOX", readonly=True)
        typ, data = c.search(None, "ALL")
        assert len(data[0].split()) == n
    finally:
        c.logout()
