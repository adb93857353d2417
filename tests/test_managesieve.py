"""ManageSieve (RFC 5804) against the real `tern serve`, with a small client written here
(it speaks the wire exactly: quoted strings, {N+} literals, response codes), with
`sieve-connect` (Debian's Perl client) and with Cyrus SASL's `sivtest` (SCRAM-SHA-256, and
GSSAPI with a ticket from `kinit` against the real MIT KDC peer).

AUTHENTICATE goes through tern-sasl, the SASL layer IMAP, POP3 and submission share: PLAIN
and LOGIN only where plaintext is allowed, SCRAM-SHA-256 (internal accounts) and GSSAPI
(`[kerberos]`) everywhere; SCRAM's final server data comes in `OK (SASL "...")`."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import ssl
import subprocess

import pytest

from harness import DOMAIN, IO_TIMEOUT, unverified_tls_context

SIVTEST = "/usr/lib/cyrus/bin/sivtest"

GOOD = 'require ["fileinto"];\r\nif header :contains "subject" "x" { fileinto "Work"; }\r\n'
BAD = 'require ["fileinto"];\r\n\r\nif header :contains "subject" "x" {\r\n  fileinto "Work"\r\n}\r\n'


class Sieve:
    """A ManageSieve client: each response is (status, code, text, lines)."""

    def __init__(self, port, tls_wrap=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.buf = b""
        self.greeting = self.response()

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r[0] == "OK", r
        self.sock = unverified_tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        return self.response()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self, first=None):
        """Reads up to the status line; `first`: a line already read."""
        lines = []
        while True:
            line, first = (first, None) if first is not None else (self.line(), None)
            m = re.match(rb"^(OK|NO|BYE)( \(([^)]*)\))?( (.*))?$", line)
            if m:
                text = m.group(5) or b""
                lit = re.match(rb"^\{(\d+)\}$", text)
                if lit:
                    text = self.exact(int(lit.group(1)))
                    self.line()
                elif text.startswith(b'"'):
                    text = text[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
                code = m.group(3).decode() if m.group(3) else None
                return (m.group(1).decode(), code, text.decode(), lines)
            lit = re.match(rb"^\{(\d+)\}$", line)
            if lit:
                lines.append(self.exact(int(lit.group(1))).decode())
                self.line()  # the end of the line the literal is on
                continue
            lines.append(line.decode())

    def cmd(self, *parts):
        self.send(" ".join(parts) + "\r\n")
        return self.response()

    def literal_cmd(self, head, content):
        data = content.encode() if isinstance(content, str) else content
        self.send(head.encode() + b" {%d+}\r\n" % len(data) + data + b"\r\n")
        return self.response()

    def challenge(self, line=None):
        """A server SASL challenge (a quoted string or a literal of base64), decoded."""
        line = self.line() if line is None else line
        lit = re.match(rb"^\{(\d+)\}$", line)
        if lit:
            data = self.exact(int(lit.group(1)))
            assert self.line() == b"", "a challenge is alone on its line"
        else:
            assert line.startswith(b'"') and line.endswith(b'"'), line
            data = line[1:-1]
        return base64.b64decode(data, validate=True)

    def authenticate(self, mechanism, step, initial=None):
        """AUTHENTICATE with `step(challenge) -> response` for each challenge; `initial`
        (bytes) goes with the command. Returns the final response."""
        cmd = f'AUTHENTICATE "{mechanism}"'
        if initial is not None:
            cmd += f' "{base64.b64encode(initial).decode()}"'
        self.send(cmd + "\r\n")
        while True:
            line = self.line()
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return self.response(first=line)
            answer = step(self.challenge(line))
            self.send(b'"' + base64.b64encode(answer) + b'"\r\n')

    def login(self, user):
        creds = base64.b64encode(f"\0{user.address}\0{user.password}".encode()).decode()
        return self.cmd("AUTHENTICATE", '"PLAIN"', f'"{creds}"')

    def close(self):
        self.sock.close()


def caps(lines):
    out = {}
    for l in lines:
        m = re.match(r'^"([^"]+)"(?: "(.*)")?$', l)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.fixture(scope="module")
def msserver(tmp_path_factory):
    from harness import TernServer
    s = TernServer(str(tmp_path_factory.mktemp("ms")), services=("managesieve", "imap", "lmtp"),
                   extra_config='[sieve]\nmax_script_size = "2KB"\nmax_scripts = 3\nmax_redirects = 2\n')
    s.start()
    yield s
    s.stop()


@pytest.fixture
def client(msserver):
    c = Sieve(msserver.port("managesieve"))
    yield c
    c.close()


def test_greeting_capabilities(client):
    status, _, _, lines = client.greeting
    assert status == "OK"
    c = caps(lines)
    assert c["IMPLEMENTATION"] == "Tern"
    assert c["VERSION"] == "1.0"
    assert c["MAXREDIRECTS"] == "2"
    assert "STARTTLS" in c
    assert "fileinto" in c["SIEVE"].split() and "vacation" in c["SIEVE"].split()
    assert "PLAIN" in c["SASL"].split()


def test_script_lifecycle(msserver, client):
    user = msserver.add_user()
    assert client.cmd("LISTSCRIPTS")[0] == "NO", "commands need a login"
    assert client.login(user)[0] == "OK"
    assert caps(client.cmd("CAPABILITY")[3])["OWNER"] == user.address

    # Syntax errors come back with their position.
    status, _, text, _ = client.literal_cmd('PUTSCRIPT "bad"', BAD)
    assert status == "NO"
    assert re.match(r"line 5, column \d+: ", text), text
    status, _, text, _ = client.literal_cmd("CHECKSCRIPT", BAD)
    assert status == "NO" and text.startswith("line 5"), text
    assert client.literal_cmd("CHECKSCRIPT", GOOD)[0] == "OK"

    assert client.literal_cmd('PUTSCRIPT "main"', GOOD)[0] == "OK"
    assert client.literal_cmd('PUTSCRIPT "other"', "keep;\r\n")[0] == "OK"
    status, _, _, lines = client.cmd("LISTSCRIPTS")
    assert status == "OK" and sorted(lines) == ['"main"', '"other"']

    assert client.cmd("SETACTIVE", '"nope"')[:2] == ("NO", "NONEXISTENT")
    assert client.cmd("SETACTIVE", '"main"')[0] == "OK"
    assert sorted(client.cmd("LISTSCRIPTS")[3]) == ['"main" ACTIVE', '"other"']
    status, _, _, lines = client.cmd("GETSCRIPT", '"main"')
    assert status == "OK" and lines == [GOOD]
    assert client.cmd("GETSCRIPT", '"zz"')[:2] == ("NO", "NONEXISTENT")

    assert client.cmd("DELETESCRIPT", '"main"')[:2] == ("NO", "ACTIVE")
    assert client.cmd("RENAMESCRIPT", '"main"', '"other"')[:2] == ("NO", "ALREADYEXISTS")
    assert client.cmd("RENAMESCRIPT", '"gone"', '"x"')[:2] == ("NO", "NONEXISTENT")
    assert client.cmd("RENAMESCRIPT", '"main"', '"renamed"')[0] == "OK"
    assert sorted(client.cmd("LISTSCRIPTS")[3]) == ['"other"', '"renamed" ACTIVE']
    assert client.cmd("SETACTIVE", '""')[0] == "OK"
    assert client.cmd("DELETESCRIPT", '"renamed"')[0] == "OK"
    assert client.cmd("LISTSCRIPTS")[3] == ['"other"']
    assert client.cmd("NOOP", '"tag-1"')[:2] == ("OK", 'TAG "tag-1"')
    assert client.cmd("LOGOUT")[0] == "OK"


def test_limits(msserver, client):
    user = msserver.add_user()
    assert client.login(user)[0] == "OK"
    assert client.cmd("HAVESPACE", '"a"', "100")[0] == "OK"
    assert client.cmd("HAVESPACE", '"a"', "999999")[:2] == ("NO", "QUOTA/MAXSIZE")
    big = "# " + "x" * 3000 + "\r\nkeep;\r\n"
    assert client.literal_cmd('PUTSCRIPT "big"', big)[:2] == ("NO", "QUOTA/MAXSIZE")
    for n in range(3):
        assert client.literal_cmd(f'PUTSCRIPT "s{n}"', "keep;\r\n")[0] == "OK"
    assert client.literal_cmd('PUTSCRIPT "s3"', "keep;\r\n")[:2] == ("NO", "QUOTA/MAXSCRIPTS")
    assert client.cmd("HAVESPACE", '"s4"', "10")[:2] == ("NO", "QUOTA/MAXSCRIPTS")
    assert client.literal_cmd('PUTSCRIPT "s0"', "discard;\r\n")[0] == "OK", "replacing fits"
    # The session is still in sync after all that.
    assert client.cmd("NOOP")[0] == "OK"


def test_bad_input_gets_no_and_then_bye(msserver, client):
    for junk in ['FROB', '"unterminated', 'PUTSCRIPT {3+} x', 'HAVESPACE "a" "b"', "\x01"]:
        assert client.cmd(junk)[0] == "NO", junk
    assert client.cmd("NOOP")[0] == "OK"
    user = msserver.add_user()
    assert client.cmd("AUTHENTICATE", '"PLAIN"', '"%%%"')[0] == "NO"
    bad = base64.b64encode(f"\0{user.address}\0wrong".encode()).decode()
    assert client.cmd("AUTHENTICATE", '"PLAIN"', f'"{bad}"')[0] == "NO"
    assert client.cmd("AUTHENTICATE", '"CRAM-MD5"')[0] == "NO"
    # LOGIN with its challenges, then cancel.
    client.send('AUTHENTICATE "LOGIN"\r\n')
    assert client.challenge() == b"Username:"
    client.send('"*"\r\n')
    assert client.response()[0] == "NO"
    for _ in range(12):
        status = client.cmd("FROB")[0]
        if status == "BYE":
            break
    assert status == "BYE"


def test_starttls_and_plaintext_policy(make_server):
    """Before TLS only the mechanisms that never show the password are offered (and
    accepted); after STARTTLS PLAIN and LOGIN join them, in the server's order."""
    s = make_server(services=("managesieve",), allow_plaintext=False)
    user = s.add_user()
    c = Sieve(s.port("managesieve"))
    assert caps(c.greeting[3])["SASL"] == "SCRAM-SHA-256"
    assert caps(c.cmd("CAPABILITY")[3])["SASL"] == "SCRAM-SHA-256"
    assert c.login(user)[:2] == ("NO", "ENCRYPT-NEEDED")
    c.send('AUTHENTICATE "LOGIN"\r\n')
    assert c.response()[:2] == ("NO", "ENCRYPT-NEEDED"), "refused before any challenge"
    status, _, _, lines = c.starttls()
    assert status == "OK"
    after = caps(lines)
    assert "STARTTLS" not in after
    assert after["SASL"] == "PLAIN LOGIN SCRAM-SHA-256"
    assert caps(c.cmd("CAPABILITY")[3])["SASL"] == "PLAIN LOGIN SCRAM-SHA-256"
    assert c.cmd("STARTTLS")[0] == "NO"
    assert c.login(user)[0] == "OK"
    assert c.literal_cmd('PUTSCRIPT "t"', "keep;\r\n")[0] == "OK"
    c.close()

    # SCRAM before TLS: allowed, the password never crosses the wire.
    c = Sieve(s.port("managesieve"))
    scram = ScramClient(user.address, user.password)
    status, code, _, _ = c.authenticate("SCRAM-SHA-256", scram, initial=scram.first())
    assert status == "OK" and scram.verify(code)
    assert c.cmd("LISTSCRIPTS")[3] == ['"t"']
    c.close()


@pytest.mark.skipif(shutil.which("sieve-connect") is None, reason="sieve-connect not installed")
def test_sieve_connect_uploads_and_lists(msserver, tmp_path):
    user = msserver.add_user()
    script = tmp_path / "filters.sieve"
    script.write_text(GOOD)
    base = ["sieve-connect", "--server", "127.0.0.1", "--port", str(msserver.port("managesieve")),
            "--user", user.address, "--passwordfd", "0", "--noclearauth", "--notlsverify"]
    def run(*args):
        return subprocess.run(base + list(args), input=user.password + "\n", text=True,
                              capture_output=True, timeout=IO_TIMEOUT)
    r = run("--upload", "--localsieve", str(script), "--remotesieve", "filters")
    assert r.returncode == 0, r.stderr
    r = run("--activate", "--remotesieve", "filters")
    assert r.returncode == 0, r.stderr
    r = run("--list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '"filters" ACTIVE', r.stdout


# ---- SCRAM-SHA-256 ------------------------------------------------------------------------


class ScramClient:
    """The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677), no channel binding; checks
    the server's signature. `nonce` fixed only for the RFC 7677 test vector."""

    def __init__(self, user, password, nonce=None):
        self.user, self.password = user, password
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.gs2 = "n,,"
        self.bare = f"n={user},r={self.nonce}"
        self.server_signature = None

    def first(self):
        return (self.gs2 + self.bare).encode()

    def __call__(self, challenge):
        """client-final-message for the server-first-message."""
        server_first = challenge.decode()
        fields = dict(f.split("=", 1) for f in server_first.split(","))
        assert fields["r"].startswith(self.nonce) and len(fields["r"]) > len(self.nonce)
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                     base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c={base64.b64encode(self.gs2.encode()).decode()},r={fields['r']}"
        auth_message = f"{self.bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        self.server_signature = hmac.new(server_key, auth_message, "sha256").digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, code):
        """Checks `SASL "base64(v=...)"` from the OK response code."""
        m = re.fullmatch(r'SASL "([A-Za-z0-9+/=]+)"', code or "")
        assert m, f"no SASL response code: {code!r}"
        final = base64.b64decode(m.group(1)).decode()
        return final == "v=" + base64.b64encode(self.server_signature).decode()


def test_scram_client_matches_the_rfc7677_vector():
    """The client above reproduces RFC 7677 §3's exchange (user "user", password "pencil")."""
    client = ScramClient("user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = client(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                   b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    assert final == (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                     b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    v = base64.b64encode(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").decode()
    assert client.verify(f'SASL "{v}"')
    assert not client.verify(f'SASL "{base64.b64encode(b"v=AAAA").decode()}"')


def test_scram_login_final_data_in_the_ok_response(msserver, client):
    assert "SCRAM-SHA-256" in caps(client.greeting[3])["SASL"].split()
    user = msserver.add_user()
    # Without an initial response: an empty challenge first (RFC 4422 §5), then as usual.
    scram = ScramClient(user.address, user.password)
    challenges = []

    def step(challenge):
        challenges.append(challenge)
        return scram.first() if len(challenges) == 1 else scram(challenge)

    status, code, text, _ = client.authenticate("SCRAM-SHA-256", step)
    assert challenges[0] == b"" and challenges[1].startswith(b"r=") and len(challenges) == 2
    assert (status, text) == ("OK", "Logged in")
    assert scram.verify(code), code
    assert caps(client.cmd("CAPABILITY")[3])["OWNER"] == user.address
    assert client.literal_cmd('PUTSCRIPT "scram"', GOOD)[0] == "OK"
    assert client.cmd("LISTSCRIPTS")[3] == ['"scram"']


def test_scram_wrong_password_and_cancel(msserver, client):
    user = msserver.add_user()
    scram = ScramClient(user.address, "not-the-password")
    status, code, text, _ = client.authenticate("SCRAM-SHA-256", scram, initial=scram.first())
    assert (status, code, text) == ("NO", None, "Authentication failed")
    # Cancelled with "*" after the server-first-message: NO, and nothing logged in.
    client.send(f'AUTHENTICATE "SCRAM-SHA-256" "{base64.b64encode(scram.first()).decode()}"\r\n')
    assert client.challenge().startswith(b"r=")
    client.send('"*"\r\n')
    assert client.response()[:3] == ("NO", None, "Authentication cancelled")
    assert client.cmd("LISTSCRIPTS")[0] == "NO"
    # The session still works: the right password logs in.
    good = ScramClient(user.address, user.password)
    status, code, _, _ = client.authenticate("SCRAM-SHA-256", good, initial=good.first())
    assert status == "OK" and good.verify(code)


def sivtest(port, *args, script="LOGOUT\r\n", env=None):
    """Cyrus SASL's ManageSieve client; returns its output."""
    r = subprocess.run([SIVTEST, "-p", str(port), *args, "localhost"], input=script.encode(),
                       env=env, capture_output=True, timeout=IO_TIMEOUT)
    return (r.stdout + r.stderr).decode(errors="replace")


def test_scram_with_a_real_client(msserver):
    """libsasl2's SCRAM-SHA-256 client (through sivtest) verifies the server's signature
    from the OK (SASL ...) code: a wrong one fails the login on the client's side."""
    user = msserver.add_user()
    port = msserver.port("managesieve")
    out = sivtest(port, "-m", "SCRAM-SHA-256", "-a", user.address, "-w", user.password,
                  script='PUTSCRIPT "via-sivtest" {7+}\r\nkeep;\r\n\r\nLISTSCRIPTS\r\nLOGOUT\r\n')
    assert 'OK (SASL "' in out and "Authenticated." in out, out
    assert '"via-sivtest"' in out, out
    out = sivtest(port, "-m", "SCRAM-SHA-256", "-a", user.address, "-w", "Wrong#Pass1")
    assert "Authenticated." not in out and 'NO "Authentication failed"' in out, out


# ---- Kerberos: GSSAPI and KDC-checked passwords (the real MIT KDC peer) -------------------

CAROL_PW = "Carol#Pass1"


@pytest.fixture(scope="module")
def krb(tmp_path_factory):
    """A ManageSieve server with `[kerberos]` (realm MIT.TEST, tern.keytab with sieve/ keys),
    plaintext refused before TLS, and carol as an internal account without a password."""
    from harness import TernServer
    from peers import peer

    kdc = peer("mitkdc")
    config = ("[kerberos]\n"
              'realm = "MIT.TEST"\n'
              'kdcs = ["127.0.0.1:10088"]\n'
              f'keytab = "{os.path.join(kdc, "tern.keytab")}"\n'
              'service_principals = ["sieve/mail.mit.test"]\n')
    s = TernServer(str(tmp_path_factory.mktemp("ms-krb")), services=("managesieve",),
                   allow_plaintext=False, extra_config=config).start()
    s.cli("user", "add", f"carol@{DOMAIN}")
    s.kdc = kdc
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ticket(krb, tmp_path_factory):
    """carol's TGT from kinit, in a file cache of this module: the client environment."""
    cache = os.path.join(str(tmp_path_factory.mktemp("ms-ccache")), "cc")
    env = dict(os.environ, KRB5_CONFIG=os.path.join(krb.kdc, "krb5.conf"),
               KRB5CCNAME=f"FILE:{cache}")
    subprocess.run(["kinit", "carol@MIT.TEST"], input=CAROL_PW + "\n", text=True, env=env,
                   check=True, capture_output=True, timeout=IO_TIMEOUT)
    return env


def carol_scripts(krb):
    out = krb.cli("sieve", "list", f"carol@{DOMAIN}", "--json").stdout
    return {s["name"]: s["active"] for s in json.loads(out)}


def test_gssapi_offered_before_and_after_starttls(krb):
    c = Sieve(krb.port("managesieve"))
    try:
        assert caps(c.greeting[3])["SASL"] == "SCRAM-SHA-256 GSSAPI"
        assert caps(c.starttls()[3])["SASL"] == "PLAIN LOGIN SCRAM-SHA-256 GSSAPI"
    finally:
        c.close()


def test_gssapi_with_a_kinit_ticket_lands_in_carols_account(krb, ticket):
    """sivtest (Cyrus SASL's GSSAPI client) asks the KDC for sieve/localhost with carol's
    TGT; Tern accepts the ticket with its keytab and logs carol in, before TLS."""
    out = sivtest(krb.port("managesieve"), "-m", "GSSAPI", env=ticket,
                  script='PUTSCRIPT "kerberos" {7+}\r\nkeep;\r\n\r\n'
                         'SETACTIVE "kerberos"\r\nLOGOUT\r\n')
    assert "Authenticated." in out, out
    assert out.count('OK "') >= 2 and "NO " not in out.split("Authenticated.")[1], out
    assert carol_scripts(krb).get("kerberos") is True
    assert f"ManageSieve login peer=127.0.0.1" in krb.log_tail(200)
    assert f"user=carol@{DOMAIN}" in krb.log_tail(200)


def test_gssapi_with_sieve_connect(krb, ticket, tmp_path):
    """sieve-connect's GSSAPI (Authen::SASL::Perl::GSSAPI on libgssapi-perl), after its
    STARTTLS: uploads into carol's account."""
    script = tmp_path / "perl.sieve"
    script.write_bytes(b'require "fileinto";\r\nfileinto "Perl";\r\n')
    r = subprocess.run(["sieve-connect", "--server", "localhost",
                        "--port", str(krb.port("managesieve")), "--authmech", "GSSAPI",
                        "--notlsverify", "--upload", "--localsieve", str(script),
                        "--remotesieve", "from-perl"],
                       env=ticket, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=IO_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert carol_scripts(krb).get("from-perl") is False
    assert krb.cli("sieve", "get", f"carol@{DOMAIN}", "from-perl").stdout == \
        script.read_bytes()


def test_gssapi_without_a_ticket_fails(krb, tmp_path):
    env = dict(os.environ, KRB5_CONFIG=os.path.join(krb.kdc, "krb5.conf"),
               KRB5CCNAME=f"FILE:{tmp_path}/empty")
    out = sivtest(krb.port("managesieve"), "-m", "GSSAPI", env=env)
    assert "Authenticated." not in out, out


def test_password_login_checked_by_the_kdc(krb):
    """PLAIN goes through the same Authenticator as IMAP: with [kerberos] the KDC checks the
    password (carol has none of her own), verified with the sieve/ key of the keytab."""
    c = Sieve(krb.port("managesieve"))
    try:
        c.starttls()
        bad = base64.b64encode(b"\0carol\0Carol#Pass2").decode()
        assert c.cmd("AUTHENTICATE", '"PLAIN"', f'"{bad}"')[:3] == (
            "NO", None, "Authentication failed")
        good = base64.b64encode(f"\0carol\0{CAROL_PW}".encode()).decode()
        assert c.cmd("AUTHENTICATE", '"PLAIN"', f'"{good}"')[0] == "OK"
        assert caps(c.cmd("CAPABILITY")[3])["OWNER"] == f"carol@{DOMAIN}"
    finally:
        c.close()


def test_unknown_extensions_refused_and_unauthenticate(msserver, client):
    user = msserver.add_user()
    assert client.login(user)[0] == "OK"
    script = 'require ["fileinto", "x-frobnicate"];\r\nkeep;\r\n'
    status, _, text, _ = client.literal_cmd('PUTSCRIPT "unknown"', script)
    assert status == "NO" and re.match(r"line 1, column \d+: ", text), text
    assert "x-frobnicate" in text, text
    assert client.literal_cmd("CHECKSCRIPT", script)[2] == text
    assert client.cmd("LISTSCRIPTS")[3] == [], "nothing stored"
    # UNAUTHENTICATE (RFC 5804 §2.14): back to the non-authenticated state, same connection.
    assert client.cmd("UNAUTHENTICATE")[0] == "OK"
    assert client.cmd("LISTSCRIPTS")[0] == "NO"
    assert "OWNER" not in caps(client.cmd("CAPABILITY")[3])
    assert client.login(user)[0] == "OK"
    assert client.cmd("LISTSCRIPTS")[0] == "OK"
