"""Greeting, CAPABILITY, LOGIN / AUTHENTICATE PLAIN and TLS (RFC 9051 §6.1-6.2, RFC 4959
SASL-IR, RFC 5530 codes), on a server that refuses plaintext login before TLS (the default)."""

import base64
import imaplib
import re

import pytest

from harness import PASSWORD, capabilities, quote


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A server with allow_plaintext = false (the default), imap + imaps."""
    from harness import TernServer

    s = TernServer(str(tmp_path_factory.mktemp("strict")), allow_plaintext=False,
                   services=("imap", "imaps")).start()
    yield s
    s.stop()


@pytest.fixture
def account(strict):
    return strict.add_user()


def test_greeting_is_ok_with_capabilities(strict):
    r = strict.raw()
    try:
        # RFC 9051 §7.1.1: the greeting is an untagged OK (or PREAUTH / BYE).
        assert r.greeting.startswith(b"* OK"), r.greeting
    finally:
        r.close()


def test_capabilities_before_tls_disable_login(strict):
    c = strict.imap()
    try:
        caps = capabilities(c)
        assert "IMAP4REV1" in caps and "IMAP4REV2" in caps
        assert "STARTTLS" in caps
        # RFC 9051 §6.2.3 / §7.2.2: LOGIN is disabled and no plaintext SASL mechanism is
        # offered before TLS when plaintext authentication is not allowed.
        assert "LOGINDISABLED" in caps
        assert "AUTH=PLAIN" not in caps
    finally:
        c.shutdown()


def test_login_refused_before_tls_and_connection_stays_usable(strict, account):
    r = strict.raw()
    try:
        resp = r.command(f"LOGIN {quote(account.address)} {quote(account.password)}")
        assert resp.status == "NO", resp
        # Still not authenticated: a command of the authenticated state is refused...
        assert r.command("SELECT INBOX").status == "BAD"
        # ...and the connection still works: STARTTLS is possible afterwards.
        assert r.command("NOOP").status == "OK"
    finally:
        r.close()


def test_authenticate_plain_refused_before_tls(strict, account):
    r = strict.raw()
    try:
        ir = base64.b64encode(f"\0{account.address}\0{account.password}".encode()).decode()
        resp = r.command(f"AUTHENTICATE PLAIN {ir}")
        assert resp.status in ("NO", "BAD"), resp
        assert r.command("SELECT INBOX").status == "BAD"
    finally:
        r.close()


def test_starttls_then_login(strict, account):
    c = strict.imap_starttls()
    try:
        caps = capabilities(c)
        # RFC 9051 §6.2.1: STARTTLS is no longer offered; login now is.
        assert "STARTTLS" not in caps
        assert "LOGINDISABLED" not in caps
        assert "AUTH=PLAIN" in caps
        typ, data = c.login(account.address, account.password)
        assert typ == "OK"
        typ, data = c.select("INBOX")
        assert typ == "OK"
    finally:
        c.logout()


def test_second_starttls_is_refused(strict):
    c = strict.imap_starttls()
    try:
        # imaplib refuses a second STARTTLS itself; send it raw over the TLS socket.
        c.send(b"X1 STARTTLS\r\n")
        line = c.readline()
        while line.startswith(b"*"):
            line = c.readline()
        assert re.match(rb"X1 (BAD|NO)", line), line
    finally:
        c.logout()


def test_imaps_login(strict, account):
    c = strict.imaps(account)
    try:
        caps = capabilities(c)
        assert "STARTTLS" not in caps
        assert c.select("INBOX")[0] == "OK"
    finally:
        c.logout()


def test_authenticate_plain_over_tls(strict, account):
    c = strict.imaps()
    try:
        typ, data = c.authenticate(
            "PLAIN", lambda _challenge: f"\0{account.address}\0{account.password}".encode())
        assert typ == "OK", data
        assert c.state == "AUTH"
        assert c.select("INBOX")[0] == "OK"
    finally:
        c.logout()


def test_authenticate_plain_with_initial_response(strict, account):
    """RFC 4959 SASL-IR: the credentials on the command line, no continuation."""
    r = strict.raw(tls=True)
    try:
        caps = r.ok("CAPABILITY").named("CAPABILITY")[0].upper().split()
        assert b"SASL-IR" in caps
        ir = base64.b64encode(f"\0{account.address}\0{account.password}".encode()).decode()
        resp = r.command(f"AUTHENTICATE PLAIN {ir}")
        assert resp.status == "OK", resp
        assert r.command("SELECT INBOX").status == "OK"
    finally:
        r.close()


def test_wrong_password_gets_authenticationfailed(strict, account):
    r = strict.raw(tls=True)
    try:
        resp = r.command(f"LOGIN {quote(account.address)} {quote('not-the-password')}")
        assert resp.status == "NO"
        assert resp.code == "AUTHENTICATIONFAILED", resp  # RFC 5530
        # Unknown users look exactly the same.
        resp = r.command(f"LOGIN {quote('nobody@example.test')} {quote(PASSWORD)}")
        assert resp.status == "NO" and resp.code == "AUTHENTICATIONFAILED", resp
        # A correct login still works on the same connection.
        assert r.command(f"LOGIN {quote(account.address)} {quote(account.password)}").status == "OK"
    finally:
        r.close()


def test_authenticate_cancelled_with_star(strict):
    r = strict.raw(tls=True)
    try:
        r.send(b"A1 AUTHENTICATE PLAIN\r\n")
        cont = r.read_response()
        assert cont.startswith(b"+"), cont
        r.send(b"*\r\n")  # RFC 9051 §6.2.2: the client cancels
        resp = r.read_until_tagged("A1")
        assert resp.status == "BAD", resp
        assert r.command("NOOP").status == "OK"
    finally:
        r.close()


def test_unknown_sasl_mechanism(strict):
    r = strict.raw(tls=True)
    try:
        resp = r.command("AUTHENTICATE X-NOT-A-MECHANISM")
        assert resp.status in ("NO", "BAD"), resp
        assert r.command("NOOP").status == "OK"
    finally:
        r.close()


def test_login_with_plaintext_allowed(server, user):
    """With allow_plaintext = true, LOGIN works on the cleartext port and the capability
    list offers AUTH=PLAIN without LOGINDISABLED."""
    c = server.imap()
    try:
        caps = capabilities(c)
        assert "LOGINDISABLED" not in caps
        assert "AUTH=PLAIN" in caps
        assert c.login(user.address, user.password)[0] == "OK"
    finally:
        c.logout()


def test_logout_sends_bye(server, user):
    r = server.raw(user)
    try:
        resp = r.command("LOGOUT")
        assert resp.status == "OK"
        assert any(u.startswith(b"BYE") for u in resp.untagged), resp
    finally:
        r.close()


def test_imaplib_login_is_case_insensitive_for_address(server, user):
    c = server.imap()
    try:
        assert c.login(user.address.upper(), user.password)[0] == "OK"
    finally:
        c.logout()


def test_starttls_discards_pipelined_plaintext(strict, account):
    """RFC 9051 §6.2.1 / RFC 2595 §3.1: commands sent after STARTTLS in the same plaintext
    packet must be discarded, not executed inside the TLS session (command injection)."""
    import socket

    from harness import unverified_tls_context

    sock = socket.create_connection(("127.0.0.1", strict.port("imap")), timeout=60)
    try:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"* OK")
        sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        line = f.readline()
        while line.startswith(b"* "):
            line = f.readline()
        assert line.startswith(b"a OK"), line
        tls = unverified_tls_context().wrap_socket(sock, server_hostname="localhost")
        tls.sendall(b"c NOOP\r\n")
        tf = tls.makefile("rb")
        first_tagged = tf.readline()
        while first_tagged.startswith(b"* "):
            first_tagged = tf.readline()
        assert first_tagged.startswith(b"c OK"), first_tagged
        tls.close()
    finally:
        sock.close()
