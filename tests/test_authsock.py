"""The Dovecot-compatible SASL auth socket (crates/tern-authsock): Tern answering the SASL
questions of a Postfix kept in front.

Clients nobody here wrote: Dovecot's own (`doveadm auth test -a SOCKET`, through Dovecot's
auth client library) and a real Postfix smtpd (`smtpd_sasl_type = dovecot`, private
instance from postfix_support.py) authenticating SMTP AUTH from smtplib, over the Unix socket
and over TCP. A raw-protocol client covers what those clients never send: unknown
mechanisms, malformed and over-long lines, a client leaving mid-exchange, pipelining."""

import base64
import os
import re
import shutil
import socket
import smtplib
import subprocess
import uuid

import pytest

import postfix_support
from harness import DOMAIN, IO_TIMEOUT, TernServer, unverified_tls_context
from test_sasl import ScramClient

DOVEADM = "/usr/bin/doveadm"
POSTFIX_MISSING = postfix_support.available()


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def plain(user, password, authz=""):
    return b64(f"{authz}\0{user}\0{password}")


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    """A private Postfix's folder, not started: Tern's socket goes into its queue, as
    `private/auth` (None when no Postfix can run here)."""
    if POSTFIX_MISSING:
        yield None
        return
    pf = postfix_support.PrivatePostfix({})
    yield pf
    pf.remove()


@pytest.fixture(scope="module")
def server(tmp_path_factory, skeleton):
    base = str(tmp_path_factory.mktemp("tern"))
    if skeleton is not None:
        path = os.path.join(skeleton.queue_dir, "private", "auth")
        owner = 'socket_owner = "postfix"\n'
    else:
        path = os.path.join(base, "auth")
        owner = ""
    s = TernServer(base, services=("auth",), allow_plaintext=False,
                   auth_config=f'socket = "{path}"\nsocket_mode = "0660"\n{owner}')
    s.socket_path = path
    s.start()
    yield s
    s.stop()


@pytest.fixture
def user(server):
    return server.add_user()


def fresh_rip():
    """A remote address of its own, so failure delays of one test do not add up in another."""
    n = uuid.uuid4().int
    return f"127.{(n >> 16) % 250 + 1}.{(n >> 8) % 256}.{n % 250 + 1}"


# ---- a raw client -----------------------------------------------------------------------

class AuthClient:
    """The client side of the auth protocol on a socket, line by line."""

    def __init__(self, sock):
        sock.settimeout(IO_TIMEOUT)
        self.sock = sock
        self.buf = b""

    @classmethod
    def unix(cls, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return cls(s)

    @classmethod
    def tcp(cls, port):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT))

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def line(self):
        """The next line without its LF, or None once the server closed."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def handshake(self):
        """Reads the server's handshake, sends the client's; returns the server's lines."""
        lines = []
        while True:
            line = self.line()
            assert line is not None, f"closed during the handshake after {lines}"
            lines.append(line)
            if line == "DONE":
                break
        self.send(f"VERSION\t1\t0\nCPID\t{os.getpid()}\n")
        return lines

    def closed(self):
        return self.line() is None

    def close(self):
        self.sock.close()


@pytest.fixture
def client(server):
    c = AuthClient.unix(server.socket_path)
    c.handshake()
    yield c
    c.close()


# ---- the handshake ----------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_handshake(server, transport):
    c = (AuthClient.unix(server.socket_path) if transport == "unix"
         else AuthClient.tcp(server.port("auth")))
    lines = c.handshake()
    c.close()
    assert lines[0] == "VERSION\t1\t2"
    # MECH lines come before SPID (Postfix checks that, to tell this socket from Dovecot's
    # auth-master one); PLAIN and LOGIN are plaintext, so Postfix offers them after
    # STARTTLS only; no GSSAPI without [kerberos].
    assert lines[1:4] == ["MECH\tPLAIN\tplaintext", "MECH\tLOGIN\tplaintext",
                          "MECH\tSCRAM-SHA-256\tmutual-auth"]
    assert lines[4] == f"SPID\t{server.proc.pid}"
    assert re.fullmatch(r"CUID\t\d+", lines[5])
    assert re.fullmatch(r"COOKIE\t[0-9a-f]{32}", lines[6])
    assert lines[7:] == ["DONE"]


def test_socket_file_mode_and_owner(server):
    st = os.stat(server.socket_path)
    assert oct(st.st_mode & 0o777) == "0o660"
    if not POSTFIX_MISSING:
        import pwd
        assert st.st_uid == pwd.getpwnam("postfix").pw_uid


# ---- Dovecot's client: doveadm auth test -------------------------------------------------

def doveadm(server, tmp_path, user, password, *info):
    if not os.path.exists(DOVEADM):
        pytest.skip("doveadm not installed (apt-get install dovecot-core)")
    conf = tmp_path / "dovecot.conf"
    conf.write_text("")  # nothing from /etc/dovecot: -a names the socket
    args = [DOVEADM, "-c", str(conf), "auth", "test", "-a", server.socket_path]
    for i in info:
        args += ["-x", i]
    r = subprocess.run(args + [user, password], capture_output=True, timeout=IO_TIMEOUT)
    return r.returncode, r.stdout.decode(errors="replace")


def test_doveadm_auth_test_succeeds(server, user, tmp_path):
    rc, out = doveadm(server, tmp_path, user.address, user.password, "secured")
    assert rc == 0, out
    assert f"passdb: {user.address} auth succeeded" in out
    assert f"user={user.address}" in out


def test_doveadm_any_spelling_gives_the_account_name(server, user, tmp_path):
    rc, out = doveadm(server, tmp_path, user.address.upper(), user.password, "secured")
    assert rc == 0, out
    assert f"user={user.address}" in out


def test_doveadm_wrong_password_and_unknown_user_look_alike(server, user, tmp_path):
    rc, wrong = doveadm(server, tmp_path, user.address, "not the password", "secured",
                        f"rip={fresh_rip()}")
    assert rc != 0
    assert f"passdb: {user.address} auth failed" in wrong
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    rc2, unknown = doveadm(server, tmp_path, nobody, "not the password", "secured",
                           f"rip={fresh_rip()}")
    assert rc2 == rc
    assert unknown.replace(nobody, user.address) == wrong
    # The reason is in Tern's log, the password is not.
    log = open(server.log_path, encoding="utf-8", errors="replace").read()
    assert "auth socket: authentication failed" in log
    assert "not the password" not in log


def test_doveadm_plaintext_without_secured_is_refused(server, user, tmp_path):
    rc, out = doveadm(server, tmp_path, user.address, user.password)
    assert rc != 0
    assert "reason=Plaintext authentication disabled" in out


# ---- a real Postfix in front ---------------------------------------------------------------

def sender_login(users):
    """The SASL user name Tern returns decides which senders Postfix allows."""
    if not users:
        return {}
    return {"smtpd_sender_login_maps": "inline:{ %s }" % ", ".join(f"{u}={u}" for u in users),
            "smtpd_sender_restrictions": "reject_sender_login_mismatch"}


def start_postfix(server, sasl_path, users=(), base=None, **extra):
    """A private Postfix whose smtpd asks Tern; its certificate is Tern's (copied)."""
    pf = postfix_support.PrivatePostfix({}, base=base)
    for name in ("cert.pem", "key.pem"):
        shutil.copy(os.path.join(server.data_dir, "tls", name), os.path.join(pf.etc, name))
    pf = postfix_support.PrivatePostfix({
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": sasl_path,
        "smtpd_tls_security_level": "may",
        "smtpd_tls_auth_only": "yes",
        "smtpd_tls_cert_file": os.path.join(pf.etc, "cert.pem"),
        "smtpd_tls_key_file": os.path.join(pf.etc, "key.pem"),
        "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
        **sender_login(users),
        **extra,
    }, base=pf.base)
    return pf.start()


@pytest.fixture(params=["unix", "inet"])
def postfix(request, server, skeleton):
    """A private Postfix asking Tern over `private/auth` (relative to its queue directory,
    where smtpd runs) or over `inet:127.0.0.1:PORT`."""
    if POSTFIX_MISSING:
        pytest.skip(POSTFIX_MISSING)
    u = server.add_user()
    path = "private/auth" if request.param == "unix" else f"inet:127.0.0.1:{server.port('auth')}"
    pf = start_postfix(server, path, [u.address], base=skeleton.base)
    pf.user = u
    yield pf
    pf.stop()


def smtp_tls(pf):
    s = smtplib.SMTP("127.0.0.1", pf.port, timeout=IO_TIMEOUT)
    s.ehlo()
    s.starttls(context=unverified_tls_context())
    s.ehlo()
    return s


def test_postfix_submission_authenticates_against_tern(postfix):
    u = postfix.user
    s = smtplib.SMTP("127.0.0.1", postfix.port, timeout=IO_TIMEOUT)
    s.ehlo()
    # smtpd_tls_auth_only: no AUTH before STARTTLS; after it, Tern's mechanisms.
    assert not s.has_extn("auth")
    s.starttls(context=unverified_tls_context())
    s.ehlo()
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    # A wrong password: 535, and nothing about why.
    s.user, s.password = u.address, "wrong password"
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.auth("PLAIN", s.auth_plain)
    assert e.value.smtp_code == 535
    assert b"wrong" not in e.value.smtp_error
    # The right one: 235, and Postfix now knows the user as Tern's account name.
    code, _ = s.login(u.address, u.password)
    assert code == 235
    code, msg = s.mail(f"someone-else@{DOMAIN}")
    code, msg = s.rcpt("friend@remote.test")
    assert code == 553 and f"not owned by user {u.address}".encode() in msg, msg
    s.rset()
    s.mail(u.address)
    code, msg = s.rcpt("friend@remote.test")
    assert code == 250, msg
    code, msg = s.data(b"Subject: via Postfix\r\n\r\nAuthenticated by Tern.\r\n")
    assert code == 250 and b"queued as" in msg, msg
    s.quit()
    assert f"sasl_method=PLAIN, sasl_username={u.address}" in postfix.log()


def test_postfix_login_mechanism_through_cont(postfix):
    u = postfix.user
    s = smtp_tls(postfix)
    s.user, s.password = u.address, u.password
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    s.quit()


def test_postfix_scram_gets_the_server_signature(postfix):
    """SCRAM's final `v=` reaches the SMTP client as a 334 challenge: Tern sends it as a
    CONT (Postfix would drop data carried in OK), the client answers empty, then 235."""
    u = postfix.user
    s = smtp_tls(postfix)
    scram = ScramClient(u.address, u.password)
    code, resp = s.docmd("AUTH", "SCRAM-SHA-256 " + b64(scram(None)))
    assert code == 334, resp
    code, resp = s.docmd(b64(scram(base64.b64decode(resp))))
    assert code == 334, resp
    code, resp = s.docmd(b64(scram(base64.b64decode(resp))) or "")
    assert scram.server_ok
    assert code == 235, resp
    s.quit()


def test_postfix_without_the_socket_cannot_authenticate(server):
    """The checks above are not vacuous: with no auth socket at its path, Postfix's smtpd
    gives up on SASL (it offers no AUTH, or ends the session), so nobody logs in."""
    if POSTFIX_MISSING:
        pytest.skip(POSTFIX_MISSING)
    pf = start_postfix(server, "private/nothing-here")
    try:
        with pytest.raises((smtplib.SMTPNotSupportedError, smtplib.SMTPServerDisconnected)):
            s = smtp_tls(pf)
            s.login("anyone@example.test", "any password")
        assert "private/nothing-here" in pf.log()
    finally:
        pf.stop()
        pf.remove()


def test_postfix_gssapi_with_a_kerberos_ticket(tmp_path_factory):
    """GSSAPI through Postfix: Tern offers it with [kerberos], Postfix relays the context
    tokens as CONT lines, Cyrus SASL's smtptest logs in with carol's ticket."""
    if POSTFIX_MISSING:
        pytest.skip(POSTFIX_MISSING)
    smtptest = "/usr/lib/cyrus/bin/smtptest"
    if not os.path.exists(smtptest):
        pytest.skip("smtptest not installed (cyrus-clients)")
    from peers import peer
    from test_kerberos import CAROL_PW, kerberos_config
    kdc = peer("mitkdc")
    s = TernServer(str(tmp_path_factory.mktemp("krb-authsock")), services=("auth",),
                   extra_config=kerberos_config(kdc, "tern.keytab")).start()
    pf = None
    try:
        s.cli("user", "add", f"carol@{DOMAIN}")
        env = dict(os.environ, KRB5_CONFIG=os.path.join(kdc, "krb5.conf"),
                   KRB5CCNAME=f"FILE:{s.dir}/ccache")
        subprocess.run(["kinit", "carol@MIT.TEST"], input=CAROL_PW + "\n", text=True,
                       env=env, check=True, capture_output=True, timeout=IO_TIMEOUT)
        # GSSAPI sends no password: Postfix may offer it before TLS.
        pf = start_postfix(s, f"inet:127.0.0.1:{s.port('auth')}", smtpd_tls_auth_only="no")
        r = subprocess.run([smtptest, "-m", "GSSAPI", "-p", str(pf.port), "localhost"],
                           input=b"QUIT\r\n", env=env, capture_output=True, timeout=IO_TIMEOUT)
        out = (r.stdout + r.stderr).decode(errors="replace")
        assert "GSSAPI" in out and "Authenticated." in out, out + pf.log()
        log = s.log_tail(100)
        assert "mechanism=GSSAPI" in log and f"account=carol@{DOMAIN}" in log, log
    finally:
        if pf is not None:
            pf.stop()
            pf.remove()
        s.stop()


# ---- the raw protocol's edge cases -------------------------------------------------------

def test_unknown_mechanism(client):
    client.send("AUTH\t1\tCRAM-MD5\tservice=smtp\tsecured\n")
    assert client.line() == "FAIL\t1\treason=Unsupported authentication mechanism"
    client.send("AUTH\t2\tXOAUTH2\tservice=smtp\tsecured\tresp=AAAA\n")
    assert client.line() == "FAIL\t2\treason=Unsupported authentication mechanism"


def test_plaintext_needs_the_secured_flag(client, user):
    client.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip={fresh_rip()}\t"
                f"resp={plain(user.address, user.password)}\n")
    assert client.line() == "FAIL\t1\treason=Plaintext authentication disabled"


def test_plain_success_names_the_account(client, user):
    client.send(f"AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp={plain(user.address, user.password)}\n")
    assert client.line() == f"OK\t1\tuser={user.address}"


def test_login_cont_round_trip(client, user):
    client.send("AUTH\t7\tLOGIN\tservice=smtp\tsecured\n")
    assert client.line() == f"CONT\t7\t{b64('Username:')}"
    client.send(f"CONT\t7\t{b64(user.address)}\n")
    assert client.line() == f"CONT\t7\t{b64('Password:')}"
    client.send(f"CONT\t7\t{b64(user.password)}\n")
    assert client.line() == f"OK\t7\tuser={user.address}"


def test_wrong_password_does_not_reveal_whether_the_user_exists(client, user):
    client.send(f"AUTH\t1\tPLAIN\tservice=smtp\tsecured\trip={fresh_rip()}\t"
                f"resp={plain(user.address, 'bad')}\n")
    wrong = client.line()
    client.send(f"AUTH\t2\tPLAIN\tservice=smtp\tsecured\trip={fresh_rip()}\t"
                f"resp={plain('ghost-' + uuid.uuid4().hex[:6] + '@' + DOMAIN, 'bad')}\n")
    unknown = client.line()
    assert wrong == "FAIL\t1"
    assert unknown == "FAIL\t2"


def test_scram_final_data_comes_as_cont(client, user):
    scram = ScramClient(user.address, user.password)
    client.send(f"AUTH\t3\tSCRAM-SHA-256\tservice=smtp\tresp={b64(scram(None))}\n")
    first = client.line().split("\t")
    assert first[:2] == ["CONT", "3"]
    client.send(f"CONT\t3\t{b64(scram(base64.b64decode(first[2])))}\n")
    final = client.line().split("\t")
    assert final[:2] == ["CONT", "3"]
    assert scram(base64.b64decode(final[2])) == b""
    assert scram.server_ok
    client.send("CONT\t3\t\n")
    assert client.line() == f"OK\t3\tuser={user.address}"


def test_malformed_requests_get_fail_and_the_connection_goes_on(client, user):
    for line, reply in [
        ("AUTH\t1\tPLAIN\tsecured\n", "FAIL\t1\treason=Missing service"),
        ("AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp=@@@\n",
         "FAIL\t2\treason=Invalid base64 data in initial response"),
        (f"AUTH\t3\tPLAIN\tservice=smtp\tsecured\tresp={b64('no-nuls')}\n",
         "FAIL\t3\treason=Malformed PLAIN response"),
        ("CONT\t4\n", "FAIL\t4\treason=Malformed request"),
        ("CONT\t5\tAAAA\n", "FAIL\t5\treason=Unknown authentication request"),
    ]:
        client.send(line)
        assert client.line() == reply, line
    client.send(f"AUTH\t6\tPLAIN\tservice=smtp\tsecured\tresp={plain(user.address, user.password)}\n")
    assert client.line() == f"OK\t6\tuser={user.address}"


@pytest.mark.parametrize("line", [
    "HELLO\tworld\n",
    "AUTH\tnot-a-number\tPLAIN\tservice=smtp\n",
    "VERSION\t1\t0\n",
    "\n",
])
def test_lines_naming_no_request_close_the_connection(server, line):
    c = AuthClient.unix(server.socket_path)
    c.handshake()
    c.send(line)
    assert c.closed()
    c.close()


@pytest.mark.parametrize("first", ["VERSION\t2\t0\n", "AUTH\t1\tPLAIN\tservice=smtp\n"])
def test_a_broken_handshake_closes_the_connection(server, first):
    c = AuthClient.unix(server.socket_path)
    c.send(first)
    while c.line() is not None:
        pass
    c.close()


def test_over_long_lines(server, user):
    c = AuthClient.unix(server.socket_path)
    c.handshake()
    c.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=" + "A" * 200_000 + "\n")
    assert c.line() == "FAIL\t1\treason=Line too long"
    c.send(f"AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp={plain(user.address, user.password)}\n")
    assert c.line() == f"OK\t2\tuser={user.address}"
    c.send("X" * 200_000 + "\n")
    assert c.closed()
    c.close()


def test_pipelined_requests_are_each_answered(client, user):
    good = plain(user.address, user.password)
    client.send(f"AUTH\t10\tLOGIN\tservice=smtp\tsecured\n"
                f"AUTH\t11\tPLAIN\tservice=smtp\tsecured\tresp={good}\n"
                f"AUTH\t12\tCRAM-MD5\tservice=smtp\tsecured\n")
    replies = {client.line() for _ in range(3)}
    assert replies == {f"CONT\t10\t{b64('Username:')}", f"OK\t11\tuser={user.address}",
                       "FAIL\t12\treason=Unsupported authentication mechanism"}


def test_a_client_leaving_mid_exchange(server, user):
    c = AuthClient.unix(server.socket_path)
    c.handshake()
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured\n")
    assert c.line().startswith("CONT\t1\t")
    c.send("CONT\t1\tZnJl")  # half a line, then gone
    c.close()
    c = AuthClient.tcp(server.port("auth"))
    c.handshake()
    c.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\n")
    c.close()
    # The server is still there and serves the next client.
    assert server.proc.poll() is None
    c = AuthClient.unix(server.socket_path)
    c.handshake()
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp={plain(user.address, user.password)}\n")
    assert c.line() == f"OK\t1\tuser={user.address}"
    c.close()


def test_check_config_reports_socket_key_errors(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path}/data"\n'
        "[listen]\nauth = [\"127.0.0.1:0\"]\n"
        "[auth]\n"
        f'socket = "{tmp_path}/missing-dir/auth"\n'
        'socket_mode = "0999"\n'
        'socket_owner = "no-such-user-xyz"\n'
        'socket_group = "no-such-group-xyz"\n'
    )
    err, rc = check_config(cfg)
    assert rc != 0
    assert f"{cfg}: auth.socket: directory {tmp_path}/missing-dir does not exist" in err
    assert f"{cfg}: auth.socket_mode: " in err
    assert f"{cfg}: auth.socket_owner: " in err
    assert f"{cfg}: auth.socket_group: " in err
    cfg.write_text('[auth]\nsocket_mode = "0600"\n')
    err, rc = check_config(cfg)
    assert rc != 0
    assert f"{cfg}: auth.socket_mode: only used with auth.socket" in err


def check_config(path):
    from harness import TERN_BIN
    r = subprocess.run([TERN_BIN, "check-config", "--config", str(path)], capture_output=True,
                       timeout=IO_TIMEOUT)
    return r.stdout.decode() + r.stderr.decode(), r.returncode
