"""A DNSSEC-validating resolver on loopback for one test, made of real parts:

- NSD (Debian's `nsd`) is the authoritative server on 127.0.0.1, a free port, for the zones
  the test gives; zones named in `signed` are signed first with `ldns-keygen` /
  `ldns-signzone` (Debian's `ldnsutils`, ECDSA P-256, one key for the whole zone).
- Unbound (Debian's `unbound`) is the validating recursive resolver on 127.0.0.1, another
  free port: `stub-zone` sends every zone to NSD, `trust-anchor-file` holds each signed
  zone's DNSKEY, and nothing else is trusted (no root anchor, no forwarding), so answers
  from a signed zone that validate carry the AD bit, answers from an unsigned zone do not
  (there is no trust anchor above them: "insecure"), and a signed zone's data that fails
  validation is SERVFAIL ("bogus").

    zones = {"dane.test": ["@ MX 10 mx", "mx A 127.0.0.1",
                           "_25._tcp.mx TLSA 3 1 1 ab12..."]}
    with Resolver(zones, signed={"dane.test"}) as r:
        make_server(config=f'[dns]\\nnameservers = ["{r.addr}"]\\n')

Records are zone-file lines relative to the zone's origin; the SOA and NS are added.
`tamper(zone, old, new)` replaces text in a signed zone *after* signing (so the changed
RRset's signature no longer verifies: bogus) and restarts both servers.
Both daemons run in the foreground, are started and stopped by PID, and keep their files
in a temporary folder.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


def _free_port():
    # A port free for both UDP and TCP on 127.0.0.1.
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((HOST, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((HOST, port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def _run(cmd, cwd):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr or out.stdout}")
    return out.stdout


def _exe(name):
    return shutil.which(name) or os.path.join("/usr/sbin", name)


class Resolver:
    def __init__(self, zones, signed=()):
        self.zones = zones
        self.signed = set(signed)
        self.dir = None
        self.procs = {}
        self.auth_port = None
        self.port = None

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    # ---- zones -----------------------------------------------------------------------------

    def _zone_text(self, zone, records):
        head = [f"$ORIGIN {zone}.", "$TTL 60",
                f"@ SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60",
                f"@ NS ns.{zone}.", f"ns A {HOST}"]
        return "\n".join(head + list(records)) + "\n"

    def _write_zones(self):
        anchors = []
        for zone, records in self.zones.items():
            path = os.path.join(self.dir, f"{zone}.zone")
            with open(path, "w") as f:
                f.write(self._zone_text(zone, records))
            if zone in self.signed:
                key = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone],
                           self.dir).strip()
                _run(["ldns-signzone", "-n", f"{zone}.zone", key], self.dir)
                anchors.append(os.path.join(self.dir, key + ".key"))
        self.anchors = anchors

    def zone_file(self, zone):
        name = f"{zone}.zone" + (".signed" if zone in self.signed else "")
        return os.path.join(self.dir, name)

    # ---- daemons ---------------------------------------------------------------------------

    def _nsd_conf(self):
        lines = ["server:", f"  ip-address: {HOST}@{self.auth_port}", "  do-ip6: no",
                 '  username: ""', '  chroot: ""', f'  zonesdir: "{self.dir}"',
                 '  database: ""', f'  pidfile: "{self.dir}/nsd.pid"',
                 f'  logfile: "{self.dir}/nsd.log"', f'  xfrdfile: "{self.dir}/xfrd.state"',
                 f'  zonelistfile: "{self.dir}/zone.list"', "  server-count: 1",
                 "  verbosity: 1", "remote-control:", "  control-enable: no"]
        for zone in self.zones:
            lines += ["zone:", f"  name: {zone}", f'  zonefile: "{self.zone_file(zone)}"']
        return "\n".join(lines) + "\n"

    def _unbound_conf(self):
        lines = ["server:", f"  interface: {HOST}", f"  port: {self.port}", "  do-ip6: no",
                 "  do-daemonize: no", '  username: ""', '  chroot: ""',
                 f'  directory: "{self.dir}"', f'  pidfile: "{self.dir}/unbound.pid"',
                 "  use-syslog: no", f'  logfile: "{self.dir}/unbound.log"',
                 "  verbosity: 1", "  val-log-level: 2",
                 '  module-config: "validator iterator"',
                 "  do-not-query-localhost: no", "  access-control: 127.0.0.0/8 allow",
                 "  qname-minimisation: no", "  aggressive-nsec: no",
                 # RFC 6761's test. is one of Unbound's built-in local zones.
                 '  local-zone: "test." nodefault']
        lines += [f'  trust-anchor-file: "{a}"' for a in self.anchors]
        for zone in self.zones:
            lines += ["stub-zone:", f'  name: "{zone}"', f"  stub-addr: {HOST}@{self.auth_port}"]
        return "\n".join(lines) + "\n"

    def _spawn(self, name, cmd):
        log = open(os.path.join(self.dir, f"{name}.out"), "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def _wait_up(self, name, port):
        deadline = time.time() + 15
        while time.time() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: " + self.log(name))
            try:
                with socket.create_connection((HOST, port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start: " + self.log(name))

    def log(self, name):
        text = ""
        for suffix in (".out", ".log"):
            p = os.path.join(self.dir, name + suffix)
            if os.path.exists(p):
                with open(p) as f:
                    text += f.read()
        return text

    def _start_daemons(self):
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write(self._nsd_conf())
        with open(os.path.join(self.dir, "unbound.conf"), "w") as f:
            f.write(self._unbound_conf())
        _run([_exe("unbound-checkconf"), os.path.join(self.dir, "unbound.conf")], self.dir)
        self._spawn("nsd", [_exe("nsd"), "-d", "-c", os.path.join(self.dir, "nsd.conf")])
        self._wait_up("nsd", self.auth_port)
        self._spawn("unbound", [_exe("unbound"), "-d", "-c",
                                os.path.join(self.dir, "unbound.conf")])
        self._wait_up("unbound", self.port)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="tern-dnssec-")
        self.auth_port = _free_port()
        self.port = _free_port()
        while self.port == self.auth_port:
            self.port = _free_port()
        self._write_zones()
        self._start_daemons()
        return self

    def _stop_daemons(self):
        for name in ("unbound", "nsd"):
            proc = self.procs.pop(name, None)
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def tamper(self, zone, old, new):
        """Edits the signed zone file after signing (the RRset goes bogus) and restarts
        NSD and Unbound (an empty cache)."""
        path = self.zone_file(zone)
        with open(path) as f:
            text = f.read()
        if old not in text:
            raise ValueError(f"{old!r} is not in {path}")
        with open(path, "w") as f:
            f.write(text.replace(old, new))
        self._stop_daemons()
        self._start_daemons()

    def stop(self):
        self._stop_daemons()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
