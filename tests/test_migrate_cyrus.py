"""`tern migrate` from the real Cyrus IMAP peer (IMAP 11143, POP3 11110, LMTP 11024).

Cyrus differs from Dovecot where a migration can go wrong: `/` as the delimiter with the
alternate namespace, special-use set by CREATE (USE (...)), its own UIDVALIDITY and POP3
UIDL scheme (`UIDVALIDITY.UID`), and administrators that act as a user through SASL PLAIN's
authorization identity. Both a user with their own password (erin) and the proxy-admin style
(ivan, authcid cyrus) are migrated and compared over imaplib and poplib."""

import imaplib

import pytest

from harness import TernServer, message
from migrate_support import (append, big_message, compare_trees, list_folders, lmtp_deliver,
                             migrate, pop3_uidls, q, raw_name, subscriptions, write_secret)
from peers import peer

IMAP, POP3, LMTP = 11143, 11110, 11024
SOURCE = f"imap://127.0.0.1:{IMAP}"
FOLDERS = ["INBOX", "Sent Items", "Work", "Work/2024", "Entwürfe", "Junk E-mail"]


@pytest.fixture(scope="module")
def cyrus():
    return peer("cyrus")


@pytest.fixture(scope="module")
def tern(tmp_path_factory):
    s = TernServer(str(tmp_path_factory.mktemp("tern-cyrus")),
                   services=("imap", "pop3", "lmtp")).start()
    yield s
    s.stop()


def login(user, password):
    c = imaplib.IMAP4("127.0.0.1", IMAP, timeout=60)
    c.login(user, password)
    return c


def populate(c, user):
    typ, data = c._simple_command("CREATE", q("Sent Items"), "(USE (\\Sent))")
    assert typ == "OK", data
    for name in FOLDERS[2:]:
        typ, data = c.create(q(raw_name(c, name, "/")))
        assert typ == "OK", (name, data)
    append(c, "INBOX", "(\\Seen)", '"05-Mar-2001 10:20:30 +0100"', message("old seen"))
    append(c, "INBOX", "(\\Flagged $Forwarded)", None, message("flagged forwarded"))
    append(c, "INBOX", None, None, message("to expunge"))
    append(c, "INBOX", "(\\Answered NonJunk)", '"01-Jun-2024 08:00:00 +0000"',
           message("answered keyword"))
    c.select("INBOX")
    c.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
    c.expunge()
    append(c, "Sent Items", "(\\Seen)", '"02-Feb-2020 12:00:00 +0200"', message("sent"))
    append(c, raw_name(c, "Work", "/"), None, None, big_message("attachment", 1_000_000))
    append(c, raw_name(c, "Work/2024", "/"), "(\\Seen \\Flagged)", None, message("nested"))
    append(c, raw_name(c, "Entwürfe", "/"), "(\\Draft)", None, message("Grüße"))
    append(c, raw_name(c, "Junk E-mail", "/"), None, None, message("spam"))
    for name in ["INBOX", "Work", "Entwürfe"]:
        c.subscribe(q(raw_name(c, name, "/")))
    lmtp_deliver(LMTP, user, message("via lmtp", "delivered by lmtpd\r\n"))


def check(user, password, tern, tern_user):
    s = login(user, password)
    t = tern.imap(tern_user)
    try:
        compare_trees(s, "/", t, FOLDERS)
        listed = list_folders(t)
        assert set(FOLDERS) <= set(listed), listed
        assert "\\sent" in listed["Sent Items"], listed  # CREATE (USE (\Sent)) on Cyrus
        assert "\\junk" in listed["Junk E-mail"], listed  # name heuristic
        assert sum("\\sent" in a for a in listed.values()) == 1, listed
        assert subscriptions(t) == subscriptions(s), (subscriptions(t), subscriptions(s))
    finally:
        s.logout()
        t.logout()


def test_cyrus_user_password_and_proxy_admin(cyrus, tern, tmp_path):
    c = login("erin", "Erin#Pass1")
    try:
        populate(c, "erin")
    finally:
        c.logout()
    # ivan's mailbox, populated by the admin acting as ivan (SASL PLAIN authzid).
    c = imaplib.IMAP4("127.0.0.1", IMAP, timeout=60)
    c.authenticate("PLAIN", lambda _: b"ivan\0cyrus\0Cyrus#Adm1")
    try:
        populate(c, "ivan")
    finally:
        c.logout()
    erin_uidls = pop3_uidls(POP3, "erin", "Erin#Pass1")
    ivan_uidls = pop3_uidls(POP3, "ivan", "Ivan#Pass1")
    assert len(erin_uidls) == 4 and len(ivan_uidls) == 4, (erin_uidls, ivan_uidls)
    assert all("." in u for u in erin_uidls), erin_uidls  # Cyrus: UIDVALIDITY.UID

    erin = tern.add_user("erin", password="Tern#Pass1")
    ivan = tern.add_user("ivan", password="Tern#Pass1")
    users = tmp_path / "users.csv"
    users.write_text("target_address,source_login,source_password\n"
                     f"{erin.address},erin,@erin.pass\n{ivan.address},ivan,\n")
    write_secret(tmp_path, "erin.pass", "Erin#Pass1")
    admin = write_secret(tmp_path, "admin.pass", "Cyrus#Adm1")
    args = ["--source", SOURCE, "--users", str(users), "--admin", "cyrus",
            "--admin-password-file", admin, "--admin-style", "cyrus-proxy", "--jobs", "2"]
    _, doc, _ = migrate(tern, *args)
    assert doc["ok"], doc
    for rep in doc["users"]:
        assert rep["profile"] == "cyrus", rep
        assert rep["messages"] == 9 and rep["errors"] == [], rep
        assert all(f["uids_preserved"] for f in rep["folder_details"]), rep
    check("erin", "Erin#Pass1", tern, erin)
    check("ivan", "Ivan#Pass1", tern, ivan)
    assert pop3_uidls(tern.port("pop3"), erin.address, erin.password) == erin_uidls
    assert pop3_uidls(tern.port("pop3"), ivan.address, ivan.password) == ivan_uidls

    # Incremental with --delete: a delivery, a flag change and an expunge on Cyrus.
    lmtp_deliver(LMTP, "erin", message("later", "after the first run\r\n"))
    c = login("erin", "Erin#Pass1")
    try:
        c.select("INBOX")
        c.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        c.expunge()
    finally:
        c.logout()
    _, doc, _ = migrate(tern, *args, "--delete")
    reps = {r["user"]: r for r in doc["users"]}
    assert (reps[erin.address]["messages"], reps[erin.address]["flags_updated"],
            reps[erin.address]["expunged"]) == (1, 1, 1), reps[erin.address]
    assert reps[ivan.address]["messages"] == 0 and reps[ivan.address]["unchanged_folders"] == 6
    check("erin", "Erin#Pass1", tern, erin)
    assert pop3_uidls(tern.port("pop3"), erin.address, erin.password) == \
        pop3_uidls(POP3, "erin", "Erin#Pass1")

    code, doc, _ = migrate(tern, *args, verify=True)
    assert code == 0 and all(r["differences"] == [] for r in doc["users"]), doc
    # A message removed on Tern only is reported by verify.
    t = tern.imap(ivan)
    try:
        t.select(q("Work"))
        t.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
        t.expunge()
    finally:
        t.logout()
    code, doc, _ = migrate(tern, *args, verify=True, check=False)
    reps = {r["user"]: r for r in doc["users"]}
    assert code == 1
    assert reps[erin.address]["differences"] == []
    assert reps[ivan.address]["differences"] == [
        "Work: 1 messages on the source, 0 on Tern", "Work: UID 1: missing on Tern"], reps
