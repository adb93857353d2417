"""Migration mode against the real Dovecot peer (IMAP 10143, POP3 10110, LMTP 10024).

Tern is configured with `[migration]`: users not cut over are relayed to Dovecot (IMAP and
POP3, after Tern authenticated them) and their mail goes through Tern's queue into
Dovecot's LMTP. Checked with imaplib, poplib, smtplib and mbsync:

- a not-yet-cut-over user logging in to Tern sees the Dovecot mailbox (same UIDVALIDITY,
  UIDs, bytes), over IMAP and POP3 (same UIDLs); mail sent to them through Tern's LMTP and
  SMTP MX lands in Dovecot;
- `tern migrate` then `tern migrate cutover`: a relayed session open during the cutover is
  closed, the next login is served by Tern with the same UIDs, new mail stays on Tern; an
  mbsync channel that synced *through Tern* before the cutover downloads nothing after it;
- `tern migrate rollback` relays the user to Dovecot again;
- a user being moved gets `NO [UNAVAILABLE]` / `-ERR [SYS/TEMP]`, and mail for them waits in
  the queue; mail queued for the legacy server while it was unreachable is delivered into
  Tern when the user was cut over meanwhile.
"""

import imaplib
import os
import poplib
import shutil
import smtplib
import sqlite3
import subprocess
import time

import pytest

from harness import TernServer, message
from migrate_support import lmtp_deliver, migrate, q, snapshot, write_secret
from peers import peer

IMAP, POP3, LMTP = 10143, 10110, 10024
MBSYNC = shutil.which("mbsync")


def migration_config(secret, delivery=f"lmtp://127.0.0.1:{LMTP}"):
    return (
        "[migration]\n"
        f'legacy_imap = "imap://127.0.0.1:{IMAP}"\n'
        f'legacy_pop3 = "pop3://127.0.0.1:{POP3}"\n'
        f'legacy_delivery = "{delivery}"\n'
        'legacy_admin = "migrator"\n'
        f'legacy_admin_password_file = "{secret}"\n'
        '[outbound]\nretry_base = "1s"\nretry_max = "2s"\n'
    )


@pytest.fixture(scope="module")
def dovecot():
    return peer("dovecot")


@pytest.fixture(scope="module")
def tern(dovecot, tmp_path_factory):
    base = tmp_path_factory.mktemp("cutover")
    secret = write_secret(base, "master.pass", "Master#Pass1")
    s = TernServer(str(base / "srv"), services=("imap", "pop3", "lmtp", "smtp"),
                   extra_config=migration_config(secret)).start()
    yield s
    s.stop()


def dovecot_imap(user, password):
    c = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
    c.login(user, password)
    return c


def tern_imap(tern, user, password):
    c = imaplib.IMAP4("127.0.0.1", tern.port("imap"), timeout=30)
    c.login(user, password)
    return c


def count(c, folder="INBOX"):
    typ, data = c.select(q(folder), readonly=True)
    assert typ == "OK", data
    return int(data[0])


def subjects(c, folder="INBOX"):
    n = count(c, folder)
    if n == 0:
        return []
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    return sorted(item[1].decode().strip() for item in data if isinstance(item, tuple))


def wait_for(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def homes(tern):
    res = tern.cli("migrate", "status", "--json")
    import json
    return json.loads(res.stdout)


def seed(user, password, n, prefix):
    c = dovecot_imap(user, password)
    for i in range(n):
        typ, _ = c.append("INBOX", "(\\Seen)" if i % 2 else "()",
                          imaplib.Time2Internaldate(1_600_000_000 + i * 3600),
                          message(f"{prefix} {i}"))
        assert typ == "OK"
    c.logout()


def test_relayed_user_sees_the_legacy_mailbox_and_gets_mail_there(tern):
    user, password = "ivy@example.test", "Ivy#Pass1"
    tern.cli("user", "add", user, "--password-stdin", input=password + "\n")
    seed(user, password, 3, "ivy old")
    src = dovecot_imap(user, password)
    before = snapshot(src, "INBOX")

    # IMAP through Tern: Dovecot's mailbox, exactly (UIDVALIDITY, UIDs, flags, bytes).
    c = imaplib.IMAP4("127.0.0.1", tern.port("imap"), timeout=30)
    typ, data = c.login(user, password)
    assert typ == "OK", data
    assert snapshot(c, "INBOX") == before
    typ, names = c.list()
    assert typ == "OK"
    c.logout()

    # A wrong password never reaches Dovecot: Tern refuses it itself.
    bad = imaplib.IMAP4("127.0.0.1", tern.port("imap"), timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        bad.login(user, "wrong")

    # POP3 through Tern: Dovecot's UIDLs.
    p = poplib.POP3("127.0.0.1", tern.port("pop3"), timeout=30)
    p.user(user)
    assert p.pass_(password).startswith(b"+OK")
    relayed_uidls = sorted(line.split()[1] for line in p.uidl()[1])
    p.quit()
    d = poplib.POP3("127.0.0.1", POP3, timeout=30)
    d.user(user)
    d.pass_(password)
    assert relayed_uidls == sorted(line.split()[1] for line in d.uidl()[1])
    d.quit()

    # Mail for the user through Tern's LMTP and SMTP MX lands in Dovecot.
    lmtp_deliver(tern.port("lmtp"), user, message("ivy via lmtp"))
    with smtplib.SMTP("127.0.0.1", tern.port("smtp"), timeout=30) as s:
        s.ehlo("client.example.test")
        assert s.sendmail("someone@elsewhere.test", [user], message("ivy via mx")) == {}
    wait_for(lambda: {"Subject: ivy via lmtp", "Subject: ivy via mx"}
             <= set(subjects(dovecot_imap(user, password))), "delivery into Dovecot")
    # ...and not into Tern's own store.
    assert homes(tern)["users"] == [] or all(
        r["account"] != user for r in homes(tern)["users"])


def test_cutover_moves_the_user_and_rollback_relays_again(tern, tmp_path):
    user, password = "jack@example.test", "Jack#Pass1"
    tern.cli("user", "add", user, "--password-stdin", input=password + "\n")
    seed(user, password, 4, "jack old")
    secret = write_secret(tmp_path, "jack.pass", password)

    # An mbsync channel synced through Tern (relayed to Dovecot) before the cutover.
    mbsync_dir = tmp_path / "mbsync"
    if MBSYNC:
        mbsync_sync(mbsync_dir, tern.port("imap"), user, password)
        fetched_before = mbsync_files(mbsync_dir)
        assert len(fetched_before) == 4

    rc, doc, err = migrate(tern, "--source", f"imap://127.0.0.1:{IMAP}", "--user", user,
                           "--source-password-file", secret)
    assert doc["ok"], doc

    # A relayed session open across the cutover is closed by it.
    held = tern_imap(tern, user, password)
    assert count(held) == 4
    res = tern.cli("migrate", "cutover", "--user", user, "--source-password-file", secret,
                   "--json")
    import json
    out = json.loads(res.stdout)
    assert out["ok"] and out["users"][0]["home"] == "local", out
    with pytest.raises((imaplib.IMAP4.abort, OSError, EOFError)):
        held.noop()
        held.select("INBOX")

    assert {r["account"]: r["home"] for r in homes(tern)["users"]}[user] == "local"
    # Served by Tern now: same UIDVALIDITY, UIDs, flags, bytes as Dovecot had.
    src = dovecot_imap(user, password)
    local = tern_imap(tern, user, password)
    assert snapshot(local, "INBOX") == snapshot(src, "INBOX")
    typ, caps = local.capability()
    assert b"Dovecot" not in b" ".join(caps)

    # New mail stays on Tern; Dovecot no longer gets it.
    lmtp_deliver(tern.port("lmtp"), user, message("jack after cutover"))
    assert "Subject: jack after cutover" in subjects(local)
    assert "Subject: jack after cutover" not in subjects(src)

    # The mbsync channel made through the relay downloads nothing again from Tern.
    if MBSYNC:
        new = mbsync_sync(mbsync_dir, tern.port("imap"), user, password)
        files = mbsync_files(mbsync_dir)
        assert fetched_before <= files and len(files - fetched_before) == 1, (new, files)

    # Rollback: refused while Tern holds mail Dovecot lacks, unless forced; then relayed to
    # Dovecot again (Dovecot's mailbox, without the Tern-only message).
    res = tern.cli("migrate", "rollback", "--user", user, check=False)
    assert res.returncode == 1 and b"1 messages" in res.stderr, res
    assert {r["account"]: r["home"] for r in homes(tern)["users"]}[user] == "local"
    res = tern.cli("migrate", "rollback", "--user", user, "--force")
    assert b"back on the legacy server" in res.stdout
    again = tern_imap(tern, user, password)
    assert "Subject: jack after cutover" not in subjects(again)
    assert count(again) == 4


def test_cutover_all_stops_at_a_reused_uid(tern):
    """`tern migrate cutover --all` picks every user a migration copied who is not on Tern
    (jack, rolled back above with a message that stayed on Tern as UID 5) and logs in as the
    `[migration]` administrator. Dovecot has since given UID 5 to new mail: copying it would
    make UID 5 name two messages, so the cutover stops and jack stays on Dovecot."""
    import json
    user, password = "jack@example.test", "Jack#Pass1"
    assert {r["account"]: r["home"] for r in homes(tern)["users"]}[user] == "legacy"
    src = dovecot_imap(user, password)
    assert src.append("INBOX", "()", None, message("jack while rolled back"))[0] == "OK"
    res = tern.cli("migrate", "cutover", "--all", "--json", check=False)
    out = json.loads(res.stdout)
    assert res.returncode == 1 and not out["ok"], out
    (moved,) = out["users"]
    assert moved["user"] == user and moved["home"] == "legacy", moved
    assert "source UID 5 is already a different message on Tern" in moved["error"], moved
    assert {r["account"]: r["home"] for r in homes(tern)["users"]}[user] == "legacy"
    # Still relayed to Dovecot, which has the new message.
    assert "Subject: jack while rolled back" in subjects(tern_imap(tern, user, password))


def test_moving_user_waits_and_queued_mail_follows_the_cutover(dovecot, tmp_path):
    """Legacy delivery unreachable (port 9): mail waits in the queue; the user is marked
    moving (logins refused with a temporary error), then local: the queue delivers the
    waiting message into Tern."""
    user, password = "kim@example.test", "Kim#Pass1"
    secret = write_secret(tmp_path, "master.pass", "Master#Pass1")
    s = TernServer(str(tmp_path / "srv"), services=("imap", "pop3", "lmtp"),
                   extra_config=migration_config(secret, "lmtp://127.0.0.1:9")).start()
    try:
        s.cli("user", "add", user, "--password-stdin", input=password + "\n")
        lmtp_deliver(s.port("lmtp"), user, message("kim queued"))
        queued = s.cli("queue", "list", "--json").stdout.decode()
        assert user in queued

        db = os.path.join(s.data_dir, "migrate.db")
        set_home(db, user, "moving")
        c = imaplib.IMAP4("127.0.0.1", s.port("imap"), timeout=30)
        with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
            c.login(user, password)
        p = poplib.POP3("127.0.0.1", s.port("pop3"), timeout=30)
        p.user(user)
        with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
            p.pass_(password)

        set_home(db, user, "local")
        s.cli("queue", "retry", "--all")
        local = wait_for(lambda: try_login(s, user, password), "local login")
        wait_for(lambda: "Subject: kim queued" in subjects(local), "queued mail in Tern")
        assert "Subject: kim queued" not in subjects(dovecot_imap(user, password))
    finally:
        s.stop()


def try_login(s, user, password):
    try:
        return tern_imap(s, user, password)
    except imaplib.IMAP4.error:
        return None


def set_home(db, account, home):
    """What `tern migrate cutover` writes, done by hand to hold a user in one state; returns
    once the running server has acknowledged the change (its row in `servers`)."""
    con = sqlite3.connect(db, timeout=10)
    with con:
        con.execute("UPDATE home_generation SET value = value + 1 WHERE id = 1")
        g = con.execute("SELECT value FROM home_generation WHERE id = 1").fetchone()[0]
        con.execute("INSERT INTO homes (account, home, generation, changed_at) "
                    "VALUES (?, ?, ?, 0) ON CONFLICT(account) DO UPDATE SET home = ?, "
                    "generation = ?", (account, home, g, home, g))
    wait_for(lambda: con.execute("SELECT min(seen_generation) FROM servers").fetchone()[0] >= g,
             f"the server applying generation {g}")
    con.close()


def mbsync_sync(base, port, user, password):
    local = base / "local"
    local.mkdir(parents=True, exist_ok=True)
    conf = base / "mbsyncrc"
    conf.write_text(f"""IMAPAccount t
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account t

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel c
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    res = subprocess.run([MBSYNC, "-c", str(conf), "-V", "c"], capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res.stdout.decode(errors="replace")


def mbsync_files(base):
    out = set()
    for sub in ("cur", "new"):
        d = base / "local" / "INBOX" / sub
        if d.exists():
            out |= {name.split(",")[0] for name in os.listdir(d)}
    return out


@pytest.mark.parametrize("admin_password,works", [("Master#Pass1", True), ("wrong", False)])
def test_relay_as_the_legacy_administrator(dovecot, tmp_path, admin_password, works):
    """`legacy_prefer_admin`: the relay logs in as Dovecot's master user on the user's
    behalf (SASL PLAIN authzid=user); a refused administrator is `NO [UNAVAILABLE]`, never
    an authentication failure of the user's own (they proved their password to Tern)."""
    user, password = "ivy@example.test", "Ivy#Pass1"
    secret = write_secret(tmp_path, "master.pass", admin_password)
    config = migration_config(secret).replace(
        "[migration]\n", "[migration]\nlegacy_prefer_admin = true\n")
    s = TernServer(str(tmp_path / "srv"), services=("imap",), extra_config=config).start()
    try:
        s.cli("user", "add", user, "--password-stdin", input=password + "\n")
        c = imaplib.IMAP4("127.0.0.1", s.port("imap"), timeout=30)
        if works:
            c.login(user, password)
            assert count(c) == count(dovecot_imap(user, password))
            c.logout()
        else:
            with pytest.raises(imaplib.IMAP4.error, match=r"\[UNAVAILABLE\]"):
                c.login(user, password)
    finally:
        s.stop()


CYRUS_IMAP, CYRUS_POP3, CYRUS_LMTP = 11143, 11110, 11024


def test_cyrus_as_the_legacy_server(tmp_path):
    """The same against the real Cyrus, which knows users by their local part
    (`legacy_strip_domain`) and lets its admin in on a user's behalf (`cyrus-proxy`): the
    relayed IMAP and POP3 sessions show Cyrus's mailbox, mail through Tern's LMTP lands in
    Cyrus (RCPT `lena`), and `tern migrate cutover` with the configured administrator moves
    the user with the same UIDs."""
    peer("cyrus")
    user, password = "lena@example.test", "Lena#Pass1"
    secret = write_secret(tmp_path, "cyrus.pass", "Cyrus#Adm1")
    config = (
        "[migration]\n"
        f'legacy_imap = "imap://127.0.0.1:{CYRUS_IMAP}"\n'
        f'legacy_pop3 = "pop3://127.0.0.1:{CYRUS_POP3}"\n'
        f'legacy_delivery = "lmtp://127.0.0.1:{CYRUS_LMTP}"\n'
        'legacy_admin = "cyrus"\n'
        f'legacy_admin_password_file = "{secret}"\n'
        'legacy_admin_style = "cyrus-proxy"\n'
        "legacy_strip_domain = true\n"
        '[outbound]\nretry_base = "1s"\nretry_max = "2s"\n'
    )
    s = TernServer(str(tmp_path / "srv"), services=("imap", "pop3", "lmtp"),
                   extra_config=config).start()
    try:
        s.cli("user", "add", user, "--password-stdin", input=password + "\n")
        src = imaplib.IMAP4("127.0.0.1", CYRUS_IMAP, timeout=30)
        src.login("lena", password)
        for i in range(3):
            assert src.append("INBOX", "()", imaplib.Time2Internaldate(1_600_000_000 + i),
                              message(f"lena old {i}"))[0] == "OK"
        before = snapshot(src, "INBOX")

        relayed = tern_imap(s, user, password)
        assert snapshot(relayed, "INBOX") == before
        relayed.logout()
        p = poplib.POP3("127.0.0.1", s.port("pop3"), timeout=30)
        p.user(user)
        p.pass_(password)
        assert len(p.uidl()[1]) == 3
        p.quit()

        lmtp_deliver(s.port("lmtp"), user, message("lena via tern"))
        wait_for(lambda: "Subject: lena via tern" in subjects(src), "delivery into Cyrus")
        before = snapshot(src, "INBOX")

        res = s.cli("migrate", "cutover", "--user", user, "--json")
        import json
        out = json.loads(res.stdout)
        assert out["ok"], out
        local = tern_imap(s, user, password)
        assert snapshot(local, "INBOX") == before
        lmtp_deliver(s.port("lmtp"), user, message("lena after cutover"))
        assert "Subject: lena after cutover" in subjects(local)
        assert "Subject: lena after cutover" not in subjects(src)
    finally:
        s.stop()
