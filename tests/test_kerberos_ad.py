"""Kerberos with Active Directory, against the real Samba AD DC (`peer("samba")`, realm
EXAMPLE.TEST, KDC 127.0.0.2:88).

The service account tern-svc (scripts/peers.sh samba_tern_service_account) has a random
password nobody knows; Tern gets its keys from keytabs exported by `samba-tool domain
exportkeytab`: tern-svc.keytab (the client keytab: tern-svc@EXAMPLE.TEST), tern-mail.keytab
(its SPNs imap/, pop/, smtp/, sieve/ on mail.example.test and localhost) and tern-wrong.keytab
(tern-svc with a key the DC never had).

1. The directory's service bind with SASL GSSAPI (`bind_mechanism = "gssapi"`, no bind
   password anywhere): lookups, IMAP logins with AD passwords, the nested mail group; a
   wrong keytab leaves the directory unavailable (temporary failure, not "wrong password");
   the TGT is renewed from the keytab before it runs out (a 5-minute ticket lifetime).
2. AD's own KDC for `[kerberos]`: password logins checked by an AS exchange (verified with
   the SPN keytab; a keytab the KDC never issued refuses every password); SASL GSSAPI with a
   `kinit` ticket through Cyrus SASL's imtest; a user disabled after getting a ticket is
   refused by the directory gate.
Login latency cold vs cached (LDAP bind + GSSAPI bind, KDC check) is printed with -s, not
asserted.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import time

import pytest

from directory_support import (can_login, files_containing, login, peer_command, timed_login,
                               wait_until)
from harness import IO_TIMEOUT, TERN_BIN, TernServer
from peers import peer

CYRUS = "/usr/lib/cyrus/bin"
PASSWORDS = {"alice": "Alice#Pass1", "carl": "Carl#Pass1", "dora": "Dora#Pass1",
             "frank": "Frank#Pass1"}
MAIL_GROUP = "CN=Mail Users,CN=Users,DC=example,DC=test"


@pytest.fixture(scope="module")
def samba():
    return peer("samba")


def directory_toml(samba, *, keytab="tern-svc.keytab", positive="1s", credential="60s",
                   extra=""):
    """[directory]: Active Directory, bound as tern-svc with GSSAPI; no password."""
    return (
        "[directory]\n"
        'kind = "active-directory"\n'
        'urls = ["ldap://127.0.0.2"]\n'
        'base_dn = "DC=example,DC=test"\n'
        'bind_mechanism = "gssapi"\n'
        f'bind_keytab = "{os.path.join(samba, keytab)}"\n'
        # The URL holds an address: the DC's ldap/ principal is named by its host name.
        'sasl_host = "dc1.example.test"\n'
        f'mail_group = "{MAIL_GROUP}"\n'
        'timeout = "3s"\n'
        f"{extra}"
        "[directory.cache]\n"
        f'positive_ttl = "{positive}"\nnegative_ttl = "1s"\ncredential_ttl = "{credential}"\n'
    )


def kerberos_toml(keytab):
    return (
        "[kerberos]\n"
        'realm = "EXAMPLE.TEST"\n'
        'kdcs = ["127.0.0.2:88"]\n'
        f'keytab = "{keytab}"\n'
        'service_principals = ["imap/mail.example.test"]\n'
    )


def start(base, config, services=("imap", "lmtp")):
    return TernServer(base, services=services, extra_config=config).start()


def log_text(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def bound(samba, tmp_path_factory):
    """Tern on AD with a GSSAPI service bind and no [kerberos]: the realm and KDC come
    from the directory (DC=example,DC=test, the DC's host)."""
    base = str(tmp_path_factory.mktemp("gssapi-bind"))
    s = start(base, directory_toml(samba))
    yield s
    s.stop()


# ---- 1. the directory's GSSAPI service bind ---------------------------------------------

def test_config_has_no_password_and_checks(bound):
    r = bound.cli("check-config")
    assert "config OK" in out(r)
    with open(bound.config_path) as f:
        text = f.read()
    assert "bind_password_file" not in text and "bind_dn" not in text
    # The profile Tern wrote for AD's realm: its DNS domain, the DC as KDC.
    with open(os.path.join(bound.data_dir, "krb5.conf")) as f:
        profile = f.read()
    assert "default_realm = EXAMPLE.TEST" in profile and "kdc = 127.0.0.2:88" in profile


def test_lookups_and_logins_through_the_gssapi_bind(bound):
    r = bound.cli("directory", "lookup", "EXAMPLE\\alice", "--json")
    a = json.loads(r.stdout)["account"]
    assert a["name"] == "alice@example.test" and a["enabled"]
    # Nested membership read with the service account's rights.
    assert {"Mail Users", "Staff"} <= set(a["groups"])
    ok, c = login(bound, "alice", "Alice#Pass1")
    assert ok, c
    assert c.select("INBOX")[0] == "OK"
    c.logout()
    ok, err = login(bound, "alice", "Alice#Pass2")
    assert not ok and "AUTHENTICATIONFAILED" in err
    assert can_login(bound, "carl@corp.example.test", "Carl#Pass1")
    # The gate still works: frank's password is right, he is in no group.
    assert not can_login(bound, "frank", "Frank#Pass1")
    res = bound.deliver(["al@example.test"], "Subject: via gssapi\r\n\r\nx\r\n")
    assert res["al@example.test"][0] == 250, res


def test_without_a_bind_the_dc_answers_nothing(samba, tmp_path):
    """The control: an anonymous search finds nobody on AD, so the lookups above did go
    through the GSSAPI-bound connections."""
    config = directory_toml(samba).replace('bind_mechanism = "gssapi"\n', "")
    config = re.sub(r'bind_keytab = .*\n|sasl_host = .*\n', "", config)
    s = start(str(tmp_path), config)
    try:
        r = s.cli("directory", "lookup", "alice", check=False)
        assert r.returncode == 1, out(r)
        assert not can_login(s, "alice", "Alice#Pass1")
    finally:
        s.stop()


def test_a_wrong_keytab_makes_the_directory_unavailable(samba, tmp_path):
    s = start(str(tmp_path), directory_toml(samba, keytab="tern-wrong.keytab"))
    try:
        ok, err = login(s, "alice", "Alice#Pass1")
        assert not ok
        # A temporary failure, not a wrong password.
        assert "UNAVAILABLE" in err and "AUTHENTICATIONFAILED" not in err, err
        res = s.deliver(["alice@example.test"], "Subject: x\r\n\r\nx\r\n")
        assert res["alice@example.test"][0] == 451, res
        log = log_text(s)
        assert "cannot bind with GSSAPI for ldap/dc1.example.test" in log, log[-3000:]
        assert "Preauthentication failed" in log, log[-3000:]
        r = s.cli("directory", "lookup", "alice", check=False)
        assert r.returncode == 1 and "check bind_keytab" in out(r), out(r)
    finally:
        s.stop()


def test_check_config_for_gssapi_binds(samba, tmp_path):
    def check(directory, kerberos=""):
        path = tmp_path / "tern.toml"
        path.write_text(f'data_dir = "{tmp_path}/data"\n{directory}{kerberos}')
        r = subprocess.run([TERN_BIN, "check-config", "--config", str(path)],
                           capture_output=True, text=True, timeout=IO_TIMEOUT)
        return r.returncode, r.stdout + r.stderr

    base = directory_toml(samba)
    code, text = check(base.replace(f'bind_keytab = "{os.path.join(samba, "tern-svc.keytab")}"\n',
                                    ""))
    assert code == 1 and "directory.bind_keytab: required" in text, text
    code, text = check(base.replace("[directory.cache]", 'bind_dn = "CN=x"\n[directory.cache]'))
    assert code == 1 and "directory.bind_dn: not used with bind_mechanism" in text, text
    code, text = check(base.replace('kind = "active-directory"', 'kind = "ldap"')
                       .replace(f'mail_group = "{MAIL_GROUP}"\n', ""))
    assert code == 1 and "needs [kerberos]" in text, text
    code, text = check(base.replace('bind_mechanism = "gssapi"', 'bind_mechanism = "simple"'))
    assert code == 1 and 'directory.bind_keytab: only used with bind_mechanism = "gssapi"' in text
    code, text = check(base.replace("tern-svc.keytab", "no-such.keytab"))
    assert code == 1 and "directory.bind_keytab: cannot read" in text, text
    assert check(base)[0] == 0


def test_the_tgt_is_renewed_from_the_keytab(samba, tmp_path):
    """A 5-minute TGT (the profile's ticket_lifetime, edited before the first bind). Samba's
    KDC refuses a TGS request made with a TGT that has less than its 5-minute clock skew
    left, so any new connection made later with the first TGT would fail. MIT krb5 gets a
    fresh TGT from the client keytab once the cached one is half-way to expiry: after 2.5
    minutes and a restart of the DC (every pooled connection gone), new connections bind
    again, and krb5's trace shows the second AS exchange. (About 3 minutes.)"""
    trace = tmp_path / "krb5.trace"
    os.environ["KRB5_TRACE"] = str(trace)
    try:
        s = TernServer(str(tmp_path / "srv"), services=("imap",),
                       extra_config=directory_toml(samba, positive="1s", credential="1s"))
        s.start()
    finally:
        del os.environ["KRB5_TRACE"]
    try:
        profile = os.path.join(s.data_dir, "krb5.conf")
        with open(profile) as f:
            text = f.read()
        with open(profile, "w") as f:
            f.write(text.replace("[libdefaults]\n", "[libdefaults]\n ticket_lifetime = 5m\n"))
        assert can_login(s, "alice", "Alice#Pass1")
        first = time.monotonic()
        tr = trace.read_text(errors="replace")
        assert len(re.findall(INITIAL, tr)) == 1, tr[-4000:]
        time.sleep(max(0.0, 155 - (time.monotonic() - first)))  # past the refresh time
        peer_command("stop", "samba")
        peer_command("start", "samba")
        wait_until(lambda: can_login(s, "alice", "Alice#Pass1"), 60, "login after restart")
        assert can_login(s, "carl", "Carl#Pass1")
        tr = trace.read_text(errors="replace")
        assert len(re.findall(INITIAL, tr)) >= 2, tr[-4000:]
        assert "cannot bind" not in log_text(s), s.log_tail(20)
    finally:
        s.stop()


INITIAL = r"Getting initial credentials for tern-svc@EXAMPLE\.TEST"


# ---- 2. Samba's KDC for [kerberos] ------------------------------------------------------

@pytest.fixture(scope="module")
def kdc_server(samba, tmp_path_factory):
    """[kerberos] on Samba's KDC with the SPN keytab; the directory bound with GSSAPI as a
    named principal (its profile is [kerberos]'s)."""
    base = str(tmp_path_factory.mktemp("ad-kdc"))
    directory = directory_toml(samba, extra='bind_principal = "tern-svc@EXAMPLE.TEST"\n')
    s = start(base, directory + kerberos_toml(os.path.join(samba, "tern-mail.keytab")))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def spoofed(samba, tmp_path_factory):
    """[kerberos] with a keytab holding a key the KDC never had for imap/mail.example.test."""
    base = str(tmp_path_factory.mktemp("ad-kdc-wrong"))
    keytab = os.path.join(base, "wrong-imap.keytab")
    kv = subprocess.run(["klist", "-k", os.path.join(samba, "tern-mail.keytab")],
                        capture_output=True, text=True, check=True).stdout
    kvno = re.search(r"^\s*(\d+)\s+imap/mail\.example\.test@", kv, re.M).group(1)
    script = (f"addent -password -p imap/mail.example.test@EXAMPLE.TEST -k {kvno} "
              f"-e arcfour-hmac\nNot#The#Key9\nwkt {keytab}\n")
    subprocess.run(["ktutil"], input=script, text=True, capture_output=True, check=True)
    s = start(base, directory_toml(samba) + kerberos_toml(keytab))
    yield s
    s.stop()


def kinit(samba, tmp_path, user):
    """`user`'s TGT from Samba's KDC in a file cache; the environment for Cyrus clients."""
    env = dict(os.environ, KRB5_CONFIG=os.path.join(samba, "krb5.conf"),
               KRB5CCNAME=f"FILE:{tmp_path}/{user}.cc")
    subprocess.run(["kinit", f"{user}@EXAMPLE.TEST"], input=PASSWORDS[user] + "\n", text=True,
                   env=env, check=True, capture_output=True, timeout=IO_TIMEOUT)
    return env


def imtest(server, env, script="a1 SELECT INBOX\r\na2 LOGOUT\r\n"):
    r = subprocess.run([os.path.join(CYRUS, "imtest"), "-m", "GSSAPI", "-p",
                        str(server.port("imap")), "localhost"], input=script.encode(), env=env,
                       capture_output=True, timeout=IO_TIMEOUT)
    return (r.stdout + r.stderr).decode(errors="replace")


def test_password_logins_checked_by_the_ad_kdc(kdc_server):
    assert re.search(r'verifier="?kerberos', log_text(kdc_server)), kdc_server.log_tail(20)
    # First login: LDAP connect + GSSAPI bind + search + AS/TGS exchanges and acceptance.
    first = timed_login(kdc_server, "carl", "Carl#Pass1")
    # alice cold at the KDC (the directory connection is warm), then cached verdicts.
    cold = timed_login(kdc_server, "alice", "Alice#Pass1")
    cached = [timed_login(kdc_server, "alice", "Alice#Pass1") for _ in range(5)]
    print(f"\nAD + KDC login latency: first {first * 1000:.1f} ms, KDC cold {cold * 1000:.1f} ms,"
          f" cached median {sorted(cached)[2] * 1000:.1f} ms")
    for name in ["EXAMPLE\\alice", "alice@EXAMPLE.TEST", "al@example.test"]:
        assert can_login(kdc_server, name, "Alice#Pass1"), name
    ok, err = login(kdc_server, "alice", "Alice#Pass2")
    assert not ok and "AUTHENTICATIONFAILED" in err
    # The reason names the KDC's verdict for alice's principal (sAMAccountName@REALM).
    wait_until(lambda: "alice@EXAMPLE.TEST: wrong password (kerberos)" in log_text(kdc_server),
               10, "the KDC's reason in the log")
    r = kdc_server.cli("directory", "auth", "carl", "--password-stdin", input="Carl#Pass1\n")
    assert "carl.smith@example.test" in out(r)


def test_a_keytab_the_kdc_never_issued_refuses_every_password(spoofed):
    ok, err = login(spoofed, "alice", "Alice#Pass1")
    assert not ok and "AUTHENTICATIONFAILED" in err
    wait_until(lambda: "not verified by the keytab" in log_text(spoofed), 10, "reason in log")


def test_gssapi_login_with_a_kinit_ticket(kdc_server, samba, tmp_path):
    env = kinit(samba, tmp_path, "alice")
    text = imtest(kdc_server, env)
    assert "Authenticated." in text and "a1 OK" in text, text
    wait_until(lambda: "user=alice@example.test" in log_text(kdc_server), 10, "login logged")
    # carl@EXAMPLE.TEST is the sAMAccountName carl, whose account is his primary address.
    env = kinit(samba, tmp_path, "carl")
    text = imtest(kdc_server, env)
    assert "Authenticated." in text and "a1 OK" in text, text
    wait_until(lambda: "user=carl.smith@example.test" in log_text(kdc_server), 10, "carl logged")


def test_gssapi_without_a_ticket_fails(kdc_server, samba, tmp_path):
    env = dict(os.environ, KRB5_CONFIG=os.path.join(samba, "krb5.conf"),
               KRB5CCNAME=f"FILE:{tmp_path}/empty")
    assert "Authenticated." not in imtest(kdc_server, env, "a2 LOGOUT\r\n")


def test_a_disabled_user_with_a_valid_ticket_is_refused(kdc_server, samba, tmp_path):
    env = kinit(samba, tmp_path, "dora")
    # The service ticket for imap/localhost is in dora's cache after this first login, so
    # the next ones need no KDC: only Tern's directory gate can refuse them.
    text = imtest(kdc_server, env)
    assert "Authenticated." in text and "a1 OK" in text, text
    conf = os.path.join(samba, "etc", "smb.conf")
    subprocess.run(["samba-tool", "user", "disable", "dora", "-s", conf], check=True,
                   capture_output=True, timeout=120)
    try:
        wait_until(lambda: "Authenticated." not in imtest(kdc_server, env, "a2 LOGOUT\r\n"),
                   30, "dora refused")
        klist = subprocess.run(["klist"], env=env, capture_output=True, text=True).stdout
        assert "imap/localhost@EXAMPLE.TEST" in klist, klist
        assert "account disabled" in log_text(kdc_server)
    finally:
        subprocess.run(["samba-tool", "user", "enable", "dora", "-s", conf], check=True,
                       capture_output=True, timeout=120)
    wait_until(lambda: "Authenticated." in imtest(kdc_server, env, "a2 LOGOUT\r\n"), 30,
               "dora back")


def test_no_password_written_anywhere(kdc_server, bound):
    for s in (kdc_server, bound):
        assert files_containing(s.dir, list(PASSWORDS.values())) == []
