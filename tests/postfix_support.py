"""A private Postfix instance for tests: the real `master` and `smtpd`, listening on a
loopback port, with its own config, queue and data directories in a temporary folder,
started and stopped by PID.

    pf = PrivatePostfix({"smtpd_sasl_type": "dovecot", ...}).start()
    pf.port         # smtpd on 127.0.0.1:pf.port
    pf.queue_dir    # its queue directory (smtpd's working directory: relative
                    # smtpd_sasl_path values such as private/auth are relative to it)
    pf.log()        # what Postfix logged (maillog_file = /dev/stdout of the master)
    pf.stop()
    pf.remove()     # its folder (stop first)

The folder is made under /tmp with mode 0755, not in pytest's private tmp tree: the master
drops to mail_owner before it opens data_directory/master.lock, and smtpd runs as that user,
so every directory above them must be traversable by `postfix`. `PrivatePostfix(settings,
base=other.base)` makes another instance in an existing folder (one at a time: they share
the queue).

Only the services an SMTP AUTH test needs run: smtpd on 127.0.0.1:PORT, postlogd, anvil,
tlsmgr, trivial-rewrite, proxymap and cleanup. There is no qmgr: a message accepted by smtpd
stays in the private queue's incoming/ and is never delivered anywhere.

Needs root (the master starts as root, smtpd runs as mail_owner `postfix`) and the
postfix package; `available()` says whether both are there.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

MASTER = "/usr/lib/postfix/sbin/master"
START_TIMEOUT = 60

# Queue subdirectories cleanup and smtpd use, owned by mail_owner.
QUEUE_DIRS = ("incoming", "active", "bounce", "corrupt", "defer", "deferred", "flush",
              "hold", "saved", "trace", "private", "public")

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
postlog   unix-dgram n - n - 1 postlogd
anvil     unix - - n - 1 anvil
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
proxymap  unix - - n - - proxymap
cleanup   unix n - n - 0 cleanup
"""


def available():
    """Why a private Postfix cannot run here, or None if it can."""
    if not os.path.exists(MASTER):
        return f"{MASTER} not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a Postfix master needs root"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostfix:
    def __init__(self, settings, base=None):
        """`settings`: main.cf parameters on top of a minimal loopback-only config."""
        if base is None:
            base = tempfile.mkdtemp(prefix="tern-postfix-")
            os.chmod(base, 0o755)
        self.base = base_dir = base
        self.etc = os.path.join(base_dir, "etc")
        self.queue_dir = os.path.join(base_dir, "spool")
        self.data_dir = os.path.join(base_dir, "lib")
        self.log_path = os.path.join(base_dir, "postfix.log")
        self.proc = None
        pw = pwd.getpwnam("postfix")
        for d in (self.etc, os.path.join(self.queue_dir, "pid")):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.queue_dir, 0o755)
        for d in QUEUE_DIRS + ("../lib",):
            path = os.path.normpath(os.path.join(self.queue_dir, d))
            os.makedirs(path, exist_ok=True)
            os.chown(path, pw.pw_uid, -1)
            os.chmod(path, 0o755 if d in ("private", "public", "../lib") else 0o700)
        self.port = free_port()
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": "postfix.example.test",
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            # postlogd writes to the master's stdout, which start() sends to log_path.
            "maillog_file": "/dev/stdout",
        }
        main.update(settings)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in main.items())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MASTER, "-c", self.etc, "-d"], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postfix master exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    if s.recv(512).startswith(b"220"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"postfix smtpd did not answer:\n{self.log()}")
            time.sleep(0.1)
        return self

    def stop(self):
        """SIGTERM to the master (it stops its children), SIGKILL to its group if need be."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)
        self.proc = None

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""
