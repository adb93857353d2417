"""METADATA and METADATA-SERVER (RFC 5464): SETMETADATA / GETMETADATA on mailboxes and the
server, NIL removal, DEPTH, MAXSIZE with [METADATA LONGENTRIES], literal values, limits
([METADATA MAXSIZE], [METADATA TOOMANY]), entry-name validation, private vs shared."""

import pytest

from harness import Literal, parse_sexp, quote, text


def get(r, mailbox, *entries, options=None):
    opts = f"({options}) " if options else ""
    names = entries[0] if len(entries) == 1 else "(" + " ".join(entries) + ")"
    resp = r.ok(f"GETMETADATA {opts}{mailbox} {names}")
    values = {}
    for item in resp.named("METADATA"):
        parsed = parse_sexp(item)
        kv = parsed[1]
        for i in range(0, len(kv), 2):
            values[text(kv[i]).lower()] = kv[i + 1]
    return values, resp


def test_set_and_get_mailbox_entry(raw):
    raw.ok('SETMETADATA INBOX (/private/comment "My own comment")')
    values, resp = get(raw, "INBOX", "/private/comment")
    assert values == {"/private/comment": b"My own comment"}
    # `* METADATA INBOX (/private/comment "My own comment")`
    assert parse_sexp(resp.named("METADATA")[0])[0] == "INBOX"


def test_set_and_get_server_entry(raw):
    raw.ok('SETMETADATA "" (/private/vendor/pytest/setting "on")')
    values, resp = get(raw, '""', "/private/vendor/pytest/setting")
    assert values == {"/private/vendor/pytest/setting": b"on"}
    assert parse_sexp(resp.named("METADATA")[0])[0] == b""


def test_several_entries_in_one_command(raw):
    raw.ok('SETMETADATA INBOX (/private/a "1" /shared/b "2" /private/c "3")')
    values, _ = get(raw, "INBOX", "/private/a", "/shared/b", "/private/c")
    assert values == {"/private/a": b"1", "/shared/b": b"2", "/private/c": b"3"}


def test_nil_removes(raw):
    raw.ok('SETMETADATA INBOX (/private/comment "x")')
    raw.ok("SETMETADATA INBOX (/private/comment NIL)")
    values, _ = get(raw, "INBOX", "/private/comment")
    # Absent entries are returned as NIL or not at all.
    assert values.get("/private/comment") is None


def test_literal_value_with_line_breaks(raw):
    value = b"line one\r\nline two\r\n"
    raw.ok("SETMETADATA INBOX (/shared/comment ", Literal(value), ")")
    values, _ = get(raw, "INBOX", "/shared/comment")
    assert values["/shared/comment"] == value


def test_entry_names_are_case_insensitive(raw):
    raw.ok('SETMETADATA INBOX (/private/Vendor/Pytest/Case "v")')
    values, _ = get(raw, "INBOX", "/PRIVATE/vendor/pytest/case")
    assert list(values.values()) == [b"v"]


def test_depth(raw):
    raw.ok('SETMETADATA INBOX (/private/d "0" /private/d/one "1" /private/d/one/two "2")')
    values, _ = get(raw, "INBOX", "/private/d")
    assert values == {"/private/d": b"0"}  # DEPTH 0 is the default
    values, _ = get(raw, "INBOX", "/private/d", options="DEPTH 1")
    assert values == {"/private/d": b"0", "/private/d/one": b"1"}
    values, _ = get(raw, "INBOX", "/private/d", options="DEPTH infinity")
    assert values == {"/private/d": b"0", "/private/d/one": b"1", "/private/d/one/two": b"2"}


def test_maxsize_and_longentries(raw):
    big = "x" * 100
    raw.ok(f'SETMETADATA INBOX (/shared/big "{big}" /shared/small "tiny")')
    values, resp = get(raw, "INBOX", "/shared/big", "/shared/small", options="MAXSIZE 10")
    # RFC 5464 §4.2.1: the long value is left out, its size reported in the OK.
    assert values.get("/shared/small") == b"tiny"
    assert values.get("/shared/big") is None
    assert resp.code == "METADATA LONGENTRIES 100", resp
    values, resp = get(raw, "INBOX", "/shared/big", options="MAXSIZE 1000")
    assert values["/shared/big"] == big.encode() and resp.code is None


def test_too_large_value_is_refused(raw):
    big = b"y" * 200_000
    resp = raw.command("SETMETADATA INBOX (/private/huge ", Literal(big), ")")
    assert resp.status == "NO", resp
    assert resp.code and resp.code.upper().startswith("METADATA MAXSIZE"), resp
    limit = int(resp.code.split()[-1])
    assert 0 < limit < len(big)
    values, _ = get(raw, "INBOX", "/private/huge")
    assert values.get("/private/huge") is None


def test_too_many_entries(raw):
    """Entries are bounded: adding batches eventually fails with NO [METADATA TOOMANY],
    and the failing batch stores nothing."""
    refused = None
    for batch in range(40):
        entries = " ".join(f'/private/many/e{batch}x{i} "v"' for i in range(50))
        resp = raw.command(f"SETMETADATA INBOX ({entries})")
        if resp.status != "OK":
            refused = (batch, resp)
            break
    assert refused, "2000 entries accepted: no TOOMANY limit"
    batch, resp = refused
    assert resp.status == "NO" and resp.code == "METADATA TOOMANY", resp
    values, _ = get(raw, "INBOX", f"/private/many/e{batch}x0")
    assert values.get(f"/private/many/e{batch}x0") is None


@pytest.mark.parametrize("entry", [
    "/private", "/shared/", "/other/x", "/private//x", "/private/a*", "/private/%", "noslash",
])
def test_invalid_entry_names(raw, entry):
    resp = raw.command(f'SETMETADATA INBOX ({entry} "v")')
    assert resp.status == "BAD", resp


def test_missing_mailbox(raw):
    resp = raw.command('SETMETADATA NoSuchBox (/private/comment "x")')
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp
    resp = raw.command("GETMETADATA NoSuchBox /private/comment")
    assert resp.status == "NO", resp


def test_metadata_per_mailbox(raw):
    raw.ok('SETMETADATA INBOX (/private/comment "inbox")')
    raw.ok('SETMETADATA Sent (/private/comment "sent")')
    assert get(raw, "INBOX", "/private/comment")[0]["/private/comment"] == b"inbox"
    assert get(raw, "Sent", "/private/comment")[0]["/private/comment"] == b"sent"
    assert get(raw, '""', "/private/comment")[0].get("/private/comment") is None


def test_metadata_follows_rename_and_dies_with_delete(raw):
    raw.ok("CREATE Tagged")
    raw.ok('SETMETADATA Tagged (/private/comment "keep")')
    raw.ok("RENAME Tagged Retagged")
    assert get(raw, "Retagged", "/private/comment")[0]["/private/comment"] == b"keep"
    raw.ok("DELETE Retagged")
    raw.ok("CREATE Retagged")
    assert get(raw, "Retagged", "/private/comment")[0].get("/private/comment") is None


def test_private_entries_are_per_user_on_shared_mailbox(server):
    alice, bob = server.add_user(), server.add_user()
    a, b = server.raw(alice), server.raw(bob)
    try:
        a.ok(f"SETACL INBOX {bob.address} lr")
        a.ok('SETMETADATA INBOX (/private/comment "alice private" /shared/comment "for all")')
        name = quote(f"Other Users/{alice.address}/INBOX")
        values, _ = get(b, name, "/private/comment", "/shared/comment")
        assert values.get("/shared/comment") == b"for all"
        assert values.get("/private/comment") is None
        b.ok(f'SETMETADATA {name} (/private/comment "bob private")')
        assert get(b, name, "/private/comment")[0]["/private/comment"] == b"bob private"
        assert get(a, "INBOX", "/private/comment")[0]["/private/comment"] == b"alice private"
        # Without the "w" right bob cannot change shared entries.
        resp = b.command(f'SETMETADATA {name} (/shared/comment "bob was here")')
        assert resp.status == "NO", resp
        assert get(a, "INBOX", "/shared/comment")[0]["/shared/comment"] == b"for all"
    finally:
        a.close()
        b.close()


def test_metadata_with_imaplib(imap):
    typ, data = imap._simple_command("SETMETADATA", "INBOX", '(/private/comment "via imaplib")')
    assert typ == "OK", data
    typ, data = imap._simple_command("GETMETADATA", "INBOX", "/private/comment")
    assert typ == "OK", data
    typ, data = imap._untagged_response(typ, data, "METADATA")
    kv = parse_sexp(data[0])[1]
    assert [text(kv[0]), kv[1]] == ["/private/comment", b"via imaplib"]
