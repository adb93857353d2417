"""The load generator's own floor for IDLE → EXISTS: the same client code (w_idle) against a
fake IMAP server in a separate process (for the Rust generator: its own `fake-server`, see
`run`; the Python one below otherwise) that answers LOGIN/SELECT/IDLE instantly and, on each
"delivery", writes `* n EXISTS` to every IDLE session at once. Whatever latency this shows is
the client's (sharing the cores), not a server's: the figures for real servers are
only meaningful above it.
"""

import asyncio
import multiprocessing
import time

import idlegen
import w_idle
from common import pct

PORT = 22143
LMTP_PORT = 22024


def _fake(port, pipe):
    async def main():
        idlers = []

        async def handle(r, w):
            w.write(b"* OK fake ready\r\n")
            try:
                while True:
                    line = await r.readline()
                    if not line:
                        return
                    parts = line.split()
                    if len(parts) < 2:  # DONE
                        continue
                    tag, cmd = parts[0], parts[1].upper()
                    if cmd == b"SELECT":
                        w.write(b"* 0 EXISTS\r\n" + tag + b" OK [READ-WRITE] done\r\n")
                    elif cmd == b"IDLE":
                        w.write(b"+ idling\r\n")
                        idlers.append(w)
                    elif cmd == b"LOGOUT":
                        w.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                        await w.drain()
                        w.close()
                        return
                    else:
                        w.write(tag + b" OK done\r\n")
                    await w.drain()
            except (ConnectionError, OSError):
                return

        await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        pipe.send("up")
        loop = asyncio.get_running_loop()
        n = 0
        while True:
            msg = await loop.run_in_executor(None, pipe.recv)
            if msg == "stop":
                return
            n += 1
            for w in idlers:
                if not w.is_closing():
                    w.write(b"* %d EXISTS\r\n" % n)
            pipe.send("sent")
    asyncio.run(main())


class _Trigger:
    def __init__(self, pipe):
        self.pipe = pipe

    async def deliver(self, sender, rcpt, message):
        t0 = time.monotonic()
        self.pipe.send("go")
        self.pipe.recv()
        return t0, time.monotonic()

    async def quit(self):
        pass


class FakeServer:
    name = "floor"
    lmtp = None

    def __init__(self, port=PORT):
        self.imap = port
        ctx = multiprocessing.get_context("fork")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=_fake, args=(port, child), daemon=True)
        self.proc.start()
        if not self.pipe.poll(30):
            raise RuntimeError("fake IMAP server did not start")
        self.pipe.recv()

    async def lmtp_client(self):
        return _Trigger(self.pipe)

    def pids(self):
        return [self.proc.pid]

    def memory(self):
        return (0, 0)

    def stop(self):
        self.pipe.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def run(conns, procs, deliveries, gap, conc, port=PORT, gen=None, lmtp_port=LMTP_PORT):
    """The floor of the generator the servers were measured with: `gen` (the Rust one's
    binary) against its own fake server (`tern-bench-idlegen fake-server`, IMAP on `port`,
    LMTP on `lmtp_port`: each delivery's final dot makes it write every EXISTS), or the
    Python one against the Python fake server above."""
    fake = idlegen.FakeServer(gen, port, lmtp_port) if gen else FakeServer(port)
    fanout = None
    try:
        r = w_idle.run(fake, "floor@example.test", conns, procs, deliveries, gap, 100, conc, gen=gen)
    finally:
        fanout = fake.stop()
    keep = ("connections", "opened", "exists_p50_ms", "exists_p99_ms", "exists_max_ms", "protocol_errors",
            "loadgen", "loadgen_cpu_s")
    out = {k: r[k] for k in keep}
    if fanout:  # the Rust fake server's loop of writes per delivery, its share of the floor
        out["fake_fanout_p50_ms"] = round(pct(fanout, 50), 3)
        out["fake_fanout_max_ms"] = round(max(fanout), 3)
    return out
