"""Max IDLE connections (`--only maxconn`, not in the default list): as many logged-in IDLE
sessions on one mailbox as the server can hold, then a delivery that must reach every one.

- Tern (one process): the target is what its open-file limit leaves (RLIMIT_NOFILE soft limit
  of the running process minus the descriptors it already has open, minus a margin), unless
  `--maxconn-target` says otherwise. Sessions are held by `procs` client processes, each from
  its own source address 127.0.0.(2+k) (so no source/destination pair runs out of ephemeral
  ports) and each with its own open-file limit.
- Dovecot and Cyrus (a process per session): the same, stopped at `--maxconn-peer-cap`
  sessions; the number of server processes it took is reported.

After a warm-up of as many concurrent logins as the opening makes (as in the IDLE workload),
sessions open in four steps (memory after each); a client process stops opening after 50
failed opens. Then `deliveries` LMTP deliveries, one at a time: after each, the harness waits
(bounded) until every open session has read its `* n EXISTS`; the time from the final dot to
the last session's EXISTS is the fan-out time. A session that never sees a delivery, or dies,
counts as an error.

Logging in: `auth=auto` uses AUTHENTICATE SCRAM-SHA-256 where the server offers it (Tern:
a proof checked against stored keys, no argon2id per session: 20,000 argon2id logins would
take ≈ 7 min of both cores), else LOGIN (Dovecot: argon2id; Cyrus: sasldb).
"""

import asyncio
import multiprocessing
import time

import msggen
from common import ms, pct
from imapc import Imap
from lmtpc import Lmtp
from servers import password_for
import w_idle

MARGIN = 64  # descriptors left to Tern for its store, logs and LMTP


def _auth(server, want):
    if want != "auto":
        return want

    async def caps():
        c = await Imap.connect("127.0.0.1", server.imap)
        await c.close()
        return c.caps
    return "scram" if b"AUTH=SCRAM-SHA-256" in asyncio.run(caps()) else "login"


async def _warm(port, user, n, mech):
    async def one():
        c = await Imap.connect("127.0.0.1", port)
        if mech == "scram":
            await c.scram_sha256(user, password_for(user))
        else:
            await c.login(user, password_for(user))
        await c.logout()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), 300)


def run(server, user, target, peer_cap, procs, conc, deliveries, auth="auto", size=2048):
    ctx = multiprocessing.get_context("fork")
    mech = _auth(server, auth)
    fd_limit = fds0 = None
    per_session = bool(server.session_comm)
    if per_session:
        goal = min(target, peer_cap) if target else peer_cap
    else:
        fd_limit, fds0 = server.fd_limit()
        goal = target or (fd_limit - fds0 - MARGIN)
    # Warm-up, as in the IDLE workload: as many concurrent logins as the opening makes, so that
    # what logging in leaves behind (allocator arenas) is in the baseline.
    asyncio.run(_warm(server.imap, user, procs * conc, mech))
    time.sleep(1)
    mem0 = server.memory()
    procs0 = len(server.pids())
    sessions0 = server.session_processes()
    shares = [goal // procs + (1 if k < goal % procs else 0) for k in range(procs)]
    pipes, ps = [], []
    for k in range(procs):
        a, b = ctx.Pipe()
        p = ctx.Process(target=w_idle._child, args=(server.imap, user, f"127.0.0.{2 + k}", conc, b, mech, 30, 50))
        p.start()
        pipes.append(a)
        ps.append(p)
    errors, steps = [], []
    t_open = time.monotonic()
    opened = 0
    try:
        for step in range(4):
            for a, n in zip(pipes, shares):
                a.send(("open", n * (step + 1) // 4 - n * step // 4))
            opened = 0
            for a in pipes:
                if not a.poll(1800):
                    raise RuntimeError("maxconn: client processes did not report in 1800 s")
                _, k, e = a.recv()
                opened += k
                errors.extend(e)
            time.sleep(2)
            rss, pss = server.memory()
            steps.append({"opened": opened, "rss_kib": rss, "pss_kib": pss,
                          "s": round(time.monotonic() - t_open, 1)})
        open_s = time.monotonic() - t_open - 8
        server_procs = len(server.pids())
        fds1 = server.fd_limit()[1] if not per_session else None
        mem1 = (steps[-1]["rss_kib"], steps[-1]["pss_kib"])

        async def deliver():
            c = await Lmtp.connect("127.0.0.1", server.lmtp)
            out = []
            for d in range(deliveries):
                msg = msggen.message(50_000 + d, size, to=user, seed=int(time.time()))
                t0, t250 = await c.deliver("bench@example.test", user, msg)
                # every session must see it before the next one (bounded)
                end = time.monotonic() + max(60, opened / 100)
                seen = live = 0
                while time.monotonic() < end:
                    seen = live = 0
                    for a in pipes:
                        a.send(("seen", d + 1))
                    for a in pipes:
                        _, s_, l_ = a.recv()
                        seen += s_
                        live += l_
                    if seen >= live:
                        break
                    await asyncio.sleep(0.05)
                out.append({"t0": t0, "t250": t250, "seen": seen, "live": live,
                            "all_seen_s": round(time.monotonic() - t0, 3)})
            await c.quit()
            return out
        delivered = asyncio.run(deliver())
    finally:
        for a in pipes:
            try:
                a.send("stop")
            except OSError:
                pass
    slots = []
    for a in pipes:
        if a.poll(300):
            slots.extend(a.recv()[1])
    for p in ps:
        p.join(60)
        if p.is_alive():
            p.kill()
    lat, missing, broken = [], 0, 0
    for n0, events, err in slots:
        if n0 is None:
            continue
        for d, dv in enumerate(delivered):
            t = next((t for n, t in events if n >= n0 + d + 1), None)
            if t is None:
                missing += 1
            else:
                lat.append(t - dv["t0"])
        if err and not err.startswith("open:"):
            broken += 1
            errors.append(err)
    settle_s = w_idle._settle(server, sessions0, 90) if per_session else 0
    half = steps[1]
    second = max(1, opened - half["opened"])
    return {
        "auth": mech, "target": goal, "capped": per_session, "opened": opened,
        "open_s": round(open_s, 1), "sessions_per_s": round(opened / max(open_s, 0.001), 1),
        "steps": steps, "fd_limit": fd_limit, "fds_before": fds0, "fds_after": fds1,
        "server_processes": server_procs, "server_processes_before": procs0,
        "rss_before_kib": mem0[0], "rss_after_kib": mem1[0], "pss_before_kib": mem0[1], "pss_after_kib": mem1[1],
        "rss_per_conn_kib": round((mem1[0] - mem0[0]) / max(1, opened), 2),
        "pss_per_conn_kib": round((mem1[1] - mem0[1]) / max(1, opened), 2),
        "rss_marginal_kib": round((mem1[0] - half["rss_kib"]) / second, 2),
        "deliveries": [{k: v for k, v in dv.items() if k not in ("t0", "t250")} | {"lmtp_250_ms": ms(dv["t250"] - dv["t0"])}
                       for dv in delivered],
        "reached_all": all(dv["seen"] == dv["live"] == opened for dv in delivered),
        "fanout_max_s": max((dv["all_seen_s"] for dv in delivered), default=None),
        "exists_p50_ms": ms(pct(lat, 50)), "exists_p99_ms": ms(pct(lat, 99)),
        "exists_max_ms": ms(max(lat) if lat else None), "exists_missing": missing,
        "settle_s": settle_s,
        "protocol_errors": (goal - opened) + missing + broken, "errors": errors[:20],
    }
