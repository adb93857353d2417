"""IDLE (RFC 2177 / RFC 9051 §6.3.13): a second connection's APPEND, STORE and EXPUNGE, and an
LMTP delivery, reach an idling client as EXISTS, FETCH FLAGS and EXPUNGE. Waits are bounded
and generous (a slow machine); nothing asserts on timing."""

import re

from harness import IO_TIMEOUT, message


def start_idle(r):
    r.send(b"idle1 IDLE\r\n")
    line = r.read_response()
    while line.startswith(b"* "):
        line = r.read_response()
    assert line.startswith(b"+"), line


def wait_untagged(r, pattern, timeout=IO_TIMEOUT):
    """Reads untagged responses until one matches; returns all read (bounded by timeout
    per read; the server sends nothing else while idling except these)."""
    seen = []
    while True:
        line = r.read_response(timeout=timeout)
        seen.append(line)
        if re.match(pattern, line):
            return seen


def stop_idle(r):
    r.send(b"DONE\r\n")
    resp = r.read_until_tagged("idle1")
    assert resp.status == "OK", resp
    return resp


def test_idle_sees_append_flags_and_expunge(server, user):
    idler = server.raw(user)
    other = server.imap(user)
    try:
        idler.ok("SELECT INBOX")
        start_idle(idler)

        assert other.append("INBOX", None, None, message("while idling"))[0] == "OK"
        wait_untagged(idler, rb"\* 1 EXISTS")

        other.select("INBOX")
        other.store("1", "+FLAGS", "(\\Flagged)")
        seen = wait_untagged(idler, rb"\* 1 FETCH \(.*FLAGS \(")
        assert b"\\Flagged" in seen[-1], seen

        other.store("1", "+FLAGS", "(\\Deleted)")
        other.expunge()
        wait_untagged(idler, rb"\* 1 EXPUNGE")

        stop_idle(idler)
        assert idler.command("NOOP").status == "OK"
    finally:
        other.logout()
        idler.close()


def test_idle_sees_lmtp_delivery(server, user):
    idler = server.raw(user)
    try:
        idler.ok("SELECT INBOX")
        start_idle(idler)
        results = server.deliver([user.address], message("by lmtp", to=user.address))
        assert results[user.address][0] == 250, results
        wait_untagged(idler, rb"\* 1 EXISTS")
        stop_idle(idler)
    finally:
        idler.close()


def test_idle_several_appends(server, user):
    idler = server.raw(user)
    other = server.imap(user)
    try:
        idler.ok("SELECT INBOX")
        start_idle(idler)
        for i in range(3):
            other.append("INBOX", None, None, message(f"burst {i}"))
        # Coalesced or not, the last EXISTS the client hears is 3.
        seen = wait_untagged(idler, rb"\* 3 EXISTS")
        counts = [int(m.group(1)) for s in seen for m in [re.match(rb"\* (\d+) EXISTS", s)] if m]
        assert counts == sorted(counts)
        stop_idle(idler)
    finally:
        other.logout()
        idler.close()


def test_idle_done_then_commands_work(server, user):
    r = server.raw(user)
    try:
        r.ok("SELECT INBOX")
        start_idle(r)
        stop_idle(r)
        assert r.command("UID SEARCH ALL").status == "OK"
    finally:
        r.close()


def test_idle_with_other_mailbox_changes_is_quiet_about_them(server, user):
    idler = server.raw(user)
    other = server.imap(user)
    try:
        idler.ok("SELECT INBOX")
        start_idle(idler)
        other.append("Archive", None, None, message("elsewhere"))
        other.append("INBOX", None, None, message("here"))
        seen = wait_untagged(idler, rb"\* 1 EXISTS")
        # Only the selected mailbox's EXISTS; nothing claims two messages in INBOX.
        assert not any(re.match(rb"\* [2-9]\d* EXISTS", s) for s in seen), seen
        stop_idle(idler)
    finally:
        other.logout()
        idler.close()


def test_noop_polling_sees_other_session(server, user):
    a = server.imap(user)
    b = server.imap(user)
    try:
        a.select("INBOX")
        b.append("INBOX", None, None, message("poll"))
        typ, data = a.noop()
        assert typ == "OK"
        # imaplib keeps untagged EXISTS values (SELECT's 0, then the NOOP's).
        name, values = a.response("EXISTS")
        assert values[-1] == b"1", values
    finally:
        a.logout()
        b.logout()


def test_recent_announced_once(server, user):
    a = server.raw(user)
    b = server.imap(user)
    try:
        a.ok("SELECT INBOX")
        b.append("INBOX", None, None, message("recent"))
        resp = a.ok("NOOP")
        assert b"1 EXISTS" in resp.untagged and b"1 RECENT" in resp.untagged, resp
        # Another session selecting afterwards does not see it as recent.
        c = server.raw(user)
        try:
            resp = c.ok("SELECT INBOX")
            assert b"0 RECENT" in resp.untagged, resp
        finally:
            c.close()
    finally:
        b.logout()
        a.close()


def test_many_idlers_each_see_every_change_and_recent_goes_to_one(server, user):
    """Twenty sessions IDLE on one mailbox (they share the store reads a change wakes them
    for): each sees every delivery's EXISTS, a flag change and an expunge; each new message
    is \\Recent for exactly one of them (RFC 3501 §2.3.2)."""
    idlers = [server.raw(user) for _ in range(20)]
    other = server.imap(user)
    try:
        for r in idlers:
            r.ok("SELECT INBOX")
            start_idle(r)
        recent = [0] * len(idlers)

        def heard(i, pattern):
            for line in wait_untagged(idlers[i], pattern):
                m = re.match(rb"\* (\d+) RECENT", line)
                if m:
                    recent[i] = int(m.group(1))

        for n in range(1, 6):
            results = server.deliver([user.address], message(f"fan-out {n}", to=user.address))
            assert results[user.address][0] == 250, results
            for i in range(len(idlers)):
                heard(i, rb"\* %d EXISTS" % n)
        # The last RECENT follows the last EXISTS: DONE reads up to it.
        for i, r in enumerate(idlers):
            for line in stop_idle(r).untagged + r.ok("NOOP").untagged:
                m = re.match(rb"(\d+) RECENT", line)
                if m:
                    recent[i] = int(m.group(1))
            start_idle(r)
        assert sum(recent) == 5, recent

        other.select("INBOX")
        other.store("1", "+FLAGS", "(\\Flagged)")
        for i in range(len(idlers)):
            heard(i, rb"\* 1 FETCH \(.*\\Flagged")
        other.store("2", "+FLAGS", "(\\Deleted)")
        other.expunge()
        for i in range(len(idlers)):
            heard(i, rb"\* 2 EXPUNGE")
        for r in idlers:
            stop_idle(r)
            assert b"4 EXISTS" in r.ok("SELECT INBOX").untagged
    finally:
        other.logout()
        for r in idlers:
            r.close()
