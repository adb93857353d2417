"""Active Directory accounts, against a real Samba AD DC (`peer("samba")`, realm EXAMPLE.TEST).

The fixture directory (scripts/peers.sh samba_directory_fixture): alice (in Staff, nested in
"Mail Users"; aliases via proxyAddresses), carl (UPN carl@corp.example.test, primary
SMTP:carl.smith@example.test, quota "2GB" in `info`, in "Mail Users" directly), dora (toggled
disabled here), frank (in no group), hank (account expired in 2000), mail-enabled group Team
(team@example.test: alice + Subteam {carl, Team}, a loop).

Covers: login by every name form (sAMAccountName, DOMAIN\\user, UPN, user@REALM, any address)
landing in one account; wrong password; the mail_group gate with nested groups; expired and
disabled accounts (samba-tool user disable / enable, seen within the cache TTL); delivery to a
proxyAddresses alias and to a mail-enabled group; the quota attribute; filter injection;
`tern directory lookup/auth`; the cache (flush reaching a running server, stats); the DC
stopped mid-test with and without serve-stale; no password written by Tern. Login latency
cold vs cached is printed (run with -s), not asserted.
"""

import json
import os
import smtplib
import subprocess
import time
import uuid

import pytest

from directory_support import (can_login, directory_server, files_containing, inbox_subjects,
                               login, peer_command, storage_limit_kib, timed_login, wait_until)
from harness import IO_TIMEOUT, TERN_BIN
from peers import peer

ADMIN_DN = "CN=Administrator,CN=Users,DC=example,DC=test"
PASSWORDS = {"alice": "Alice#Pass1", "carl": "Carl#Pass1", "dora": "Dora#Pass1",
             "frank": "Frank#Pass1", "hank": "Hank#Pass1"}


@pytest.fixture(scope="module")
def samba():
    return peer("samba")


def ad_config(tmp, *, positive="2s", negative="2s", credential="60s", stale=None, gate=True):
    secret = os.path.join(tmp, "ad.secret")
    os.makedirs(tmp, exist_ok=True)
    with open(secret, "w") as f:
        f.write("Passw0rd!Adm\n")
    text = (
        "[directory]\n"
        'kind = "active-directory"\n'
        'urls = ["ldap://127.0.0.2"]\n'
        'base_dn = "DC=example,DC=test"\n'
        f'bind_dn = "{ADMIN_DN}"\n'
        f'bind_password_file = "{secret}"\n'
        'quota_attribute = "info"\n'
        'timeout = "3s"\n'
    )
    if gate:
        text += 'mail_group = "CN=Mail Users,CN=Users,DC=example,DC=test"\n'
    text += (
        "[directory.cache]\n"
        f'positive_ttl = "{positive}"\nnegative_ttl = "{negative}"\ncredential_ttl = "{credential}"\n'
    )
    if stale:
        text += f'serve_stale = "{stale}"\n'
    return text


@pytest.fixture(scope="module")
def ad(samba, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("ad"))
    s = directory_server(base, ad_config(base))
    yield s
    s.stop()


def samba_tool(samba, *args):
    r = subprocess.run(["samba-tool", *args, "-s", os.path.join(samba, "etc", "smb.conf")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def out(r):
    return r.stdout.decode(errors="replace")


def log_text(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def test_every_name_form_is_one_account(ad):
    # Cold, then cached: the first login connects, searches and binds; the next ones
    # within credential_ttl are answered from the cache's verifier.
    cold = timed_login(ad, "alice", "Alice#Pass1")
    cached = [timed_login(ad, "alice", "Alice#Pass1") for _ in range(5)]
    print(f"\nAD login latency: cold {cold * 1000:.1f} ms, cached median "
          f"{sorted(cached)[2] * 1000:.1f} ms")
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    ok, c = login(ad, "alice", "Alice#Pass1")
    assert ok, c
    msg = f"From: a@example.test\r\nSubject: {marker}\r\n\r\nhello\r\n".encode()
    assert c.append("INBOX", None, None, msg)[0] == "OK"
    c.logout()
    for name in ["EXAMPLE\\alice", "example\\ALICE", "alice@example.test", "alice@EXAMPLE.TEST",
                 "al@example.test", "Alice.Liddell@Example.Test", "ALICE"]:
        ok, c = login(ad, name, "Alice#Pass1")
        assert ok, f"{name}: {c}"
        assert any(marker in s for s in inbox_subjects(c)), name
        c.logout()
    # A UPN with a suffix other than the realm, and an alias, for carl.
    for name in ["carl@corp.example.test", "cs@example.test", "carl", "EXAMPLE\\carl"]:
        assert can_login(ad, name, "Carl#Pass1"), name
    # A foreign domain in DOMAIN\user is not this one.
    assert not can_login(ad, "OTHER\\alice", "Alice#Pass1")


def test_wrong_password_and_unknown_user(ad):
    ok, err = login(ad, "alice", "Alice#Pass2")
    assert not ok and "AUTHENTICATIONFAILED" in err
    ok, err2 = login(ad, "nobody-here", "x")
    assert not ok and "AUTHENTICATIONFAILED" in err2
    # The client learns nothing more than "authentication failed"; the log says why.
    assert "52e" not in err and "wrong" not in err.lower()
    wait_until(lambda: "wrong password" in log_text(ad), 10, "the reason in the log")
    # An empty password is never an (unauthenticated) LDAP bind.
    assert not can_login(ad, "alice", "")


def test_filter_injection_matches_nobody(ad):
    for name in ["*", "*)(sAMAccountName=*", "alice)(|(objectClass=*", "al*"]:
        assert not can_login(ad, name, "Alice#Pass1"), name
    r = ad.cli("directory", "lookup", "*)(sAMAccountName=*", check=False)
    assert r.returncode == 1, out(r)


def test_mail_group_gate_with_nested_groups(ad):
    # alice is in Staff, which is in Mail Users: nested membership counts.
    assert can_login(ad, "alice", "Alice#Pass1")
    # frank's password is right, but he is in no group.
    ok, err = login(ad, "frank", "Frank#Pass1")
    assert not ok and "AUTHENTICATIONFAILED" in err
    wait_until(lambda: "not a member of mail_group" in log_text(ad), 10, "gate reason in log")
    # Mail to a non-member is refused as unknown.
    res = ad.deliver(["frank@example.test"], "Subject: x\r\n\r\nx\r\n")
    assert res["frank@example.test"][0] == 550, res


def test_expired_account_refused(ad):
    ok, err = login(ad, "hank", "Hank#Pass1")
    assert not ok and "AUTHENTICATIONFAILED" in err
    wait_until(lambda: "account expired" in log_text(ad), 10, "expiry reason in log")


def test_disabled_then_enabled_within_the_ttl(ad, samba):
    assert can_login(ad, "dora", "Dora#Pass1")
    try:
        samba_tool(samba, "user", "disable", "dora")
        # Refused once the positive TTL (2s here) has run out, though the credential is
        # still cached (credential_ttl 60s): a cached password never outlives the account.
        wait_until(lambda: not can_login(ad, "dora", "Dora#Pass1"), 30, "dora refused")
        res = ad.deliver(["dora@example.test"], "Subject: x\r\n\r\nx\r\n")
        assert res["dora@example.test"][0] == 450, res
    finally:
        samba_tool(samba, "user", "enable", "dora")
    wait_until(lambda: can_login(ad, "dora", "Dora#Pass1"), 30, "dora back")


def test_delivery_to_proxy_address_alias(ad):
    subject = f"alias-{uuid.uuid4().hex[:8]}"
    res = ad.deliver(["CS@example.test"], f"Subject: {subject}\r\n\r\nhi\r\n")
    assert res["CS@example.test"][0] == 250, res
    ok, c = login(ad, "carl", "Carl#Pass1")
    assert ok, c
    assert any(subject in s for s in inbox_subjects(c))
    c.logout()


def test_mail_enabled_group_over_smtp(ad):
    subject = f"team-{uuid.uuid4().hex[:8]}"
    with smtplib.SMTP("127.0.0.1", ad.port("smtp"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.example.test")
        refused = s.sendmail("someone@example.org", ["team@example.test"],
                             f"From: someone@example.org\r\nSubject: {subject}\r\n\r\nall\r\n")
        assert refused == {}
    # alice directly, carl through Subteam; the Team <-> Subteam loop delivers once each.
    for name, pw in [("alice", "Alice#Pass1"), ("carl", "Carl#Pass1")]:
        ok, c = login(ad, name, pw)
        assert ok, c
        assert sum(subject in s for s in inbox_subjects(c)) == 1, name
        c.logout()


def test_quota_from_the_attribute(ad):
    ok, c = login(ad, "carl", "Carl#Pass1")
    assert ok, c
    # info = "2GB" = 2,000,000,000 octets = 1,953,125 KiB.
    assert storage_limit_kib(c) == 1_953_125
    c.logout()
    ok, c = login(ad, "alice", "Alice#Pass1")
    assert ok, c
    assert storage_limit_kib(c) == 200_000_000 // 1024  # [quota] default
    c.logout()


def test_directory_lookup_and_auth_tools(ad):
    r = ad.cli("directory", "lookup", "EXAMPLE\\alice", "--json")
    j = json.loads(out(r))
    a = j["account"]
    assert j["kind"] == "account" and a["name"] == "alice@example.test" and a["enabled"]
    assert a["addresses"][0] == "alice@example.test"
    assert {"alice.liddell@example.test", "al@example.test"} <= set(a["addresses"])
    assert not any("x400" in x.lower() for x in a["addresses"])
    assert {"Mail Users", "Staff"} <= set(a["groups"])
    assert a["attributes"]["uidNumber"] == "10001"
    assert a["attributes"]["unixHomeDirectory"] == "/home/alice"
    assert a["attributes"]["loginShell"] == "/bin/bash"
    assert a["quota_bytes"] == 200_000_000
    r = ad.cli("directory", "lookup", "frank", "--json")
    f = json.loads(out(r))["account"]
    assert not f["enabled"] and "mail_group" in f["disabled_reason"]
    r = ad.cli("directory", "lookup", "team@example.test", "--json")
    g = json.loads(out(r))
    assert g["kind"] == "group"
    assert sorted(g["members"]) == ["alice@example.test", "carl.smith@example.test"]
    r = ad.cli("directory", "lookup", "carl")
    assert "carl.smith@example.test" in out(r) and "2GB" in out(r)
    assert ad.cli("directory", "lookup", "nobody", check=False).returncode == 1
    r = ad.cli("directory", "auth", "alice@EXAMPLE.TEST", "--password-stdin", input="Alice#Pass1\n")
    assert out(r).startswith("ok: ") and "alice@example.test" in out(r)
    r = ad.cli("directory", "auth", "alice", "--password-stdin", input="nope\n", check=False)
    assert r.returncode == 1 and "wrong password" in out(r)
    r = ad.cli("directory", "auth", "hank", "--password-stdin", input="Hank#Pass1\n", check=False)
    assert r.returncode == 1 and "expired" in out(r)


def test_cache_flush_reaches_the_running_server(samba, tmp_path):
    s = directory_server(str(tmp_path), ad_config(str(tmp_path), positive="1h", credential="1h"))
    try:
        assert can_login(s, "dora", "Dora#Pass1")
        try:
            samba_tool(samba, "user", "disable", "dora")
            # Cached for an hour: still let in (this is what the cache is for)...
            assert can_login(s, "dora", "Dora#Pass1")
            # ...until the operator flushes the login.
            r = s.cli("directory", "flush", "dora")
            assert "flushed dora" in out(r), out(r)
            assert not can_login(s, "dora", "Dora#Pass1")
        finally:
            samba_tool(samba, "user", "enable", "dora")
        s.cli("directory", "flush")
        assert can_login(s, "dora", "Dora#Pass1")
        # The counters a running server publishes.
        def stats():
            r = s.cli("directory", "stats", "--json", check=False)
            return json.loads(out(r))["cache"] if r.returncode == 0 else None
        # stats.json is rewritten every 5 s: wait for one written after both flushes.
        wait_until(lambda: (stats() or {}).get("flushes", 0) >= 2, 20, "stats.json")
        st = stats()
        assert st["auth_hits"] >= 1 and st["auth_misses"] >= 2 and st["directory_calls"] >= 2
        r = s.cli("directory", "stats")
        assert "lookup_hits" in out(r) and "directory_latency_avg" in out(r)
    finally:
        s.stop()


def test_dc_down_with_and_without_serve_stale(samba, tmp_path):
    stale = directory_server(str(tmp_path / "stale"),
                             ad_config(str(tmp_path / "stale"), positive="1s", credential="1s",
                                       stale="10m"))
    plain = directory_server(str(tmp_path / "plain"),
                             ad_config(str(tmp_path / "plain"), positive="1s", credential="1s"))
    try:
        for s in (stale, plain):
            assert can_login(s, "alice", "Alice#Pass1")
            assert s.deliver(["al@example.test"], "Subject: warm\r\n\r\nx\r\n")[
                "al@example.test"][0] == 250
        peer_command("stop", "samba")
        try:
            # Past every TTL (1s) the plain server has nothing it may use.
            time.sleep(1.5)
            assert can_login(stale, "alice", "Alice#Pass1")
            assert not can_login(stale, "alice", "wrong")  # stale never means "any password"
            res = stale.deliver(["al@example.test"], "Subject: stale\r\n\r\nx\r\n")
            assert res["al@example.test"][0] == 250, res
            ok, err = login(plain, "alice", "Alice#Pass1")
            assert not ok
            res = plain.deliver(["al@example.test"], "Subject: down\r\n\r\nx\r\n")
            assert res["al@example.test"][0] == 451, res
            assert "serving a stale cache entry" in log_text(stale) or \
                "stale cached credential" in log_text(stale)
        finally:
            peer_command("start", "samba")
        wait_until(lambda: can_login(plain, "alice", "Alice#Pass1"), 60, "plain server back")
    finally:
        stale.stop()
        plain.stop()


def test_no_password_written_anywhere(ad):
    # Runs last in this module: every login above went through this server.
    hits = files_containing(ad.dir, list(PASSWORDS.values()) + ["Passw0rd!Adm"])
    # The bind password file is the operator's; nothing else may hold a password.
    hits = [h for h in hits if not h.endswith("ad.secret")]
    assert hits == [], hits
