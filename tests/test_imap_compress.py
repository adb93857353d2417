"""COMPRESS=DEFLATE (RFC 4978) on a raw socket: raw DEFLATE (zlib wbits = -15) both ways,
with a sync flush after each command, then ordinary commands (APPEND with a literal, FETCH of
a large body) through the compressed stream."""

from harness import Literal, fetch_items, message


def test_compress_deflate(raw):
    resp = raw.command("COMPRESS DEFLATE")
    assert resp.status == "OK", resp
    raw.start_compression()
    # Everything from here is deflated in both directions.
    assert raw.command("NOOP").status == "OK"
    body = message("compressed", "compress me " * 5000 + "\r\n")
    raw.ok("APPEND INBOX ", Literal(body))
    raw.ok("SELECT INBOX")
    f = raw.ok("FETCH 1 (BODY.PEEK[] RFC822.SIZE)").named("FETCH")
    _, items = fetch_items(f[0])
    assert items["BODY[]"] == body
    assert int(items["RFC822.SIZE"]) == len(body)
    # A second COMPRESS is refused (RFC 4978 §3: NO [COMPRESSIONACTIVE]).
    resp = raw.command("COMPRESS DEFLATE")
    assert resp.status == "NO" and resp.code == "COMPRESSIONACTIVE", resp
    resp = raw.command("LOGOUT")
    assert resp.status == "OK"


def test_compress_actually_compresses(server, user):
    r = server.raw(user)
    try:
        r.ok("APPEND INBOX ", Literal(message("zz", "z" * 200_000 + "\r\n")))
        r.ok("SELECT INBOX")
        r.ok("COMPRESS DEFLATE")
        r.start_compression()
        # Count the bytes on the wire for a FETCH of a very compressible body.
        counted = []
        real_fill = r._fill

        def counting_fill(timeout=None):
            before = len(r.buf)
            r.sock.settimeout(timeout if timeout is not None else r.timeout)
            data = r.sock.recv(1 << 16)
            if not data:
                raise EOFError
            counted.append(len(data))
            r.buf += r.inflate.decompress(data)
            return len(r.buf) - before

        r._fill = counting_fill
        resp = r.ok("FETCH 1 (BODY.PEEK[])")
        r._fill = real_fill
        assert len(fetch_items(resp.named("FETCH")[0])[1]["BODY[]"]) > 200_000
        assert sum(counted) < 20_000, sum(counted)
    finally:
        r.close()


def test_compress_unknown_algorithm(raw):
    resp = raw.command("COMPRESS X-NOPE")
    assert resp.status in ("NO", "BAD"), resp
    assert raw.command("NOOP").status == "OK"


def test_compress_before_login_is_refused(server):
    r = server.raw()
    try:
        resp = r.command("COMPRESS DEFLATE")
        # RFC 4978 §3: allowed only in the authenticated or selected state.
        assert resp.status in ("BAD", "NO"), resp
        assert r.command("NOOP").status == "OK"
    finally:
        r.close()
