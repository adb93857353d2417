"""COPY / MOVE with COPYUID (RFC 4315, RFC 6851), EXPUNGE and UID EXPUNGE (RFC 4315),
and the EXPUNGE response sequence-number semantics (RFC 9051 §7.4.1)."""

import re

from harness import Literal, fetch_items, message, parse_sexp, status


def fill(r, n, flags=None):
    for i in range(n):
        f = (flags or {}).get(i + 1, "")
        r.ok(f"APPEND INBOX ({f}) ", Literal(message(f"msg {i + 1}", f"body {i + 1}\r\n")))


def seq_uids(r):
    resp = r.ok("UID SEARCH ALL")
    return [int(x) for x in resp.named("SEARCH")[0].split()]


def copyuid(resp):
    """COPYUID from the tagged OK or (MOVE) an untagged OK."""
    for code in [resp.code or ""] + [
            m.group(1).decode() for u in resp.untagged
            for m in [re.match(rb"OK \[([^\]]*)\]", u)] if m]:
        m = re.fullmatch(r"COPYUID (\d+) (\S+) (\S+)", code)
        if m:
            return int(m.group(1)), expand(m.group(2)), expand(m.group(3))
    raise AssertionError(f"no COPYUID in {resp!r}")


def expand(uidset):
    out = []
    for part in uidset.split(","):
        if ":" in part:
            a, b = map(int, part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def apply_expunges(before, resp):
    """Applies `* n EXPUNGE` responses in order to a list of UIDs (RFC 9051 §7.5.1)."""
    uids = list(before)
    for u in resp.untagged:
        m = re.fullmatch(rb"(\d+) EXPUNGE", u)
        if m:
            del uids[int(m.group(1)) - 1]
    return uids


def test_copy_with_copyuid(raw):
    fill(raw, 3, {1: "\\Flagged"})
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok("COPY 1:2 Archive")
    uidvalidity, from_uids, to_uids = copyuid(resp)
    assert from_uids == src[:2]
    assert len(to_uids) == 2
    st = parse_sexp(raw.ok("STATUS Archive (MESSAGES UIDVALIDITY)").named("STATUS")[0])[1]
    assert int(st[1]) == 2 and int(st[3]) == uidvalidity
    # The source is unchanged; the copies keep flags and bytes.
    assert seq_uids(raw) == src
    original = raw.ok("FETCH 1 (BODY.PEEK[])").named("FETCH")[0]
    raw.ok("EXAMINE Archive")
    f = dict(fetch_items(x) for x in raw.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])").named("FETCH"))
    assert sorted(int(v["UID"]) for v in f.values()) == sorted(to_uids)
    first = next(v for v in f.values() if int(v["UID"]) == to_uids[0])
    assert "\\Flagged" in first["FLAGS"]
    assert first["BODY[]"] == fetch_items(original)[1]["BODY[]"]


def test_uid_copy(raw):
    fill(raw, 3)
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok(f"UID COPY {src[2]} Trash")
    _, from_uids, to_uids = copyuid(resp)
    assert from_uids == [src[2]] and len(to_uids) == 1


def test_copy_to_missing_mailbox(raw):
    fill(raw, 1)
    raw.ok("SELECT INBOX")
    resp = raw.command("COPY 1 NoSuchBox")
    assert resp.status == "NO" and resp.code == "TRYCREATE", resp


def test_copy_over_quota(server):
    u = server.add_user(quota="50KB")
    r = server.raw(u)
    try:
        r.ok("APPEND INBOX ", Literal(message("big", "z" * 30_000)))
        r.ok("SELECT INBOX")
        resp = r.command("COPY 1 Archive")
        assert resp.status == "NO" and resp.code == "OVERQUOTA", resp
        st = parse_sexp(r.ok("STATUS Archive (MESSAGES)").named("STATUS")[0])[1]
        assert int(st[1]) == 0
    finally:
        r.close()


def test_move(raw):
    fill(raw, 3)
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok("MOVE 2 Trash")
    _, from_uids, to_uids = copyuid(resp)
    assert from_uids == [src[1]] and len(to_uids) == 1
    # RFC 6851 §3.3: the moved message is expunged from the source, announced.
    assert apply_expunges(src, resp) == [src[0], src[2]]
    assert seq_uids(raw) == [src[0], src[2]]
    assert status_messages(raw, "Trash") == 1


def status_messages(r, mailbox):
    return int(parse_sexp(r.ok(f"STATUS {mailbox} (MESSAGES)").named("STATUS")[0])[1][1])


def test_uid_move_several(raw):
    fill(raw, 4)
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok(f"UID MOVE {src[0]},{src[2]}:{src[3]} Archive")
    _, from_uids, to_uids = copyuid(resp)
    assert from_uids == [src[0], src[2], src[3]] and len(to_uids) == 3
    assert apply_expunges(src, resp) == [src[1]]
    assert status_messages(raw, "Archive") == 3


def test_move_with_imaplib(imap):
    imap.append("INBOX", None, None, message("m"))
    imap.select("INBOX")
    typ, data = imap._simple_command("MOVE", "1", "Junk")
    assert typ == "OK", data
    assert status(imap, "Junk")["MESSAGES"] == 1
    assert status(imap, "INBOX")["MESSAGES"] == 0


def test_expunge(raw):
    fill(raw, 4, {1: "\\Deleted", 3: "\\Deleted"})
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok("EXPUNGE")
    expunges = [u for u in resp.untagged if u.endswith(b" EXPUNGE")]
    assert len(expunges) == 2
    assert apply_expunges(src, resp) == [src[1], src[3]]
    assert seq_uids(raw) == [src[1], src[3]]


def test_expunge_nothing(raw):
    fill(raw, 2)
    raw.ok("SELECT INBOX")
    resp = raw.ok("EXPUNGE")
    assert not [u for u in resp.untagged if u.endswith(b"EXPUNGE")]


def test_uid_expunge_only_named(raw):
    fill(raw, 3, {1: "\\Deleted", 3: "\\Deleted"})
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok(f"UID EXPUNGE {src[2]}")
    assert apply_expunges(src, resp) == src[:2]
    # Message 1 is \Deleted but was not named: it stays (RFC 4315 §2.1).
    assert seq_uids(raw) == src[:2]


def test_uid_expunge_ignores_undeleted(raw):
    fill(raw, 2)
    raw.ok("SELECT INBOX")
    src = seq_uids(raw)
    resp = raw.ok(f"UID EXPUNGE {src[0]}:{src[1]}")
    assert apply_expunges(src, resp) == src


def test_expunge_in_read_only(raw):
    fill(raw, 1, {1: "\\Deleted"})
    raw.ok("EXAMINE INBOX")
    resp = raw.command("EXPUNGE")
    assert resp.status == "NO", resp


def test_expunge_seen_by_other_session(server, user):
    a = server.raw(user)
    b = server.raw(user)
    try:
        fill(a, 3, {2: "\\Deleted"})
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        a.ok("EXPUNGE")
        resp = b.ok("NOOP")
        assert b"2 EXPUNGE" in resp.untagged, resp
        assert len(seq_uids(b)) == 2
    finally:
        a.close()
        b.close()


def test_no_expunge_during_fetch_by_sequence_number(server, user):
    """RFC 9051 §7.5.1: EXPUNGE is not sent during FETCH, STORE or SEARCH; it waits."""
    a = server.raw(user)
    b = server.raw(user)
    try:
        fill(a, 3, {1: "\\Deleted"})
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        b.ok("EXPUNGE")
        resp = a.ok("FETCH 2:3 (FLAGS)")
        assert not [u for u in resp.untagged if u.endswith(b"EXPUNGE")], resp
        resp = a.ok("NOOP")
        assert b"1 EXPUNGE" in resp.untagged, resp
    finally:
        a.close()
        b.close()
