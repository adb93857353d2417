"""`tern provision` against a real Samba AD DC (`peer("samba")`, realm EXAMPLE.TEST).

Each test reads its own organizational unit (its own `base_dn`), populated in one LDIF
(`ldapmodify` over LDAPS) when the module starts, so the tests neither see nor disturb each
other's users, nor the users of test_directory_ad.py:

- OU=Provision: 300 users. p000-p099 in "Prov Team A", p100-p199 in "Prov Team B", both
  inside "Prov Staff" inside the mail group "Prov Mail" (nested twice); p240-p259 direct
  members of "Prov Mail"; p260-p279 in Team A but disabled; p200-p239 in no group;
  p280-p299 in "Prov Other", outside the mail group. So 220 mail users.
- OU=ProvLife: l01-l08 in "Life Staff" inside "Life Mail", with passwords and a quota in
  `info`: disabled, removed from the group, deleted, re-enabled and given a new quota here.
- OU=ProvLoop: q01-q03 for the periodic run inside `tern serve`.

Covers: the dry-run plan (exact creates, nothing created), a run (accounts with their default
folders, quota recorded; an AD user logs in over IMAP and LISTs them), idempotence, disable
for a disabled / out-of-group / deleted user with mail deferred then bounced over LMTP and SMTP
(smtplib), grace counted across runs, re-enable within the grace period, archive after the
grace period (a Maildir++ tree Python's `mailbox` reads), delete, `keep`, the run lock, the
periodic run in `tern serve` logging each change, and `[provision]` in `tern check-config`.
"""

import base64
import fcntl
import json
import mailbox
import os
import smtplib
import sqlite3
import subprocess
import uuid

import pytest

from directory_support import can_login, login, wait_until
from harness import IO_TIMEOUT, TERN_BIN, TernServer
from peers import peer

ADMIN_DN = "CN=Administrator,CN=Users,DC=example,DC=test"
ADMIN_PW = "Passw0rd!Adm"
BASE = "DC=example,DC=test"
DOMAIN = "example.test"
DEFAULT_FOLDERS = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}


def ou_dn(ou):
    return f"OU={ou},{BASE}"


def password(name):
    return f"{name.capitalize()}#Pass1"


def unicode_pwd(pw):
    return base64.b64encode(f'"{pw}"'.encode("utf-16-le")).decode()


def ldap_modify(ldif, *, tls=False):
    """Applies LDIF as the domain administrator (LDAPS when it sets passwords)."""
    url = "ldaps://127.0.0.2" if tls else "ldap://127.0.0.2"
    env = dict(os.environ, LDAPTLS_REQCERT="never")
    r = subprocess.run(["ldapmodify", "-H", url, "-x", "-D", ADMIN_DN, "-w", ADMIN_PW],
                       input=ldif, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, f"ldapmodify: {r.stdout}\n{r.stderr}"


def populate(ou, users, groups):
    """One LDIF: the OU, `users` ({name: {"disabled", "password", "info"}}), then `groups`
    in order ([(name, [member CNs])], members may be earlier groups)."""
    dn = ou_dn(ou)
    out = [f"dn: {dn}\nchangetype: add\nobjectClass: organizationalUnit\nou: {ou}\n"]
    for name, opts in users.items():
        uac = 512 if opts.get("password") else 544  # 544: PASSWD_NOTREQD
        if opts.get("disabled"):
            uac |= 2
        e = (f"dn: CN={name},{dn}\nchangetype: add\nobjectClass: user\n"
             f"sAMAccountName: {name}\nuserPrincipalName: {name}@{DOMAIN}\n"
             f"mail: {name}@{DOMAIN}\ndisplayName: {name} Test\n")
        if opts.get("password"):
            e += f"unicodePwd:: {unicode_pwd(password(name))}\n"
        if opts.get("info"):
            e += f"info: {opts['info']}\n"
        e += f"userAccountControl: {uac}\n"
        out.append(e)
    for name, members in groups:
        e = (f"dn: CN={name},{dn}\nchangetype: add\nobjectClass: group\n"
             f"sAMAccountName: {name}\n")
        e += "".join(f"member: CN={m},{dn}\n" for m in members)
        out.append(e)
    ldap_modify("\n".join(out), tls=True)


def samba_tool(samba, *args):
    r = subprocess.run(["samba-tool", *args, "-s", os.path.join(samba, "etc", "smb.conf")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"samba-tool {args}: {r.stderr}"


def pname(i):
    return f"p{i:03d}"


MAIL_USERS = [pname(i) for i in list(range(0, 200)) + list(range(240, 260))]


@pytest.fixture(scope="module")
def samba():
    state = peer("samba")
    users = {pname(i): {} for i in range(300)}
    users["p000"] = {"password": True, "info": "1MB"}
    for i in range(260, 280):
        users[pname(i)] = {"disabled": True}
    team_a = [pname(i) for i in list(range(0, 100)) + list(range(260, 280))]
    populate("Provision", users, [
        ("Prov Team A", team_a),
        ("Prov Team B", [pname(i) for i in range(100, 200)]),
        ("Prov Staff", ["Prov Team A", "Prov Team B"]),
        ("Prov Mail", ["Prov Staff"] + [pname(i) for i in range(240, 260)]),
        ("Prov Other", [pname(i) for i in range(280, 300)]),
    ])
    life = {f"l{i:02d}": {"password": True, "info": "2MB"} for i in range(1, 9)}
    populate("ProvLife", life, [("Life Staff", list(life)), ("Life Mail", ["Life Staff"])])
    loop = {f"q{i:02d}": {"password": True} for i in range(1, 4)}
    populate("ProvLoop", loop, [("Loop Mail", list(loop))])
    return state


def directory_toml(base, ou, mail_group, *, provision=""):
    secret = os.path.join(base, "ad.secret")
    os.makedirs(base, exist_ok=True)
    with open(secret, "w") as f:
        f.write(ADMIN_PW + "\n")
    return (
        "[directory]\n"
        'kind = "active-directory"\n'
        'urls = ["ldap://127.0.0.2"]\n'
        f'base_dn = "{ou_dn(ou)}"\n'
        f'bind_dn = "{ADMIN_DN}"\n'
        f'bind_password_file = "{secret}"\n'
        f'mail_group = "CN={mail_group},{ou_dn(ou)}"\n'
        'quota_attribute = "info"\n'
        'page_size = 50\n'
        "[directory.cache]\n"
        'positive_ttl = "1s"\nnegative_ttl = "1s"\n'
        f"[provision]\n{provision}\n"
    )


def provision(server, *args, check=True):
    """`tern provision ARGS --json` → (exit code, report)."""
    r = server.cli("provision", *args, "--json", check=False)
    out = r.stdout.decode(errors="replace")
    if check:
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr.decode(errors='replace')}"
        return json.loads(out)
    return r.returncode, out, r.stderr.decode(errors="replace")


def actions(report):
    return {a["account"]: a for a in report["actions"]}


def nothing_planned(report):
    return report["actions"] == [] and set(report["planned"].values()) == {0}


def store_accounts(server):
    """{account: [folders]} straight from the store's database (read-only)."""
    path = os.path.join(server.data_dir, "mail.db")
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT a.name, m.name FROM accounts a "
                          "LEFT JOIN mailboxes m ON m.account = a.id").fetchall()
    finally:
        db.close()
    out = {}
    for account, folder in rows:
        out.setdefault(account, [])
        if folder is not None:
            out[account].append(folder)
    return out


def lmtp_rcpt(server, rcpt):
    with smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=IO_TIMEOUT) as l:
        l.ehlo("client.example.test")
        l.mail("sender@example.org")
        code, text = l.rcpt(rcpt)
        l.rset()
        return code, text.decode(errors="replace")


def smtp_rcpt(server, rcpt):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.example.test")
        s.mail("sender@example.org")
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text.decode(errors="replace")


def expect_rcpt(server, rcpt, code, status):
    """Both LMTP and the MX answer RCPT `code status` (waited for: the directory cache's
    TTL is 1 s)."""
    def both():
        return all(c == code and t.startswith(status)
                   for c, t in (lmtp_rcpt(server, rcpt), smtp_rcpt(server, rcpt)))
    wait_until(both, 30, f"RCPT {rcpt} -> {code} {status}")


def log_text(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode(errors="replace")


@pytest.fixture
def server(samba, tmp_path):
    base = str(tmp_path)
    s = TernServer(base, services=("imap", "lmtp", "smtp"),
                   extra_config=directory_toml(base, "Provision", "Prov Mail")).start()
    yield s
    s.stop()


def test_dry_run_then_run_then_nothing(server):
    expected = {f"{n}@{DOMAIN}" for n in MAIL_USERS}
    assert len(expected) == 220

    plan = provision(server, "--dry-run")
    assert plan["dry_run"] is True
    assert plan["directory"] == {"listed": 300, "mail_users": 220, "disabled": 20,
                                 "not_mail_users": 60}
    assert plan["planned"]["create"] == 220
    assert sum(plan["planned"].values()) == 220
    assert {a["account"] for a in plan["actions"]} == expected
    assert {a["action"] for a in plan["actions"]} == {"create"}
    assert {a["status"] for a in plan["actions"]} == {"planned"}
    assert actions(plan)[f"p000@{DOMAIN}"]["quota"] == 1_000_000
    assert actions(plan)[f"p001@{DOMAIN}"]["quota"] == 200_000_000
    assert store_accounts(server) == {}, "a dry run created accounts"
    # A text plan too, for people.
    r = server.cli("provision", "--dry-run")
    text = r.stdout.decode()
    assert f"create        p150@{DOMAIN}  quota 200MB" in text, text
    assert "plan (dry run, nothing changed): create 220" in text, text
    assert store_accounts(server) == {}

    done = provision(server)
    assert done["dry_run"] is False and done["failed"] == 0
    assert done["done"]["create"] == 220
    assert {a["status"] for a in done["actions"]} == {"done"}
    stored = store_accounts(server)
    assert set(stored) == expected
    assert all(set(folders) == DEFAULT_FOLDERS for folders in stored.values()), stored

    # An AD user logs in with the AD password and finds the folders provisioning made.
    ok, c = login(server, "p000", password("p000"))
    assert ok, c
    typ, data = c.list()
    assert typ == "OK"
    names = {line.decode().rsplit(" ", 1)[-1].strip('"') for line in data}
    assert names == DEFAULT_FOLDERS, data
    c.logout()

    again = provision(server)
    assert nothing_planned(again), again["actions"][:5]
    assert again["store_accounts"] == 220
    assert nothing_planned(provision(server, "--dry-run"))


def test_lifecycle_disable_policy_grace_archive_delete(samba, tmp_path):
    base = str(tmp_path)
    s = TernServer(base, services=("imap", "lmtp", "smtp"),
                   extra_config=directory_toml(base, "ProvLife", "Life Mail",
                                               provision='grace = "30d"\n')).start()
    try:
        lifecycle(samba, s, tmp_path)
    finally:
        s.stop()


def lifecycle(samba, s, tmp_path):
    a = lambda n: f"{n}@{DOMAIN}"  # noqa: E731
    r = provision(s)
    assert r["done"]["create"] == 8, r
    subject = f"keep-me-{uuid.uuid4().hex[:8]}"
    res = s.deliver([a("l02")], f"From: x@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n")
    assert res[a("l02")][0] == 250, res

    # In AD: l01 disabled, l02 out of the group, l03 deleted, l04 a new quota.
    samba_tool(samba, "user", "disable", "l01")
    samba_tool(samba, "group", "removemembers", "Life Staff", "l02")
    samba_tool(samba, "user", "delete", "l03")
    ldap_modify(f"dn: CN=l04,{ou_dn('ProvLife')}\nchangetype: modify\nreplace: info\n"
                "info: 5MB\n-\n")

    plan = provision(s, "--dry-run")
    acts = actions(plan)
    assert set(acts) == {a("l01"), a("l02"), a("l03"), a("l04")}, plan["actions"]
    assert acts[a("l01")]["action"] == "disable"
    assert "disabled" in acts[a("l01")]["reason"]
    assert acts[a("l02")]["action"] == "disable"
    assert acts[a("l02")]["reason"].startswith("not a member of mail_group")
    assert acts[a("l03")] == {"account": a("l03"), "action": "disable",
                              "reason": "not in the directory", "mail": "defer",
                              "status": "planned"}
    assert acts[a("l04")]["action"] == "update-quota"
    assert (acts[a("l04")]["from"], acts[a("l04")]["to"]) == (2_000_000, 5_000_000)
    assert {x["mail"] for x in plan["actions"] if x["action"] == "disable"} == {"defer"}

    r = provision(s)
    assert r["done"]["disable"] == 3 and r["done"]["update-quota"] == 1, r
    assert nothing_planned(provision(s, "--dry-run"))
    # Mail to them is deferred (the MTA retries); the others still get mail; a stranger
    # is unknown.
    for n in ["l01", "l02", "l03"]:
        expect_rcpt(s, a(n), 450, "4.2.1")
    expect_rcpt(s, a("l05"), 250, "2.1.5")
    expect_rcpt(s, a("nobody-here"), 550, "5.1.1")
    # Login is refused (the directory's verdict), and nothing was removed.
    assert not can_login(s, "l01", password("l01"))
    assert a("l02") in store_accounts(s)

    # Bounce instead.
    r = provision(s, "--policy", "bounce")
    assert r["done"]["update-policy"] == 3, r
    for n in ["l01", "l02", "l03"]:
        expect_rcpt(s, a(n), 550, "5.2.1")

    # Within the grace period nothing more happens; the report says when.
    r = provision(s, "--grace", "1h", "--dry-run", "--policy", "bounce")
    assert nothing_planned(r), r["actions"]
    assert {w["account"] for w in r["waiting"]} == {a("l01"), a("l02"), a("l03")}
    assert all(w["due"] == w["disabled_since"] + 3600 for w in r["waiting"])

    # l01 is back in AD within the grace period: reactivated, mail accepted again.
    samba_tool(samba, "user", "enable", "l01")
    r = provision(s, "--policy", "bounce")
    assert {x["account"]: x["action"] for x in r["actions"]} == {a("l01"): "reactivate"}, r
    expect_rcpt(s, a("l01"), 250, "2.1.5")
    wait_until(lambda: can_login(s, "l01", password("l01")), 30, "l01 logs in")

    # keep: past the grace period, still kept.
    r = provision(s, "--grace", "0s", "--after-grace", "keep", "--policy", "bounce")
    assert nothing_planned(r), r["actions"]
    assert all(w["due"] is None for w in r["waiting"])

    # Another run holds the lock: this one fails at once and changes nothing.
    with open(os.path.join(s.data_dir, "provision.lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, out, err = provision(s, "--grace", "0s", check=False)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert code == 1 and "another provisioning run" in err, (code, out, err)
    assert a("l02") in store_accounts(s)

    # Archive after the grace period: a Maildir++ tree, then the account is gone.
    r = provision(s, "--grace", "0s", "--after-grace", "archive")
    assert {x["account"]: x["action"] for x in r["actions"]} == {
        a("l02"): "archive", a("l03"): "archive"}, r
    paths = {x["account"]: x["archive"] for x in r["actions"]}
    assert all(p.startswith(os.path.join(s.data_dir, "archive")) for p in paths.values())
    md = mailbox.Maildir(paths[a("l02")], factory=None, create=False)
    subjects = [m["subject"] for m in md]
    assert subjects == [subject], subjects
    assert set(md.list_folders()) == DEFAULT_FOLDERS - {"INBOX"}
    with open(os.path.join(paths[a("l02")], "tern-archive.json")) as f:
        manifest = json.load(f)
    assert manifest["account"] == a("l02")
    assert {f["name"] for f in manifest["folders"]} == DEFAULT_FOLDERS
    stored = store_accounts(s)
    assert a("l02") not in stored and a("l03") not in stored and a("l01") in stored
    expect_rcpt(s, a("l02"), 550, "5.1.1")
    assert nothing_planned(provision(s, "--grace", "0s"))

    # Delete after the grace period: no archive.
    samba_tool(samba, "user", "disable", "l05")
    assert provision(s)["done"]["disable"] == 1
    r = provision(s, "--grace", "0s", "--after-grace", "delete")
    assert {x["account"]: x["action"] for x in r["actions"]} == {a("l05"): "delete"}, r
    assert "archive" not in r["actions"][0]
    assert a("l05") not in store_accounts(s)
    assert sorted(os.listdir(os.path.join(s.data_dir, "archive"))) == sorted(
        os.path.basename(p) for p in paths.values())


def test_periodic_run_inside_serve(samba, tmp_path):
    base = str(tmp_path)
    s = TernServer(base, services=("lmtp", "smtp"),
                   extra_config=directory_toml(base, "ProvLoop", "Loop Mail",
                                               provision='interval = "1s"\n')).start()
    try:
        for n in ["q01", "q02", "q03"]:
            wait_until(lambda n=n: f"provision: create {n}@{DOMAIN}" in log_text(s), 60,
                       f"{n} created by the server")
        assert set(store_accounts(s)) == {f"q0{i}@{DOMAIN}" for i in (1, 2, 3)}
        samba_tool(samba, "user", "disable", "q02")
        wait_until(lambda: f"provision: disable q02@{DOMAIN}" in log_text(s), 60,
                   "q02 disabled by the server")
        expect_rcpt(s, f"q02@{DOMAIN}", 450, "4.2.1")
        # Each change once: later runs find nothing to do.
        wait_until(lambda: log_text(s).count("provision: run finished") >= 3, 60, "more runs")
        log = log_text(s)
        assert log.count(f"provision: create q01@{DOMAIN}") == 1
        assert log.count(f"provision: disable q02@{DOMAIN}") == 1
    finally:
        s.stop()
        samba_tool(samba, "user", "enable", "q02")


def test_check_config_reports_provision_keys(tmp_path):
    path = tmp_path / "tern.toml"
    path.write_text('[provision]\ninterval = "0s"\ngrace = "soon"\ndisabled_mail = "drop"\n'
                    'after_grace = "shred"\nfrequency = 1\n')
    r = subprocess.run([TERN_BIN, "check-config", "--config", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stdout.splitlines() + r.stderr.splitlines()
    for key in ["provision.interval", "provision.grace", "provision.disabled_mail",
                "provision.after_grace", "provision.frequency"]:
        assert any(line.startswith(f"{path}: {key}: ") for line in lines), (key, lines)
