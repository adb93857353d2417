"""Delivery: Postfix `smtp-source` sessions in parallel, each delivering its messages over one
connection (-d) to its own recipient (or all to one, `single`). Over LMTP (`-L`, every server)
or, for the `smtp` workload, over SMTP into Tern's MX port (the same messages; Dovecot and Cyrus
have no SMTP listener of their own). The figure is messages per second from the first
connection to the last acknowledgement; a 250 means durable on every server, and the
mailboxes are counted over IMAP afterwards to confirm every message is there.

`run_mix` is the size mix: one smtp-source process per size class (1 KB ... 1 MB payloads, -l),
all at once, class k to user k; each class reports its own rate, and the whole its MB/s.

The server's CPU is counted from the first smtp-source start to the last one's exit (not the
IMAP logins that count the mailboxes before and after). Both record the CPU time the
smtp-source processes used (`loadgen_cpu_s`, user + system, from
the harness's waited-for children): on a machine whose cores the load generator shares with
the server, server CPU + client CPU per message bounds the rate any server can reach.
"""

import asyncio
import re
import resource
import subprocess
import threading
import time

from common import count_messages, gather_limited

_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1048576, "MB": 1048576, "MIB": 1048576}


def parse_mix(spec):
    """`1KB:1000,1MB:20` → [(1024, 1000), (1048576, 20)]: payload size and message count per
    class (K/KB = 1024 bytes, M/MB = 1024 KB)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.fullmatch(r"(\d+)\s*([A-Za-z]*)\s*:\s*(\d+)", part)
        if not m or m.group(2).upper() not in _UNITS:
            raise ValueError(f"--delivery-mix: {part!r} is not SIZE:COUNT (e.g. 100KB:50)")
        out.append((int(m.group(1)) * _UNITS[m.group(2).upper()], int(m.group(3))))
    return out


def size_label(n):
    if n >= 1048576 and n % 1048576 == 0:
        return f"{n // 1048576} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} B"


def _argv(server, proto):
    if proto == "smtp":
        if not server.smtp:
            raise ValueError(f"{server.name} has no SMTP listener")
        return ["smtp-source", "-d"], f"127.0.0.1:{server.smtp}"
    return ["smtp-source", "-L", "-d"], f"127.0.0.1:{server.lmtp}"


def _common(size):
    return ["-l", str(size), "-f", "bench@example.test", "-S", "bench delivery", "-M", "bench.example.test"]


def _wait(procs, errors, deadline):
    """Waits for every smtp-source; returns the moment (perf_counter) each one exited, read by
    a thread per process so that one slow class does not delay the others' figures."""
    ends = [None] * len(procs)
    errs = [None] * len(procs)

    def wait(k, p):
        try:
            _, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            errs[k] = "smtp-source timed out; "
        ends[k] = time.perf_counter()
        if p.returncode != 0 or err.strip():
            errs[k] = (errs[k] or "") + f"smtp-source rc={p.returncode}: {err.decode(errors='replace')[:300]}"
    threads = [threading.Thread(target=wait, args=(k, p)) for k, p in enumerate(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors.extend(e for e in errs if e)
    return ends


def _children_cpu():
    """User + system CPU seconds of every child the harness has waited for."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(server, users, per_session, size, mode, proto="lmtp"):
    sessions = len(users)
    before = asyncio.run(_counts(server, users))
    base, dest = _argv(server, proto)
    argv = base + _common(size)
    procs = []
    cpu0, server_cpu0 = _children_cpu(), server.cpu()
    t = time.perf_counter()
    if mode == "single":
        procs.append(subprocess.Popen(argv + ["-s", str(sessions), "-m", str(sessions * per_session),
                                              "-t", users[0], dest],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    else:
        for u in users:
            procs.append(subprocess.Popen(argv + ["-s", "1", "-m", str(per_session), "-t", u, dest],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    errors = []
    _wait(procs, errors, time.monotonic() + 1800)
    elapsed = time.perf_counter() - t
    loadgen_cpu, server_cpu = _children_cpu() - cpu0, server.cpu() - server_cpu0
    after = asyncio.run(_counts(server, users))
    expected = sessions * per_session
    got = sum(after) - sum(before)
    if got != expected:
        errors.append(f"mailboxes hold {got} new messages, expected {expected}")
    return {
        "protocol": proto, "sessions": sessions, "messages": expected, "size": size, "mode": mode,
        "seconds": round(elapsed, 3), "msgs_per_s": round(expected / elapsed, 1),
        "counted": got, "errors": errors, "server_cpu_s": round(server_cpu, 2),
        "loadgen_cpu_s": round(loadgen_cpu, 2),
        "loadgen_cpu_ms_per_msg": round(loadgen_cpu * 1000 / expected, 3),
    }


def run_mix(server, users, classes, sessions, proto="lmtp"):
    """`classes` [(size, count)]: class k goes to users[k] over `sessions` parallel
    connections of its own smtp-source process; all classes start together."""
    if len(classes) > len(users):
        raise ValueError(f"{len(classes)} size classes need as many delivery users (--delivery-sessions)")
    targets = users[:len(classes)]
    before = asyncio.run(_counts(server, targets))
    base, dest = _argv(server, proto)
    procs = []
    cpu0, server_cpu0 = _children_cpu(), server.cpu()
    t = time.perf_counter()
    for (size, count), u in zip(classes, targets):
        procs.append(subprocess.Popen(base + _common(size) + ["-s", str(min(sessions, count)), "-m", str(count),
                                                              "-t", u, dest],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    errors = []
    ends = _wait(procs, errors, time.monotonic() + 1800)
    elapsed = time.perf_counter() - t
    loadgen_cpu, server_cpu = _children_cpu() - cpu0, server.cpu() - server_cpu0
    after = asyncio.run(_counts(server, targets))
    per_class = []
    for (size, count), b, a, end in zip(classes, before, after, ends):
        secs = end - t
        if a - b != count:
            errors.append(f"{size_label(size)} class: the mailbox holds {a - b} new messages, expected {count}")
        per_class.append({"size": size, "label": size_label(size), "messages": count, "counted": a - b,
                          "seconds": round(secs, 3), "msgs_per_s": round(count / secs, 1),
                          "mb_per_s": round(size * count / secs / 1048576, 2)})
    messages = sum(c for _, c in classes)
    payload = sum(s * c for s, c in classes)
    return {
        "protocol": proto, "sessions_per_class": sessions, "classes": per_class,
        "messages": messages, "payload_mb": round(payload / 1048576, 2),
        "seconds": round(elapsed, 3), "msgs_per_s": round(messages / elapsed, 1),
        "mb_per_s": round(payload / elapsed / 1048576, 2),
        "counted": sum(a - b for a, b in zip(after, before)), "errors": errors,
        "server_cpu_s": round(server_cpu, 2), "loadgen_cpu_s": round(loadgen_cpu, 2),
    }


async def _counts(server, users):
    return await gather_limited([count_messages("127.0.0.1", server.imap, u) for u in users], 10)
