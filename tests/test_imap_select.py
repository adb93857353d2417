"""SELECT / EXAMINE / CLOSE / UNSELECT (RFC 9051 §6.3.2-6.3.3, §6.4.1-6.4.2, RFC 3691),
\\Recent semantics (RFC 3501), the CLOSED response code, and OBJECTID's MAILBOXID."""

import re

from harness import Literal, parse_sexp


def codes_of(resp):
    """{CODE: rest} from the untagged OK responses of a SELECT."""
    out = {}
    for u in resp.untagged:
        m = re.match(rb"OK \[([A-Z0-9-]+)(?: ([^\]]*))?\]", u)
        if m:
            out[m.group(1).decode()] = (m.group(2) or b"").decode()
    return out


def fill(r, specs):
    """Appends messages: specs is a list of flag strings ("" for none)."""
    for i, flags in enumerate(specs):
        body = f"Subject: m{i}\r\nFrom: a@example.test\r\n\r\nbody {i}\r\n".encode()
        r.ok(f"APPEND INBOX ({flags}) ", Literal(body))


def test_select_responses(raw):
    fill(raw, ["\\Seen", "", "\\Flagged"])
    resp = raw.ok("SELECT INBOX")
    assert resp.code == "READ-WRITE", resp
    assert b"3 EXISTS" in resp.untagged
    # IMAP4rev1 session: RECENT is sent; nobody selected the mailbox before.
    assert b"3 RECENT" in resp.untagged
    flags = resp.named("FLAGS")
    assert flags, resp
    flag_set = {str(f).upper() for f in parse_sexp(flags[0])[0]}
    assert {"\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\SEEN", "\\DRAFT"} <= flag_set
    codes = codes_of(resp)
    assert "PERMANENTFLAGS" in codes and "\\*" in codes["PERMANENTFLAGS"]
    assert int(codes["UIDVALIDITY"]) > 0
    assert int(codes["UIDNEXT"]) == 4
    # RFC 3501: UNSEEN is the sequence number of the first unseen message.
    assert codes.get("UNSEEN") == "2"
    # RFC 7162 §3.1.2.1: a CONDSTORE server reports HIGHESTMODSEQ on every SELECT.
    assert int(codes["HIGHESTMODSEQ"]) > 0
    # RFC 8474 §4.1: MAILBOXID.
    assert re.fullmatch(r"\(\S+\)", codes["MAILBOXID"]), codes


def test_select_rev2_mode_has_no_recent(raw):
    fill(raw, [""])
    raw.ok("ENABLE IMAP4rev2")
    resp = raw.ok("SELECT INBOX")
    assert b"1 EXISTS" in resp.untagged
    assert not any(u.endswith(b" RECENT") for u in resp.untagged), resp
    # RFC 9051 §6.3.2: a LIST response for the selected mailbox is sent in IMAP4rev2.
    assert resp.named("LIST"), resp


def test_recent_is_claimed_by_first_session(server, user):
    a = server.raw(user)
    b = server.raw(user)
    try:
        fill(a, ["", ""])
        r1 = a.ok("SELECT INBOX")
        assert b"2 RECENT" in r1.untagged
        r2 = b.ok("SELECT INBOX")
        assert b"0 RECENT" in r2.untagged
        # FETCH in the first session reports \Recent on those messages.
        f = a.ok("FETCH 1:2 (FLAGS)").named("FETCH")
        assert all(b"\\Recent" in x for x in f), f
    finally:
        a.close()
        b.close()


def test_examine_is_read_only_and_does_not_claim_recent(server, user):
    a = server.raw(user)
    b = server.raw(user)
    try:
        fill(a, [""])
        resp = a.ok("EXAMINE INBOX")
        assert resp.code == "READ-ONLY", resp
        assert b"1 EXISTS" in resp.untagged
        # No flag change is possible.
        assert a.command("STORE 1 +FLAGS (\\Seen)").status == "NO"
        # BODY[] in a read-only mailbox does not set \Seen.
        a.ok("FETCH 1 (BODY[])")
        flags = a.ok("FETCH 1 (FLAGS)").named("FETCH")[0]
        assert b"\\Seen" not in flags, flags
        # EXAMINE did not take \Recent: the next SELECT still sees it.
        r2 = b.ok("SELECT INBOX")
        assert b"1 RECENT" in r2.untagged
    finally:
        a.close()
        b.close()


def test_select_missing_mailbox_deselects(raw):
    raw.ok("SELECT INBOX")
    resp = raw.command("SELECT NoSuchBox")
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp
    # RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
    assert raw.command("FETCH 1 (FLAGS)").status == "BAD"


def test_reselect_sends_closed(raw):
    raw.ok("ENABLE QRESYNC")
    raw.ok("SELECT INBOX")
    resp = raw.ok("SELECT Sent")
    # RFC 7162 §3.2.11 / RFC 9051: OK [CLOSED] before the new mailbox's responses.
    assert resp.untagged and re.match(rb"OK \[CLOSED\]", resp.untagged[0]), resp


def test_close_expunges_deleted_silently(raw):
    fill(raw, ["\\Deleted", "", "\\Deleted"])
    raw.ok("SELECT INBOX")
    resp = raw.ok("CLOSE")
    assert not any(b"EXPUNGE" in u for u in resp.untagged), resp
    st = parse_sexp(raw.ok("STATUS INBOX (MESSAGES)").named("STATUS")[0])
    assert int(st[1][1]) == 1
    assert raw.command("FETCH 1 (FLAGS)").status == "BAD"


def test_close_in_examine_does_not_expunge(raw):
    fill(raw, ["\\Deleted"])
    raw.ok("EXAMINE INBOX")
    raw.ok("CLOSE")
    st = parse_sexp(raw.ok("STATUS INBOX (MESSAGES)").named("STATUS")[0])
    assert int(st[1][1]) == 1


def test_unselect_does_not_expunge(raw):
    fill(raw, ["\\Deleted", ""])
    raw.ok("SELECT INBOX")
    raw.ok("UNSELECT")
    st = parse_sexp(raw.ok("STATUS INBOX (MESSAGES)").named("STATUS")[0])
    assert int(st[1][1]) == 2
    assert raw.command("FETCH 1 (FLAGS)").status == "BAD"


def test_select_case_insensitive_inbox(raw):
    resp = raw.ok("SELECT inbox")
    assert resp.code == "READ-WRITE"


def test_uidvalidity_and_uidnext_survive_reselect(raw):
    fill(raw, [""])
    a = codes_of(raw.ok("SELECT INBOX"))
    raw.ok("UNSELECT")
    fill(raw, [""])
    b = codes_of(raw.ok("SELECT INBOX"))
    assert a["UIDVALIDITY"] == b["UIDVALIDITY"]
    assert int(b["UIDNEXT"]) == int(a["UIDNEXT"]) + 1
