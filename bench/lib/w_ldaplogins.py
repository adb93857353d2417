"""ldaplogins: logins/s against an LDAP directory (OpenLDAP), directory cache cold and warm.

The workload brings its own pieces, next to the servers of the run (which it leaves alone):
- an OpenLDAP `slapd` on 127.0.0.1:24389 (+ the port offset), from a fresh directory under
  `--work` (the recipe of scripts/peers.sh: the same schema files and test schema, mdb, no
  TLS), holding the login users as inetOrgPerson entries (uid = the local part, mail = the
  address, the bench password as a salted SHA-1 `userPassword`, slapd's default scheme) and
  a group with them all (Tern reads every user's groups at login);
- a second Tern (`work/tern-ldap`, ports + 5000: IMAP 25143) with `[directory] kind = "ldap"`
  against it: a login is a search for the user, a search for its groups, and a bind as the
  user's DN with the password;
- a second Dovecot (`work/dovecot-ldap`, ports + 5000: IMAP 26143), if its LDAP module is
  installed (Debian `dovecot-ldap`): an LDAP passdb with `auth_bind = yes` (search, then bind
  as the user) and an LDAP userdb (one more search), the same user filter as Tern's.
- a second Cyrus (`work/cyrus-ldap`, ports + 5000: IMAP 28143) with `sasl_pwcheck_method:
  saslauthd` and a `saslauthd -a ldap` of its own (lib/saslauthd.py, socket dir
  `work/ldaplogins/saslauthd`): search with the same filter, then bind as the user
  (`ldap_auth_method: bind`); Cyrus has no userdb lookup, and it creates the INBOX at the first
  login (`autocreate_quota: 0`). saslauthd's CPU is counted as Cyrus's.

Each server is measured twice with the logins load generator (lib/w_logins.py):
- cold: no cache (Tern: `[directory.cache]` positive/negative/credential TTLs "0s", so no
  entry is ever fresh; Dovecot: `auth_cache_size = 0`, its default; saslauthd without `-c`,
  its default): every login goes to slapd;
- warm: Tern's cache with 1 h TTLs, Dovecot's `auth_cache_size = 10M`, `auth_cache_ttl =
  1 hour`, saslauthd `-c -t 3600`; the server is restarted with that config and every user logs in once (untimed)
  before the measured run, so every measured login is a cache hit.
Before the cold run every user also logs in once (untimed): Tern creates the account in its
store at the first login, Dovecot its Maildir; the cold figures are then the directory's, not
that first-login work. Server CPU per login, slapd's CPU per login and the load generator's own
CPU (one Python process) are measured around each run.

`measure()` (cold then warm, CPU of server, directory and load generator) and
`dovecot_ldap_auth()` are shared with the adlogins workload (w_adlogins.py, Samba AD).

Invariants: slapd, saslauthd and the servers are started here and stopped by PID; nothing leaves
127.0.0.1.
"""

import asyncio
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time

import saslauthd
import servers
import w_logins
from imapc import Imap
from servers import DOMAIN, password_for, proc_cpu

SLAPD_PORT = 24389
INSTANCE_OFFSET = 5000  # the second Tern / Dovecot: the harness's ports + this
SUFFIX = "dc=example,dc=test"
ADMIN = "cn=admin," + SUFFIX
ADMIN_PW = "Bench-ldap-1"
USER_FILTER = "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})(mailAlternateAddress={login})))"
SERVERS = ("tern", "dovecot", "cyrus")

# From scripts/peers.sh (slapd_tls_and_schema): the attributes Tern's generic profile reads.
TEST_SCHEMA = """attributetype ( 2.16.840.1.113730.3.1.13 NAME 'mailAlternateAddress'
  EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )
attributetype ( 1.3.6.1.4.1.32473.1.1 NAME 'mailQuota'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2 NAME 'ternMailUser' SUP top AUXILIARY MAY ( mailAlternateAddress $ mailQuota ) )
"""


def dovecot_ldap_available():
    return os.path.exists("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so")


def ssha(password):
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


class Slapd:
    def __init__(self, work, port_offset=0):
        self.dir = os.path.join(work, "slapd")
        self.port = SLAPD_PORT + port_offset
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc = None

    def setup(self, users):
        shutil.rmtree(self.dir, ignore_errors=True)
        L = self.dir
        os.makedirs(os.path.join(L, "db"))
        with open(os.path.join(L, "tern-test.schema"), "w") as f:
            f.write(TEST_SCHEMA)
        with open(os.path.join(L, "slapd.conf"), "w") as f:
            f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {L}/tern-test.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {L}/slapd.pid
loglevel 0
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ADMIN}"
rootpw {ADMIN_PW}
directory {L}/db
index objectClass,uid,mail,mailAlternateAddress,member,uniqueMember,memberUid eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
        people, groups = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
        ldif = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: example\n",
                f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n",
                f"dn: {groups}\nobjectClass: organizationalUnit\nou: groups\n"]
        for u in users:
            local = u.split("@")[0]
            ldif.append(f"dn: uid={local},{people}\nobjectClass: inetOrgPerson\nuid: {local}\ncn: {local}\n"
                        f"sn: Bench\nmail: {u}\nuserPassword: {ssha(password_for(u))}\n")
        ldif.append(f"dn: cn=mailers,{groups}\nobjectClass: groupOfNames\ncn: mailers\n"
                    + "".join(f"member: uid={u.split('@')[0]},{people}\n" for u in users))
        with open(os.path.join(L, "base.ldif"), "w") as f:
            f.write("\n".join(ldif))
        subprocess.run(["slapadd", "-f", os.path.join(L, "slapd.conf"), "-l", os.path.join(L, "base.ldif")],
                       check=True, capture_output=True)
        with open(os.path.join(L, "secret"), "w") as f:
            f.write(ADMIN_PW + "\n")

    def start(self):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", self.port))  # raises if taken
        log = open(os.path.join(self.dir, "slapd.out"), "ab")
        # -d 0: stay in the foreground (so the PID is slapd's own), log nothing.
        self.proc = subprocess.Popen(["slapd", "-f", os.path.join(self.dir, "slapd.conf"), "-h", self.url + "/",
                                      "-d", "0"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        servers._wait_port(self.port, 30, self.proc, os.path.join(self.dir, "slapd.out"))

    def cpu(self):
        return proc_cpu([self.proc.pid]) if self.proc else 0.0

    def stop(self):
        servers.stop_process(self.proc)

    def describe(self):
        v = subprocess.run(["slapd", "-VV"], capture_output=True, text=True)
        first = (v.stdout or v.stderr).strip().splitlines()
        return (f"{first[0].strip() if first else 'slapd'}; back_mdb, no TLS, {self.url}; users inetOrgPerson "
                "(uid, mail, userPassword {SSHA}), all in one groupOfNames")


def tern_directory(slapd, warm):
    ttl = "1h" if warm else "0s"
    return f"""
[directory]
kind = "ldap"
urls = ["{slapd.url}"]
base_dn = "{SUFFIX}"
bind_dn = "{ADMIN}"
bind_password_file = "{slapd.dir}/secret"
timeout = "10s"

[directory.cache]
positive_ttl = "{ttl}"
negative_ttl = "{ttl}"
credential_ttl = "{ttl}"
"""


def dovecot_ldap_auth(conf, url, dn, dnpass, base, filt, home, warm):
    """Dovecot's passdb + userdb on an LDAP server, written to `conf`: passdb `auth_bind = yes`
    (search with `filt` as `dn`, then bind as the entry found with the password), userdb one
    more search; `warm`: the auth cache on (10M, 1 hour), else off (Dovecot's default).
    The userdb reads a copy of the file (`conf` + ".userdb"): Dovecot keeps one LDAP connection
    per args file, and its documentation for auth_bind advises separate ones, so that userdb
    searches do not queue behind the passdb's binds (which a connection serializes)."""
    text = f"""uris = {url}
dn = {dn}
dnpass = {dnpass}
ldap_version = 3
base = {base}
scope = subtree
auth_bind = yes
pass_filter = {filt}
pass_attrs = mail=user
user_filter = {filt}
user_attrs = mail=user, =home={home}/%u, =uid={servers.NOBODY}, =gid={servers.NOBODY}
"""
    for path in (conf, conf + ".userdb"):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
    cache = "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\nauth_cache_negative_ttl = 1 hour\n" if warm \
        else "auth_cache_size = 0\n"
    return (cache + f"passdb {{\n  driver = ldap\n  args = {conf}\n}}\n"
            f"userdb {{\n  driver = ldap\n  args = {conf}.userdb\n}}\n")


def dovecot_auth(slapd, home, warm):
    return dovecot_ldap_auth(os.path.join(slapd.dir, "dovecot-ldap.conf.ext"), slapd.url, ADMIN, ADMIN_PW,
                             SUFFIX, USER_FILTER.replace("{login}", "%u"), home, warm)


def cyrus_saslauthd(a, slapd, warm):
    """saslauthd -a ldap on this slapd, with the user filter of Tern and Dovecot (%u: the login)."""
    opts = saslauthd.ldap_options(slapd.url, ADMIN, ADMIN_PW, SUFFIX, USER_FILTER.replace("{login}", "%u"))
    return saslauthd.Saslauthd(os.path.join(a.work, "ldaplogins", "saslauthd"), "ldap", opts, warm)


def make_server(name, a, slapd, warm):
    off = a.port_offset + INSTANCE_OFFSET
    if name == "tern":
        return servers.Tern(a.work, a.tern_bin, 0, port_offset=off, subdir="tern-ldap",
                            extra=tern_directory(slapd, warm))
    if name == "cyrus":
        return servers.Cyrus(a.work, a.cyrus_bindir, 0, port_offset=off, subdir="cyrus-ldap",
                             saslauthd=cyrus_saslauthd(a, slapd, warm))
    home = os.path.join(a.work, "dovecot-ldap", "home")
    return servers.Dovecot(a.work, a.dovecot_format, 0, port_offset=off, subdir="dovecot-ldap",
                           auth=dovecot_auth(slapd, home, warm))


async def _once_each(port, users):
    """One login per user, in turn (the untimed warm-up)."""
    for u in users:
        c = await asyncio.wait_for(Imap.connect("127.0.0.1", port), 30)
        try:
            await asyncio.wait_for(c.login(u, password_for(u)), 30)
            await asyncio.wait_for(c.logout(), 30)
        finally:
            await c.close()


def _reuse(s):
    """Prepares server `s` (the warm instance) on the cold instance's directory: its config
    rewritten, the accounts / mailboxes the first logins made kept."""
    if s.name == "tern":
        s.write_config()  # keep its store: the accounts made at the first logins
        os.replace(s.log, s.log + ".cold")  # start() waits for "tern: ready" in a fresh log
    elif s.name == "dovecot":
        shutil.copy(s.log, s.dir + ".cold.log")  # setup() below wipes the directory
        keep = os.path.join(s.dir, "home")
        tmp = s.dir + ".home"
        shutil.rmtree(tmp, ignore_errors=True)
        os.rename(keep, tmp)
        s.setup([], {})
        shutil.rmtree(keep)
        os.rename(tmp, keep)
    # Cyrus: its config does not change (only saslauthd's cache flag): the same directory as is.


def measure(name, make, a, directory, dir_key, users, phases=("cold", "warm")):
    """Cold then warm against a fresh second `name` server (`make(warm)` builds it) on
    `directory` (an object with cpu(): slapd, Samba); returns {"cold": ..., "warm": ...}.
    `dir_key` names the directory's CPU figures ("slapd": slapd_cpu_s, ...)."""
    out = {}
    for phase in phases:
        s = make(phase == "warm")
        if phase == "cold":
            if name == "dovecot":
                s.setup([], {})
            else:
                s.setup([])
        else:
            _reuse(s)
        try:
            s.start()
            t = time.perf_counter()
            asyncio.run(_once_each(s.imap, users))
            warmup_s = time.perf_counter() - t
            cpu0, l0, g0 = s.cpu(), directory.cpu(), time.process_time()
            res = w_logins.run(s, users, a.login_clients, a.login_seconds)
            cpu, lcpu, gcpu = s.cpu() - cpu0, directory.cpu() - l0, time.process_time() - g0
        finally:
            s.stop()
        res["warmup_s"] = round(warmup_s, 2)
        res["server_cpu_s"] = round(cpu, 2)
        res[f"{dir_key}_cpu_s"] = round(lcpu, 2)
        # The Python load generator's own CPU: near res["seconds"] means it, not the server, was the limit.
        res["loadgen_cpu_s"] = round(gcpu, 2)
        if res.get("logins"):
            res["cpu_ms_per_login"] = round(cpu * 1000 / res["logins"], 3)
            res[f"{dir_key}_cpu_ms_per_login"] = round(lcpu * 1000 / res["logins"], 3)
        out[phase] = res
    out["errors"] = [f"{p}: {e}" for p in phases for e in out[p].get("errors", [])][:20]
    out["protocol_errors"] = sum(out[p]["protocol_errors"] for p in phases)
    return out


def run(name, a, slapd, users):
    """Cold then warm against a fresh second `name` server on `slapd`."""
    return measure(name, lambda warm: make_server(name, a, slapd, warm), a, slapd, "slapd", users)


def describe(name, slapd):
    if name == "tern":
        return (f"a second Tern (work/tern-ldap), [directory] kind = \"ldap\" on {slapd.url}: search user, "
                "search groups, bind as the user; cold: [directory.cache] TTLs 0s; warm: TTLs 1h")
    if name == "cyrus":
        return (f"a second Cyrus (work/cyrus-ldap), sasl_pwcheck_method: saslauthd; saslauthd -a ldap on "
                f"{slapd.url} (ldap_auth_method: bind: search, then bind as the user), its own socket dir "
                "work/ldaplogins/saslauthd, 5 workers; INBOX created at the first login (autocreate_quota: 0); "
                "cold: no credential cache; warm: saslauthd -c -t 3600")
    return (f"a second Dovecot (work/dovecot-ldap), LDAP passdb (auth_bind = yes: search, then bind as the "
            f"user) + LDAP userdb on {slapd.url}; cold: auth_cache_size = 0; warm: auth_cache_size = 10M, "
            "auth_cache_ttl = 1 hour")
