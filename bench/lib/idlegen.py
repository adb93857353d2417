"""The Rust IDLE load generator (bench/idlegen, binary `tern-bench-idlegen`), driven from
w_idle.py: one process, one thread, one epoll over every session, each EXISTS timestamped as
soon as its bytes are read, the delivery clock in the same process. The harness talks to it
over its stdin/stdout (`open N` → a "ready" JSON line; `deliver` → the "done" JSON line with
the figures), so it can measure the server's memory between the steps as before.

Also its fake server (`fake-server`), for the floor: IMAP + LMTP, every delivery writes
`* n EXISTS` to every idling session before its 250.

Invariants: every wait on the generator is bounded (a timeout per step); the processes
started here are ended here, by their own handle, also on error.
"""

import json
import math
import os
import resource
import select
import shutil
import subprocess
import tempfile
import time

import msggen
from servers import password_for

BIN_NAME = "tern-bench-idlegen"


def find(given, tern_bin):
    """The generator binary: `given` if set, else next to the Tern binary (bench/run builds
    both into one target dir). Returns (path or None, why not)."""
    path = given or os.path.join(os.path.dirname(os.path.abspath(tern_bin)), BIN_NAME)
    if os.access(path, os.X_OK):
        return path, None
    return None, f"{path} not found or not executable"


class GenError(RuntimeError):
    pass


class Holder:
    """One `tern-bench-idlegen run` holding the sessions of one server."""

    def __init__(self, binary, server, user, deliveries, gap, size, conc_total, sources=()):
        self.dir = tempfile.mkdtemp(prefix="idlegen-")
        files = []
        for d in range(deliveries):  # the very messages the Python generator delivers
            fn = os.path.join(self.dir, f"msg-{d:03d}.eml")
            with open(fn, "wb") as f:
                f.write(msggen.message(10_000 + d, size, to=user, seed=3))
            files.append(fn)
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+b")
        cmd = [binary, "run", "--imap-port", str(server.imap), "--lmtp-port", str(server.lmtp),
               "--user", user, "--open-conc", str(conc_total), "--gap", str(gap)]
        if sources:
            cmd += ["--sources", ",".join(sources)]
        self.cpu0 = _children_cpu()
        self.proc = subprocess.Popen(cmd + files, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr,
                                     env=dict(os.environ, IDLEGEN_PASSWORD=password_for(user)))
        self.cpu_s = None

    def _ask(self, line, timeout):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise GenError(f"idlegen: {e}; stderr: {self._err()}")
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise GenError(f"idlegen: no answer to {line!r} in {timeout} s")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                out = self.proc.stdout.readline()
                if not out:
                    raise GenError(f"idlegen exited ({self.proc.poll()}): {self._err()}")
                return json.loads(out)

    def _err(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()[-500:].decode(errors="replace")

    def open(self, n, timeout=600):
        """Opens n more sessions: (sessions open in all, first errors of this batch)."""
        r = self._ask(f"open {n}", timeout)
        return r["opened"], r["errors"]

    def deliver(self, timeout=600):
        """The deliveries, the wait, DONE; the figures (see bench/idlegen/src/control.rs)."""
        r = self._ask("deliver", timeout)
        self.proc.stdin.close()
        self.proc.wait(60)
        self.cpu_s = round(_children_cpu() - self.cpu0, 2)
        return r

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def sources_for(conns, procs):
    """Source addresses when one would run out of ephemeral ports (as the Python
    generator: past 15,000 sessions, 127.0.0.2 and up, ≤ 15,000 sessions each)."""
    if conns <= 15000:
        return ()
    return tuple(f"127.0.0.{2 + k}" for k in range(max(procs, math.ceil(conns / 15000))))


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class FakeServer:
    """`tern-bench-idlegen fake-server`: the floor's server, in the shape w_idle.run takes."""
    name = "floor"

    def __init__(self, binary, imap_port, lmtp_port):
        self.imap, self.lmtp = imap_port, lmtp_port
        self.proc = subprocess.Popen([binary, "fake-server", "--imap-port", str(imap_port),
                                      "--lmtp-port", str(lmtp_port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        r, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not r or self.proc.stdout.readline().strip() != b"up":
            self.stop()
            raise RuntimeError("idlegen fake server did not start")

    def pids(self):
        return [self.proc.pid]

    def memory(self):
        return (0, 0)

    def stop(self):
        """Stops it; returns its fan-out times (ms per delivery: its loop of writes to every
        idling session, its own share of the floor)."""
        try:
            self.proc.stdin.close()  # it exits when its stdin closes
            out = self.proc.stdout.read()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
            return []
        return [json.loads(x)["fanout_ms"] for x in out.splitlines() if x.startswith(b"{")]
