"""`tern import mbox` and `tern import maildir`, checked over imaplib.

mbox: From_ line dates become INTERNALDATE, mboxrd unquoting (and mboxo's one level),
Status/X-Status become flags, LF line ends become CRLF, a From_ line inside a paragraph stays
body text, and a large file is streamed (the importer's peak memory stays far below the file
size). Maildir++: .Sub.Folder directories (modified UTF-7 names) become folders, `:2,` info
letters become flags, dovecot-keywords letters keywords, file mtimes INTERNALDATE, and a
dovecot-uidlist keeps UIDVALIDITY and UIDs."""

import calendar
import email.utils
import hashlib
import os
import re
import subprocess

import pytest

from harness import TERN_BIN
from migrate_support import list_folders, q, raw_name, snapshot

MBOX = (
    b"From alice@example.test Sat Mar  5 10:20:30 2005\n"
    b"From: alice@example.test\nSubject: first\nStatus: RO\nX-Status: AF\n\n"
    b"Hello\n>From the quoted line\n>>From twice quoted\nFrom inside a paragraph stays\n\n"
    b"From bob@example.test Thu Jan  1 00:01:00 1970\n"
    b"From: bob@example.test\nSubject: second\n\nbody two\n\n"
    b"From carol@example.test Tue Dec 31 23:59:59 2019\n"
    b"From: carol@example.test\nSubject: third\nStatus: O\n\nlast\n"
)


def cli(server, *args, check=True):
    res = subprocess.run([TERN_BIN, "--config", server.config_path, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if check:
        assert res.returncode == 0, (res.stdout, res.stderr)
    return res


def fetch_all(t, folder):
    typ, data = t.select(q(raw_name(t, folder, "/")), readonly=True)
    assert typ == "OK", data
    out = {}
    if int(data[0]):
        typ, data = t.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                head, body = item
                uid = int(re.search(rb"UID (\d+)", head).group(1))
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
                flags.discard("\\Recent")
                out[uid] = (flags, time_of(head), body)
    t.close()
    return out


def time_of(head):
    """INTERNALDATE of a FETCH response as Unix seconds."""
    s = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1).decode()
    day, mon, rest = s.split("-", 2)
    year, clock, zone = rest.split(" ")
    return email.utils.mktime_tz(email.utils.parsedate_tz(f"{day} {mon} {year} {clock} {zone}"))


def test_import_mbox(server, tmp_path):
    u = server.add_user()
    path = tmp_path / "in.mbox"
    path.write_bytes(MBOX)
    res = cli(server, "import", "mbox", str(path), "--user", u.address,
              "--folder", "Archive/2005", "--json")
    assert b'"messages": 3' in res.stdout, res.stdout
    t = server.imap(u)
    try:
        assert "Archive/2005" in list_folders(t)
        msgs = sorted(fetch_all(t, "Archive/2005").values(), key=lambda m: m[2])
    finally:
        t.logout()
    by_subject = {m[2].split(b"Subject: ")[1].split(b"\r\n")[0]: m for m in msgs}
    first = by_subject[b"first"]
    assert first[2] == (b"From: alice@example.test\r\nSubject: first\r\nStatus: RO\r\n"
                        b"X-Status: AF\r\n\r\nHello\r\nFrom the quoted line\r\n"
                        b">From twice quoted\r\nFrom inside a paragraph stays\r\n")
    assert first[0] == {"\\Seen", "\\Answered", "\\Flagged"}
    assert first[1] == calendar.timegm((2005, 3, 5, 10, 20, 30))
    assert by_subject[b"second"][1] == 60 and by_subject[b"second"][0] == set()
    assert by_subject[b"second"][2].endswith(b"\r\n\r\nbody two\r\n")
    assert by_subject[b"third"][0] == set()  # "O" (old) is not \Seen
    assert by_subject[b"third"][2].endswith(b"\r\n\r\nlast\r\n")

    # mboxo: only one level of quoting is undone.
    u2 = server.add_user()
    cli(server, "import", "mbox", str(path), "--user", u2.address, "--format", "mboxo")
    t = server.imap(u2)
    try:
        bodies = [m[2] for m in fetch_all(t, "INBOX").values()]
    finally:
        t.logout()
    assert any(b"\r\nFrom the quoted line\r\n>>From twice quoted\r\n" in b for b in bodies)


def test_import_large_mbox_streams(server, tmp_path):
    u = server.add_user()
    path = tmp_path / "big.mbox"
    chunk = (b"x" * 76 + b"\n") * 13000  # ~1 MB of body per message
    n = 80
    with open(path, "wb") as f:
        for i in range(n):
            f.write(b"From big@example.test Mon Jan  2 03:04:05 2017\n")
            f.write(b"Subject: big %d\n\n" % i)
            f.write(chunk)
            f.write(b"\n")
    size = os.path.getsize(path)
    # Peak RSS of the import alone: measured by a fresh Python parent that runs only it.
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
             "sys.stdout.write(r.stdout.decode())\n"
             "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(r.returncode)\n")
    res = subprocess.run(["python3", "-c", probe, TERN_BIN, "--config", server.config_path,
                          "import", "mbox", str(path), "--user", u.address, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert res.returncode == 0, res.stderr
    assert b'"messages": %d' % n in res.stdout, res.stdout
    peak_kib = int(res.stdout.rsplit(b"PEAK_KIB ", 1)[1])
    # The whole file never sits in memory: the importer's peak RSS is far below its size.
    assert peak_kib * 1024 < size / 2, (peak_kib, size)
    print(f"\nimport of a {size >> 20} MiB mbox: peak RSS {peak_kib >> 10} MiB")
    t = server.imap(u)
    try:
        typ, data = t.select("INBOX", readonly=True)
        assert int(data[0]) == n
        typ, data = t.fetch("1", "(RFC822.SIZE)")
        assert b"RFC822.SIZE %d" % (len(b"Subject: big 0\r\n\r\n") + 13000 * 78) in data[0]
    finally:
        t.logout()


def write(path, data, mtime):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def test_import_maildir(server, tmp_path):
    u = server.add_user()
    root = tmp_path / "Maildir"
    for d in ["cur", "new", "tmp"]:
        os.makedirs(root / d)
    write(str(root / "cur" / "1500000000.M1P1.host,S=40:2,FS"),
          b"Subject: seen flagged\n\nbody\n", 1500000000)
    write(str(root / "new" / "1600000000.M2P1.host"), b"Subject: new\n\nfresh\n", 1600000001)
    work = root / ".Work"
    write(str(work / "cur" / "1400000000.M3P1.host:2,RTa"), b"Subject: w1\n\nx\n", 1400000000)
    write(str(work / "cur" / "1400000001.M4P1.host:2,Db"), b"Subject: w2\n\ny\n", 1400000001)
    (work / "dovecot-keywords").write_text("0 $Label1\n1 NonJunk\n")
    (work / "dovecot-uidlist").write_text(
        "3 V1234567 N10 Gdeadbeef\n5 :1400000000.M3P1.host\n9 W12 :1400000001.M4P1.host\n")
    write(str(root / ".Work.2024" / "cur" / "1700000000.M5P1.host:2,"), b"Subject: n\n\nz\n",
          1700000000)
    write(str(root / ".Entw&APw-rfe" / "new" / "1700000001.M6P1.host"), b"Subject: d\n\nq\n",
          1700000001)
    res = cli(server, "import", "maildir", str(root), "--user", u.address, "--json")
    assert b'"messages": 6' in res.stdout and b'"folders": 4' in res.stdout, res.stdout
    t = server.imap(u)
    try:
        folders = list_folders(t)
        assert {"INBOX", "Work", "Work/2024", "Entwürfe"} <= set(folders), folders
        inbox = {m[2].split(b"\r\n")[0]: m for m in fetch_all(t, "INBOX").values()}
        assert inbox[b"Subject: seen flagged"][0] == {"\\Seen", "\\Flagged"}
        assert inbox[b"Subject: seen flagged"][1] == 1500000000
        assert inbox[b"Subject: seen flagged"][2] == b"Subject: seen flagged\r\n\r\nbody\r\n"
        assert inbox[b"Subject: new"][0] == set() and inbox[b"Subject: new"][1] == 1600000001
        uidvalidity, work_msgs = snapshot(t, "Work")
        assert uidvalidity == 1234567
        assert sorted(work_msgs) == [5, 9]
        w = fetch_all(t, "Work")
        assert w[5][0] == {"\\Answered", "\\Deleted", "$Label1"}
        assert w[9][0] == {"\\Draft", "NonJunk"}
        assert hashlib.sha256(w[5][2]).hexdigest() == hashlib.sha256(
            b"Subject: w1\r\n\r\nx\r\n").hexdigest()
        assert fetch_all(t, "Entwürfe")
    finally:
        t.logout()
    # A path that is not a Maildir is a clear error.
    res = cli(server, "import", "maildir", str(tmp_path), "--user", u.address, check=False)
    assert res.returncode == 1 and b"not a Maildir" in res.stderr, res.stderr
