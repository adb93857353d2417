"""CONDSTORE and QRESYNC (RFC 7162): MODSEQ in FETCH, CHANGEDSINCE, STORE UNCHANGEDSINCE with
[MODIFIED], SEARCH MODSEQ, HIGHESTMODSEQ in STATUS, ENABLE QRESYNC, SELECT (QRESYNC ...) with
VANISHED (EARLIER), UID FETCH ... (CHANGEDSINCE n VANISHED), and VANISHED for EXPUNGE."""

import re

from harness import Literal, fetch_items, parse_sexp


def fill(r, n):
    for i in range(n):
        r.ok("APPEND INBOX ", Literal(f"Subject: c{i}\r\n\r\nbody {i}\r\n".encode()))


def highestmodseq(resp):
    for u in resp.untagged:
        m = re.match(rb"OK \[HIGHESTMODSEQ (\d+)\]", u)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no HIGHESTMODSEQ in {resp!r}")


def fetches(resp):
    return dict(fetch_items(f) for f in resp.named("FETCH"))


def modseq_of(items):
    return int(items["MODSEQ"][0])


def test_fetch_modseq_and_changedsince(raw):
    fill(raw, 3)
    resp = raw.ok("SELECT INBOX (CONDSTORE)")
    hms = highestmodseq(resp)
    all_ = fetches(raw.ok("FETCH 1:* (FLAGS MODSEQ)"))
    assert set(all_) == {1, 2, 3}
    assert max(modseq_of(v) for v in all_.values()) == hms
    raw.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    changed = fetches(raw.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})"))
    # Only the changed message, with its MODSEQ (RFC 7162 §3.1.4.1).
    assert set(changed) == {2}, changed
    assert modseq_of(changed[2]) > hms
    assert "\\FLAGGED" in {str(f).upper() for f in changed[2]["FLAGS"]}


def test_store_unchangedsince(raw):
    fill(raw, 2)
    raw.ok("SELECT INBOX (CONDSTORE)")
    items = fetches(raw.ok("FETCH 1:2 (MODSEQ)"))
    m1 = modseq_of(items[1])
    resp = raw.ok(f"STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Seen)")
    f = fetches(resp)
    assert 1 in f and modseq_of(f[1]) > m1  # the FETCH carries the new MODSEQ
    # A second store with the stale MODSEQ fails for that message: OK [MODIFIED 1].
    resp = raw.command(f"STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Flagged)")
    assert resp.status == "OK" and resp.code == "MODIFIED 1", resp
    flags = fetches(raw.ok("FETCH 1 (FLAGS)"))[1]["FLAGS"]
    assert "\\FLAGGED" not in {str(x).upper() for x in flags}


def test_uid_store_unchangedsince_reports_uids(raw):
    fill(raw, 3)
    raw.ok("SELECT INBOX (CONDSTORE)")
    uids = {k: int(v["UID"]) for k, v in fetches(raw.ok("FETCH 1:3 (UID)")).items()}
    raw.ok(f"UID STORE {uids[3]} +FLAGS (\\Seen)")
    resp = raw.command(f"UID STORE {uids[1]}:{uids[3]} (UNCHANGEDSINCE 1) +FLAGS (\\Answered)")
    assert resp.status == "OK", resp
    assert resp.code and resp.code.startswith("MODIFIED"), resp
    assert str(uids[3]) in resp.code.split(" ", 1)[1]


def test_unchangedsince_zero_always_fails(raw):
    fill(raw, 1)
    raw.ok("SELECT INBOX")
    resp = raw.command("STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    # RFC 7162 §3.1.3: UNCHANGEDSINCE 0 never succeeds for an existing message.
    assert resp.status == "OK" and resp.code == "MODIFIED 1", resp


def test_search_modseq(raw):
    fill(raw, 3)
    hms = highestmodseq(raw.ok("SELECT INBOX (CONDSTORE)"))
    raw.ok("STORE 3 +FLAGS (\\Seen)")
    resp = raw.ok(f"SEARCH MODSEQ {hms + 1}")
    s = resp.named("SEARCH")[0]
    # `* SEARCH 3 (MODSEQ n)` (RFC 7162 §3.1.5)
    m = re.fullmatch(rb"3 \(MODSEQ (\d+)\)", s)
    assert m, s
    assert int(m.group(1)) > hms


def test_status_highestmodseq_grows(raw):
    fill(raw, 1)
    st = lambda: int(parse_sexp(raw.ok("STATUS INBOX (HIGHESTMODSEQ)").named("STATUS")[0])[1][1])
    before = st()
    raw.ok("SELECT INBOX")
    raw.ok("STORE 1 +FLAGS (\\Seen)")
    raw.ok("UNSELECT")
    assert st() > before


def test_enable_qresync(raw):
    resp = raw.ok("ENABLE QRESYNC")
    words = b" ".join(resp.named("ENABLED")).upper().split()
    assert b"QRESYNC" in words


def test_select_qresync_reports_vanished_earlier_and_changes(server, user):
    a = server.raw(user)
    fill(a, 3)
    resp = a.ok("SELECT INBOX (CONDSTORE)")
    hms = highestmodseq(resp)
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(resp.untagged)).group(1))
    uids = sorted(int(v["UID"]) for v in fetches(a.ok("FETCH 1:* (UID)")).values())
    # Another change while we are away: UID 2 expunged, UID 3 flagged.
    a.ok(f"UID STORE {uids[1]} +FLAGS.SILENT (\\Deleted)")
    a.ok(f"UID STORE {uids[2]} +FLAGS.SILENT (\\Flagged)")
    a.ok(f"UID EXPUNGE {uids[1]}")
    a.close()

    b = server.raw(user)
    try:
        b.ok("ENABLE QRESYNC")
        resp = b.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {hms} {uids[0]}:{uids[2]}))")
        vanished = [u for u in resp.untagged if u.upper().startswith(b"VANISHED")]
        assert vanished == [b"VANISHED (EARLIER) %d" % uids[1]], resp
        f = fetches(resp)
        # The flag change of UID 3 (now MSN 2), with UID and MODSEQ (RFC 7162 §3.2.5.1).
        assert set(f) == {2}, f
        assert int(f[2]["UID"]) == uids[2]
        assert "\\FLAGGED" in {str(x).upper() for x in f[2]["FLAGS"]}
        assert modseq_of(f[2]) > hms
        assert highestmodseq(resp) > hms
    finally:
        b.close()


def test_select_qresync_with_wrong_uidvalidity_is_a_full_select(raw):
    fill(raw, 2)
    st = parse_sexp(raw.ok("STATUS INBOX (UIDVALIDITY)").named("STATUS")[0])
    wrong = int(st[1][1]) + 1
    raw.ok("ENABLE QRESYNC")
    resp = raw.ok(f"SELECT INBOX (QRESYNC ({wrong} 1))")
    # RFC 7162 §3.2.5: a UIDVALIDITY mismatch means no VANISHED/FETCH resync data.
    assert not any(u.upper().startswith(b"VANISHED") for u in resp.untagged), resp
    assert not resp.named("FETCH"), resp
    assert b"2 EXISTS" in resp.untagged


def test_uid_fetch_changedsince_vanished(raw):
    fill(raw, 3)
    raw.ok("ENABLE QRESYNC")
    hms = highestmodseq(raw.ok("SELECT INBOX"))
    uids = sorted(int(v["UID"]) for v in fetches(raw.ok("FETCH 1:* (UID)")).values())
    raw.ok(f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
    resp = raw.ok(f"UID EXPUNGE {uids[0]}")
    # With QRESYNC enabled, expunges are reported as VANISHED, not EXPUNGE (§3.2.10).
    assert any(u == b"VANISHED %d" % uids[0] for u in resp.untagged), resp
    assert not any(u.endswith(b" EXPUNGE") for u in resp.untagged), resp
    resp = raw.ok(f"UID FETCH {uids[0]}:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
    vanished = [u for u in resp.untagged if u.upper().startswith(b"VANISHED")]
    assert vanished == [b"VANISHED (EARLIER) %d" % uids[0]], resp


def test_noop_reports_other_sessions_flag_changes_with_modseq(server, user):
    a = server.raw(user)
    b = server.raw(user)
    try:
        fill(a, 1)
        a.ok("SELECT INBOX (CONDSTORE)")
        b.ok("SELECT INBOX")
        b.ok("STORE 1 +FLAGS (\\Flagged)")
        resp = a.ok("NOOP")
        f = fetches(resp)
        assert 1 in f, resp
        assert "\\FLAGGED" in {str(x).upper() for x in f[1]["FLAGS"]}
        assert "MODSEQ" in f[1]
    finally:
        a.close()
        b.close()
