"""A small asyncio IMAP client for the load generators: one command at a time per connection,
every tagged response checked, literals read by their announced length (RFC 9051 §4.3).

Invariants:
- `cmd()` returns only once the tagged completion of *its* tag has been read; everything
  before it is returned as the untagged responses (each one line, literals spliced in).
- A tagged response other than the expected status raises `ProtocolError`, as does a closed
  connection, a BYE before the tag, or a response that does not parse as IMAP.
- No timeouts hide here: callers wrap calls in `asyncio.wait_for` with their own budget.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import time

_LITERAL = re.compile(rb"\{(\d+)\+?\}$")


class ProtocolError(Exception):
    """A server answer that a conforming client would not accept (or a dead connection)."""


class Imap:
    """One IMAP connection. `untagged` collects unsolicited lines read while waiting (IDLE)."""

    def __init__(self, reader, writer):
        self.r = reader
        self.w = writer
        self.buf = b""
        self.pos = 0  # start of the unread part of buf (no re-slicing per line: O(n), not O(n²))
        self.n = 0
        self.caps = set()

    @classmethod
    async def connect(cls, host, port, local_addr=None, limit=1 << 20):
        reader, writer = await asyncio.open_connection(host, port, local_addr=local_addr, limit=limit)
        c = cls(reader, writer)
        greet = await c.read_response()
        if not greet.startswith(b"* OK"):
            raise ProtocolError(f"greeting: {greet[:200]!r}")
        m = re.search(rb"\[CAPABILITY ([^\]]*)\]", greet)
        if m:
            c.caps = set(m.group(1).upper().split())
        return c

    async def _fill(self):
        data = await self.r.read(1 << 18)
        if not data:
            raise ProtocolError("connection closed by server")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    async def read_response(self):
        """One response: a line, with any literals it announces spliced in (bytes, no CRLF)."""
        parts = []
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            while i < 0:
                await self._fill()
                i = self.buf.find(b"\r\n", self.pos)
            line = self.buf[self.pos:i]
            self.pos = i + 2
            m = _LITERAL.search(line) if line.endswith(b"}") else None
            if not m:
                if not parts:
                    return line
                parts.append(line)
                return b"".join(parts)
            size = int(m.group(1))
            while len(self.buf) - self.pos < size:
                await self._fill()
            parts.append(line)
            parts.append(b"\r\n")
            parts.append(self.buf[self.pos:self.pos + size])
            self.pos += size

    def next_tag(self):
        self.n += 1
        return b"T%d" % self.n

    async def cmd(self, text, literals=(), expect=b"OK"):
        """Sends `text` (bytes; `{N}` markers at the end of each piece for `literals`), waits for
        the tagged completion. Returns (untagged responses, tagged line)."""
        tag = self.next_tag()
        pieces = text if isinstance(text, (list, tuple)) else [text]
        untagged = []
        self.w.write(tag + b" " + pieces[0] + b"\r\n")
        for k, lit in enumerate(literals):
            # Synchronizing literal: wait for the continuation request (RFC 9051 §7.5).
            await self.w.drain()
            while True:
                resp = await self.read_response()
                if resp.startswith(b"+"):
                    break
                if resp.startswith(tag + b" "):
                    raise ProtocolError(f"{pieces[0][:60]!r}: literal refused: {resp[:200]!r}")
                untagged.append(resp)
            tail = pieces[k + 1] if k + 1 < len(pieces) else b""
            self.w.write(lit + tail + b"\r\n")
        await self.w.drain()
        prefix = tag + b" "
        what = pieces[0][:60]
        bye_ok = pieces[0].upper().startswith(b"LOGOUT")
        while True:
            resp = self._bulk(prefix, untagged, what, bye_ok)
            if resp is None:
                resp = await self.read_response()
            if resp.startswith(prefix):
                status = resp[len(prefix):].split(b" ", 1)[0].upper()
                if status != expect:
                    raise ProtocolError(f"{what!r}: {resp[:300]!r}")
                return untagged, resp
            self._check_untagged([resp], what, bye_ok)
            untagged.append(resp)

    @staticmethod
    def _check_untagged(lines, what, bye_ok):
        bad = next((x for x in lines if x[:1] != b"*" and x[:1] != b"+"), None)
        if bad is not None:
            raise ProtocolError(f"{what!r}: unparsable {bad[:200]!r}")
        if not bye_ok:
            bye = next((x for x in lines if x.startswith(b"* BYE")), None)
            if bye is not None:
                raise ProtocolError(f"{what!r}: unexpected {bye[:200]!r}")

    def _bulk(self, prefix, untagged, what, bye_ok):
        """Fast path for long responses without literals (FETCH 1:* (UID FLAGS), SEARCH):
        consumes every complete buffered line up to the tagged one with one split() instead of
        a call per line. Returns the tagged line, or None after consuming what it could (the
        caller then reads one response the slow way: more data, or a literal is involved)."""
        end = self.buf.rfind(b"\r\n", self.pos)
        if end < 0:
            return None
        chunk = self.buf[self.pos:end + 2]
        if b"}\r\n" in chunk:
            return None
        if chunk.startswith(prefix):
            k = 0
        else:
            k = chunk.find(b"\r\n" + prefix)
            k = k + 2 if k >= 0 else -1
        body = chunk if k < 0 else chunk[:k]
        if body:
            lines = body[:-2].split(b"\r\n")
            self._check_untagged(lines, what, bye_ok)
            untagged.extend(lines)
        if k < 0:
            self.pos = end + 2
            return None
        t_end = chunk.index(b"\r\n", k)
        self.pos += t_end + 2
        return chunk[k:t_end]

    async def timed(self, stats, name, text, literals=()):
        """`cmd` with its latency recorded in `stats[name]` (seconds)."""
        t = time.perf_counter()
        out = await self.cmd(text, literals)
        stats.setdefault(name, []).append(time.perf_counter() - t)
        return out

    async def login(self, user, password):
        await self.cmd(b"LOGIN " + quote(user) + b" " + quote(password))

    async def scram_sha256(self, user, password):
        """AUTHENTICATE SCRAM-SHA-256 (RFC 5802, RFC 7677): the server checks a proof against
        its stored keys, no password hash per login; the client's PBKDF2 is computed once per
        (password, salt, iterations) and cached. The server's signature is verified."""
        tag = self.next_tag()
        name = user.replace("=", "=3D").replace(",", "=2C")
        bare = f"n={name},r={base64.b64encode(os.urandom(18)).decode()}".encode()
        self.w.write(tag + b" AUTHENTICATE SCRAM-SHA-256\r\n")
        await self._challenge(tag)  # the empty "+ " (no SASL-IR used)
        self.w.write(base64.b64encode(b"n,," + bare) + b"\r\n")
        server_first = await self._challenge(tag)
        attrs = dict(x.split(b"=", 1) for x in server_first.split(b","))
        if not attrs[b"r"].startswith(bare.split(b",r=", 1)[1]):
            raise ProtocolError("SCRAM: the server nonce does not extend ours")
        salted = _salted(password, base64.b64decode(attrs[b"s"]), int(attrs[b"i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = b"c=biws,r=" + attrs[b"r"]
        auth_message = bare + b"," + server_first + b"," + without_proof
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.w.write(base64.b64encode(without_proof + b",p=" + base64.b64encode(proof)) + b"\r\n")
        want = b"v=" + base64.b64encode(hmac.digest(hmac.digest(salted, b"Server Key", "sha256"),
                                                     auth_message, "sha256"))
        while True:
            r = await self.read_response()
            if r.startswith(b"+"):
                if base64.b64decode(r[1:].strip()) != want:
                    raise ProtocolError(f"SCRAM: wrong server signature {r[:100]!r}")
                self.w.write(b"\r\n")
            elif r.startswith(tag + b" "):
                if r[len(tag) + 1:].split(b" ", 1)[0].upper() != b"OK":
                    raise ProtocolError(f"AUTHENTICATE SCRAM-SHA-256: {r[:300]!r}")
                return
            elif not r.startswith(b"*"):
                raise ProtocolError(f"AUTHENTICATE: unparsable {r[:200]!r}")

    async def _challenge(self, tag):
        """The next continuation request's decoded data (untagged lines in between skipped)."""
        await self.w.drain()
        while True:
            r = await self.read_response()
            if r.startswith(b"+"):
                return base64.b64decode(r[1:].strip())
            if r.startswith(tag + b" "):
                raise ProtocolError(f"AUTHENTICATE refused: {r[:300]!r}")

    async def close(self):
        try:
            self.w.close()
            await self.w.wait_closed()
        except (OSError, ConnectionError):
            pass

    async def logout(self):
        try:
            await self.cmd(b"LOGOUT")
        finally:
            await self.close()


_SALTED = {}


def _salted(password, salt, iterations):
    key = (password, salt, iterations)
    if key not in _SALTED:
        _SALTED[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return _SALTED[key]


def quote(s):
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def count_exists(untagged):
    """The last `* N EXISTS` among responses, or None."""
    n = None
    for u in untagged:
        if u.endswith(b" EXISTS") and u.startswith(b"* "):
            n = int(u.split()[1])
    return n


def fetch_count(untagged):
    return sum(1 for u in untagged if u.startswith(b"* ") and b" FETCH (" in u[:24])


def search_numbers(untagged, keyword=b"SEARCH"):
    """Numbers of a `* SEARCH ...` / `* SORT ...` response (None if absent)."""
    prefix = b"* " + keyword
    for u in untagged:
        if u == prefix or u.startswith(prefix + b" "):
            rest = u[len(prefix):].split()
            # RFC 7162 (MODSEQ n) may trail SEARCH results.
            return [int(x) for x in rest if x.isdigit()]
    return None


def uid_of(tagged, code=b"APPENDUID"):
    """The last UID of an `[APPENDUID v uid]` / `[COPYUID v src dst]` response code."""
    m = re.search(rb"\[" + code + rb" (\d+) ([0-9:,]+)(?: ([0-9:,]+))?\]", tagged)
    if not m:
        return None
    last = m.group(3) or m.group(2)
    return last
