"""The harness for driving the real `tern` binary with real clients (imaplib, smtplib.LMTP,
mbsync, Postfix's smtp-source).

Every server runs in a fresh temporary data folder with its listeners on 127.0.0.1 port 0;
the ports are read from the `SERVICE listening on ADDR:PORT` lines that `tern serve` prints
before `tern: ready` (the operator contract in DESIGN.md). Servers are stopped by PID.

This module holds the harness (server process, clients, response parsing); conftest.py
holds the fixtures built on it. Tests import helpers with `from harness import ...`.
"""

import imaplib
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
import zlib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN_BIN = os.environ.get("TERN_BIN", os.path.join(REPO, "target", "debug", "tern"))
DOMAIN = "example.test"
PASSWORD = "S3cret-pass!"
# Generous: a debug build on a slow 2-core machine. These bound waits, never assert on time.
START_TIMEOUT = 120
IO_TIMEOUT = 60

# imaplib refuses commands it does not know; teach it the extensions the tests use.
for _name, _states in {
    "ID": ("NONAUTH", "AUTH", "SELECTED", "LOGOUT"),
    "GETMETADATA": ("AUTH", "SELECTED"),
    "SETMETADATA": ("AUTH", "SELECTED"),
    "LISTRIGHTS": ("AUTH", "SELECTED"),
    "COMPRESS": ("AUTH", "SELECTED"),
    "IDLE": ("SELECTED",),
    "UID": ("SELECTED",),
}.items():
    imaplib.Commands.setdefault(_name, _states)
imaplib._MAXLINE = 50_000_000  # 20 MB APPEND/FETCH tests read big lines


def unverified_tls_context():
    """A client TLS context that accepts the server's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class User:
    def __init__(self, address, password):
        self.address = address
        self.password = password

    def __repr__(self):
        return f"User({self.address})"


class TernServer:
    """One `tern serve` process on a fresh data folder."""

    def __init__(self, base_dir, *, allow_plaintext=True, quota_default="200MB",
                 services=("imap", "imaps", "lmtp"), extra_config="", data_dir=None,
                 auth_config=""):
        """`data_dir`: share another server's data folder (two processes, one store);
        `auth_config`: more lines for the `[auth]` table."""
        self.dir = base_dir
        os.makedirs(base_dir, exist_ok=True)
        self.data_dir = data_dir or os.path.join(base_dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.config_path = os.path.join(base_dir, "tern.toml")
        self.log_path = os.path.join(base_dir, "tern.log")
        self.ports = {}
        self.stdout_lines = []
        self.proc = None
        listen = "\n".join(f'{svc} = ["127.0.0.1:0"]' for svc in services)
        # The MX verifies SPF/DKIM/DMARC by default, which needs DNS: a test that does not
        # configure its own [auth_results] (and a loopback [dns], tests/dnsserver.py) gets
        # verification off, so that nothing ever asks the machine's resolver.
        if "[auth_results]" not in extra_config:
            extra_config += "\n[auth_results]\nverify = false\n"
        with open(self.config_path, "w") as f:
            f.write(
                f'hostname = "mail.{DOMAIN}"\n'
                f'data_dir = "{self.data_dir}"\n'
                f'local_domains = ["{DOMAIN}"]\n'
                f"{extra_config}\n"
                f"[listen]\n{listen}\n"
                f"[auth]\nallow_plaintext = {'true' if allow_plaintext else 'false'}\n"
                f"{auth_config}\n"
                f'[quota]\ndefault = "{quota_default}"\n'
            )

    # ---- process ------------------------------------------------------------------------

    def start(self):
        if not os.path.exists(TERN_BIN):
            pytest.fail(f"tern binary not found at {TERN_BIN} (build it or set TERN_BIN)")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [TERN_BIN, "serve", "--config", self.config_path],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
        )
        ready = threading.Event()

        def reader():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                # `SERVICE listening on ADDR:PORT`; a Unix socket's line names a path.
                m = re.match(r"\s*([A-Za-z0-9_-]+) listening on \S*:(\d+)\s*$", line)
                if m:
                    self.ports[m.group(1).lower()] = int(m.group(2))
                if "ready" in line.lower():
                    ready.set()
            ready.set()  # EOF: the process ended

        threading.Thread(target=reader, daemon=True).start()
        ready.wait(START_TIMEOUT)
        if self.proc.poll() is not None or not ready.is_set():
            out = "\n".join(self.stdout_lines)
            self.stop()
            pytest.fail(f"tern serve did not become ready.\nstdout:\n{out}\nlog:\n{self.log_tail()}")
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait(20)
        self._log.close()
        self.proc = None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def port(self, service):
        assert service in self.ports, f"server did not report a {service} listener: {self.ports}"
        return self.ports[service]

    def cert_path(self):
        """The self-signed certificate serve generated, if it said where."""
        for line in self.stdout_lines:
            m = re.search(r"self-signed certificate (\S+)", line)
            if m:
                return m.group(1)
        return None

    # ---- CLI ------------------------------------------------------------------------------

    def cli(self, *args, input=None, check=True):
        res = subprocess.run(
            [TERN_BIN, "--config", self.config_path, *args],
            input=input.encode() if isinstance(input, str) else input,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=START_TIMEOUT,
        )
        if check and res.returncode != 0:
            pytest.fail(f"tern {' '.join(args)} failed ({res.returncode}): "
                        f"{res.stderr.decode(errors='replace')}")
        return res

    def add_user(self, local=None, *, password=PASSWORD, quota=None):
        address = f"{local or 'u' + uuid.uuid4().hex[:10]}@{DOMAIN}"
        args = ["user", "add", address, "--password-stdin"]
        if quota is not None:
            args += ["--quota", quota]
        self.cli(*args, input=password + "\n")
        return User(address, password)

    # ---- clients --------------------------------------------------------------------------

    def imap(self, user=None, *, login=True):
        """imaplib over plaintext IMAP (the config allows plaintext login)."""
        c = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=IO_TIMEOUT)
        if user is not None and login:
            c.login(user.address, user.password)
        return c

    def imap_starttls(self, user=None):
        c = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=IO_TIMEOUT)
        c.starttls(ssl_context=unverified_tls_context())
        if user is not None:
            c.login(user.address, user.password)
        return c

    def imaps(self, user=None):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"),
                              ssl_context=unverified_tls_context(), timeout=IO_TIMEOUT)
        if user is not None:
            c.login(user.address, user.password)
        return c

    def raw(self, user=None, *, tls=False):
        r = RawImap("127.0.0.1", self.port("imaps" if tls else "imap"), tls=tls)
        if user is not None:
            r.ok(f"LOGIN {quote(user.address)} {quote(user.password)}")
        return r

    def lmtp(self):
        return smtplib.LMTP("127.0.0.1", self.port("lmtp"), timeout=IO_TIMEOUT)

    def deliver(self, recipients, message, sender=f"sender@{DOMAIN}"):
        """Delivers over LMTP; returns {recipient: (code, text)} (RCPT failures included)."""
        if isinstance(message, str):
            message = message.encode()
        results = {}
        with self.lmtp() as l:
            code, _ = l.ehlo("client.example.test")
            assert code == 250
            code, text = l.mail(sender)
            assert code == 250, text
            accepted = []
            for r in recipients:
                code, text = l.rcpt(r)
                if code == 250:
                    accepted.append(r)
                else:
                    results[r] = (code, text)
            if accepted:
                # RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
                code, text = l.data(message)
                results[accepted[0]] = (code, text)
                for r in accepted[1:]:
                    results[r] = l.getreply()
        return results


def quote(s):
    """An IMAP quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- a raw IMAP client, for exact responses and what imaplib cannot do ------------------

class Literal:
    """A literal to send in RawImap.command (synchronizing unless plus=True)."""

    def __init__(self, data, plus=False, binary=False):
        self.data = data.encode() if isinstance(data, str) else data
        self.plus = plus
        self.binary = binary


class Response:
    def __init__(self, tag, status, code, text, untagged, line):
        self.tag, self.status, self.code, self.text = tag, status, code, text
        self.untagged = untagged  # list of bytes: each untagged response without "* "
        self.line = line

    def __repr__(self):
        return f"Response({self.line!r}, untagged={self.untagged!r})"

    def named(self, name):
        """Untagged responses `* NAME ...` (or `* n NAME ...`), as bytes after the name."""
        out = []
        name = name.upper().encode()
        for u in self.untagged:
            parts = u.split(b" ", 2)
            if parts[0].upper() == name:
                out.append(u[len(parts[0]) + 1:])
            elif len(parts) > 1 and parts[0].isdigit() and parts[1].upper() == name:
                out.append(u)
        return out

    def codes(self):
        """Response codes of untagged OK/NO/BAD and of the tagged line."""
        out = []
        for u in self.untagged + [b"OK " + (b"[" + self.code.encode() + b"]" if self.code else b"")]:
            m = re.match(rb"(?:OK|NO|BAD|PREAUTH|BYE) \[([^\]]*)\]", u)
            if m:
                out.append(m.group(1).decode("utf-8", "replace"))
        return out


class RawImap:
    """IMAP over a socket with literals, optional TLS and COMPRESS=DEFLATE (RFC 4978)."""

    def __init__(self, host, port, *, tls=False, timeout=IO_TIMEOUT):
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            sock = unverified_tls_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.timeout = timeout
        self.buf = b""
        self.tagn = 0
        self.deflate = None
        self.inflate = None
        self.greeting = self.read_response()

    # transport
    def _send(self, data):
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError("server closed the connection")
        if self.inflate is not None:
            data = self.inflate.decompress(data)
        self.buf += data

    def start_compression(self):
        self.deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        if self.buf:
            # Anything after the tagged OK was already compressed.
            pending, self.buf = self.buf, b""
            self.buf = self.inflate.decompress(pending)

    def send(self, data):
        self._send(data.encode() if isinstance(data, str) else data)

    def read_line(self, timeout=None):
        while b"\r\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n, timeout=None):
        while len(self.buf) < n:
            self._fill(timeout)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, timeout=None):
        """One response line with its literals inline (`{n}\\r\\n<n octets>` kept as sent)."""
        out = b""
        while True:
            line = self.read_line(timeout)
            out += line
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return out
            out += b"\r\n" + self._read_exact(int(m.group(1)), timeout)

    def next_tag(self):
        self.tagn += 1
        return f"t{self.tagn}"

    def command(self, *parts, tag=None, timeout=None):
        """Sends a command made of str/bytes pieces and Literal objects; returns a Response.

        Synchronizing literals wait for `+`; a tagged reply instead of `+` ends the command
        (the server refused the literal)."""
        tag = tag or self.next_tag()
        pending = tag.encode() + b" "
        untagged = []
        for p in parts:
            if isinstance(p, Literal):
                prefix = b"~" if p.binary else b""
                pending += prefix + b"{%d%s}\r\n" % (len(p.data), b"+" if p.plus else b"")
                self._send(pending)
                pending = b""
                if not p.plus:
                    while True:
                        resp = self.read_response(timeout)
                        if resp.startswith(b"+"):
                            break
                        if resp.startswith(b"* "):
                            untagged.append(resp[2:])
                            continue
                        return self._tagged(tag, resp, untagged)
                self._send(p.data)
            else:
                pending += p.encode() if isinstance(p, str) else p
        self._send(pending + b"\r\n")
        return self.read_until_tagged(tag, untagged, timeout)

    def read_until_tagged(self, tag, untagged=None, timeout=None):
        untagged = [] if untagged is None else untagged
        while True:
            resp = self.read_response(timeout)
            if resp.startswith(b"* "):
                untagged.append(resp[2:])
            elif resp.startswith(tag.encode() + b" "):
                return self._tagged(tag, resp, untagged)
            elif resp.startswith(b"+"):
                untagged.append(resp)  # unexpected continuation: keep for the caller
            else:
                untagged.append(resp)

    @staticmethod
    def _tagged(tag, line, untagged):
        rest = line[len(tag) + 1:].decode("utf-8", "replace")
        status, _, rest = rest.partition(" ")
        code = None
        m = re.match(r"\[([^\]]*)\]\s?(.*)", rest)
        if m:
            code, rest = m.group(1), m.group(2)
        return Response(tag, status.upper(), code, rest, untagged, line)

    def ok(self, *parts, **kw):
        r = self.command(*parts, **kw)
        assert r.status == "OK", f"expected OK to {parts!r}, got {r!r}"
        return r

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- parsing IMAP data --------------------------------------------------------------------

class Atom(str):
    """An IMAP atom (or number); strings come back as bytes, NIL as None."""


def parse_sexp(data):
    """Parses IMAP data (`(a "b" {1}\\r\\nc NIL (d))`) into nested lists.

    Atoms become `Atom` (a str), quoted strings and literals `bytes`, NIL `None`. A FETCH
    item name with a section (`BODY[HEADER.FIELDS (A B)]<0>`) is one atom."""
    if isinstance(data, str):
        data = data.encode()
    pos = 0
    n = len(data)

    def skip_space():
        nonlocal pos
        while pos < n and data[pos] in b" ":
            pos += 1

    def parse_one():
        nonlocal pos
        skip_space()
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            items = []
            while True:
                skip_space()
                if pos >= n:
                    raise ValueError("unterminated list")
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return items
                items.append(parse_one())
        if c == b'"':
            pos += 1
            out = bytearray()
            while data[pos:pos + 1] != b'"':
                if pos >= n:
                    raise ValueError("unterminated quoted string")
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                out += data[pos:pos + 1]
                pos += 1
            pos += 1
            return bytes(out)
        m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
        if m:
            pos += m.end()
            length = int(m.group(1))
            value = data[pos:pos + length]
            pos += length
            return value
        start = pos
        depth = 0
        while pos < n:
            ch = data[pos:pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in b" ()":
                break
            pos += 1
        tok = data[start:pos].decode("utf-8", "replace")
        if tok.upper() == "NIL":
            return None
        if not tok:
            raise ValueError(f"unexpected {data[pos:pos + 20]!r}")
        return Atom(tok)

    items = []
    while True:
        skip_space()
        if pos >= n:
            return items
        items.append(parse_one())


def fetch_items(response_bytes):
    """`n FETCH (K V K V ...)` → (n, {K.upper(): V})."""
    parsed = parse_sexp(response_bytes)
    assert len(parsed) >= 3 and str(parsed[1]).upper() == "FETCH", response_bytes
    kv = parsed[2]
    return int(parsed[0]), {str(kv[i]).upper(): kv[i + 1] for i in range(0, len(kv), 2)}


def imaplib_fetch(c, msgset, items, uid=False):
    """FETCH through imaplib; returns {seq: {ITEM: value}} parsed with parse_sexp.

    imaplib hands back each `* n FETCH (...)` without `* ` and `FETCH`, split around its
    literals as (prefix, literal) tuples followed by the rest."""
    if uid:
        typ, data = c.uid("FETCH", msgset, items)
    else:
        typ, data = c.fetch(msgset, items)
    assert typ == "OK", data
    out = {}
    buf = b""
    for d in data:
        if d is None:
            continue
        buf += d[0] + b"\r\n" + d[1] if isinstance(d, tuple) else d
        parsed = _complete_fetch(buf)
        if parsed is not None:
            seq, kv = parsed
            out.setdefault(seq, {}).update({str(kv[i]).upper(): kv[i + 1]
                                            for i in range(0, len(kv), 2)})
            buf = b""
    assert not buf, f"unparsed FETCH data: {buf!r}"
    return out


def _complete_fetch(buf):
    """`n (items)` once the parenthesized list is complete, else None."""
    try:
        parsed = parse_sexp(buf)
    except (ValueError, IndexError):
        return None
    if len(parsed) == 2 and isinstance(parsed[1], list):
        return int(parsed[0]), parsed[1]
    return None


def capabilities(c):
    """Capabilities as an upper-cased set (imaplib connection)."""
    typ, data = c.capability()
    assert typ == "OK"
    return {x.upper() for x in data[0].decode().split()}


def message(subject="Hello", body="Hello world.\r\n", *, sender=f"alice@{DOMAIN}",
            to=f"bob@{DOMAIN}", date="Mon, 02 Mar 2026 10:00:00 +0000", extra_headers="",
            message_id=None):
    """A small RFC 5322 message with CRLF line ends, as bytes."""
    mid = message_id or f"<{uuid.uuid4().hex}@{DOMAIN}>"
    text = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: {mid}\r\n{extra_headers}MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{body}"
    )
    return text.encode()


def status(c, mailbox, items="(MESSAGES)"):
    """STATUS via imaplib → {ITEM: int-or-str}."""
    typ, data = c.status(mailbox, items)
    assert typ == "OK", data
    parsed = parse_sexp(data[0])
    kv = parsed[-1]
    out = {}
    for i in range(0, len(kv), 2):
        v = kv[i + 1]
        out[str(kv[i]).upper()] = int(v) if isinstance(v, str) and v.isdigit() else v
    return out


def wait_for(predicate, timeout=IO_TIMEOUT, interval=0.2):
    """Polls until predicate() is truthy (bounded); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def mutf7(name):
    """Modified UTF-7 (RFC 3501 §5.1.3) of a mailbox name."""
    import base64

    out, run = [], []

    def flush():
        if run:
            b = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def text(v):
    """An atom or string from parse_sexp as str (None stays None)."""
    if v is None:
        return None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
