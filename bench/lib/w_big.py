"""Big mailbox: M messages appended (MULTIAPPEND batches, one connection), then on a fresh
connection each of SELECT, `FETCH 1:* (UID FLAGS)`, `FETCH M-99:M (ENVELOPE)`,
`UID SEARCH HEADER Subject <needle>` and `SORT (DATE) UTF-8 ALL` is timed, `reps` times (a new
connection each time); the table shows the median, the JSON every run. Every answer is checked
(EXISTS = M, M FETCH responses, 100 envelopes, the known number of needle hits, a SORT of all M).
"""

import asyncio
import time

import msggen
from common import ms, populate
from imapc import Imap, ProtocolError, count_exists, fetch_count, search_numbers
from servers import password_for


def run(server, user, count, size, reps):
    fill_s = asyncio.run(populate("127.0.0.1", server.imap, user, count, size, seed=7,
                                  flags_of=lambda i: b"\\Seen" if i % 2 else b""))
    runs = [asyncio.run(_once(server, user, count)) for _ in range(reps)]
    ops = list(runs[0]["times"].keys())
    med = {op: sorted(r["times"][op] for r in runs)[len(runs) // 2] for op in ops}
    return {
        "messages": count, "size": size, "append_s": round(fill_s, 2),
        "append_msgs_per_s": round(count / fill_s, 1),
        "median_ms": {op: ms(v) for op, v in med.items()},
        "runs_ms": [{op: ms(v) for op, v in r["times"].items()} for r in runs],
        "sort_supported": runs[0]["sort"], "errors": [],
    }


async def _once(server, user, count):
    times = {}
    c = await Imap.connect("127.0.0.1", server.imap)
    await c.login(user, password_for(user))

    async def timed(name, text):
        t = time.perf_counter()
        u, tagged = await c.cmd(text)
        times[name] = time.perf_counter() - t
        return u

    u = await timed("select", b"SELECT INBOX")
    if count_exists(u) != count:
        raise ProtocolError(f"SELECT: EXISTS {count_exists(u)}, expected {count}")
    u = await timed("fetch_uid_flags", b"FETCH 1:* (UID FLAGS)")
    if fetch_count(u) != count:
        raise ProtocolError(f"FETCH 1:*: {fetch_count(u)} responses, expected {count}")
    lo = max(1, count - 99)
    u = await timed("fetch_envelope_100", b"FETCH %d:%d (ENVELOPE)" % (lo, count))
    if fetch_count(u) != count - lo + 1:
        raise ProtocolError(f"ENVELOPE: {fetch_count(u)} responses")
    u = await timed("search_header", b"UID SEARCH HEADER Subject %s" % msggen.NEEDLE.encode())
    hits = search_numbers(u)
    if hits is None or len(hits) != msggen.needle_count(count):
        raise ProtocolError(f"SEARCH: {None if hits is None else len(hits)} hits, "
                            f"expected {msggen.needle_count(count)}")
    cu, _ = await c.cmd(b"CAPABILITY")
    sort = b"SORT" in b" ".join(cu).upper().split()
    if sort:
        u = await timed("sort_date", b"SORT (DATE) UTF-8 ALL")
        got = search_numbers(u, b"SORT")
        if got is None or len(got) != count:
            raise ProtocolError(f"SORT: {None if got is None else len(got)} of {count}")
    await c.logout()
    return {"times": times, "sort": sort}


def _envelope_line(i):
    """A FETCH ENVELOPE response as long as the servers' answers for msggen's messages."""
    return (b'* %d FETCH (ENVELOPE ("Tue, 03 Mar 2026 10:%02d:00 +0000" "budget report meeting '
            b'minutes #%d" (("Alice" NIL "alice" "example.test")) (("Alice" NIL "alice" '
            b'"example.test")) (("Alice" NIL "alice" "example.test")) ((NIL NIL "user" '
            b'"example.test")) NIL NIL NIL "<bench.7.%d@example.test>"))\r\n' % (i, i % 60, i, i))


def client_floor(count):
    """The load generator's own time for `FETCH 1:* (UID FLAGS)` of `count` messages and for
    the ENVELOPE of the newest 100: the same client reading a canned response from a fake
    server on loopback (median of 3 each). Returns {op: ms}."""
    lo = max(1, count - 99)
    canned = {
        b"FETCH 1:* (UID FLAGS)": (
            b"".join(b"* %d FETCH (UID %d FLAGS (\\Seen))\r\n" % (i, i) for i in range(1, count + 1)),
            count),
        b"FETCH %d:%d (ENVELOPE)" % (lo, count): (
            b"".join(_envelope_line(i) for i in range(lo, count + 1)), count - lo + 1),
    }

    async def go():
        async def handle(r, w):
            while True:
                line = await r.readline()
                if not line:
                    return
                tag, cmd = line.rstrip(b"\r\n").split(b" ", 1)
                w.write(canned[cmd][0] + tag + b" OK done\r\n")
                await w.drain()
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        c = Imap(r, w)
        out = {}
        for cmd, (_, n) in canned.items():
            times = []
            for _ in range(3):
                t = time.perf_counter()
                u, _ = await c.cmd(cmd)
                times.append(time.perf_counter() - t)
                if fetch_count(u) != n:
                    raise ProtocolError("floor: short read")
            out[cmd] = ms(sorted(times)[1])
        w.close()
        await w.wait_closed()
        await asyncio.sleep(0.05)  # let the handler see EOF and return
        srv.close()
        await srv.wait_closed()
        return out
    got = asyncio.run(go())
    keys = list(canned)
    return {"fetch_uid_flags": got[keys[0]], "fetch_envelope_100": got[keys[1]]}
