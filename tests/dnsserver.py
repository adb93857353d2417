"""A real DNS server on loopback for one test: dnsmasq (Debian's dnsmasq-base), serving only
the records the test gives, never forwarding (no resolv.conf, no hosts file).

    with Dns(mx={"remote.test": [(10, "mx.remote.test")]},
             a={"mx.remote.test": "127.0.0.3"},
             txt={"remote.test": ["v=spf1 ip4:127.0.0.1 -all"]}) as dns:
        make_server(config={"dns": {"nameservers": [dns.addr]}})

TXT values longer than 255 octets are split into several character-strings, as a zone
file would (DKIM keys). Names under `local` (default: every name, `--local=/#/`) that nobody listed answer NXDOMAIN,
as an authoritative server would; nothing is forwarded.
Started and stopped by PID; port picked free on 127.0.0.1 (UDP and TCP).

`restart()` applies changed records (assign `dns.txt`, `dns.mx`... first) by starting
dnsmasq again on the same port: dnsmasq cannot reload records given on its command line,
and its answers carry TTL 0 (`--local-ttl` default), so resolvers see the change at once.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def _free_port():
    # A port free for both UDP and TCP on 127.0.0.1.
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def _txt_arg(name, value):
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    # dnsmasq splits the value at commas into character-strings (no quoting on its command
    # line), so a comma inside a value cannot be expressed; SPF/DKIM/DMARC records have none.
    if "," in value:
        raise ValueError("dnsmasq cannot serve a TXT value with a comma: " + value)
    return "--txt-record=" + name + "," + ",".join(parts)


class Dns:
    def __init__(self, mx=None, a=None, aaaa=None, txt=None, cname=None, local=("#",)):
        self.mx = mx or {}
        self.a = a or {}
        self.aaaa = aaaa or {}
        self.txt = txt or {}
        self.cname = cname or {}
        self.local = local
        self.proc = None
        self.port = None
        self.dir = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def args(self):
        out = [f"--local=/{d}/" for d in self.local]
        for domain, hosts in self.mx.items():
            for pref, host in hosts:
                out.append(f"--mx-host={domain},{host},{pref}")
        names = set(self.a) | set(self.aaaa)
        for name in sorted(names):
            ips = []
            for table in (self.a, self.aaaa):
                v = table.get(name)
                if v is None:
                    continue
                ips.extend([v] if isinstance(v, str) else list(v))
            out.append("--host-record=" + ",".join([name] + ips))
        for name, values in self.txt.items():
            for v in ([values] if isinstance(values, str) else values):
                out.append(_txt_arg(name, v))
        for alias, target in self.cname.items():
            out.append(f"--cname={alias},{target}")
        return out

    def start(self, port=None):
        """`port`: the one to listen on (default: a free one)."""
        exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.dir = tempfile.mkdtemp(prefix="tern-dns-")
        self.port = port or _free_port()
        cmd = [exe, "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null",
               "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
               "--listen-address=127.0.0.1", f"--port={self.port}", "--user=root",
               f"--pid-file={self.dir}/pid", "--log-facility=-", "--log-queries"]
        cmd += self.args()
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: " + open(os.path.join(self.dir, "log")).read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self):
        """Serves the records as they are now, on the same port."""
        port = self.port
        self.stop()
        return self.start(port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
