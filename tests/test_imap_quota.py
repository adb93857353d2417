"""QUOTA (RFC 9208): GETQUOTAROOT / GETQUOTA responses with STORAGE in KiB, usage following
APPEND and EXPUNGE, SETQUOTA refused for users, and the per-user limit from `--quota`."""

import re

from harness import message, parse_sexp


def quota_root(c, mailbox="INBOX"):
    typ, data = c.getquotaroot(mailbox)
    assert typ == "OK", data
    roots, quotas = data
    return roots, quotas


def storage(quota_line):
    """`"" (STORAGE used limit)` → (root, used, limit)."""
    root, resources = parse_sexp(quota_line)
    kv = {str(resources[i]).upper(): (int(resources[i + 1]), int(resources[i + 2]))
          for i in range(0, len(resources), 3)}
    return root, kv


def test_getquotaroot_inbox(server):
    u = server.add_user(quota="1MB")
    c = server.imap(u)
    try:
        roots, quotas = quota_root(c)
        # `* QUOTAROOT INBOX ""`
        assert parse_sexp(roots[0]) == ["INBOX", b""], roots
        root, kv = storage(quotas[0])
        assert root == b""
        # 1MB = 1,000,000 octets = 976 KiB (RFC 9208 §5.1: units of 1024 octets).
        assert kv["STORAGE"] == (0, 976)
    finally:
        c.logout()


def test_usage_follows_append_and_expunge(server):
    u = server.add_user(quota="1MB")
    c = server.imap(u)
    try:
        msg = message("sized", "q" * 10_000)
        c.append("INBOX", None, None, msg)
        c.append("Archive", None, None, msg)
        _, kv = storage(quota_root(c)[1][0])
        used, limit = kv["STORAGE"]
        assert used in (2 * len(msg) // 1024, -(-2 * len(msg) // 1024)), (used, len(msg))
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        _, kv = storage(quota_root(c)[1][0])
        assert kv["STORAGE"][0] in (len(msg) // 1024, -(-len(msg) // 1024))
    finally:
        c.logout()


def test_getquota_root_name(server):
    u = server.add_user(quota="2MB")
    c = server.imap(u)
    try:
        typ, data = c.getquota('""')
        assert typ == "OK", data
        _, kv = storage(data[0])
        assert kv["STORAGE"] == (0, 2_000_000 // 1024)
        typ, data = c.getquota("no-such-root")
        assert typ == "NO", data
    finally:
        c.logout()


def test_every_mailbox_shares_the_account_root(server, user):
    c = server.imap(user)
    try:
        for mailbox in ("INBOX", "Sent", "Archive"):
            roots, _ = quota_root(c, mailbox)
            assert parse_sexp(roots[0])[1:] == [b""], roots
    finally:
        c.logout()


def test_default_quota_from_config(server, user):
    c = server.imap(user)
    try:
        _, kv = storage(quota_root(c)[1][0])
        # [quota] default = "200MB" in the test config.
        assert kv["STORAGE"][1] == 200_000_000 // 1024
    finally:
        c.logout()


def test_getquotaroot_missing_mailbox(raw):
    resp = raw.command("GETQUOTAROOT NoSuchBox")
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp


def test_setquota_is_refused_for_users(raw):
    resp = raw.command('SETQUOTA "" (STORAGE 1)')
    assert resp.status == "NO" and resp.code == "NOPERM", resp
    # The limit is unchanged.
    resp = raw.ok('GETQUOTA ""')
    assert re.search(rb"STORAGE \d+ %d\)" % (200_000_000 // 1024), resp.named("QUOTA")[0])


def test_status_deleted_storage_not_required_but_status_size_matches_usage(server):
    u = server.add_user(quota="1MB")
    c = server.imap(u)
    try:
        msg = message("s", "w" * 4096)
        c.append("INBOX", None, None, msg)
        typ, data = c.status("INBOX", "(SIZE)")
        assert int(parse_sexp(data[0])[1][1]) == len(msg)
        _, kv = storage(quota_root(c)[1][0])
        assert kv["STORAGE"][0] == -(-len(msg) // 1024) or kv["STORAGE"][0] == len(msg) // 1024
    finally:
        c.logout()


def test_shared_mailbox_has_no_quota_root_for_the_grantee(server):
    owner, grantee = server.add_user(), server.add_user()
    o, g = server.raw(owner), server.raw(grantee)
    try:
        o.ok(f"SETACL INBOX {grantee.address} lr")
        name = f'"Other Users/{owner.address}/INBOX"'
        resp = g.ok(f"GETQUOTAROOT {name}")
        (root_line,) = resp.named("QUOTAROOT")
        # Charged to the owner, whose quota is not the grantee's to see: no root listed.
        assert parse_sexp(root_line)[1:] == [], resp
        assert not resp.named("QUOTA"), resp
    finally:
        o.close()
        g.close()
