"""State survives a restart, and two `tern serve` processes on one data folder see each
other's changes (change notifications travel through the store, issue 2 item 3)."""

import os
import re

from harness import Literal, TernServer, message, parse_sexp, quote, status


def select_codes(resp):
    out = {}
    for u in resp.untagged:
        m = re.match(rb"OK \[([A-Z]+) ([^\]]*)\]", u)
        if m:
            out[m.group(1).decode()] = m.group(2).decode()
    return out


def test_state_survives_restart(tmp_path):
    srv = TernServer(str(tmp_path / "a")).start()
    try:
        alice, bob = srv.add_user(), srv.add_user()
        r = srv.raw(alice)
        r.ok("CREATE Keep")
        r.ok("SUBSCRIBE Keep")
        r.ok("APPEND Keep (\\Flagged $Label) ", Literal(message("persisted", "kept\r\n")))
        r.ok("APPEND Keep ", Literal(message("second")))
        r.ok(f"SETACL Keep {bob.address} lr")
        r.ok('SETMETADATA Keep (/private/comment "remember me")')
        before = select_codes(r.ok("SELECT Keep"))
        body = r.ok("FETCH 1 (BODY.PEEK[])").named("FETCH")[0]
        r.ok("LOGOUT")
        r.close()
    finally:
        srv.stop()

    srv = TernServer(str(tmp_path / "b"), data_dir=srv.data_dir).start()
    try:
        r = srv.raw(alice)
        after = select_codes(r.ok("SELECT Keep"))
        assert after["UIDVALIDITY"] == before["UIDVALIDITY"]
        assert after["UIDNEXT"] == before["UIDNEXT"]
        assert int(after["HIGHESTMODSEQ"]) >= int(before["HIGHESTMODSEQ"])
        assert r.ok("FETCH 1 (BODY.PEEK[])").named("FETCH")[0] == body
        flags = r.ok("FETCH 1 (FLAGS)").named("FETCH")[0]
        assert b"\\Flagged" in flags and b"$Label" in flags
        r.ok("APPEND Keep ", Literal(message("third")))
        uids = r.ok("UID SEARCH ALL").named("SEARCH")[0].split()
        assert int(uids[-1]) == int(before["UIDNEXT"])  # UIDs continue, never reused
        lsub = [parse_sexp(x)[2] for x in r.ok('LSUB "" "*"').named("LSUB")]
        assert "Keep" in [str(x) if not isinstance(x, bytes) else x.decode() for x in lsub]
        meta = r.ok("GETMETADATA Keep /private/comment").named("METADATA")[0]
        assert b"remember me" in meta
        r.close()
        c = srv.imap(bob)
        try:
            assert status(c, quote(f"Other Users/{alice.address}/Keep"))["MESSAGES"] == 3
        finally:
            c.logout()
    finally:
        srv.stop()


def test_two_processes_one_store_see_each_others_changes(tmp_path):
    first = TernServer(str(tmp_path / "one")).start()
    second = None
    try:
        u = first.add_user()
        second = TernServer(str(tmp_path / "two"), data_dir=first.data_dir).start()
        idler = first.raw(u)
        other = second.imap(u)
        try:
            idler.ok("SELECT INBOX")
            idler.send(b"i1 IDLE\r\n")
            assert idler.read_response().startswith(b"+")
            assert other.append("INBOX", None, None, message("from the other process"))[0] == "OK"
            line = idler.read_response(timeout=60)
            while not line.endswith(b"EXISTS"):
                line = idler.read_response(timeout=60)
            assert line == b"* 1 EXISTS"
            other.select("INBOX")
            other.store("1", "+FLAGS", "(\\Flagged)")
            line = idler.read_response(timeout=60)
            while b"FETCH" not in line:
                line = idler.read_response(timeout=60)
            assert b"\\Flagged" in line, line
            idler.send(b"DONE\r\n")
            assert idler.read_until_tagged("i1").status == "OK"
        finally:
            other.logout()
            idler.close()
    finally:
        if second:
            second.stop()
        first.stop()


def blob_files(data_dir):
    """{hex: path} of every blob file under data_dir/blobs, in either layout."""
    out = {}
    root = os.path.join(data_dir, "blobs")
    for dirpath, _, files in os.walk(root):
        for f in files:
            if len(f) == 64 and os.path.relpath(dirpath, root) != "tmp":
                out[f] = os.path.join(dirpath, f)
    return out


def test_a_store_of_the_two_level_blob_layout_keeps_working(tmp_path):
    """Blobs written by a version that stored them at blobs/ab/cd/<sha-256> are read,
    and storing the same bytes again reuses them instead of making a second copy."""
    old_message = message("old layout", "stored two levels deep\r\n")
    srv = TernServer(str(tmp_path / "a")).start()
    try:
        u = srv.add_user()
        r = srv.raw(u)
        r.ok("APPEND INBOX ", Literal(old_message))
        r.ok("SELECT INBOX")
        assert old_message in r.ok("FETCH 1 (BODY.PEEK[])").named("FETCH")[0]
        r.close()
    finally:
        srv.stop()
    # Make it the older layout: every blob one directory deeper, no one-level mark.
    blobs = os.path.join(srv.data_dir, "blobs")
    moved = blob_files(srv.data_dir)
    assert len(moved) == 1
    for name, path in moved.items():
        deeper = os.path.join(blobs, name[0:2], name[2:4])
        os.makedirs(deeper, exist_ok=True)
        os.rename(path, os.path.join(deeper, name))
    os.remove(os.path.join(blobs, "one-level"))

    srv = TernServer(str(tmp_path / "b"), data_dir=srv.data_dir).start()
    try:
        r = srv.raw(u)
        r.ok("SELECT INBOX")
        assert old_message in r.ok("FETCH 1 (BODY.PEEK[])").named("FETCH")[0]
        r.ok("APPEND INBOX ", Literal(old_message))
        r.ok("APPEND INBOX ", Literal(message("new layout")))
        r.ok("SELECT INBOX")
        assert old_message in r.ok("FETCH 2 (BODY.PEEK[])").named("FETCH")[0]
        r.close()
    finally:
        srv.stop()
    after = blob_files(srv.data_dir)
    assert len(after) == 2, after
    (old,) = moved
    assert after[old] == os.path.join(blobs, old[0:2], old[2:4], old), "not stored twice"
    (new,) = set(after) - {old}
    assert after[new] == os.path.join(blobs, new[0:2], new), "new blobs one level deep"
    assert not os.path.exists(os.path.join(blobs, "one-level"))
