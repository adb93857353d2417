"""Logins: C concurrent clients, each looping connect → LOGIN → LOGOUT for a fixed time over
the users in turn. Both servers verify the same argon2id hashes with no cache in front (Tern's
internal directory has none; Dovecot's auth_cache_size is 0 by default), so every login is a
cold one. Against LDAP, cold and warm: w_ldaplogins.py, which reuses this load. The server's memory (VmRSS,
summed over Dovecot's processes) before and after shows what logging in leaves behind.
"""

import asyncio
import time

from common import ms, pct
from imapc import Imap, ProtocolError
from servers import password_for


def run(server, users, clients, seconds):
    return asyncio.run(_run(server, users, clients, seconds))


async def _run(server, users, clients, seconds):
    lat, errors, done = [], [], [0]
    deadline = time.monotonic() + seconds

    async def client(ci):
        k = ci
        while time.monotonic() < deadline:
            u = users[k % len(users)]
            k += clients
            c = None
            try:
                t = time.perf_counter()
                c = await asyncio.wait_for(Imap.connect("127.0.0.1", server.imap), 30)
                await asyncio.wait_for(c.login(u, password_for(u)), 30)
                lat.append(time.perf_counter() - t)
                await asyncio.wait_for(c.logout(), 30)
                done[0] += 1
            except (ProtocolError, OSError, asyncio.TimeoutError) as e:
                errors.append(f"{u}: {type(e).__name__}: {str(e)[:200]}")
            finally:
                if c:
                    await c.close()

    mem0 = server.memory()
    t = time.perf_counter()
    await asyncio.gather(*(client(ci) for ci in range(clients)))
    elapsed = time.perf_counter() - t
    await asyncio.sleep(1)
    mem1 = server.memory()
    return {
        "clients": clients, "seconds": round(elapsed, 2), "logins": done[0],
        "logins_per_s": round(done[0] / elapsed, 1),
        "p50_ms": ms(pct(lat, 50)), "p99_ms": ms(pct(lat, 99)),
        "protocol_errors": len(errors), "errors": errors[:20],
        "rss_before_kib": mem0[0], "rss_after_kib": mem1[0],
        "rss_growth_mib": round((mem1[0] - mem0[0]) / 1024, 1),
    }
