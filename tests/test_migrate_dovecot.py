"""`tern migrate` from the real Dovecot peer (IMAP 10143, POP3 10110, LMTP 10024).

The source is populated with real clients (imaplib APPEND with flags, keywords and old
dates, LMTP delivery, nested and non-ASCII folders, "Sent Items", subscriptions, expunged
UIDs), then migrated; imaplib checks on Tern that every folder has the source's UIDVALIDITY,
UIDs, flags, INTERNALDATE and bytes (SHA-256), poplib that the POP3 UIDLs are Dovecot's own,
and an mbsync state synced against Dovecot re-syncs against Tern without downloading anything.
Then: incremental runs (new mail, flag changes, expunges with --delete, a folder re-created
with a new UIDVALIDITY), `migrate verify` finding a difference we introduce, the Dovecot
master-user login forms, a kill -9 mid-run that resumes to the same result, and a throughput
measurement beside mbsync's (printed, not asserted)."""

import imaplib
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from harness import TERN_BIN, message
from migrate_support import (append, big_message, compare_trees, list_folders, lmtp_deliver,
                             migrate, pop3_uidls, q, raw_name, snapshot, subscriptions,
                             write_secret)
from peers import peer

IMAP, POP3, LMTP = 10143, 10110, 10024
SOURCE = f"imap://127.0.0.1:{IMAP}"
MBSYNC = shutil.which("mbsync")

# Folders of the corpus ('/'-delimited, decoded); Dovecot's delimiter is '.'.
FOLDERS = ["INBOX", "Sent Items", "Work", "Work/2024", "Entwürfe", "Junk E-mail"]


@pytest.fixture(scope="module")
def dovecot():
    return peer("dovecot")


@pytest.fixture(scope="module")
def tern(tmp_path_factory):
    from harness import TernServer
    s = TernServer(str(tmp_path_factory.mktemp("tern-mig")),
                   services=("imap", "pop3", "lmtp")).start()
    yield s
    s.stop()


def src_login(user, password):
    c = imaplib.IMAP4("127.0.0.1", IMAP, timeout=60)
    c.login(user, password)
    return c


def populate(user, password):
    """A corpus with flags, keywords, dates, gaps, folders, subscriptions, a large message."""
    c = src_login(user, password)
    try:
        for name in FOLDERS[1:]:
            typ, data = c.create(q(raw_name(c, name, ".")))
            assert typ == "OK", (name, data)
        append(c, "INBOX", "(\\Seen)", '"05-Mar-2001 10:20:30 +0100"', message("old seen"))
        append(c, "INBOX", "(\\Flagged $Forwarded)", '"31-Dec-2015 23:59:59 -0800"',
               message("flagged forwarded"))
        append(c, "INBOX", None, None, message("to expunge 1"))
        append(c, "INBOX", "(\\Answered NonJunk)", '"01-Jun-2024 08:00:00 +0000"',
               message("answered keyword"))
        append(c, "INBOX", None, None, message("to expunge 2"))
        append(c, "INBOX", "(\\Draft)", None, message("draft", "unfinished\r\n"))
        c.select("INBOX")
        c.uid("STORE", "3,5", "+FLAGS", "(\\Deleted)")
        c.expunge()
        append(c, "Sent Items", "(\\Seen)", '"02-Feb-2020 12:00:00 +0200"', message("sent 1"))
        append(c, "Sent Items", "(\\Seen)", None, message("sent 2"))
        append(c, raw_name(c, "Work", "."), None, None, big_message("large attachment", 3_000_000))
        append(c, raw_name(c, "Work/2024", "."), "(\\Seen \\Flagged)", None, message("nested"))
        append(c, raw_name(c, "Entwürfe", "."), "(\\Draft)", None,
               message("Grüße", "Umlaute im Ordnernamen\r\n"))
        append(c, raw_name(c, "Junk E-mail", "."), "($Junk)", None, message("spam"))
        for name in ["INBOX", "Sent Items", "Work", "Entwürfe"]:
            c.subscribe(q(raw_name(c, name, ".")))
    finally:
        c.logout()
    # Mail delivered by the MTA path, not only APPENDed.
    lmtp_deliver(LMTP, user, message("via lmtp 1", "delivered\r\n"))
    lmtp_deliver(LMTP, user, message("via lmtp 2", "delivered too\r\n"))


def check_same(user, password, tern_user, tern, folders=FOLDERS):
    s = src_login(user, password)
    t = tern.imap(tern_user)
    try:
        compare_trees(s, ".", t, folders)
    finally:
        s.logout()
        t.logout()


def mbsyncrc(path, local, host_port, user, password, folders):
    host, port = host_port
    os.makedirs(local, exist_ok=True)
    pats = " ".join(f'"{f}"' for f in folders)
    with open(path, "w") as f:
        f.write(f"""IMAPAccount acct
Host {host}
Port {port}
User {user}
Pass "{password}"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account acct

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns {pats}
Create Near
Sync Pull
SyncState *
""")


def run_mbsync(conf):
    res = subprocess.run([MBSYNC, "-c", conf, "-V", "sync"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=300)
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out[-4000:]
    return out


def local_files(local):
    out = set()
    for root, _, files in os.walk(local):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), local)
            if f.startswith(".") or "tmp" in rel.split(os.sep)[:-1]:
                continue
            out.add(rel)
    return out


def test_migrate_dovecot_keeps_uids_uidls_and_mbsync_state(dovecot, tern, tmp_path):
    user, password = "frank@example.test", "Frank#Pass1"
    populate(user, password)
    uidls_before = pop3_uidls(POP3, user, password)
    assert len(uidls_before) == 6  # 4 appended survivors + 2 LMTP

    # An mbsync state synced against Dovecot before the migration.
    local = str(tmp_path / "mbsync")
    conf = str(tmp_path / "mbsyncrc")
    synced = ["INBOX", "Sent Items", "Work"]
    if MBSYNC:
        mbsyncrc(conf, local, ("127.0.0.1", IMAP), user, password, synced)
        run_mbsync(conf)
        files_before = local_files(local)
        assert len(files_before) == 6 + 2 + 1, files_before

    tern.add_user("frank", password="Tern#Pass1")
    tern_user = type("U", (), {"address": user, "password": "Tern#Pass1"})
    secret = write_secret(tmp_path, "frank.pass", password)
    _, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                        "--source-password-file", secret)
    rep = doc["users"][0]
    assert doc["ok"] and rep["errors"] == [], rep
    assert rep["profile"] == "dovecot"
    assert rep["messages"] == 12, rep
    assert rep["folders"] == len(FOLDERS)
    assert all(f["uids_preserved"] for f in rep["folder_details"]), rep["folder_details"]

    check_same(user, password, tern_user, tern)

    t = tern.imap(tern_user)
    try:
        listed = list_folders(t)
        assert set(FOLDERS) <= set(listed), listed
        # Only Tern's own defaults may be added (Drafts, Archive; not a second Sent/Junk).
        assert set(listed) - set(FOLDERS) <= {"Drafts", "Archive", "Trash"}, listed
        assert "\\sent" in listed["Sent Items"], listed  # announced by Dovecot (SPECIAL-USE)
        assert "\\trash" not in listed["Sent Items"]
        assert "\\junk" in listed["Junk E-mail"], listed  # from the name heuristic
        assert sum("\\sent" in a for a in listed.values()) == 1, listed
        assert subscriptions(t) == {"INBOX", "Sent Items", "Work", "Entwürfe"}
    finally:
        t.logout()

    # POP3 clients see the same UIDLs: nothing to download again.
    assert pop3_uidls(tern.port("pop3"), user, "Tern#Pass1") == uidls_before

    # The strongest no-re-download check: mbsync's state, pointed at Tern.
    if MBSYNC:
        mbsyncrc(conf, local, ("127.0.0.1", tern.port("imap")), user, "Tern#Pass1", synced)
        out = run_mbsync(conf)
        assert local_files(local) == files_before, out[-3000:]
        assert "UIDVALIDITY" not in out, out[-3000:]

    # A second run with nothing new copies nothing (CONDSTORE skips unchanged folders).
    _, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                        "--source-password-file", secret)
    rep = doc["users"][0]
    assert (rep["messages"], rep["flags_updated"], rep["expunged"]) == (0, 0, 0), rep
    assert rep["unchanged_folders"] == len(FOLDERS), rep

    # Incremental: new mail, flag changes, an expunge; then --delete.
    c = src_login(user, password)
    try:
        append(c, "INBOX", "(\\Seen)", None, message("new after first run"))
        lmtp_deliver(LMTP, user, message("new lmtp after first run"))
        c.select("INBOX")
        c.uid("STORE", "1", "+FLAGS", "(\\Answered $Label1)")
        c.uid("STORE", "2", "-FLAGS", "(\\Flagged)")
        c.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        c.expunge()
        # Work/2024 re-created: a new UIDVALIDITY.
        c.delete(q(raw_name(c, "Work/2024", ".")))
        c.create(q(raw_name(c, "Work/2024", ".")))
        append(c, raw_name(c, "Work/2024", "."), None, None, message("recreated"))
    finally:
        c.logout()
    _, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                        "--source-password-file", secret)
    rep = doc["users"][0]
    assert rep["messages"] == 3, rep  # 2 new in INBOX + 1 in the re-created folder
    assert rep["flags_updated"] == 2, rep
    assert rep["gone_on_source"] == 1 and rep["expunged"] == 0, rep
    assert rep["uidvalidity_resets"] == 1, rep
    _, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                        "--source-password-file", secret, "--delete")
    rep = doc["users"][0]
    assert (rep["messages"], rep["expunged"]) == (0, 1), rep
    check_same(user, password, tern_user, tern)
    assert pop3_uidls(tern.port("pop3"), user, "Tern#Pass1") == pop3_uidls(POP3, user, password)

    # verify: clean, then a difference we make on Tern is reported exactly.
    code, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                           "--source-password-file", secret, verify=True)
    assert code == 0 and doc["users"][0]["differences"] == [], doc
    assert doc["users"][0]["messages"] == 13
    t = tern.imap(tern_user)
    try:
        t.select(q("Sent Items"))
        t.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
    finally:
        t.logout()
    code, doc, _ = migrate(tern, "--source", SOURCE, "--user", user,
                           "--source-password-file", secret, verify=True, check=False)
    assert code == 1, doc
    diffs = doc["users"][0]["differences"]
    assert diffs == ["Sent Items: UID 1: flags source (\\Seen) Tern (\\Seen \\Flagged)"], diffs
    res = subprocess.run([TERN_BIN, "--config", tern.config_path, "migrate", "verify",
                          "--source", SOURCE, "--user", user, "--source-password-file", secret],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert res.returncode == 1
    assert b"differs: Sent Items: UID 1: flags" in res.stdout, res.stdout


def migrate_db_rows(tern, account):
    path = os.path.join(tern.data_dir, "migrate.db")
    if not os.path.exists(path):
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT count(*) FROM messages JOIN folders ON folders.id = folder"
                              " WHERE account = ?", (account,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_master_user_and_resume_after_kill(dovecot, tern, tmp_path):
    user = "gina@example.test"
    c = src_login(user, "Gina#Pass1")
    try:
        for i in range(40):
            append(c, "INBOX", "(\\Seen)" if i % 3 else None, None,
                   message(f"bulk {i}", f"message number {i}\r\n"))
    finally:
        c.logout()
    tern.add_user("gina", password="Tern#Pass1")
    master = write_secret(tmp_path, "master.pass", "Master#Pass1")
    args = ["--source", SOURCE, "--user", user, "--admin", "migrator",
            "--admin-password-file", master]
    # Dovecot's master-user login (user*migrator), slowed down and killed mid-run.
    proc = subprocess.Popen([TERN_BIN, "--config", tern.config_path, "migrate", *args,
                             "--admin-style", "dovecot-master", "--rate", "20", "--batch", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while migrate_db_rows(tern, user) < 10 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.kill()
    proc.wait()
    done = migrate_db_rows(tern, user)
    assert 10 <= done < 40, done
    # The resumed run (SASL PLAIN authzid=gina, authcid=migrator) copies only the rest.
    _, doc, _ = migrate(tern, *args, "--admin-style", "plain-authzid")
    rep = doc["users"][0]
    assert rep["errors"] == [], rep
    assert rep["messages"] <= 40 - done + 5, (rep, done)  # at most one uncommitted batch again
    tern_user = type("U", (), {"address": user, "password": "Tern#Pass1"})
    check_same(user, "Gina#Pass1", tern_user, tern, ["INBOX"])
    t = tern.imap(tern_user)
    try:
        assert len(snapshot(t, "INBOX")[1]) == 40
    finally:
        t.logout()
    code, doc, _ = migrate(tern, *args, verify=True)
    assert code == 0 and doc["users"][0]["differences"] == [], doc
    # A wrong admin password is an error in the report and exit 1, nothing else.
    bad = write_secret(tmp_path, "bad.pass", "nope")
    code, doc, _ = migrate(tern, "--source", SOURCE, "--user", user, "--admin", "migrator",
                           "--admin-password-file", bad, check=False)
    assert code == 1 and "login" in doc["users"][0]["errors"][0], doc


def test_throughput_against_mbsync(dovecot, tern, tmp_path):
    """Messages per second of `tern migrate` and of mbsync from the same Dovecot (report)."""
    user, password, n = "hank@example.test", "Hank#Pass1", 300
    c = src_login(user, password)
    try:
        for i in range(n):
            append(c, "INBOX", None, None, message(f"t{i}", ("line of text\r\n" * 40)))
    finally:
        c.logout()
    tern.add_user("hank", password="Tern#Pass1")
    users = tmp_path / "users.csv"
    users.write_text(f"target_address,source_login,source_password\n{user},{user},{password}\n")
    t0 = time.time()
    _, doc, _ = migrate(tern, "--source", SOURCE, "--users", str(users))
    tern_s = time.time() - t0
    assert doc["users"][0]["messages"] == n
    line = f"tern migrate: {n} messages in {tern_s:.2f}s = {n / tern_s:.0f} msg/s"
    if MBSYNC:
        conf, local = str(tmp_path / "rc"), str(tmp_path / "mb")
        mbsyncrc(conf, local, ("127.0.0.1", IMAP), user, password, ["INBOX"])
        t0 = time.time()
        run_mbsync(conf)
        mb_s = time.time() - t0
        assert len(local_files(local)) == n
        line += f"; mbsync: {n / mb_s:.0f} msg/s ({mb_s:.2f}s)"
    print("\nTHROUGHPUT " + line)
