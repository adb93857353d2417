"""The servers under test, started on loopback with equivalent durability and the same users:
Tern (release build, embedded store: SQLite WAL synchronous=FULL + fsynced blob files) and
Dovecot (`mail_fsync = always`, maildir by default, passwd-file passdb+userdb holding the very
argon2id hashes Tern stored, so a login costs both servers the same hash).

Invariants:
- Every process started here is recorded by PID and stopped by that PID (`stop()`); nothing
  is killed by name.
- Both servers get the same users, in the same order, with the same passwords.
- All addresses are 127.0.0.1; ports are fixed per server (`PORTS`) and checked free first.
"""

import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

PORTS = {
    "tern": {"imap": 20143, "lmtp": 20024},
    "dovecot": {"imap": 21143, "lmtp": 21024},
}
DOMAIN = "example.test"
NOBODY = 65534


def password_for(user):
    return f"pw-{user.split('@')[0]}-Bench1"


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _wait_port(port, seconds, proc, log):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {seconds}s; see {log}")


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_mem(pids):
    """(VmRSS, Pss) in KiB summed over `pids` (processes that vanished count 0)."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return rss, pss


def descendants(root):
    """`root` and every process below it (from /proc/*/stat parent links)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_cpu(pids):
    """CPU seconds (user + system) of `pids` plus their exited, reaped children."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_names(pids):
    names = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                names.setdefault(f.read().strip(), []).append(pid)
        except OSError:
            pass
    return names


class Server:
    name = "?"

    def __init__(self, work):
        self.work = work
        self.proc = None
        self.imap = PORTS[self.name]["imap"]
        self.lmtp = PORTS[self.name]["lmtp"]

    def check_ports(self):
        for p in (self.imap, self.lmtp):
            if not _port_free(p):
                raise RuntimeError(f"{self.name}: 127.0.0.1:{p} is in use")

    def pids(self):
        return descendants(self.proc.pid) if self.proc else []

    def memory(self):
        return proc_mem(self.pids())

    def cpu(self):
        return proc_cpu(self.pids())

    def stop(self, grace=20):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Tern(Server):
    name = "tern"

    def __init__(self, work, binary, idle_conns, env=None):
        super().__init__(work)
        self.binary = binary
        self.env = env or {}
        self.dir = os.path.join(work, "tern")
        self.cfg = os.path.join(self.dir, "tern.toml")
        self.log = os.path.join(self.dir, "tern.log")
        self.max_conns = max(10000, idle_conns + 1000)

    def setup(self, users):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        with open(self.cfg, "w") as f:
            f.write(f"""hostname = "bench.{DOMAIN}"
data_dir = "{self.dir}/data"
local_domains = ["{DOMAIN}"]

[listen]
imap = ["127.0.0.1:{self.imap}"]
lmtp = ["127.0.0.1:{self.lmtp}"]

[auth]
allow_plaintext = true

[quota]
default = "10GB"

[limits]
max_connections = {self.max_conns}
""")
        for u in users:
            subprocess.run([self.binary, "user", "add", u, "--password-stdin", "--config", self.cfg],
                           input=password_for(u).encode(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def hashes(self):
        """address -> the argon2id PHC string Tern stored (read from its directory database)."""
        db = sqlite3.connect(f"file:{self.dir}/data/directory.db?mode=ro", uri=True)
        try:
            return dict(db.execute("SELECT name, password_hash FROM accounts"))
        finally:
            db.close()

    def start(self):
        self.check_ports()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.cfg],
                                     stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_raise_nofile, cwd=self.dir,
                                     env={**os.environ, **self.env})
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tern exited ({self.proc.returncode}); see {self.log}")
            with open(self.log, "rb") as f:
                if b"tern: ready" in f.read():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"tern not ready after 60s; see {self.log}")

    def describe(self):
        extra = f"; environment {self.env}" if self.env else ""
        return ("Tern release build; embedded store (SQLite WAL, synchronous=FULL; blob files "
                "fsynced with their directory); internal directory (argon2id m=19456 KiB, t=2, p=1)"
                + extra)


class Dovecot(Server):
    name = "dovecot"

    def __init__(self, work, fmt, idle_conns):
        super().__init__(work)
        self.fmt = fmt
        self.dir = os.path.join(work, "dovecot")
        self.cfg = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.idle_conns = idle_conns

    def setup(self, users, hashes):
        shutil.rmtree(self.dir, ignore_errors=True)
        d = self.dir
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(self.work, 0o755)
        os.chmod(d, 0o755)
        os.chown(os.path.join(d, "home"), NOBODY, NOBODY)
        location = {"maildir": "maildir:~/Maildir", "sdbox": "sdbox:~/sdbox",
                    "mdbox": "mdbox:~/mdbox"}[self.fmt]
        procs = self.idle_conns + 500
        with open(self.cfg, "w") as f:
            f.write(f"""# Written by bench/lib/servers.py. Durability: every write fsynced.
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = {location}
mail_fsync = always
default_process_limit = {procs}
default_client_limit = {procs * 2}
default_vsz_limit = 1G
passdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
# Dovecot's documented high-performance login mode (one login process per CPU, not one per
# connection); the mail processes stay one per connection, as always.
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = {os.cpu_count() or 2}
  client_limit = {procs}
}}
service imap {{
  process_limit = {procs}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp}
  }}
}}
protocol imap {{
  mail_max_userip_connections = {procs}
}}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
""")
        with open(os.path.join(d, "users"), "w") as f:
            for u in users:
                f.write(f"{u}:{{ARGON2ID}}{hashes[u]}:{NOBODY}:{NOBODY}::{d}/home/{u}::\n")
        os.chmod(os.path.join(d, "users"), 0o644)

    def start(self):
        self.check_ports()
        logf = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-c", self.cfg, "-F"], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_raise_nofile)
        _wait_port(self.imap, 60, self.proc, self.log)
        _wait_port(self.lmtp, 60, self.proc, self.log)

    def describe(self):
        v = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
        return (f"Dovecot {v}; {self.fmt}, mail_fsync = always; passwd-file passdb+userdb with "
                "the same argon2id hashes as Tern (no auth cache, the default); imap-login in "
                "high-performance mode (service_count = 0)")
