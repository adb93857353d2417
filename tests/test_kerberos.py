"""Kerberos against the real MIT KDC (`peer("mitkdc")`: realm MIT.TEST, carol / Carol#Pass1):
password logins over IMAP, POP3 and submission checked by an AS exchange and verified
through the service keytab; a keytab the KDC never issued (the spoofed-KDC case) refuses
every password; SASL GSSAPI with a ticket from `kinit` through Cyrus SASL's real clients
(imtest, pop3test, smtptest)."""

import imaplib
import os
import poplib
import smtplib
import subprocess

import pytest

from harness import DOMAIN, IO_TIMEOUT
from peers import peer

CYRUS = "/usr/lib/cyrus/bin"
CAROL_PW = "Carol#Pass1"


def kerberos_config(kdc, keytab):
    return (
        "[kerberos]\n"
        'realm = "MIT.TEST"\n'
        'kdcs = ["127.0.0.1:10088"]\n'
        f'keytab = "{os.path.join(kdc, keytab)}"\n'
        'service_principals = ["imap/mail.mit.test"]\n'
    )


def start(tmp_path_factory, name, keytab):
    from harness import TernServer

    kdc = peer("mitkdc")
    s = TernServer(str(tmp_path_factory.mktemp(name)),
                   services=("imap", "pop3", "submission"),
                   extra_config=kerberos_config(kdc, keytab)).start()
    # An internal account without a password of its own: Kerberos-only.
    s.cli("user", "add", f"carol@{DOMAIN}")
    return s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start(tmp_path_factory, "krb", "tern.keytab")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def spoofed(tmp_path_factory):
    """A server whose keytab has a key the KDC never had for imap/mail.mit.test."""
    s = start(tmp_path_factory, "krb-wrong", "wrong.keytab")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ticket(tmp_path_factory):
    """carol's TGT from kinit, in a file cache of this test module."""
    kdc = peer("mitkdc")
    cache = os.path.join(str(tmp_path_factory.mktemp("ccache")), "cc")
    env = dict(os.environ, KRB5_CONFIG=os.path.join(kdc, "krb5.conf"),
               KRB5CCNAME=f"FILE:{cache}")
    subprocess.run(["kinit", "carol@MIT.TEST"], input=CAROL_PW + "\n", text=True,
                   env=env, check=True, capture_output=True, timeout=IO_TIMEOUT)
    return env


def imap_login(server, user, password):
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        c.login(user, password)
        return c.select("INBOX")[0]
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try:
            c.logout()
        except Exception:
            pass


def smtp_login(server, user, password):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.test")
        try:
            return s.login(user, password)[0]
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code


def pop3_login(server, user, password):
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=IO_TIMEOUT)
    try:
        p.user(user)
        return p.pass_(password).split()[0]
    except poplib.error_proto as e:
        return e.args[0].split()[0]
    finally:
        p.quit()


def test_password_login_checked_by_the_kdc(server):
    assert imap_login(server, "carol", CAROL_PW) == "OK"
    assert imap_login(server, f"carol@{DOMAIN}", CAROL_PW) == "OK"
    assert smtp_login(server, "carol", CAROL_PW) == 235
    assert pop3_login(server, "carol", CAROL_PW) == b"+OK"


def test_wrong_password_refused(server):
    assert "AUTHENTICATIONFAILED" in imap_login(server, "carol", "Carol#Pass2")
    assert smtp_login(server, "carol", "wrong") == 535
    assert pop3_login(server, "carol", "wrong") == b"-ERR"
    # Nobody by that name in the directory: the KDC is not even asked.
    assert "AUTHENTICATIONFAILED" in imap_login(server, "mallory", CAROL_PW)


def test_spoofed_kdc_is_refused(spoofed):
    """The KDC's reply is only believed if it comes with a service ticket our keytab
    opens: with a key the KDC does not know, even the right password fails."""
    assert "AUTHENTICATIONFAILED" in imap_login(spoofed, "carol", CAROL_PW)
    assert smtp_login(spoofed, "carol", CAROL_PW) == 535
    assert "not verified by the keytab" in spoofed.log_tail(200)


def cyrus(tool, port, env, script):
    r = subprocess.run([os.path.join(CYRUS, tool), "-m", "GSSAPI", "-p", str(port),
                        "localhost"], input=script.encode(), env=env,
                       capture_output=True, timeout=IO_TIMEOUT)
    return (r.stdout + r.stderr).decode(errors="replace")


def test_gssapi_imap_with_a_kinit_ticket(server, ticket):
    caps = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        assert "AUTH=GSSAPI" in caps.capabilities
    finally:
        caps.shutdown()
    out = cyrus("imtest", server.port("imap"), ticket, "a1 SELECT INBOX\r\na2 LOGOUT\r\n")
    assert "Authenticated." in out and "a1 OK" in out, out
    assert f"IMAP login peer=127.0.0.1" in server.log_tail(400)
    assert f"user=carol@{DOMAIN}" in server.log_tail(400)


def test_gssapi_pop3_and_submission(server, ticket):
    out = cyrus("pop3test", server.port("pop3"), ticket, "STAT\r\nQUIT\r\n")
    assert "Authenticated." in out and "+OK 0 0" in out, out
    out = cyrus("smtptest", server.port("submission"), ticket, "QUIT\r\n")
    assert "Authenticated." in out, out


def test_gssapi_without_a_ticket_fails(server, tmp_path):
    env = dict(os.environ, KRB5_CONFIG=os.path.join(peer("mitkdc"), "krb5.conf"),
               KRB5CCNAME=f"FILE:{tmp_path}/empty")
    out = cyrus("imtest", server.port("imap"), env, "a2 LOGOUT\r\n")
    assert "Authenticated." not in out, out


def test_gssapi_ticket_for_a_service_we_have_no_key_for(spoofed, ticket):
    """A ticket for imap/localhost (not in wrong.keytab) cannot be accepted."""
    out = cyrus("imtest", spoofed.port("imap"), ticket, "a2 LOGOUT\r\n")
    assert "Authenticated." not in out, out
