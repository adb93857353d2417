"""saslauthd (Cyrus SASL's password daemon, Debian sasl2-bin) on a private working directory,
for Cyrus's logins against a directory: `saslauthd -a ldap` with its LDAP options in a file
of its own (`-O`), Cyrus's imapd.conf pointing `sasl_saslauthd_path` at its `mux` socket.

Invariants: never the system's /run/saslauthd; started in the foreground (`-d`, so the PID
recorded is saslauthd's own master) in a session of its own (a SIGTERM makes saslauthd signal
its process group) and stopped by that PID; its workers are its children.
"""

import os
import shutil
import subprocess
import time

import servers

WORKERS = 5  # Debian's default (THREADS=5 in /etc/default/saslauthd)


def ldap_options(url, bind_dn, bind_pw, base, filt):
    """saslauthd's LDAP options: search as the service account with `filt` (%u: the login as
    given), then bind as the entry found with the password (`ldap_auth_method: bind`)."""
    return (f"ldap_servers: {url}\nldap_bind_dn: {bind_dn}\nldap_password: {bind_pw}\n"
            f"ldap_search_base: {base}\nldap_scope: sub\nldap_filter: {filt}\n"
            "ldap_auth_method: bind\nldap_version: 3\nldap_timeout: 10\nldap_time_limit: 10\n")


class Saslauthd:
    def __init__(self, dir_, mech, options, cache):
        """`cache`: saslauthd's credential cache (`-c`, one hour: `-t 3600`)."""
        self.dir = dir_
        self.mech = mech
        self.options = options
        self.cache = cache
        self.mux = os.path.join(dir_, "mux")
        self.conf = os.path.join(dir_, "saslauthd.conf")
        self.out = os.path.join(dir_, "saslauthd.out")
        self.proc = None

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)  # Cyrus's imapd (user cyrus) connects to the mux socket
        with open(self.conf, "w") as f:
            f.write(self.options)
        os.chmod(self.conf, 0o600)
        argv = ["saslauthd", "-d", "-a", self.mech, "-m", self.dir, "-O", self.conf, "-n", str(WORKERS)]
        if self.cache:
            argv += ["-c", "-t", "3600"]
        log = open(self.out, "ab")
        # Its own session: on SIGTERM saslauthd signals its whole process group (its workers),
        # which would otherwise be the harness's.
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        end = time.monotonic() + 30
        while not os.path.exists(self.mux):
            if self.proc.poll() is not None:
                raise RuntimeError(f"saslauthd exited ({self.proc.returncode}); see {self.out}")
            if time.monotonic() > end:
                raise RuntimeError(f"saslauthd: no {self.mux} after 30s; see {self.out}")
            time.sleep(0.05)

    def pids(self):
        return servers.descendants(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self):
        servers.stop_process(self.proc)

    def check(self, user, password):
        """testsaslauthd against this daemon: True when it says OK."""
        r = subprocess.run(["testsaslauthd", "-f", self.mux, "-s", "imap", "-u", user, "-p", password],
                           capture_output=True, text=True, timeout=30)
        return r.returncode == 0 and "OK" in r.stdout

    def describe(self):
        return (f"saslauthd -a {self.mech} ({WORKERS} workers, Debian's default; "
                + ("credential cache -c -t 3600" if self.cache else "no credential cache") + ")")
