"""The servers under test, started on loopback with equivalent durability and the same users:
Tern (release build, embedded store: SQLite WAL synchronous=FULL + fsynced blob files),
Dovecot (`mail_fsync = always`, maildir by default, passwd-file passdb+userdb holding the very
argon2id hashes Tern stored, so a login costs both servers the same hash) and Cyrus IMAP
(its default durability: message file, cyrus.index, cyrus.cache and its databases fsynced
before the LMTP 250 / IMAP OK; users in a sasldb, which holds passwords in clear: Cyrus
cannot verify argon2id, so its logins skip the hash).

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
    "tern": {"imap": 20143, "lmtp": 20024, "smtp": 20025},
    "dovecot": {"imap": 21143, "lmtp": 21024},
    "cyrus": {"imap": 23143, "lmtp": 23024},  # 22143: w_idle_floor's fake server
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


def stop_process(proc, grace=20):
    """SIGTERM a process we started, wait `grace` seconds for it, then SIGKILL it."""
    if not proc or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


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
    # The `comm` of the processes that serve one IMAP session each (None: one process).
    session_comm = None

    def __init__(self, work, port_offset=0):
        self.work = work
        self.proc = None
        ports = {k: v + port_offset for k, v in PORTS[self.name].items()}
        self.imap = ports["imap"]
        self.lmtp = ports["lmtp"]
        self.smtp = ports.get("smtp")  # an SMTP MX port, where the server has one

    def check_ports(self):
        for p in (self.imap, self.lmtp, self.smtp):
            if p and not _port_free(p):
                raise RuntimeError(f"{self.name}: 127.0.0.1:{p} is in use")

    def session_processes(self):
        """How many processes of the per-session kind run now (0 for a one-process server)."""
        if not self.session_comm:
            return 0
        return len(proc_names(self.pids()).get(self.session_comm, []))

    def pids(self):
        return descendants(self.proc.pid) if self.proc else []

    def memory(self):
        return proc_mem(self.pids())

    def cpu(self):
        return proc_cpu(self.pids())

    def stop(self, grace=20):
        stop_process(self.proc, grace)


class Tern(Server):
    name = "tern"

    def __init__(self, work, binary, max_sessions, env=None, port_offset=0, subdir="tern", extra=""):
        """`subdir`: its directory under `work`; `extra`: TOML appended to the config (the
        ldaplogins workload's second Tern gets its `[directory]` that way)."""
        super().__init__(work, port_offset)
        self.binary = binary
        self.env = env or {}
        self.dir = os.path.join(work, subdir)
        self.cfg = os.path.join(self.dir, "tern.toml")
        self.log = os.path.join(self.dir, "tern.log")
        self.max_conns = max(10000, max_sessions + 1000)
        self.extra = extra

    def setup(self, users):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.write_config()
        for u in users:
            subprocess.run([self.binary, "user", "add", u, "--password-stdin", "--config", self.cfg],
                           input=password_for(u).encode(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def write_config(self):
        with open(self.cfg, "w") as f:
            f.write(f"""hostname = "bench.{DOMAIN}"
data_dir = "{self.dir}/data"
local_domains = ["{DOMAIN}"]

[listen]
imap = ["127.0.0.1:{self.imap}"]
lmtp = ["127.0.0.1:{self.lmtp}"]
smtp = ["127.0.0.1:{self.smtp}"]

[auth]
allow_plaintext = true

# The SMTP MX's SPF/DKIM/DMARC checks need DNS; the benchmark stays on loopback and has none.
[auth_results]
verify = false

[dns]
nameservers = ["127.0.0.1:9"]

[quota]
default = "10GB"

[limits]
max_connections = {self.max_conns}
""" + self.extra)

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
                "fsynced with their directory); internal directory (argon2id m=19456 KiB, t=2, p=1); "
                "SMTP MX without SPF/DKIM/DMARC verification ([auth_results] verify = false)"
                + extra)

    def fd_limit(self):
        """(soft RLIMIT_NOFILE, open descriptors) of the running Tern process."""
        pid = self.proc.pid
        with open(f"/proc/{pid}/limits") as f:
            soft = next(int(line.split()[3]) for line in f if line.startswith("Max open files"))
        return soft, len(os.listdir(f"/proc/{pid}/fd"))


class Dovecot(Server):
    name = "dovecot"
    session_comm = "imap"

    def __init__(self, work, fmt, max_sessions, port_offset=0, subdir="dovecot", auth=None):
        """`auth`: the passdb/userdb blocks and auth settings, replacing the passwd-file ones
        (the ldaplogins workload's second Dovecot gets its LDAP passdb that way)."""
        super().__init__(work, port_offset)
        self.fmt = fmt
        self.auth = auth
        self.dir = os.path.join(work, subdir)
        self.cfg = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.idle_conns = max_sessions

    PASSWD_FILE = """passdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
"""

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
{self.auth or self.PASSWD_FILE.format(d=d)}namespace inbox {{
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


class Cyrus(Server):
    """Cyrus IMAP 3.6 under its own `master`, from a fresh directory. `bindir` holds `imapd` and
    `idled` (Debian's cyrus-imapd conflicts with dovecot-imapd, so bench/run unpacks that .deb
    into a private folder when Cyrus is not installed); `master`, `lmtpd` and `ctl_cyrusdb` come
    from cyrus-common.

    Durability is Cyrus's default, nothing switched off: before the LMTP 250 (and an APPEND's
    OK) lmtpd/imapd fsync the message file, cyrus.cache, cyrus.index and the twoskip databases
    they touched (strace of one delivery: 7 fsync/fdatasync calls). Changed from the defaults:
    `duplicatesuppression: 0` (Tern and Dovecot keep no Message-ID delivery database either) and
    `virtdomains: userid` (users are `local@domain`, as on the other servers).
    Passwords: a sasldb (auxprop), which stores them in clear; Cyrus's SASL has no argon2id, so
    a Cyrus LOGIN is a string comparison where Tern and Dovecot each hash argon2id.
    Every IMAP session is its own `imapd` process (forked by master, reused by later sessions);
    IDLE notifications go through `idled`.
    """
    name = "cyrus"
    session_comm = "imapd"
    ADMIN = "cyrus"
    ADMIN_PASSWORD = "Bench-admin-1"
    MASTER = "/usr/lib/cyrus/bin/master"

    def __init__(self, work, bindir, max_sessions, port_offset=0, subdir="cyrus", saslauthd=None):
        """`saslauthd`: a saslauthd.Saslauthd to check passwords instead of the sasldb (the
        ldaplogins and adlogins workloads' second Cyrus): started and stopped with Cyrus, its
        CPU counted as Cyrus's; users are then not created in a sasldb, and their INBOX is
        created at their first login (`autocreate_quota: 0`), not by the admin."""
        super().__init__(work, port_offset)
        self.bindir = bindir
        self.saslauthd = saslauthd
        self.dir = os.path.join(work, subdir)
        self.cfg = os.path.join(self.dir, "imapd.conf")
        self.mcfg = os.path.join(self.dir, "cyrus.conf")
        self.log = os.path.join(self.dir, "master.out")
        self.max_sessions = max_sessions
        self.users = []

    def setup(self, users):
        shutil.rmtree(self.dir, ignore_errors=True)
        d = self.dir
        for sub in ("conf/socket", "spool", "sieve", "run/socket", "run/proc", "run/lock"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(self.work, 0o755)
        procs = self.max_sessions + 500
        with open(self.cfg, "w") as f:
            f.write(f"""# Written by bench/lib/servers.py. Durability: Cyrus's defaults (fsync before acknowledging).
configdirectory: {d}/conf
proc_path: {d}/run/proc
mboxname_lockpath: {d}/run/lock
defaultpartition: default
partition-default: {d}/spool
sievedir: {d}/sieve
unixhierarchysep: yes
virtdomains: userid
lmtp_downcase_rcpt: yes
duplicatesuppression: 0
allowplaintext: yes
admins: {self.ADMIN}
{self._sasl_conf()}sasl_mech_list: PLAIN LOGIN
lmtpsocket: {d}/run/socket/lmtp
idlesocket: {d}/conf/socket/idle
notifysocket: {d}/run/socket/notify
""")
        with open(self.mcfg, "w") as f:
            f.write(f"""START {{
  recover cmd="ctl_cyrusdb -C {self.cfg} -r"
}}
SERVICES {{
  imap cmd="{self.bindir}/imapd -C {self.cfg}" listen="127.0.0.1:{self.imap}" prefork=1 maxchild={procs}
  lmtp cmd="lmtpd -C {self.cfg} -a" listen="127.0.0.1:{self.lmtp}" prefork=0 maxchild=200
}}
EVENTS {{
  checkpoint cmd="ctl_cyrusdb -C {self.cfg} -c" period=30
}}
DAEMON {{
  idled cmd="{self.bindir}/idled -C {self.cfg}"
}}
""")
        sasldb = os.path.join(d, "conf", "sasldb2")
        for u, pw in ([] if self.saslauthd else [(self.ADMIN, self.ADMIN_PASSWORD)]
                      + [(u, password_for(u)) for u in users]):
            local, _, domain = u.partition("@")
            argv = ["saslpasswd2", "-p", "-c", "-f", sasldb] + (["-u", domain] if domain else []) + [local]
            subprocess.run(argv, input=pw.encode(), check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        subprocess.run(["chown", "-R", "cyrus:mail", d], check=True)
        os.chmod(os.path.join(d, "conf"), 0o750)
        self.users = [] if self.saslauthd else list(users)

    def _sasl_conf(self):
        d = self.dir
        if self.saslauthd:
            return (f"sasl_pwcheck_method: saslauthd\nsasl_saslauthd_path: {self.saslauthd.mux}\n"
                    "autocreate_quota: 0\n")
        return (f"sasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\n"
                f"sasl_sasldb_path: {d}/conf/sasldb2\n")

    def pids(self):
        return super().pids() + (self.saslauthd.pids() if self.saslauthd else [])

    def stop(self, grace=20):
        super().stop(grace)
        if self.saslauthd:
            self.saslauthd.stop()

    def start(self):
        self.check_ports()
        if self.saslauthd:
            self.saslauthd.start()
        logf = open(self.log, "ab")
        # -l: listen backlog (default 32) for the bursts of connections the IDLE workloads open.
        self.proc = subprocess.Popen([self.MASTER, "-C", self.cfg, "-M", self.mcfg, "-l", "4096",
                                      "-p", os.path.join(self.dir, "run", "master.pid"), "-D"],
                                     stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_raise_nofile)
        _wait_port(self.imap, 60, self.proc, self.log)
        _wait_port(self.lmtp, 60, self.proc, self.log)
        self._create_mailboxes()

    def _create_mailboxes(self):
        """Every user's INBOX, created by the admin (`user/local@domain`)."""
        if not self.users:
            return
        import asyncio
        from imapc import Imap, quote

        async def go():
            c = await Imap.connect("127.0.0.1", self.imap)
            await c.login(self.ADMIN, self.ADMIN_PASSWORD)
            u, _ = await c.cmd(b'LIST "" "user/*"')
            have = {line.rsplit(b" ", 1)[-1].strip(b'"') for line in u}
            for user in self.users:
                mb = f"user/{user}".encode()
                if mb not in have:
                    await c.cmd(b"CREATE " + quote(mb))
            await c.logout()
        asyncio.run(go())

    def describe(self):
        v = subprocess.run([os.path.join(os.path.dirname(self.MASTER), "cyr_info"), "-C", self.cfg, "version"],
                           capture_output=True, text=True).stdout.strip() or "?"
        return (f"{v} (imapd from {self.bindir}); default durability (message file, "
                "cyrus.index, cyrus.cache and databases fsynced before LMTP 250 / IMAP OK), "
                "duplicatesuppression: 0, virtdomains: userid; sasldb (auxprop) with the same "
                "passwords in clear: no argon2id, a LOGIN compares strings; one imapd process per "
                "session, IDLE through idled")
