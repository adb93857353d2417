"""ManageSieve (RFC 5804) against the real `tern serve`, with a small client written here
(it speaks the wire exactly: quoted strings, {N+} literals, response codes) and with
`sieve-connect` (Debian's Perl client) where it is installed."""

import base64
import os
import re
import shutil
import socket
import ssl
import subprocess

import pytest

from harness import IO_TIMEOUT, unverified_tls_context

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

    def response(self):
        lines = []
        while True:
            line = self.line()
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
    assert client.line() == b'"VXNlcm5hbWU6"'
    client.send('"*"\r\n')
    assert client.response()[0] == "NO"
    for _ in range(12):
        status = client.cmd("FROB")[0]
        if status == "BYE":
            break
    assert status == "BYE"


def test_starttls_and_plaintext_policy(make_server):
    s = make_server(services=("managesieve",), allow_plaintext=False)
    user = s.add_user()
    c = Sieve(s.port("managesieve"))
    assert caps(c.greeting[3])["SASL"] == ""
    assert c.login(user)[:2] == ("NO", "ENCRYPT-NEEDED")
    status, _, _, lines = c.starttls()
    assert status == "OK"
    after = caps(lines)
    assert "STARTTLS" not in after and "PLAIN" in after["SASL"].split()
    assert c.cmd("STARTTLS")[0] == "NO"
    assert c.login(user)[0] == "OK"
    assert c.literal_cmd('PUTSCRIPT "t"', "keep;\r\n")[0] == "OK"
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
