"""APPEND (RFC 9051 §6.3.12) with flags and INTERNALDATE, APPENDUID (RFC 4315), MULTIAPPEND
(RFC 3502), APPENDLIMIT/TOOBIG (RFC 7889), over quota NO [OVERQUOTA] with nothing stored
(RFC 9208 §4.5), broken APPENDs, and a 20 MB APPEND."""

import hashlib
import imaplib
import re
import time

import pytest

from harness import Literal, imaplib_fetch, message, parse_sexp, status


def appenduid(data):
    """`[APPENDUID uidvalidity uid-set]` from imaplib's tagged text."""
    text = data[0].decode() if isinstance(data[0], bytes) else data[0]
    m = re.search(r"\[APPENDUID (\d+) ([\d:,]+)\]", text)
    assert m, f"no APPENDUID in {data!r}"
    return int(m.group(1)), m.group(2)


def test_append_with_flags_and_date(imap):
    msg = message("dated", "Dated body.\r\n")
    date = '"02-Jan-2020 10:11:12 +0200"'
    typ, data = imap.append("INBOX", "(\\Seen \\Flagged $Custom)", date, msg)
    assert typ == "OK", data
    uidvalidity, uid = appenduid(data)
    imap.select("INBOX")
    st = status(imap, "INBOX", "(UIDVALIDITY MESSAGES)")
    assert st["UIDVALIDITY"] == uidvalidity and st["MESSAGES"] == 1
    f = imaplib_fetch(imap, uid, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", uid=True)
    (item,) = f.values()
    assert int(item["UID"]) == int(uid)
    assert {str(x) for x in item["FLAGS"]} >= {"\\Seen", "\\Flagged", "$Custom"}
    assert item["INTERNALDATE"] == b"02-Jan-2020 10:11:12 +0200"
    assert int(item["RFC822.SIZE"]) == len(msg)
    assert item["BODY[]"] == msg


def test_append_without_date_uses_now(imap):
    typ, data = imap.append("INBOX", None, None, message("now"))
    assert typ == "OK"
    imap.select("INBOX")
    item = imaplib_fetch(imap, "1", "(INTERNALDATE)")[1]
    when = imaplib.Internaldate2tuple(b'INTERNALDATE "' + item["INTERNALDATE"] + b'"')
    assert when is not None
    assert abs(time.mktime(when) - time.time()) < 24 * 3600  # today, not an epoch default


def test_append_uids_increase(imap):
    uids = [int(appenduid(imap.append("INBOX", None, None, message(f"m{i}"))[1])[1])
            for i in range(3)]
    assert uids == sorted(uids) and len(set(uids)) == 3


def test_append_to_missing_mailbox_says_trycreate(raw):
    resp = raw.command("APPEND NoSuchBox ", Literal(message("x")))
    assert resp.status == "NO" and resp.code == "TRYCREATE", resp


def test_append_to_selected_mailbox_announces_exists(raw):
    raw.ok("SELECT INBOX")
    resp = raw.ok("APPEND INBOX ", Literal(message("seen live")))
    assert b"1 EXISTS" in resp.untagged, resp


def test_append_keyword_flags_are_kept(raw):
    raw.ok("APPEND INBOX ($Label1 NonJunk) ", Literal(message("kw")))
    raw.ok("SELECT INBOX")
    f = raw.ok("FETCH 1 (FLAGS)").named("FETCH")[0]
    assert b"$Label1" in f and b"NonJunk" in f


def test_multiappend(raw):
    m1, m2, m3 = message("multi 1"), message("multi 2"), message("multi 3")
    resp = raw.command("APPEND INBOX (\\Seen) ", Literal(m1), " ", Literal(m2),
                       ' (\\Flagged) "01-Feb-2021 08:00:00 +0000" ', Literal(m3))
    assert resp.status == "OK", resp
    m = re.fullmatch(r"APPENDUID (\d+) (\S+)", resp.code or "")
    assert m, resp
    raw.ok("SELECT INBOX")
    items = {}
    for f in raw.ok("FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])").named("FETCH"):
        parsed = parse_sexp(f)
        kv = parsed[2]
        items[int(parsed[0])] = {str(kv[i]).upper(): kv[i + 1] for i in range(0, len(kv), 2)}
    assert [items[i]["BODY[]"] for i in (1, 2, 3)] == [m1, m2, m3]
    assert "\\Seen" in items[1]["FLAGS"]
    assert "\\Flagged" in items[3]["FLAGS"] and "\\Seen" not in items[3]["FLAGS"]
    assert items[3]["INTERNALDATE"] == b"01-Feb-2021 08:00:00 +0000"
    # RFC 4315: the APPENDUID set names exactly these UIDs, in order.
    uids = [int(items[i]["UID"]) for i in (1, 2, 3)]
    assert m.group(2) in (f"{uids[0]}:{uids[2]}", ",".join(map(str, uids)))


def test_multiappend_is_atomic_over_quota(server):
    """RFC 3502 §6.3.11: if any message cannot be appended, none is."""
    u = server.add_user(quota="60KB")
    r = server.raw(u)
    try:
        small = message("fits", "x" * 20_000)
        big = message("does not fit", "y" * 50_000)
        resp = r.command("APPEND INBOX ", Literal(small), " ", Literal(big))
        assert resp.status == "NO" and resp.code == "OVERQUOTA", resp
        st = parse_sexp(r.ok("STATUS INBOX (MESSAGES SIZE)").named("STATUS")[0])[1]
        assert [int(x) for x in st[1::2]] == [0, 0]
    finally:
        r.close()


def test_append_over_quota_stores_nothing(server):
    u = server.add_user(quota="100KB")
    c = server.imap(u)
    try:
        first = message("first", "a" * 60_000)
        assert c.append("INBOX", None, None, first)[0] == "OK"
        typ, data = c.append("INBOX", None, None, message("second", "b" * 60_000))
        assert typ == "NO", data
        assert b"[OVERQUOTA]" in data[0], data
        st = status(c, "INBOX", "(MESSAGES SIZE)")
        assert st == {"MESSAGES": 1, "SIZE": len(first)}
        # Other mailboxes count towards the same quota.
        typ, data = c.append("Drafts", None, None, message("third", "c" * 60_000))
        assert typ == "NO" and b"[OVERQUOTA]" in data[0]
        assert status(c, "Drafts")["MESSAGES"] == 0
        # Freeing space makes room again.
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        assert c.append("INBOX", None, None, message("again", "d" * 60_000))[0] == "OK"
    finally:
        c.logout()


def test_append_beyond_appendlimit_is_refused_before_the_data(raw):
    caps = raw.ok("CAPABILITY").named("CAPABILITY")[0].decode().upper().split()
    limit = next((int(c.split("=")[1]) for c in caps if c.startswith("APPENDLIMIT=")), 50_000_000)
    raw.send(f"t1 APPEND INBOX {{{limit + 1}}}\r\n".encode())
    resp = raw.read_response()
    # RFC 7889 §4: NO [TOOBIG] instead of the continuation request.
    assert re.match(rb"t1 NO \[TOOBIG\]", resp), resp
    assert raw.command("NOOP").status == "OK"


def test_broken_append_stores_nothing(raw):
    # Literal followed by junk instead of CRLF: the command is malformed.
    raw.send(b"t1 APPEND INBOX {5}\r\n")
    assert raw.read_response().startswith(b"+")
    raw.send(b"hello junk here\r\n")
    resp = raw.read_until_tagged("t1")
    assert resp.status == "BAD", resp
    # Bad date.
    resp = raw.command('APPEND INBOX "32-Foo-2020 99:00:00 +0000" ', Literal(message("d")))
    assert resp.status == "BAD", resp
    st = parse_sexp(raw.ok("STATUS INBOX (MESSAGES)").named("STATUS")[0])[1]
    assert int(st[1]) == 0


def test_append_non_synchronizing_literal(raw):
    caps = raw.ok("CAPABILITY").named("CAPABILITY")[0].upper().split()
    if b"LITERAL+" not in caps and b"LITERAL-" not in caps:
        pytest.fail("neither LITERAL+ nor LITERAL- advertised")
    resp = raw.command("APPEND INBOX ", Literal(message("plus"), plus=True))
    assert resp.status == "OK", resp


def test_append_binary_literal8(raw):
    """RFC 3516 §4.4: APPEND with a literal8 carrying a NUL octet in a binary part."""
    body = (b"Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02binary\xff\r\n")
    resp = raw.command("APPEND INBOX ", Literal(body, binary=True))
    assert resp.status == "OK", resp
    raw.ok("SELECT INBOX")
    f = raw.ok("FETCH 1 (BINARY.PEEK[1])").named("FETCH")[0]
    assert b"\x00\x01\x02binary\xff" in f


def test_append_20mb(server):
    u = server.add_user()
    c = server.imap(u)
    try:
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()_+=\r\n"
        body = line * (20 * 1024 * 1024 // len(line) + 1)
        msg = b"Subject: big\r\nFrom: big@example.test\r\n\r\n" + body
        typ, data = c.append("INBOX", None, None, msg)
        assert typ == "OK", data
        c.select("INBOX", readonly=True)
        item = imaplib_fetch(c, "1", "(RFC822.SIZE BODY.PEEK[]<0.64>)")[1]
        assert int(item["RFC822.SIZE"]) == len(msg)
        assert item["BODY[]<0>"] == msg[:64]
        tail = imaplib_fetch(c, "1", f"(BODY.PEEK[]<{len(msg) - 100}.100>)")[1]
        assert tail[f"BODY[]<{len(msg) - 100}>"] == msg[-100:]
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        got = next(d[1] for d in data if isinstance(d, tuple))
        assert hashlib.sha256(got).digest() == hashlib.sha256(msg).digest()
        assert status(c, "INBOX", "(SIZE)")["SIZE"] == len(msg)
    finally:
        c.logout()
