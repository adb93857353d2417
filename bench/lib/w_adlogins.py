"""adlogins: logins/s against Active Directory (a real Samba AD DC), cache cold and warm.

The workload brings its own pieces, next to the servers of the run (which it leaves alone):
- a Samba AD DC (realm EXAMPLE.TEST, LDAP and KDC on 127.0.0.2), provisioned and started by
  the tests' recipe, `scripts/peers.sh up samba`, with its state in `work/adlogins/peers`
  (`P=`), stopped by `peers.sh down` (the PIDs that recipe recorded). Its ports are fixed and
  shared with the tests, so the workload holds the tests' machine-wide lock
  (/tmp/tern-peers.lock, flock) from before the provisioning until the DC is stopped. The
  login users (the 50 `mix` users, the same passwords) are added as AD users over LDAPS
  (sAMAccountName = the local part, userPrincipalName = mail = the address), all in a group
  "Bench Staff" nested in the recipe's "Mail Users": every server gates on membership of
  "Mail Users", nested groups included, and refuses disabled accounts.
- a second Tern (`work/tern-ad`, ports + 7000: IMAP 27143; Dovecot 28143, Cyrus 30143) with
  `[directory] kind = "active-directory"` (service bind as Administrator, the simple bind the
  peers use too; `mail_group`) and `[kerberos]` on Samba's KDC with the recipe's SPN keytab: a
  login is a search for the user (every name form at once), a search for its groups
  (LDAP_MATCHING_RULE_IN_CHAIN), and the password checked by an AS exchange with the KDC, the
  reply verified through a service ticket for imap/mail.example.test decrypted with the keytab
  (what pam_krb5 does); then, cold only, the same Tern without `[kerberos]` (`work/tern-ad-bind`):
  the password checked by an LDAP bind as the user, the peers' path;
- a second Dovecot (`work/dovecot-ad`): LDAP passdb with `auth_bind = yes` on Samba's LDAP
  (search, then bind as the user: a simple bind, which AD checks against the same password) +
  LDAP userdb on a connection of its own (w_ldaplogins.dovecot_ldap_auth), the filter an admin writes for AD (person, one of UPN / mail / proxyAddresses /
  sAMAccountName, in "Mail Users" through the in-chain rule, not disabled). That is the
  recipe of Dovecot's own documentation for AD; pam_krb5 (libpam-krb5) is not installed here;
- a second Cyrus (`work/cyrus-ad`) with `saslauthd -a ldap` (the same filter, then a bind as
  the user), as in ldaplogins.

Cold and warm as in ldaplogins (w_ldaplogins.measure, which this reuses with the logins load
of w_logins.py): cold = every cache off, every login goes to the DC; warm = caches on with
1 h TTLs and every user logged in once first. Samba's CPU (every process of the DC: LDAP,
KDC, ...) per login is measured next to the server's.

Invariants: the DC, saslauthd and the servers are started here and stopped by PID; the lock is
released on every path; nothing leaves 127.0.0.0/8.
"""

import base64
import fcntl
import os
import re
import shutil
import subprocess
import time

import servers
import saslauthd
import w_ldaplogins
from servers import password_for

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_SH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts", "peers.sh")
LOCK = "/tmp/tern-peers.lock"
DC = "127.0.0.2"
URL = f"ldap://{DC}"
REALM = "EXAMPLE.TEST"
BASE = "DC=example,DC=test"
USERS_DN = "CN=Users," + BASE
ADMIN = "CN=Administrator," + USERS_DN
ADMIN_PW = "Passw0rd!Adm"  # scripts/peers.sh samba_up
MAIL_GROUP = "CN=Mail Users," + USERS_DN
BENCH_GROUP = "CN=Bench Staff," + USERS_DN
INSTANCE_OFFSET = 7000  # the second Tern / Dovecot / Cyrus on AD: the harness's ports + this
SERVERS = ("tern", "dovecot", "cyrus")
# The filter a Dovecot or saslauthd admin writes for AD: a person, by any of the names Tern's AD
# profile accepts for an address login, in the mail group (nested: the in-chain rule), enabled.
AD_FILTER = ("(&(objectCategory=person)(objectClass=user)"
             "(|(userPrincipalName={u})(mail={u})(proxyAddresses=smtp:{u})(sAMAccountName={n}))"
             f"(memberOf:1.2.840.113556.1.4.1941:={MAIL_GROUP})"
             "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")


def _adpw(pw):
    return base64.b64encode(f'"{pw}"'.encode("utf-16-le")).decode()


class SambaDC:
    """The recipe's Samba AD DC, under the tests' lock, with the bench users added."""

    def __init__(self, work, log=print):
        self.work = work
        self.p = os.path.join(work, "peers")
        self.dir = os.path.join(self.p, "samba")
        self.url = URL
        self.log = log
        self.lockf = None
        self.up = False

    def _peers(self, *args, timeout=900):
        env = dict(os.environ, P=self.p)
        return subprocess.run(["bash", PEERS_SH, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def start(self, users):
        self.lockf = open(LOCK, "a")
        try:
            fcntl.flock(self.lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.log(f"adlogins: waiting for {LOCK} (a test run holds the shared peers)")
            fcntl.flock(self.lockf, fcntl.LOCK_EX)
        shutil.rmtree(self.p, ignore_errors=True)
        os.makedirs(self.p)
        t = time.perf_counter()
        self.up = True  # from here on, stop() runs peers.sh down (it stops only what it recorded)
        r = self._peers("up", "samba")
        if r.returncode != 0:
            raise RuntimeError(f"peers.sh up samba: {r.returncode}: {(r.stdout + r.stderr)[-800:]}")
        self.provision_s = round(time.perf_counter() - t, 1)
        self._add_users(users)
        self.probe = self._probe(users[:20])

    def _probe(self, users):
        """The DC's own latency for one password check, from the command-line clients, one at a
        time (each includes starting the client process): `kinit` (an AS exchange, MIT client)
        and `ldapsearch` binding as the user's UPN (a simple bind, then one read of the root DSE;
        Samba has no WhoAmI). Medians in ms; context for the rows."""
        env = dict(os.environ, KRB5_CONFIG=os.path.join(self.dir, "krb5.conf"), KRB5CCNAME="MEMORY:probe")
        kinit, bind = [], []
        for u in users:
            pw = password_for(u)
            t = time.perf_counter()
            r = subprocess.run(["kinit", f"{u.split('@')[0]}@{REALM}"], input=pw + "\n", text=True, env=env,
                               capture_output=True, timeout=30)
            kinit.append(time.perf_counter() - t)
            if r.returncode != 0:
                raise RuntimeError(f"kinit {u}: {r.stderr[-300:]}")
            t = time.perf_counter()
            r = subprocess.run(["ldapsearch", "-H", self.url, "-x", "-D", u, "-w", pw, "-s", "base", "-b", "",
                                "dnsHostName"], capture_output=True, text=True, timeout=30)
            bind.append(time.perf_counter() - t)
            if r.returncode != 0:
                raise RuntimeError(f"ldapsearch as {u}: {r.stderr[-300:]}")
        med = lambda xs: round(sorted(xs)[len(xs) // 2] * 1000, 1)  # noqa: E731
        return {"kinit_p50_ms": med(kinit), "ldap_bind_p50_ms": med(bind), "n": len(users)}

    def _add_users(self, users):
        ldif = []
        for u in users:
            local = u.split("@")[0]
            ldif.append(f"dn: CN={local},{USERS_DN}\nchangetype: add\nobjectClass: user\nsAMAccountName: {local}\n"
                        f"userPrincipalName: {u}\nmail: {u}\ndisplayName: Bench {local}\n"
                        f"unicodePwd:: {_adpw(password_for(u))}\nuserAccountControl: 512\n")
        ldif.append(f"dn: {BENCH_GROUP}\nchangetype: add\nobjectClass: group\nsAMAccountName: Bench Staff\n"
                    + "".join(f"member: CN={u.split('@')[0]},{USERS_DN}\n" for u in users))
        ldif.append(f"dn: {MAIL_GROUP}\nchangetype: modify\nadd: member\nmember: {BENCH_GROUP}\n-\n")
        path = os.path.join(self.p, "bench-users.ldif")
        with open(path, "w") as f:
            f.write("\n".join(ldif))
        r = subprocess.run(["ldapmodify", "-H", f"ldaps://{DC}", "-x", "-D", ADMIN, "-w", ADMIN_PW, "-f", path],
                           env=dict(os.environ, LDAPTLS_REQCERT="never"), capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"adding the bench users: {(r.stdout + r.stderr)[-800:]}")
        with open(os.path.join(self.p, "admin.secret"), "w") as f:
            f.write(ADMIN_PW + "\n")
        os.chmod(os.path.join(self.p, "admin.secret"), 0o600)

    def pid(self):
        try:
            with open(os.path.join(self.p, "pids", "samba")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def cpu(self):
        pid = self.pid()
        return servers.proc_cpu(servers.descendants(pid)) if pid else 0.0

    def stop(self):
        try:
            if self.up:
                r = self._peers("down", timeout=300)
                if r.returncode != 0:
                    self.log(f"adlogins: peers.sh down: {r.returncode}: {(r.stdout + r.stderr)[-300:]}")
                self.up = False
        finally:
            if self.lockf:
                fcntl.flock(self.lockf, fcntl.LOCK_UN)
                self.lockf.close()
                self.lockf = None

    def describe(self):
        v = subprocess.run(["samba", "--version"], capture_output=True, text=True).stdout.strip()
        return (f"Samba {v.replace('Version ', '')} AD DC from scripts/peers.sh samba_up (provisioned in "
                f"{getattr(self, 'provision_s', '?')} s), LDAP {URL} (no TLS, simple binds allowed), KDC "
                f"{DC}:88; users: the 50 mix users in Bench Staff, nested in Mail Users; one at a time from the "
                f"command line, kinit p50 {self.probe['kinit_p50_ms']} ms, ldapsearch bound as the user p50 "
                f"{self.probe['ldap_bind_p50_ms']} ms over {self.probe['n']} users")


def tern_directory(dc, warm, kerberos=True):
    ttl = "1h" if warm else "0s"
    text = f"""
[directory]
kind = "active-directory"
urls = ["{dc.url}"]
base_dn = "{BASE}"
bind_dn = "{ADMIN}"
bind_password_file = "{dc.p}/admin.secret"
mail_group = "{MAIL_GROUP}"
timeout = "10s"

[directory.cache]
positive_ttl = "{ttl}"
negative_ttl = "{ttl}"
credential_ttl = "{ttl}"
"""
    return text + (f"""
[kerberos]
realm = "{REALM}"
kdcs = ["{DC}:88"]
keytab = "{dc.dir}/tern-mail.keytab"
service_principals = ["imap/mail.example.test"]
""" if kerberos else "")


def ad_filter(u, n):
    return AD_FILTER.replace("{u}", u).replace("{n}", n)


def make_server(name, a, dc, warm):
    off = a.port_offset + INSTANCE_OFFSET
    if name in ("tern", "tern-bind"):
        return servers.Tern(a.work, a.tern_bin, 0, port_offset=off, subdir="tern-ad" if name == "tern" else
                            "tern-ad-bind", extra=tern_directory(dc, warm, kerberos=name == "tern"))
    if name == "cyrus":
        opts = saslauthd.ldap_options(dc.url, ADMIN, ADMIN_PW, BASE, ad_filter("%u", "%U"))
        sa = saslauthd.Saslauthd(os.path.join(a.work, "adlogins", "saslauthd"), "ldap", opts, warm)
        return servers.Cyrus(a.work, a.cyrus_bindir, 0, port_offset=off, subdir="cyrus-ad", saslauthd=sa)
    home = os.path.join(a.work, "dovecot-ad", "home")
    auth = w_ldaplogins.dovecot_ldap_auth(os.path.join(dc.p, "dovecot-ad.conf.ext"), dc.url, ADMIN, ADMIN_PW,
                                          BASE, ad_filter("%u", "%n"), home, warm)
    return servers.Dovecot(a.work, a.dovecot_format, 0, port_offset=off, subdir="dovecot-ad", auth=auth)


def run(name, a, dc, users):
    """Cold then warm against a fresh second `name` server on the DC. For Tern, also the
    password verifier its log names (it must be the KDC)."""
    res = w_ldaplogins.measure(name, lambda warm: make_server(name, a, dc, warm), a, dc, "samba", users)
    if name == "tern":
        res["password_verifier"] = _verifier(os.path.join(a.work, "tern-ad", "tern.log"), "kerberos", res)
        # The same Tern without [kerberos]: the password checked by an LDAP bind as the user,
        # the peers' path. Cold only (warm is the same cache hit either way).
        bind = w_ldaplogins.measure("tern", lambda warm: make_server("tern-bind", a, dc, warm), a, dc, "samba",
                                    users, phases=("cold",))
        bind["password_verifier"] = _verifier(os.path.join(a.work, "tern-ad-bind", "tern.log"), "ldap-bind", bind)
        res["ldapbind"] = bind
        res["errors"] += [f"ldapbind {e}" for e in bind["errors"]]
        res["protocol_errors"] += bind["protocol_errors"]
    return res


def _verifier(log, want, res):
    """The password verifier Tern's log names at start; an error in `res` unless it is `want`."""
    with open(log, errors="replace") as f:
        m = re.search(r'verifier="?([\w-]+)', f.read())
    v = m.group(1) if m else None
    if v != want:
        res["errors"].append(f"Tern's password verifier is {v}, not {want} ({log})")
        res["protocol_errors"] += 1
    return v


def describe(name, dc):
    if name == "tern":
        return (f"a second Tern (work/tern-ad), [directory] kind = \"active-directory\" on {dc.url} (service "
                "bind as Administrator, mail_group Mail Users): search user, search groups (in-chain); "
                f"[kerberos] on {DC}:88: password by AS exchange, reply verified with the keytab of "
                "imap/mail.example.test; cold: [directory.cache] TTLs 0s; warm: TTLs 1h; then, cold only, the same without "
                "[kerberos] (work/tern-ad-bind): the password checked by an LDAP bind as the user")
    if name == "cyrus":
        return (f"a second Cyrus (work/cyrus-ad), sasl_pwcheck_method: saslauthd; saslauthd -a ldap on {dc.url} "
                "(the AD filter with the in-chain Mail Users gate; ldap_auth_method: bind), 5 workers; "
                "cold: no credential cache; warm: -c -t 3600")
    return (f"a second Dovecot (work/dovecot-ad), LDAP passdb (auth_bind = yes) + LDAP userdb on {dc.url}, the "
            "AD filter with the in-chain Mail Users gate; cold: auth_cache_size = 0; warm: auth_cache_size = "
            "10M, auth_cache_ttl = 1 hour")
