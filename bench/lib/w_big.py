"""Big mailbox: M messages appended (MULTIAPPEND batches, one connection), then on a fresh
connection each of SELECT, `FETCH 1:* (UID FLAGS)`, `FETCH M-99:M (ENVELOPE)`,
`UID SEARCH HEADER Subject <needle>` and `SORT (DATE) UTF-8 ALL` is timed, `reps` times (a new
connection each time); the table shows the median, the JSON every run. Every answer is checked
(EXISTS = M, M FETCH responses, 100 envelopes, the known number of needle hits, a SORT of all M).

The timed session is the Rust load generator's (`tern-bench-idlegen timed`, bench/idlegen)
when it is there: the Python client alone needs about 35 ms to read the 100,000 lines of
`FETCH 1:* (UID FLAGS)`, more than Tern takes to send them. The Python client is the fallback.
"""

import asyncio
import json
import os
import subprocess
import time

import msggen
from common import ms, populate
from imapc import Imap, ProtocolError, count_exists, fetch_count, search_numbers
from servers import password_for


def run(server, user, count, size, reps, gen=None):
    fill_s = asyncio.run(populate("127.0.0.1", server.imap, user, count, size, seed=7,
                                  flags_of=lambda i: b"\\Seen" if i % 2 else b""))
    if gen:
        sort = asyncio.run(_has_sort(server, user))
        runs = [_once_rust(gen, server.imap, user, count, sort) for _ in range(reps)]
    else:
        runs = [asyncio.run(_once(server, user, count)) for _ in range(reps)]
    ops = list(runs[0]["times"].keys())
    med = {op: sorted(r["times"][op] for r in runs)[len(runs) // 2] for op in ops}
    return {
        "messages": count, "size": size, "append_s": round(fill_s, 2),
        "append_msgs_per_s": round(count / fill_s, 1),
        "median_ms": {op: ms(v) for op, v in med.items()},
        "runs_ms": [{op: ms(v) for op, v in r["times"].items()} for r in runs],
        "sort_supported": runs[0]["sort"], "errors": [],
        "loadgen": "rust" if gen else "python",
    }


async def _has_sort(server, user):
    c = await Imap.connect("127.0.0.1", server.imap)
    await c.login(user, password_for(user))
    cu, _ = await c.cmd(b"CAPABILITY")
    await c.logout()
    return b"SORT" in b" ".join(cu).upper().split()


def _commands(count, sort):
    lo = max(1, count - 99)
    cmds = [("select", "SELECT INBOX"), ("fetch_uid_flags", "FETCH 1:* (UID FLAGS)"),
            ("fetch_envelope_100", f"FETCH {lo}:{count} (ENVELOPE)"),
            ("search_header", f"UID SEARCH HEADER Subject {msggen.NEEDLE}")]
    if sort:
        cmds.append(("sort_date", "SORT (DATE) UTF-8 ALL"))
    return cmds


def _timed(gen, port, user, cmds, password):
    """One `tern-bench-idlegen timed` session: {"times": {op: s}, "counts": {op: {...}}}."""
    argv = [gen, "timed", "--port", str(port), "--user", user]
    for name, text in cmds:
        argv += ["--cmd", f"{name}={text}"]
    p = subprocess.run(argv, capture_output=True, timeout=900,
                       env=dict(os.environ, IDLEGEN_PASSWORD=password))
    if p.returncode != 0:
        raise ProtocolError(f"idlegen timed: {p.stderr.decode(errors='replace')[-500:]}")
    return json.loads(p.stdout)


def _once_rust(gen, port, user, count, sort):
    out = _timed(gen, port, user, _commands(count, sort), password_for(user))
    c = out["counts"]
    lo = max(1, count - 99)
    if c["select"]["exists"] != count:
        raise ProtocolError(f"SELECT: EXISTS {c['select']['exists']}, expected {count}")
    if c["fetch_uid_flags"]["fetch"] != count:
        raise ProtocolError(f"FETCH 1:*: {c['fetch_uid_flags']['fetch']} responses, expected {count}")
    if c["fetch_envelope_100"]["fetch"] != count - lo + 1:
        raise ProtocolError(f"ENVELOPE: {c['fetch_envelope_100']['fetch']} responses")
    if c["search_header"]["search"] != msggen.needle_count(count):
        raise ProtocolError(f"SEARCH: {c['search_header']['search']} hits, "
                            f"expected {msggen.needle_count(count)}")
    if sort and c["sort_date"]["sort"] != count:
        raise ProtocolError(f"SORT: {c['sort_date']['sort']} of {count}")
    return {"times": out["times"], "sort": sort}


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


def client_floor(count, gen=None):
    """The load generator's own time for `FETCH 1:* (UID FLAGS)` of `count` messages and for
    the ENVELOPE of the newest 100: the same client (`gen`, the Rust one, if given) reading a
    canned response from a fake server on loopback (median of 3 each). Returns {op: ms}."""
    lo = max(1, count - 99)
    ops = {"fetch_uid_flags": b"FETCH 1:* (UID FLAGS)",
           "fetch_envelope_100": b"FETCH %d:%d (ENVELOPE)" % (lo, count)}
    canned = {
        ops["fetch_uid_flags"]: (
            b"".join(b"* %d FETCH (UID %d FLAGS (\\Seen))\r\n" % (i, i) for i in range(1, count + 1)),
            count),
        ops["fetch_envelope_100"]: (
            b"".join(_envelope_line(i) for i in range(lo, count + 1)), count - lo + 1),
    }

    async def handle(r, w):
        w.write(b"* OK fake\r\n")
        while True:
            line = await r.readline()
            if not line:
                return
            tag, cmd = line.rstrip(b"\r\n").split(b" ", 1)
            word = cmd.split(b" ", 1)[0].upper()
            if word == b"LOGIN":
                w.write(tag + b" OK logged in\r\n")
            elif word == b"LOGOUT":
                w.write(b"* BYE\r\n" + tag + b" OK bye\r\n")
            else:
                w.write(canned[cmd][0] + tag + b" OK done\r\n")
            await w.drain()

    async def go():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        out = {op: [] for op in ops}
        if gen:
            for _ in range(3):
                cmds = [(op, text.decode()) for op, text in ops.items()]
                got = await asyncio.to_thread(_timed, gen, port, "floor", cmds, "floor")
                for op in ops:
                    if got["counts"][op]["fetch"] != canned[ops[op]][1]:
                        raise ProtocolError("floor: short read")
                    out[op].append(got["times"][op])
        else:
            c = await Imap.connect("127.0.0.1", port)
            for op, cmd in ops.items():
                for _ in range(3):
                    t = time.perf_counter()
                    u, _ = await c.cmd(cmd)
                    out[op].append(time.perf_counter() - t)
                    if fetch_count(u) != canned[cmd][1]:
                        raise ProtocolError("floor: short read")
            c.w.close()
            await c.w.wait_closed()
        await asyncio.sleep(0.05)  # let the handlers see EOF and return
        srv.close()
        await srv.wait_closed()
        return {op: ms(sorted(v)[1]) for op, v in out.items()}
    return asyncio.run(go())
