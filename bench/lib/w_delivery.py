"""Delivery: Postfix `smtp-source -L` (LMTP) sessions in parallel, each delivering its messages
over one connection (-d) to its own recipient (or all to one, `single`). The figure is messages
per second from the first connection to the last acknowledgement; an LMTP 250 means durable on
both servers, and the mailboxes are counted over IMAP afterwards to confirm every one is there.
"""

import asyncio
import subprocess
import time

from common import count_messages, gather_limited


def run(server, users, per_session, size, mode):
    sessions = len(users)
    before = asyncio.run(_counts(server, users))
    argv = ["smtp-source", "-L", "-d", "-l", str(size), "-f", "bench@example.test",
            "-S", "bench delivery", "-M", "bench.example.test"]
    procs = []
    t = time.perf_counter()
    if mode == "single":
        procs.append(subprocess.Popen(argv + ["-s", str(sessions), "-m", str(sessions * per_session),
                                              "-t", users[0], f"127.0.0.1:{server.lmtp}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    else:
        for u in users:
            procs.append(subprocess.Popen(argv + ["-s", "1", "-m", str(per_session), "-t", u,
                                                  f"127.0.0.1:{server.lmtp}"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    errors = []
    deadline = time.monotonic() + 1800
    for p in procs:
        try:
            _, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            errors.append("smtp-source timed out")
        if p.returncode != 0 or err.strip():
            errors.append(f"smtp-source rc={p.returncode}: {err.decode(errors='replace')[:300]}")
    elapsed = time.perf_counter() - t
    after = asyncio.run(_counts(server, users))
    expected = sessions * per_session
    got = sum(after) - sum(before)
    if got != expected:
        errors.append(f"mailboxes hold {got} new messages, expected {expected}")
    return {
        "sessions": sessions, "messages": expected, "size": size, "mode": mode,
        "seconds": round(elapsed, 3), "msgs_per_s": round(expected / elapsed, 1),
        "counted": got, "errors": errors,
    }


async def _counts(server, users):
    return await gather_limited([count_messages("127.0.0.1", server.imap, u) for u in users], 10)
