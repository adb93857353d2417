"""STORE (RFC 9051 §6.4.6) and SEARCH (§6.4.4) with ESEARCH RETURN options (RFC 4731 /
RFC 9051), SEARCHRES (RFC 5182), WITHIN (RFC 5032) and CHARSET UTF-8."""

import re

import pytest

from harness import Literal, fetch_items, imaplib_fetch, parse_sexp

# (subject, from, to, date header, internaldate, flags, body)
MESSAGES = [
    ("Quarterly report", "alice@example.test", "bob@example.test",
     "Mon, 05 Jan 2026 09:00:00 +0000", "05-Jan-2026 09:00:00 +0000", "\\Seen", "Numbers inside.\r\n"),
    ("Lunch?", "carol@example.test", "bob@example.test",
     "Tue, 10 Feb 2026 12:00:00 +0000", "10-Feb-2026 12:00:00 +0000", "\\Flagged", "Pizza or sushi.\r\n"),
    ("Re: Quarterly report", "bob@example.test", "alice@example.test",
     "Wed, 11 Feb 2026 08:30:00 +0000", "11-Feb-2026 08:30:00 +0000", "\\Seen \\Answered $Work",
     "Looks good. " + "padding " * 200 + "\r\n"),
    ("Café au lait", "dave@example.test", "bob@example.test",
     "Sun, 01 Mar 2026 07:00:00 +0000", "01-Mar-2026 07:00:00 +0000", "", "Crème brûlée.\r\n"),
]


def build(i):
    subject, frm, to, date, _, _, body = MESSAGES[i]
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <s{i}@example.test>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}").encode()


@pytest.fixture
def box(raw):
    for i, (_, _, _, _, idate, flags, _) in enumerate(MESSAGES):
        raw.ok(f'APPEND INBOX ({flags}) "{idate}" ', Literal(build(i)))
    raw.ok("SELECT INBOX")
    return raw


def search(r, criteria, uid=False):
    resp = r.ok(("UID " if uid else "") + "SEARCH " + criteria)
    found = resp.named("SEARCH")
    assert len(found) == 1, resp
    return [int(x) for x in found[0].split() if x.isdigit()]


@pytest.mark.parametrize("criteria, expected", [
    ("ALL", [1, 2, 3, 4]),
    ("SEEN", [1, 3]),
    ("UNSEEN", [2, 4]),
    ("FLAGGED", [2]),
    ("UNFLAGGED", [1, 3, 4]),
    ("ANSWERED", [3]),
    ("KEYWORD $Work", [3]),
    ("UNKEYWORD $Work", [1, 2, 4]),
    ('SUBJECT "quarterly"', [1, 3]),
    ("FROM carol", [2]),
    ("TO alice@example.test", [3]),
    ('BODY "sushi"', [2]),
    ('TEXT "pizza"', [2]),
    ('TEXT "Lunch"', [2]),
    ("HEADER Message-ID <s2@example.test>", [3]),
    ("LARGER 1000", [3]),
    ("SMALLER 1000", [1, 2, 4]),
    ("SINCE 11-Feb-2026", [3, 4]),
    ("BEFORE 10-Feb-2026", [1]),
    ("ON 10-Feb-2026", [2]),
    ("SENTSINCE 01-Mar-2026", [4]),
    ("SENTBEFORE 06-Jan-2026", [1]),
    ("SENTON 11-Feb-2026", [3]),
    ("OR FLAGGED ANSWERED", [2, 3]),
    ("NOT SEEN", [2, 4]),
    ("(SEEN SUBJECT report)", [1, 3]),
    ("2:3", [2, 3]),
    ("2:* UNSEEN", [2, 4]),
    ('SEEN NOT SUBJECT "Re:"', [1]),
    ("DELETED", []),
    ("UNDELETED", [1, 2, 3, 4]),
    ("DRAFT", []),
])
def test_search(box, criteria, expected):
    assert search(box, criteria) == expected


def test_uid_search_returns_uids(box):
    uids = {seq: int(kv["UID"]) for seq, kv in
            (fetch_items(f) for f in box.ok("FETCH 1:* (UID)").named("FETCH"))}
    assert search(box, "FLAGGED", uid=True) == [uids[2]]
    assert search(box, f"UID {uids[3]}:*") == [3, 4]


def test_search_charset_utf8_literal(box):
    resp = box.ok("SEARCH CHARSET UTF-8 SUBJECT ", Literal("Café".encode()))
    assert [int(x) for x in resp.named("SEARCH")[0].split()] == [4]
    resp = box.ok("SEARCH CHARSET UTF-8 BODY ", Literal("brûlée".encode()))
    assert [int(x) for x in resp.named("SEARCH")[0].split()] == [4]


def test_search_unknown_charset(box):
    resp = box.command("SEARCH CHARSET X-NOPE SUBJECT a")
    # RFC 9051 §6.4.4: NO [BADCHARSET (supported...)].
    assert resp.status == "NO" and resp.code and resp.code.startswith("BADCHARSET"), resp


def esearch(r, command):
    resp = r.ok(command)
    found = resp.named("ESEARCH")
    assert len(found) == 1, resp
    parsed = parse_sexp(found[0])
    out = {}
    rest = parsed
    if rest and isinstance(rest[0], list):  # (TAG "x")
        assert str(rest[0][0]).upper() == "TAG"
        out["TAG"] = rest[0][1]
        rest = rest[1:]
    if rest and str(rest[0]).upper() == "UID":
        out["UID"] = True
        rest = rest[1:]
    for i in range(0, len(rest), 2):
        out[str(rest[i]).upper()] = str(rest[i + 1])
    return out


def test_esearch_min_max_count_all(box):
    r = esearch(box, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert r["MIN"] == "2" and r["MAX"] == "4" and r["COUNT"] == "2"
    assert r["ALL"] in ("2,4",)
    assert "TAG" in r  # RFC 4731 §3.1: the search correlator


def test_esearch_return_empty_is_all(box):
    r = esearch(box, "SEARCH RETURN () ALL")
    assert r["ALL"] == "1:4"


def test_esearch_uid(box):
    r = esearch(box, "UID SEARCH RETURN (COUNT) SEEN")
    assert r.get("UID") is True and r["COUNT"] == "2"


def test_esearch_no_match_omits_min_max(box):
    r = esearch(box, "SEARCH RETURN (MIN MAX COUNT) DELETED")
    assert r["COUNT"] == "0"
    assert "MIN" not in r and "MAX" not in r


def test_searchres_save_and_use(box):
    resp = box.ok("SEARCH RETURN (SAVE) SUBJECT quarterly")
    # RFC 5182 §2.1: SAVE alone returns no ESEARCH response.
    assert not resp.named("ESEARCH"), resp
    got = sorted(fetch_items(f)[0] for f in box.ok("FETCH $ (FLAGS)").named("FETCH"))
    assert got == [1, 3]
    assert search(box, "$ SEEN") == [1, 3]
    assert search(box, "NOT $") == [2, 4]
    box.ok("STORE $ +FLAGS.SILENT (\\Flagged)")
    assert search(box, "FLAGGED") == [1, 2, 3]


def test_searchres_save_with_min(box):
    r = esearch(box, "SEARCH RETURN (SAVE MIN) UNSEEN")
    assert r["MIN"] == "2"
    # RFC 5182 §2.4: with MIN only the minimum is saved.
    assert search(box, "$") == [2]


def test_searchres_empty_and_uid_commands(box):
    box.ok("UID SEARCH RETURN (SAVE) DELETED")
    resp = box.ok("UID FETCH $ (FLAGS)")
    assert not resp.named("FETCH")
    box.ok("SEARCH RETURN (SAVE) FLAGGED")
    resp = box.ok("UID FETCH $ (FLAGS)")
    assert len(resp.named("FETCH")) == 1


def test_searchres_before_any_save_is_empty(box):
    resp = box.ok("FETCH $ (FLAGS)")
    assert not resp.named("FETCH")


def test_within_younger_older(raw):
    raw.ok('APPEND INBOX "01-Jan-2020 00:00:00 +0000" ', Literal(b"Subject: old\r\n\r\nx\r\n"))
    raw.ok("APPEND INBOX ", Literal(b"Subject: new\r\n\r\ny\r\n"))
    raw.ok("SELECT INBOX")
    assert search(raw, "YOUNGER 86400") == [2]
    assert search(raw, "OLDER 86400") == [1]


# ---- STORE ------------------------------------------------------------------------------

def flags_of(c, seq):
    return set(str(f) for f in imaplib_fetch(c, str(seq), "(FLAGS)")[seq]["FLAGS"]) - {"\\Recent"}


def test_store_add_remove_replace(imap):
    imap.append("INBOX", None, None, b"Subject: s\r\n\r\nx\r\n")
    imap.select("INBOX")
    typ, data = imap.store("1", "+FLAGS", "(\\Seen $Label1)")
    assert typ == "OK"
    assert b"FLAGS" in data[0]  # the untagged FETCH with the new flags
    assert flags_of(imap, 1) == {"\\Seen", "$Label1"}
    imap.store("1", "-FLAGS", "(\\Seen)")
    assert flags_of(imap, 1) == {"$Label1"}
    imap.store("1", "FLAGS", "(\\Answered \\Draft)")
    assert flags_of(imap, 1) == {"\\Answered", "\\Draft"}


def test_store_silent(raw):
    raw.ok("APPEND INBOX ", Literal(b"Subject: s\r\n\r\nx\r\n"))
    raw.ok("SELECT INBOX")
    resp = raw.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
    assert not resp.named("FETCH"), resp
    assert b"\\Seen" in raw.ok("FETCH 1 (FLAGS)").named("FETCH")[0]


def test_uid_store(raw):
    for i in range(3):
        raw.ok("APPEND INBOX ", Literal(b"Subject: u%d\r\n\r\nx\r\n" % i))
    raw.ok("SELECT INBOX")
    uids = [int(fetch_items(f)[1]["UID"]) for f in raw.ok("FETCH 1:* (UID)").named("FETCH")]
    resp = raw.ok(f"UID STORE {uids[1]} +FLAGS (\\Flagged)")
    f = [fetch_items(x) for x in resp.named("FETCH")]
    # RFC 9051 §6.4.9: UID STORE responses carry the UID.
    assert [(seq, int(kv["UID"])) for seq, kv in f] == [(2, uids[1])]
    assert search(raw, "FLAGGED") == [2]


def test_new_keyword_is_listed_in_flags(raw):
    raw.ok("APPEND INBOX ", Literal(b"Subject: k\r\n\r\nx\r\n"))
    raw.ok("SELECT INBOX")
    resp = raw.ok("STORE 1 +FLAGS ($BrandNewKeyword)")
    assert b"$BrandNewKeyword" in resp.named("FETCH")[0]
    # RFC 9051 §7.3.5: FLAGS lists the flags and keywords defined in the mailbox, so the
    # keyword now in use appears in a (new or re-sent) FLAGS response.
    flags = resp.named("FLAGS") or raw.ok("SELECT INBOX").named("FLAGS")
    assert flags and b"$BrandNewKeyword" in flags[-1], flags


def test_store_keyword_case_insensitive(imap):
    imap.append("INBOX", None, None, b"Subject: s\r\n\r\nx\r\n")
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "($Label)")
    imap.store("1", "+FLAGS", "($LABEL)")
    flags = flags_of(imap, 1)
    assert len([f for f in flags if f.lower() == "$label"]) == 1


def test_store_seen_on_other_session(server, user):
    a = server.imap(user)
    b = server.imap(user)
    try:
        a.append("INBOX", None, None, b"Subject: s\r\n\r\nx\r\n")
        a.select("INBOX")
        b.select("INBOX")
        a.store("1", "+FLAGS", "(\\Seen)")
        # Flags are shared by all sessions: the other one sees the change on NOOP.
        typ, _ = b.noop()
        assert typ == "OK"
        assert "\\Seen" in flags_of(b, 1)
    finally:
        a.logout()
        b.logout()
