"""Helpers shared by tests/test_directory_ad.py (Samba AD DC) and test_directory_ldap.py
(OpenLDAP): a Tern server whose [directory] is the real peer, IMAP login probes, polling,
stopping and starting one peer, and the "no password on disk" check."""

import imaplib
import os
import subprocess
import time

from harness import IO_TIMEOUT, TernServer
from peers import SCRIPT, state_dir


def directory_server(base_dir, directory_toml, *, services=("imap", "lmtp", "smtp")):
    """A started `tern serve` whose [directory] table is `directory_toml`."""
    return TernServer(base_dir, services=services, extra_config=directory_toml).start()


def login(server, name, password):
    """IMAP LOGIN; returns (ok, connection-or-error-text). The caller logs out."""
    c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
    try:
        # imaplib sends the user name as it is: quote it (DOMAIN\user has a backslash).
        c.login(imap_quote(name), password)
        return True, c
    except imaplib.IMAP4.error as e:
        try:
            c.logout()
        except Exception:
            pass
        return False, str(e)


def imap_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def can_login(server, name, password):
    ok, c = login(server, name, password)
    if ok:
        c.logout()
    return ok


def timed_login(server, name, password):
    """Seconds from connect to LOGIN's OK (what a client waits)."""
    t = time.monotonic()
    ok, c = login(server, name, password)
    elapsed = time.monotonic() - t
    assert ok, c
    c.logout()
    return elapsed


def wait_until(predicate, timeout=30, what="condition"):
    """Polls `predicate` until true; fails after `timeout` seconds (a bound, not a measure)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def peer_command(action, name):
    """`scripts/peers.sh stop|start NAME` on the peers this pytest run started."""
    env = dict(os.environ, P=state_dir())
    r = subprocess.run(["bash", SCRIPT, action, name], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"peers.sh {action} {name}: {r.stdout}\n{r.stderr}"


def files_containing(root, needles):
    """Every file under `root` whose bytes contain one of `needles` (str, checked as UTF-8
    and UTF-16-LE, the two encodings a password could be written in)."""
    forms = []
    for n in needles:
        forms += [n.encode(), n.encode("utf-16-le")]
    hits = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if any(x in data for x in forms):
                hits.append(p)
    return hits


def inbox_subjects(conn):
    typ, _ = conn.select("INBOX")
    assert typ == "OK"
    typ, data = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    if typ != "OK" or not data or data == [None]:
        return []
    return [part[1].decode(errors="replace").strip() for part in data if isinstance(part, tuple)]


def storage_limit_kib(conn):
    typ, data = conn.getquotaroot("INBOX")
    assert typ == "OK", data
    line = data[1][0].decode() if isinstance(data[1][0], bytes) else data[1][0]
    # `"" (STORAGE used limit)`
    parts = line.replace("(", " ").replace(")", " ").split()
    i = [p.upper() for p in parts].index("STORAGE")
    return int(parts[i + 2])
