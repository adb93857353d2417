"""Session-level behaviour: the capability list after login, ID (RFC 2971), NAMESPACE
(RFC 2342), ENABLE (RFC 5161), NOOP/CHECK, and malformed input (every bad command gets a
BAD with a reason and the connection stays usable)."""

import re

import pytest

from harness import Literal, capabilities, parse_sexp

# What issue 2 asks the server to implement, as advertised after login.
REQUIRED_CAPABILITIES = [
    "IMAP4REV1", "IMAP4REV2", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN",
    "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "ENABLE", "ID",
    "CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE", "STATUS=SIZE", "ESEARCH",
    "SEARCHRES", "SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "COMPRESS=DEFLATE",
    "UTF8=ACCEPT", "OBJECTID", "PREVIEW", "METADATA", "METADATA-SERVER", "BINARY",
    "MULTIAPPEND", "WITHIN", "NOTIFY", "ACL",
]


@pytest.mark.parametrize("cap", REQUIRED_CAPABILITIES)
def test_capability_advertised_after_login(imap, cap):
    assert cap in capabilities(imap)


def test_literal_plus_or_minus_and_appendlimit(imap):
    caps = capabilities(imap)
    # RFC 7888: LITERAL+ (or LITERAL- , which IMAP4rev2 requires at least).
    assert "LITERAL+" in caps or "LITERAL-" in caps
    # RFC 7889: APPENDLIMIT=n, large enough for the 20 MB APPEND test.
    limits = [c for c in caps if c.startswith("APPENDLIMIT")]
    assert limits, caps
    m = re.fullmatch(r"APPENDLIMIT(?:=(\d+))?", limits[0])
    assert m
    if m.group(1):
        assert int(m.group(1)) >= 20 * 1024 * 1024


def test_rights_capability_lists_new_rights(imap):
    caps = capabilities(imap)
    rights = [c for c in caps if c.startswith("RIGHTS=")]
    assert rights, caps
    # RFC 4314 §5.1.1: the set MUST include t, e, x and k.
    assert set("texk") <= set(rights[0][len("RIGHTS="):].lower())


def test_capability_before_login(server):
    c = server.imap()
    try:
        caps = capabilities(c)
        assert {"IMAP4REV1", "IMAP4REV2", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "ID"} <= caps
    finally:
        c.logout()


def test_id(raw):
    resp = raw.ok('ID ("name" "pytest-imaplib" "version" "1")')
    ids = resp.named("ID")
    assert len(ids) == 1, resp
    parsed = parse_sexp(ids[0])
    # RFC 2971 §3.2: `* ID NIL` or a list of field/value pairs.
    assert parsed[0] is None or (isinstance(parsed[0], list) and len(parsed[0]) % 2 == 0)
    if parsed[0]:
        keys = [k.lower() for k in parsed[0][0::2]]
        assert b"name" in keys


def test_id_before_login(server):
    r = server.raw()
    try:
        resp = r.ok("ID NIL")
        assert len(resp.named("ID")) == 1
    finally:
        r.close()


def test_namespace(imap):
    typ, data = imap.namespace()
    assert typ == "OK"
    personal, other, shared = parse_sexp(data[0])
    # Personal namespace "" with "/" as delimiter; other users under "Other Users/".
    assert personal == [[b"", b"/"]] or personal[0][:2] == [b"", b"/"], personal
    assert other is not None and other[0][0] == b"Other Users/", other
    assert other[0][1] == b"/"


def test_enable_reports_what_it_enabled(raw):
    resp = raw.ok("ENABLE CONDSTORE X-UNKNOWN-EXTENSION")
    enabled = resp.named("ENABLED")
    assert enabled, resp
    words = b" ".join(enabled).upper().split()
    assert b"CONDSTORE" in words
    # RFC 5161 §3.1: unknown extensions are silently ignored.
    assert b"X-UNKNOWN-EXTENSION" not in words


def test_enable_is_refused_before_login(server):
    r = server.raw()
    try:
        assert r.command("ENABLE CONDSTORE").status == "BAD"
    finally:
        r.close()


def test_noop_and_check(raw):
    raw.ok("NOOP")
    raw.ok("SELECT INBOX")
    raw.ok("CHECK")
    raw.ok("NOOP")


# ---- malformed input ------------------------------------------------------------------

MALFORMED = [
    "FOO",                       # unknown command
    "SELECT",                    # missing argument
    "LOGIN onlyone",             # missing argument
    'STATUS INBOX (MESSAGES',    # unbalanced list
    "STATUS INBOX (NOT-AN-ITEM)",
    "LIST",                      # missing arguments
    "CREATE \"unterminated",
    "FETCH 1 FLAGS",             # not selected: BAD in authenticated state
    "SEARCH ALL",                # not selected
    "UID FROB 1",
    "ENABLE",
    "APPEND INBOX (\\Seen",      # broken flag list, no literal
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_command_gets_bad_and_connection_survives(raw, line):
    resp = raw.command(line)
    assert resp.status == "BAD", resp
    assert resp.text.strip(), "a BAD carries a human-readable reason"
    assert raw.command("NOOP").status == "OK"


@pytest.mark.parametrize("line", [
    "FETCH 1 (FLAGS",            # unbalanced
    "FETCH 1 (NOT-AN-ITEM)",
    "FETCH x (FLAGS)",           # bad sequence set
    "FETCH 0 (FLAGS)",           # 0 is not a sequence number
    "STORE 1 +FLAGZ (\\Seen)",
    "SEARCH NOT-A-KEY",
    "SEARCH SINCE not-a-date",
    "UID FETCH 1:* (BODY[HEADER.FIELDS])",
    "COPY 1",                    # missing mailbox
])
def test_malformed_selected_state_command(raw, line):
    raw.ok("SELECT INBOX")
    resp = raw.command(line)
    assert resp.status == "BAD", resp
    assert resp.text.strip()
    # Still selected.
    assert raw.command("UID SEARCH ALL").status == "OK"


def test_garbage_bytes_and_empty_line(raw):
    raw.send(b"\x01\x02\x03 \xff\xfe\r\n")
    resp = raw.read_response()
    assert b" BAD" in resp.upper(), resp
    raw.send(b"\r\n")
    resp = raw.read_response()
    assert b"BAD" in resp.upper(), resp
    assert raw.command("NOOP").status == "OK"


def test_missing_tag_space(raw):
    raw.send(b"NOOP\r\n")  # a tag but no command
    resp = raw.read_response()
    assert b"BAD" in resp.upper(), resp
    assert raw.command("NOOP").status == "OK"


def test_huge_literal_outside_append_is_refused_without_continuation(raw):
    """A literal far beyond any command's limit is refused at its announcement: the
    server must not answer `+` (RFC 7888 §4 for LITERAL-; RFC 9051 §7.5 for the rest)."""
    raw.send(b"t1 LOGIN {999999999}\r\n")
    resp = raw.read_response()
    assert not resp.startswith(b"+"), resp
    assert re.match(rb"(t1 (BAD|NO)|\* BYE)", resp), resp


def test_overlong_command_line(raw):
    raw.send(b"t1 NOOP " + b"x" * 200_000 + b"\r\n")
    resp = raw.read_response()
    # RFC 9051 §4: line length limits are the server's; the answer is BAD (or BYE).
    assert re.match(rb"(t1 BAD|\* BAD|\* BYE)", resp), resp[:200]


def test_literal_in_ordinary_command(raw):
    """Synchronizing literals work in any astring position."""
    resp = raw.command("CREATE ", Literal(b"Literal Box"))
    assert resp.status == "OK", resp
    listed = raw.ok('LIST "" "Literal Box"').named("LIST")
    assert len(listed) == 1
