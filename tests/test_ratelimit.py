"""SMTP abuse limits ([ratelimit]) on loopback, with loopback NOT exempted: per-address
connection rate and concurrency (`421 4.7.0` instead of the greeting), per-address message
rate and per-account submission rate (`450 4.7.1` to MAIL FROM), the unknown-recipient
tarpit (`550 5.1.1` after a growing delay, then `421 4.7.0` and close), too many recipients
(`452 4.5.3`), and the loopback exemption when it is configured.

The allowances are token buckets refilled over a minute or an hour: the tests spend them in
a burst, so a slow machine cannot make them pass or fail wrongly. The tarpit's delays are
checked only from below (the server must have waited at least that long)."""

import smtplib
import socket
import time

import pytest

from harness import DOMAIN, PASSWORD, message, wait_for


def server(make_server, limits, services=("smtp", "imap")):
    return make_server(services=services,
                       extra_config=f"[ratelimit]\nexempt_loopback = false\n{limits}")


def connect(srv, service="smtp"):
    return smtplib.SMTP("127.0.0.1", srv.port(service), timeout=60)


def refused_greeting(srv):
    with pytest.raises(smtplib.SMTPConnectError) as e:
        connect(srv)
    return e.value.smtp_code, e.value.smtp_error


def test_connections_per_ip(make_server):
    srv = server(make_server, "connections_per_ip = 2\n")
    for _ in range(2):
        with connect(srv) as s:
            assert s.noop()[0] == 250
    code, text = refused_greeting(srv)
    assert code == 421 and b"4.7.0" in text and b"Too many connections" in text, (code, text)


def test_concurrent_per_ip(make_server):
    srv = server(make_server, "concurrent_per_ip = 2\n")
    held = [connect(srv), connect(srv)]
    try:
        code, text = refused_greeting(srv)
        assert code == 421 and b"4.7.0" in text and b"concurrent" in text, (code, text)
        held.pop().quit()

        def greeted():
            try:
                held.append(connect(srv))
                return True
            except smtplib.SMTPConnectError:
                return False

        # The slot frees when the server has seen the QUIT through.
        assert wait_for(greeted), "a freed slot was never given back"
    finally:
        for s in held:
            s.close()


def test_messages_per_ip(make_server):
    srv = server(make_server, "messages_per_ip = 2\n")
    u = srv.add_user()
    with connect(srv) as s:
        s.ehlo("client.example.test")
        for i in range(2):
            s.sendmail(f"s@{DOMAIN}", [u.address], message(f"m{i}", to=u.address))
        code, text = s.mail(f"s@{DOMAIN}")
        assert code == 450 and text.startswith(b"4.7.1"), (code, text)
        # The session is still usable.
        assert s.noop()[0] == 250


def test_submissions_per_account(make_server):
    srv = server(make_server, "submissions_per_account = 1\n", services=("submission", "imap"))
    u = srv.add_user()
    other = srv.add_user()
    with connect(srv, "submission") as s:
        s.ehlo("client.example.test")
        s.login(u.address, PASSWORD)
        s.sendmail(u.address, [u.address], message("first", sender=u.address, to=u.address))
        code, text = s.mail(u.address)
        assert code == 450 and text.startswith(b"4.7.1") and b"account" in text, (code, text)
    # Another account on the same address has its own allowance.
    with connect(srv, "submission") as s:
        s.ehlo("client.example.test")
        s.login(other.address, PASSWORD)
        s.sendmail(other.address, [u.address], message("second", sender=other.address,
                                                        to=u.address))


def test_bad_recipient_tarpit_then_421(make_server):
    srv = server(make_server, 'bad_rcpt_delay = "1s"\nmax_bad_rcpts = 3\n')
    u = srv.add_user()
    s = connect(srv)
    try:
        s.ehlo("client.example.test")
        assert s.mail(f"s@{DOMAIN}")[0] == 250
        assert s.rcpt(u.address)[0] == 250
        for n in (1, 2):
            start = time.monotonic()
            code, text = s.rcpt(f"nobody{n}@{DOMAIN}")
            waited = time.monotonic() - start
            assert code == 550 and text.startswith(b"5.1.1"), (code, text)
            assert waited >= n * 1.0 - 0.05, f"unknown recipient {n} answered after {waited:.2f}s"
        code, text = s.rcpt(f"nobody3@{DOMAIN}")
        assert code == 421 and text.startswith(b"4.7.0"), (code, text)
        assert b"unknown recipients" in text, text
        # The server closed the connection.
        with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError, OSError)):
            s.noop()
            s.noop()
    finally:
        s.close()


def test_too_many_recipients_is_452(make_server):
    srv = make_server(services=("smtp", "imap"),
                      extra_config="[limits]\nmax_recipients = 2\n")
    u = srv.add_user()
    with connect(srv) as s:
        s.ehlo("client.example.test")
        assert s.mail(f"s@{DOMAIN}")[0] == 250
        assert s.rcpt(u.address)[0] == 250
        assert s.rcpt(u.address)[0] == 250
        code, text = s.rcpt(u.address)
        assert code == 452 and text.startswith(b"4.5.3"), (code, text)


def test_loopback_exemption(make_server):
    srv = make_server(services=("smtp", "imap"),
                      extra_config="[ratelimit]\nexempt_loopback = true\nconnections_per_ip = 1\n")
    for _ in range(4):
        with connect(srv) as s:
            assert s.noop()[0] == 250
