"""Resource budgets from issue 2 ("performance by design"), measured on the server process
through /proc (Linux): a large APPEND is streamed to the blob store rather than held in
memory ("a 50 MB APPEND does not grow memory by 50 MB"). The bound is about memory, never
about time; anonymous memory is sampled while the APPEND runs.

(The "tens of KiB per idle connection" budget is not measured here: each LOGIN runs an
argon2 hash whose 19 MiB working memory the allocator keeps, so RSS moves by ~100 MB
between batches of logins and hides a per-connection cost of that size.)"""

import os
import threading

import pytest

from harness import message, status

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                                reason="needs Linux /proc")


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


class PeakSampler:
    """Samples a /proc status field in a thread and keeps the largest value seen.

    RssAnon, not VmHWM: blobs are memory-mapped, and touching a mapped 45 MB file raises
    the resident set by file-backed (reclaimable) pages; heap growth is what matters."""

    def __init__(self, pid, field="RssAnon"):
        self.pid, self.field = pid, field
        self.peak = proc_kib(pid, field)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, proc_kib(self.pid, self.field))
            except (OSError, AssertionError):
                return
            self._stop.wait(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_large_append_is_streamed(make_server):
    srv = make_server()
    u = srv.add_user(quota="1GB")
    c = srv.imap(u)
    try:
        # Warm up: one small APPEND so lazily allocated pools exist already.
        c.append("INBOX", None, None, message("warm-up"))
        size = 45 * 1000 * 1000
        line = b"y" * 998 + b"\r\n"
        msg = b"Subject: forty-five megabytes\r\n\r\n" + line * (size // len(line))
        before = proc_kib(srv.proc.pid, "RssAnon")
        with PeakSampler(srv.proc.pid) as peak:
            typ, data = c.append("INBOX", None, None, msg)
        assert typ == "OK", data
        grown = peak.peak - before
        assert status(c, "INBOX", "(MESSAGES SIZE)")["MESSAGES"] == 2
        # Streamed: anonymous memory grows by buffers, not by the message (43,945 KiB).
        assert grown < size // 1024 // 4, f"heap grew by {grown} KiB during a 45 MB APPEND"
    finally:
        c.logout()


def test_large_fetch_is_streamed(make_server):
    """DESIGN.md: "a connection never holds a whole large message in memory" — FETCH
    BODY[] of a 45 MB message is sent from the (memory-mapped) blob, not from a copy."""
    srv = make_server()
    u = srv.add_user(quota="1GB")
    c = srv.imap(u)
    try:
        size = 45 * 1000 * 1000
        line = b"z" * 998 + b"\r\n"
        msg = b"Subject: forty-five megabytes\r\n\r\n" + line * (size // len(line))
        assert c.append("INBOX", None, None, msg)[0] == "OK"
        c.select("INBOX", readonly=True)
        before = proc_kib(srv.proc.pid, "RssAnon")
        with PeakSampler(srv.proc.pid) as peak:
            typ, data = c.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert next(d[1] for d in data if isinstance(d, tuple)) == msg
        grown = peak.peak - before
        assert grown < size // 1024 // 4, f"heap grew by {grown} KiB during a 45 MB FETCH"
    finally:
        c.logout()
