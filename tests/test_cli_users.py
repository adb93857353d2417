"""The operator contract for accounts (DESIGN.md): `tern user add|list --json|passwd|del|quota`
and aliases, each checked through what a client then sees while `tern serve` runs."""

import json

from harness import DOMAIN, quote, status


def login_status(server, address, password):
    r = server.raw()
    try:
        resp = r.command(f"LOGIN {quote(address)} {quote(password)}")
        return resp.status, resp.code
    finally:
        r.close()


def users(server):
    res = server.cli("user", "list", "--json")
    data = json.loads(res.stdout)
    assert isinstance(data, list)
    return {u["address"]: u for u in data}


def test_user_add_and_list_json(server):
    u = server.add_user(quota="5MB")
    listed = users(server)
    assert u.address in listed
    entry = listed[u.address]
    assert entry["quota_bytes"] == 5_000_000
    assert entry["enabled"] is True


def test_user_add_twice_fails(server):
    u = server.add_user()
    res = server.cli("user", "add", u.address, "--password-stdin", input="x\n", check=False)
    assert res.returncode != 0
    assert res.stderr.strip()


def test_default_quota_in_list(server):
    u = server.add_user()
    assert users(server)[u.address]["quota_bytes"] == 200_000_000


def test_new_user_can_log_in_at_once_and_has_default_folders(server):
    u = server.add_user()
    c = server.imap(u)
    try:
        for mailbox in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
            assert status(c, mailbox)["MESSAGES"] == 0
    finally:
        c.logout()


def test_passwd(server):
    u = server.add_user()
    server.cli("user", "passwd", u.address, "--password-stdin", input="N3w-pass-word\n")
    assert login_status(server, u.address, u.password) == ("NO", "AUTHENTICATIONFAILED")
    assert login_status(server, u.address, "N3w-pass-word")[0] == "OK"


def test_del(server):
    u = server.add_user()
    assert login_status(server, u.address, u.password)[0] == "OK"
    server.cli("user", "del", u.address)
    assert u.address not in users(server)
    assert login_status(server, u.address, u.password) == ("NO", "AUTHENTICATIONFAILED")
    code, text = server.deliver([u.address], b"Subject: x\r\n\r\ny\r\n")[u.address]
    assert code == 550 and text.startswith(b"5.1.1")


def test_del_then_add_starts_empty(server):
    u = server.add_user()
    c = server.imap(u)
    c.append("INBOX", None, None, b"Subject: old\r\n\r\nold\r\n")
    c.logout()
    server.cli("user", "del", u.address)
    server.cli("user", "add", u.address, "--password-stdin", input=u.password + "\n")
    c = server.imap(u)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 0
    finally:
        c.logout()


def test_alias_delivers_and_logs_in(server):
    u = server.add_user()
    alias = f"alias-{u.address.split('@')[0]}@{DOMAIN}"
    server.cli("user", "alias", "add", alias, u.address)
    code, _ = server.deliver([alias], b"Subject: to alias\r\n\r\nhi\r\n")[alias]
    assert code == 250
    c = server.imap(u)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 1
    finally:
        c.logout()
    # One login = one account, whichever address is typed (DESIGN.md).
    assert login_status(server, alias, u.password)[0] == "OK"


def test_quota_change_is_seen_by_new_sessions(server):
    u = server.add_user(quota="1MB")
    server.cli("user", "quota", u.address, "3MB")
    assert users(server)[u.address]["quota_bytes"] == 3_000_000
    c = server.imap(u)
    try:
        typ, data = c.getquotaroot("INBOX")
        assert typ == "OK"
        assert b"STORAGE 0 %d" % (3_000_000 // 1024) in data[1][0], data
    finally:
        c.logout()
