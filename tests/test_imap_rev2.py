"""IMAP4rev2 mode (RFC 9051) after ENABLE IMAP4rev2: ESEARCH instead of SEARCH, no \\Recent,
and the rest of the session unchanged."""

from harness import Literal, parse_sexp


def enable_rev2(r):
    resp = r.ok("ENABLE IMAP4rev2")
    assert b"IMAP4REV2" in b" ".join(resp.named("ENABLED")).upper(), resp


def fill(r, n):
    for i in range(n):
        r.ok("APPEND INBOX ", Literal(f"Subject: r{i}\r\n\r\nbody\r\n".encode()))


def test_search_answers_with_esearch(raw):
    fill(raw, 2)
    enable_rev2(raw)
    raw.ok("SELECT INBOX")
    resp = raw.ok("SEARCH ALL")
    # RFC 9051 §7.3.4: IMAP4rev2 has no SEARCH response; results come as ESEARCH.
    assert not resp.named("SEARCH"), resp
    (es,) = resp.named("ESEARCH")
    parsed = parse_sexp(es)
    assert str(parsed[0][0]).upper() == "TAG"
    assert [str(x).upper() for x in parsed[1:]] == ["ALL", "1:2"]


def test_uid_search_esearch_marks_uid(raw):
    fill(raw, 1)
    enable_rev2(raw)
    raw.ok("SELECT INBOX")
    (es,) = raw.ok("UID SEARCH ALL").named("ESEARCH")
    assert [str(x).upper() for x in parse_sexp(es)[1:2]] == ["UID"]


def test_no_recent_in_rev2(server, user):
    a = server.raw(user)
    b = server.raw(user)
    try:
        enable_rev2(a)
        a.ok("SELECT INBOX")
        fill(b, 1)
        resp = a.ok("NOOP")
        assert b"1 EXISTS" in resp.untagged, resp
        assert not any(u.endswith(b"RECENT") for u in resp.untagged), resp
        f = a.ok("FETCH 1 (FLAGS)").named("FETCH")[0]
        assert b"\\Recent" not in f, f
    finally:
        a.close()
        b.close()
