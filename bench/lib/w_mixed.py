"""IMAP mixed load: C clients over U users (client i is user i mod U) on pre-populated
mailboxes, for a fixed time. Each client loops over sessions:

    connect, LOGIN, SELECT INBOX, then `rounds` times:
      UID FETCH 1:* (UID FLAGS)                          -- flag resync
      FETCH n-19:n (UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)   -- message list
      FETCH k BODY.PEEK[]                                -- read one message
      STORE k +FLAGS/-FLAGS (\\Flagged), STORE k +FLAGS (\\Seen)
      SEARCH UNSEEN, UID SEARCH SUBJECT "<word>"
      APPEND INBOX (\\Seen) {size}                        -- save a draft/sent copy
      COPY k Archive
      UID STORE <appended> +FLAGS.SILENT (\\Deleted), UID EXPUNGE <appended>
    LOGOUT

Every response is checked: tagged OK, and the client tracks the mailbox size from EXISTS and
EXPUNGE responses and requires FETCH 1:* to return exactly that many messages, the list FETCH
its range with an ENVELOPE each, the body FETCH a literal of the message's size, STORE the
new flags, SEARCH only numbers in range, APPEND an APPENDUID. Any failure is a protocol error
(the session is dropped, counted, and the client reconnects).

Clients run in `procs` processes (asyncio in each) so the load generator is not one core.
"""

import asyncio
import multiprocessing
import os
import random
import re
import time

import msggen
from common import ms, pct, populate, gather_limited
from imapc import Imap, ProtocolError, fetch_count, search_numbers, uid_of
from servers import password_for

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_BODY = re.compile(rb"BODY\[\] \{(\d+)\}\r\n")
WORDS = ("budget", "report", "meeting", "exam", "grant", "invoice")


def prepare(server, users, msgs, size):
    """Fills each user's INBOX with `msgs` messages (two in three \\Seen) and creates Archive."""
    async def go():
        coros = [populate("127.0.0.1", server.imap, u, msgs, size, seed=k + 1, create=("Archive",),
                          flags_of=lambda i: b"" if i % 3 == 0 else b"\\Seen")
                 for k, u in enumerate(users)]
        t = time.perf_counter()
        await gather_limited(coros, 8)
        return time.perf_counter() - t
    return asyncio.run(go())


class Tracker:
    """The client's view of the selected mailbox size (RFC 9051 §7.4.1: EXPUNGE decrements)."""

    def __init__(self):
        self.n = 0

    def feed(self, untagged):
        for u in untagged:
            if not u.startswith(b"* "):
                continue
            if u.endswith(b" EXISTS"):
                self.n = int(u.split()[1])
            elif u.endswith(b" EXPUNGE"):
                self.n -= 1


def _check(cond, what):
    if not cond:
        raise ProtocolError(what)


async def _session(c, user, rounds, size, stats, deadline, rnd, counter, exclusive):
    tr = Tracker()

    async def do(name, text, literals=()):
        u, tagged = await c.timed(stats, name, text, literals)
        tr.feed(u)
        counter[0] += 1
        return u, tagged

    await do("LOGIN", b'LOGIN "%s" "%s"' % (user.encode(), password_for(user).encode()))
    u, _ = await do("SELECT", b"SELECT INBOX")
    _check(any(x.endswith(b" EXISTS") for x in u), "SELECT without EXISTS")
    for _ in range(rounds):
        if time.monotonic() >= deadline:
            break
        n = tr.n
        _check(n >= 1, f"mailbox of {user} is empty")
        u, _ = await do("FETCH_FLAGS", b"UID FETCH 1:* (UID FLAGS)")
        _check(fetch_count(u) == tr.n, f"FETCH 1:* gave {fetch_count(u)} of {tr.n}")
        lo = max(1, tr.n - 19)
        u, _ = await do("FETCH_LIST", b"FETCH %d:%d (UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)" % (lo, tr.n))
        _check(fetch_count(u) == tr.n - lo + 1 and all(b"ENVELOPE (" in x for x in u if b" FETCH (" in x[:24]),
               "list FETCH incomplete")
        k = rnd.randint(1, tr.n)
        u, _ = await do("FETCH_SIZE", b"FETCH %d (RFC822.SIZE)" % k)
        m = _SIZE.search(b"".join(u))
        _check(m is not None, "no RFC822.SIZE")
        want = int(m.group(1))
        u, _ = await do("FETCH_BODY", b"FETCH %d BODY.PEEK[]" % k)
        body = [x for x in u if b" FETCH (" in x[:24]]
        m = _BODY.search(body[0]) if body else None
        _check(m is not None and int(m.group(1)) == want, f"body of {k}: wrong size")
        flag_op = rnd.choice((b"+", b"-"))
        u, _ = await do("STORE", b"STORE %d %sFLAGS (\\Flagged)" % (k, flag_op))
        # A server may omit the FETCH when the flags did not change (Dovecot does); when it
        # sends one, the flags must be the new ones (RFC 9051 §6.4.6).
        fl = b"".join(x for x in u if b" FETCH (" in x[:24])
        _check(not fl or (b"\\Flagged" in fl) == (flag_op == b"+"), f"STORE result flags {fl[:100]!r}")
        await do("STORE", b"STORE %d +FLAGS.SILENT (\\Seen)" % k)
        u, _ = await do("SEARCH", b"SEARCH UNSEEN")
        nums = search_numbers(u)
        _check(nums is not None and all(1 <= x <= tr.n for x in nums), "SEARCH UNSEEN out of range")
        u, _ = await do("SEARCH", b'UID SEARCH SUBJECT "%s"' % rnd.choice(WORDS).encode())
        _check(search_numbers(u) is not None, "UID SEARCH without SEARCH response")
        msg = msggen.message(rnd.randrange(1 << 30), size, to=user, seed=99)
        u, tagged = await do("APPEND", b"APPEND INBOX (\\Seen) {%d}" % len(msg), [msg])
        uid = uid_of(tagged)
        _check(uid is not None, f"APPEND without APPENDUID: {tagged[:120]!r}")
        await do("COPY", b"COPY %d Archive" % k)
        await do("STORE", b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uid)
        await do("EXPUNGE", b"UID EXPUNGE %s" % uid)
        if exclusive:
            _check(tr.n == n, f"after APPEND + UID EXPUNGE the mailbox holds {tr.n}, not {n}")
    await do("LOGOUT", b"LOGOUT")


async def _client(ci, user, port, rounds, size, deadline, stats, errors, counter, exclusive):
    rnd = random.Random(ci)
    while time.monotonic() < deadline:
        c = None
        try:
            c = await asyncio.wait_for(Imap.connect("127.0.0.1", port), 30)
            await asyncio.wait_for(_session(c, user, rounds, size, stats, deadline, rnd, counter, exclusive), 120)
        except (ProtocolError, OSError, asyncio.TimeoutError, ValueError, IndexError) as e:
            errors.append(f"{user}: {type(e).__name__}: {str(e)[:200]}")
            await asyncio.sleep(0.1)
        finally:
            if c:
                await c.close()


def _proc_main(clients, port, rounds, size, seconds, start_at, exclusive, q):
    async def go():
        await asyncio.sleep(max(0, start_at - time.time()))
        deadline = time.monotonic() + seconds
        stats, errors, counter = {}, [], [0]
        await asyncio.gather(*(_client(ci, u, port, rounds, size, deadline, stats, errors, counter, exclusive)
                               for ci, u in clients))
        return stats, errors, counter[0]
    t0 = os.times()
    stats, errors, n = asyncio.run(go())
    t1 = os.times()
    q.put((stats, errors, n, (t1.user - t0.user) + (t1.system - t0.system)))


def run(server, users, clients, seconds, rounds, size, procs):
    assign = [(ci, users[ci % len(users)]) for ci in range(clients)]
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    start_at = time.time() + 1.0
    ps = [ctx.Process(target=_proc_main, args=(assign[k::procs], server.imap, rounds, size, seconds, start_at,
                                                     clients <= len(users), q))
          for k in range(procs)]
    for p in ps:
        p.start()
    t = time.time()
    results = [q.get(timeout=seconds + 300) for _ in ps]
    for p in ps:
        p.join(30)
    elapsed = time.time() - max(t, start_at)
    stats, errors, total, cpu = {}, [], 0, 0.0
    for s, e, n, c in results:
        for k, v in s.items():
            stats.setdefault(k, []).extend(v)
        errors.extend(e)
        total += n
        cpu += c
    every = [x for v in stats.values() for x in v]
    nologin = [x for k, v in stats.items() if k != "LOGIN" for x in v]
    return {
        "clients": clients, "users": len(users), "seconds": round(elapsed, 2), "rounds": rounds,
        "commands": total, "cmds_per_s": round(total / elapsed, 1),
        "p50_ms": ms(pct(every, 50)), "p99_ms": ms(pct(every, 99)),
        "p50_nologin_ms": ms(pct(nologin, 50)), "p99_nologin_ms": ms(pct(nologin, 99)),
        "per_command": {k: {"n": len(v), "p50_ms": ms(pct(v, 50)), "p99_ms": ms(pct(v, 99))}
                        for k, v in sorted(stats.items())},
        "protocol_errors": len(errors), "errors": errors[:20],
        "loadgen_cpu_s": round(cpu, 2),
    }
