"""Idle connections: N logged-in IDLE sessions on one mailbox, opened by `procs` client
processes (each its own asyncio loop; past 15,000 connections each process takes its own
127.0.0.x source address). Measured:

- server memory per connection (after a warm-up of as many concurrent logins as the
  opening makes), where memory is VmRSS of the Tern process, and for Dovecot
  the sum of VmRSS (and of Pss, which does not count shared pages once per process) over the
  master and all its descendants. Sessions open in two halves; two figures:
  *growth* = (memory with N sessions - memory before any) / N, which includes what logging in
  leaves behind (e.g. allocator arenas kept after argon2id's 19 MiB per verification), and
  *marginal* = (memory with N - memory with N/2) / (N/2), the cost of one more idle session
  once the server is warm;
- delivery → EXISTS latency: `deliveries` LMTP deliveries one after another (`gap` seconds
  apart); for each delivery and each session, the time from the moment the final dot of DATA
  was sent until that session read the `* N EXISTS` announcing it. A session that never sees
  a delivery counts as missing.

Two load generators hold the sessions and time the deliveries, by that same method: the Rust
one (bench/idlegen, driven through lib/idlegen.py: one process, one thread, timestamps taken
as the bytes are read, the delivery clock in the same process; it waits up to 10 s after the
last delivery for the last EXISTS), used whenever its binary is there; and the Python one
below (`procs` processes of asyncio, deliveries from this process, CLOCK_MONOTONIC across
processes, 2 s after the last delivery), the fallback. Its floor is measured with the fake
server of the same generator (lib/w_idle_floor.py). w_maxconn.py holds its sessions with the
Python `_child`.
"""

import asyncio
import multiprocessing
import resource
import time

import idlegen
import msggen
from common import ms, pct
from imapc import Imap, ProtocolError, count_exists
from lmtpc import Lmtp
from servers import password_for


async def _open(port, user, src, slot, auth="login"):
    c = await Imap.connect("127.0.0.1", port, local_addr=(src, 0) if src else None)
    if auth == "scram":
        await c.scram_sha256(user, password_for(user))
    else:
        await c.login(user, password_for(user))
    u, _ = await c.cmd(b"SELECT INBOX")
    slot["n0"] = count_exists(u)
    tag = c.next_tag()
    c.w.write(tag + b" IDLE\r\n")
    await c.w.drain()
    while True:
        r = await c.read_response()
        if r.startswith(b"+"):
            break
        if r.startswith(tag):
            raise ProtocolError(f"IDLE refused: {r[:200]!r}")
    return c


async def _listen(c, slot):
    try:
        while True:
            r = await c.read_response()
            if r.startswith(b"* ") and r.endswith(b" EXISTS"):
                slot["events"].append((int(r.split()[1]), time.monotonic()))
    except (ProtocolError, OSError) as e:
        slot["error"] = f"{type(e).__name__}: {e}"


def _child(port, user, src, conc, pipe, auth="login", open_timeout=180, max_failures=None):
    """Holds IDLE sessions: ("open", n) opens n more and answers ("ready", opened, errors);
    ("seen", k) answers ("seen", sessions that have seen EXISTS of the k-th delivery, sessions
    open); "stop" closes them all and answers ("done", [(n0, events, error) per session]).
    Past `max_failures` failed opens, the rest of the batch is not attempted."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def go():
        slots, conns, readers = [], [], []
        sem = asyncio.Semaphore(conc)
        loop = asyncio.get_running_loop()
        failed = [0]

        async def one(slot):
            async with sem:
                if max_failures is not None and failed[0] >= max_failures:
                    slot["error"] = "open: not attempted (too many failures)"
                    return
                try:
                    c = await asyncio.wait_for(_open(port, user, src, slot, auth), open_timeout)
                    conns.append(c)
                    readers.append(asyncio.ensure_future(_listen(c, slot)))
                except (ProtocolError, OSError, asyncio.TimeoutError) as e:
                    failed[0] += 1
                    slot["error"] = f"open: {type(e).__name__}: {str(e)[:200]}"
        while True:
            msg = await loop.run_in_executor(None, pipe.recv)
            if msg == "stop":
                break
            if msg[0] == "seen":  # how many open sessions have seen the k-th delivery's EXISTS
                k = msg[1]
                live = [sl for sl in slots if sl["n0"] is not None and not sl["error"]]
                pipe.send(("seen", sum(1 for sl in live if any(n >= sl["n0"] + k for n, _ in sl["events"])),
                           len(live)))
                continue
            new = [{"n0": None, "events": [], "error": None} for _ in range(msg[1])]
            slots.extend(new)
            await asyncio.gather(*(one(sl) for sl in new))
            pipe.send(("ready", len(conns), [sl["error"] for sl in new if sl["error"]][:10]))
        for r in readers:
            r.cancel()
        for c in conns:
            try:
                c.w.write(b"DONE\r\n")
                c.w.close()
            except OSError:
                pass
        await asyncio.sleep(0.2)
        return slots
    slots = asyncio.run(go())
    pipe.send(("done", [(s["n0"], s["events"], s["error"]) for s in slots]))


def run(server, user, conns, procs, deliveries, gap, size, conc, gen=None):
    """The workload against `server`. `gen`: the Rust generator's binary (bench/idlegen), or
    None for the Python one (this module's `_child` processes). Both use the same method:
    the same messages, deliveries `gap` apart, latency from the final dot to the EXISTS."""
    base0 = _imap_procs(server)  # Cyrus: its preforked imapd (and any a previous workload left)
    # Warm-up: as many concurrent logins as the opening will make, so memory that logging in
    # leaves behind (allocator arenas) is in the baseline, not in the per-connection figures.
    asyncio.run(_warm(server.imap, user, procs * conc))
    _settle(server, base0, 30)
    time.sleep(1)
    base_imap = _imap_procs(server)
    mem_before = server.memory()
    shares = [conns // procs + (1 if k < conns % procs else 0) for k in range(procs)]
    t_open = time.monotonic()
    if gen:
        holders = _RustHolders(gen, server, user, conns, procs, deliveries, gap, size, conc)
    else:
        holders = _PyHolders(server, user, conns, shares, deliveries, gap, size, conc)
    errors = []
    try:
        def open_more(step):
            opened, e = holders.open(step)
            errors.extend(e)
            time.sleep(2)
            return opened, server.memory()
        half, mem_half = open_more(1)
        opened, mem_after = open_more(2)
        open_s = time.monotonic() - t_open - 4
        pids_after = len(server.pids())
        fig = holders.deliver()
    finally:
        holders.close()
    errors.extend(fig.pop("errors"))
    broken = fig.pop("broken")
    settle_s = _settle(server, base_imap)
    per_rss = (mem_after[0] - mem_before[0]) / max(1, opened)
    per_pss = (mem_after[1] - mem_before[1]) / max(1, opened)
    second = max(1, opened - half)
    marg_rss = (mem_after[0] - mem_half[0]) / second
    marg_pss = (mem_after[1] - mem_half[1]) / second
    return {
        "connections": conns, "opened": opened, "open_s": round(open_s, 2),
        "server_processes": pids_after, "settle_s": settle_s,
        "rss_before_kib": mem_before[0], "rss_after_kib": mem_after[0],
        "pss_before_kib": mem_before[1], "pss_after_kib": mem_after[1],
        "rss_half_kib": mem_half[0], "pss_half_kib": mem_half[1],
        "rss_per_conn_kib": round(per_rss, 2), "pss_per_conn_kib": round(per_pss, 2),
        "rss_marginal_kib": round(marg_rss, 2), "pss_marginal_kib": round(marg_pss, 2),
        "deliveries": deliveries, **fig,
        "protocol_errors": (conns - opened) + fig["exists_missing"] + broken, "errors": errors[:20],
    }


class _RustHolders:
    """The sessions held by one `tern-bench-idlegen run` (lib/idlegen.py)."""

    def __init__(self, gen, server, user, conns, procs, deliveries, gap, size, conc):
        self.conns = conns
        # The same number of logins in flight while opening as procs × conc Python processes.
        self.h = idlegen.Holder(gen, server, user, deliveries, gap, size, procs * conc,
                                idlegen.sources_for(conns, procs))

    def open(self, step):
        return self.h.open(self.conns // 2 if step == 1 else self.conns - self.conns // 2)

    def deliver(self):
        r = self.h.deliver()
        return {"loadgen": "rust", "loadgen_cpu_s": self.h.cpu_s,
                "lmtp_250_p50_ms": r["lmtp_250_p50_ms"], "exists_p50_ms": r["exists_p50_ms"],
                "exists_p99_ms": r["exists_p99_ms"], "exists_max_ms": r["exists_max_ms"],
                "exists_missing": r["exists_missing"], "broken": r["broken"],
                # open failures are already in the "ready" answers
                "errors": [e for e in r["errors"] if not e.startswith("open:")]}

    def close(self):
        self.h.close()


class _PyHolders:
    """The sessions held by `procs` Python processes (`_child`), the LMTP deliveries from
    this process (lib/lmtpc.py), timestamps compared across processes (CLOCK_MONOTONIC)."""

    def __init__(self, server, user, conns, shares, deliveries, gap, size, conc):
        ctx = multiprocessing.get_context("fork")
        self.server, self.user, self.shares = server, user, shares
        self.deliveries, self.gap, self.size = deliveries, gap, size
        self.pipes, self.ps = [], []
        self.cpu0 = _children_cpu()
        for k, n in enumerate(shares):
            a, b = ctx.Pipe()
            src = f"127.0.0.{2 + k}" if conns > 15000 else None
            p = ctx.Process(target=_child, args=(server.imap, user, src, conc, b))
            p.start()
            self.pipes.append(a)
            self.ps.append(p)

    def open(self, step):
        opened, errors = 0, []
        for a, n in zip(self.pipes, self.shares):
            a.send(("open", n // 2 if step == 1 else n - n // 2))
        for a in self.pipes:
            if not a.poll(600):
                raise RuntimeError("idle clients did not report ready in 600 s")
            _, k, e = a.recv()
            opened += k
            errors.extend(e)
        return opened, errors

    def deliver(self):
        server, user = self.server, self.user

        async def deliver():
            c = await (server.lmtp_client() if hasattr(server, "lmtp_client")
                       else Lmtp.connect("127.0.0.1", server.lmtp))
            out = []
            for d in range(self.deliveries):
                msg = msggen.message(10_000 + d, self.size, to=user, seed=3)
                out.append(await c.deliver("bench@example.test", user, msg))
                await asyncio.sleep(self.gap)
            await c.quit()
            return out
        times = asyncio.run(deliver())
        time.sleep(2)
        for a in self.pipes:
            a.send("stop")
        slots = []
        for a in self.pipes:
            if a.poll(120):
                slots.extend(a.recv()[1])
        self.close()
        lat, missing, broken, errors = [], 0, 0, []
        for n0, events, err in slots:
            if n0 is None:
                continue
            for d, (t0, _) in enumerate(times):
                want = n0 + d + 1
                t = next((t for n, t in events if n >= want), None)
                if t is None:
                    missing += 1
                else:
                    lat.append(t - t0)
            if err and not err.startswith("open:"):
                broken += 1
                errors.append(err)
        return {"loadgen": "python", "loadgen_cpu_s": round(_children_cpu() - self.cpu0, 2),
                "lmtp_250_p50_ms": ms(pct([b - a for a, b in times], 50)),
                "exists_p50_ms": ms(pct(lat, 50)), "exists_p99_ms": ms(pct(lat, 99)),
                "exists_max_ms": ms(max(lat) if lat else None), "exists_missing": missing,
                "broken": broken, "errors": errors}

    def close(self):
        for p in self.ps:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join(5)


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def _warm(port, user, n):
    async def one():
        c = await Imap.connect("127.0.0.1", port)
        await c.login(user, password_for(user))
        await c.logout()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), 300)


def _imap_procs(server):
    return server.session_processes() if hasattr(server, "session_processes") else 0


def _settle(server, base, seconds=90):
    """Waits (bounded) until the server has no more per-session processes than before the
    workload (Dovecot's `imap`: one per session, they exit once their client has gone; Cyrus's
    `imapd` wait up to 60 s for another connection before exiting). Returns seconds waited."""
    t = time.monotonic()
    while time.monotonic() < t + seconds and _imap_procs(server) > base:
        time.sleep(0.2)
    return round(time.monotonic() - t, 1)
