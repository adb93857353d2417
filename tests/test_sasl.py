"""One SASL layer for IMAP, POP3 and submission (tern-sasl): SCRAM-SHA-256 (RFC 5802 /
RFC 7677) for internal accounts, with real clients (Cyrus SASL's imtest / pop3test /
smtptest, libscram) and with a hand-written client that checks the server's signature;
mechanism lists (no -PLUS: no channel binding; no GSSAPI without [kerberos])."""

import base64
import hashlib
import hmac
import imaplib
import os
import smtplib
import subprocess

import pytest

from harness import DOMAIN, IO_TIMEOUT, capabilities

CYRUS = "/usr/lib/cyrus/bin"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from harness import TernServer

    s = TernServer(str(tmp_path_factory.mktemp("sasl")),
                   services=("imap", "pop3", "submission")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def user(server):
    return server.add_user(password="Pencil#Scram1")


def cyrus_client(tool, port, *args, script=""):
    """Runs imtest/pop3test/smtptest against 127.0.0.1 (as "localhost"); returns its output."""
    r = subprocess.run([os.path.join(CYRUS, tool), "-p", str(port), *args, "localhost"],
                       input=script.encode(), capture_output=True, timeout=IO_TIMEOUT)
    return (r.stdout + r.stderr).decode(errors="replace")


class ScramClient:
    """A SCRAM-SHA-256 client (RFC 5802 §3), checking the server's final signature."""

    def __init__(self, user, password, authzid=""):
        self.user, self.password = user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.gs2 = f"n,{'a=' + authzid if authzid else ''},"
        self.bare = f"n={user},r={self.nonce}"
        self.server_ok = False
        self.step = 0

    def __call__(self, challenge):
        self.step += 1
        if self.step == 1:
            return (self.gs2 + self.bare).encode()
        if self.step == 2:
            server_first = challenge.decode()
            fields = dict(f.split("=", 1) for f in server_first.split(","))
            assert fields["r"].startswith(self.nonce) and len(fields["r"]) > len(self.nonce)
            salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                         base64.b64decode(fields["s"]), int(fields["i"]))
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            stored = hashlib.sha256(client_key).digest()
            without = f"c={base64.b64encode(self.gs2.encode()).decode()},r={fields['r']}"
            self.auth_message = f"{self.bare},{server_first},{without}".encode()
            sig = hmac.new(stored, self.auth_message, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(client_key, sig))
            self.server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            return f"{without},p={base64.b64encode(proof).decode()}".encode()
        expected = hmac.new(self.server_key, self.auth_message, "sha256").digest()
        assert challenge.decode() == "v=" + base64.b64encode(expected).decode()
        self.server_ok = True
        return b""


def test_mechanisms_offered_everywhere(server):
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        caps = capabilities(c)
        assert {"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=SCRAM-SHA-256"} <= caps
        assert "AUTH=SCRAM-SHA-256-PLUS" not in caps and "AUTH=GSSAPI" not in caps
    finally:
        c.shutdown()
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.test")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    out = cyrus_client("pop3test", server.port("pop3"), "-m", "PLAIN", "-a", "nobody",
                       "-w", "x", script="QUIT\r\n")
    assert "SASL PLAIN LOGIN SCRAM-SHA-256" in out, out


def test_scram_imap_with_a_real_client(server, user):
    out = cyrus_client("imtest", server.port("imap"), "-m", "SCRAM-SHA-256",
                       "-a", user.address, "-w", user.password,
                       script="a1 SELECT INBOX\r\na2 LOGOUT\r\n")
    assert "Authenticated." in out and "a1 OK" in out, out
    # The real client checked the server's signature (libscram fails otherwise).
    out = cyrus_client("imtest", server.port("imap"), "-m", "SCRAM-SHA-256",
                       "-a", user.address, "-w", "wrong-password", script="a2 LOGOUT\r\n")
    assert "Authenticated." not in out and "AUTHENTICATIONFAILED" in out, out


def test_scram_imap_handwritten_client_checks_the_server(server, user):
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        client = ScramClient(user.address, user.password)
        typ, _ = c.authenticate("SCRAM-SHA-256", client)
        assert typ == "OK" and client.server_ok
        assert c.select("INBOX")[0] == "OK"
    finally:
        c.logout()
    # authzid naming the same account is fine; another account is refused.
    other = server.add_user(password="Other#Pass1")
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHORIZATIONFAILED"):
            c.authenticate("SCRAM-SHA-256",
                           ScramClient(user.address, user.password, authzid=other.address))
    finally:
        c.logout()


def test_scram_submission_and_pop3(server, user):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.test")
        client = ScramClient(user.address, user.password)
        code, _ = s.auth("SCRAM-SHA-256", lambda ch=None: client(ch or b"").decode(),
                         initial_response_ok=False)
        assert code == 235 and client.server_ok
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.test")
        client = ScramClient(user.address, "not-it")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("SCRAM-SHA-256", lambda ch=None: client(ch or b"").decode(),
                   initial_response_ok=False)
        assert e.value.smtp_code == 535
    out = cyrus_client("pop3test", server.port("pop3"), "-m", "SCRAM-SHA-256",
                       "-a", user.address, "-w", user.password, script="STAT\r\nQUIT\r\n")
    assert "Authenticated." in out and "+OK 0 0" in out, out
    out = cyrus_client("smtptest", server.port("submission"), "-m", "SCRAM-SHA-256",
                       "-a", user.address, "-w", user.password, script="QUIT\r\n")
    assert "Authenticated." in out, out


def test_scram_unknown_user_looks_like_any_other(server):
    """An unknown user gets a salt and iterations too, and fails at the proof."""
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            c.authenticate("SCRAM-SHA-256", ScramClient(f"ghost@{DOMAIN}", "whatever"))
    finally:
        c.logout()


def test_passwd_replaces_the_scram_secret(server):
    u = server.add_user(password="First#Pass1")
    server.cli("user", "passwd", u.address, "--password-stdin", input="Second#Pass2\n")
    for password, ok in (("First#Pass1", False), ("Second#Pass2", True)):
        out = cyrus_client("imtest", server.port("imap"), "-m", "SCRAM-SHA-256",
                           "-a", u.address, "-w", password, script="a2 LOGOUT\r\n")
        assert ("Authenticated." in out) == ok, out
