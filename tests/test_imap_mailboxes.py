"""Mailbox management: default folders and SPECIAL-USE (RFC 6154), CREATE (with
CREATE-SPECIAL-USE), RENAME, DELETE, SUBSCRIBE/UNSUBSCRIBE/LSUB, LIST-EXTENDED (RFC 5258),
LIST-STATUS (RFC 5819), STATUS incl. SIZE (RFC 8438), CHILDREN (RFC 3348), and mailbox-name
encoding: modified UTF-7 (RFC 3501 §5.1.3) and UTF8=ACCEPT (RFC 6855)."""

import pytest

from harness import Literal, message, mutf7, parse_sexp, quote, status


def list_entries(resp_or_data):
    """LIST responses → {name(str): (attributes(set of upper str), delimiter, extra)}."""
    out = {}
    for item in resp_or_data:
        parsed = parse_sexp(item)
        attrs, delim, name = parsed[0], parsed[1], parsed[2]
        name = name.decode("utf-8") if isinstance(name, bytes) else str(name)
        out[name] = ({str(a).upper() for a in attrs}, delim, parsed[3:] if len(parsed) > 3 else None)
    return out


def raw_list(r, args):
    return list_entries(r.ok(f"LIST {args}").named("LIST"))


DEFAULTS = {
    "INBOX": None,
    "Sent": "\\SENT",
    "Drafts": "\\DRAFTS",
    "Trash": "\\TRASH",
    "Junk": "\\JUNK",
    "Archive": "\\ARCHIVE",
}


def test_new_account_has_default_folders_with_special_use(raw):
    entries = raw_list(raw, '"" "*" RETURN (SPECIAL-USE)')
    for name, use in DEFAULTS.items():
        assert name in entries, entries
        attrs, delim, _ = entries[name]
        assert delim == b"/"
        if use:
            assert use in attrs, (name, attrs)


def test_list_select_special_use(raw):
    # RFC 6154 §3: the SPECIAL-USE selection option returns only mailboxes with a role.
    entries = raw_list(raw, '(SPECIAL-USE) "" "*"')
    assert set(entries) == {n for n, u in DEFAULTS.items() if u}, entries
    for name, use in DEFAULTS.items():
        if use:
            assert use in entries[name][0]


def test_plain_list_of_rfc3501_clients(imap):
    typ, data = imap.list()
    assert typ == "OK"
    names = set(list_entries(data))
    assert set(DEFAULTS) <= names


def test_list_percent_and_reference(imap):
    assert imap.create("Projects/2026")[0] == "OK"
    typ, data = imap.list('""', "%")
    names = set(list_entries(data))
    assert "Projects" in names and "Projects/2026" not in names
    typ, data = imap.list("Projects/", "%")
    assert set(list_entries(data)) == {"Projects/2026"}


def test_list_empty_pattern_returns_delimiter(raw):
    resp = raw.ok('LIST "" ""')
    entries = resp.named("LIST")
    assert len(entries) == 1
    parsed = parse_sexp(entries[0])
    # RFC 9051 §6.3.9: `* LIST (\Noselect) "/" ""`.
    assert parsed[1] == b"/" and parsed[2] == b""


def test_create_makes_parents_and_children_attributes(raw):
    raw.ok('CREATE "Projects/2026/Q1"')
    entries = raw_list(raw, '"" "Projects*" RETURN (CHILDREN)')
    assert {"Projects", "Projects/2026", "Projects/2026/Q1"} <= set(entries)
    assert "\\HASCHILDREN" in entries["Projects"][0]
    assert "\\HASNOCHILDREN" in entries["Projects/2026/Q1"][0]


def test_create_existing_and_inbox(raw):
    raw.ok("CREATE Work")
    resp = raw.command("CREATE Work")
    assert resp.status == "NO" and resp.code == "ALREADYEXISTS", resp
    resp = raw.command("CREATE INBOX")
    assert resp.status == "NO", resp
    resp = raw.command("CREATE inbox")
    assert resp.status == "NO", resp


def test_create_trailing_delimiter(raw):
    # RFC 9051 §6.3.4: a trailing delimiter says the client intends to create children.
    raw.ok('CREATE "Parent/"')
    assert "Parent" in raw_list(raw, '"" "Parent"')


def test_create_special_use(raw):
    resp = raw.command("CREATE Important (USE (\\Important))")
    assert resp.status == "OK", resp
    entries = raw_list(raw, '"" "Important" RETURN (SPECIAL-USE)')
    assert "\\IMPORTANT" in entries["Important"][0]


def test_create_special_use_unknown_attribute(raw):
    resp = raw.command("CREATE Weird (USE (\\NotARole))")
    # RFC 6154 §5.3: NO [USEATTR] for a use the server does not support.
    assert resp.status == "NO" and resp.code == "USEATTR", resp
    assert "Weird" not in raw_list(raw, '"" "*"')


def test_rename_moves_children(imap):
    assert imap.create("Old/Child")[0] == "OK"
    assert imap.rename("Old", "New")[0] == "OK"
    names = set(list_entries(imap.list()[1]))
    assert {"New", "New/Child"} <= names
    assert "Old" not in names and "Old/Child" not in names
    assert imap.status("Old", "(MESSAGES)")[0] == "NO"


def test_rename_keeps_messages_and_uidvalidity(imap):
    imap.create("Src")
    imap.append("Src", None, None, message("one"))
    before = status(imap, "Src", "(MESSAGES UIDVALIDITY)")
    assert imap.rename("Src", "Dst")[0] == "OK"
    after = status(imap, "Dst", "(MESSAGES UIDVALIDITY)")
    assert after["MESSAGES"] == 1
    assert after["UIDVALIDITY"] == before["UIDVALIDITY"]


def test_rename_inbox_moves_messages_and_leaves_inbox_empty(imap):
    for i in range(2):
        imap.append("INBOX", None, None, message(f"inbox {i}"))
    assert imap.rename("INBOX", quote("Old Inbox"))[0] == "OK"
    # RFC 9051 §6.3.6: all messages move to the new mailbox; INBOX stays, empty.
    assert status(imap, '"Old Inbox"')["MESSAGES"] == 2
    assert status(imap, "INBOX")["MESSAGES"] == 0


def test_rename_errors(raw):
    raw.ok("CREATE A1")
    raw.ok("CREATE B1")
    resp = raw.command("RENAME A1 B1")
    assert resp.status == "NO" and resp.code == "ALREADYEXISTS", resp
    resp = raw.command("RENAME Nope Whatever")
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp


def test_delete(imap):
    imap.create("Gone")
    imap.append("Gone", None, None, message("bye"))
    assert imap.delete("Gone")[0] == "OK"
    assert "Gone" not in list_entries(imap.list()[1])
    assert imap.status("Gone", "(MESSAGES)")[0] == "NO"
    # A new mailbox of the same name is new: empty.
    imap.create("Gone")
    assert status(imap, "Gone")["MESSAGES"] == 0


def test_delete_errors(raw):
    resp = raw.command("DELETE INBOX")
    assert resp.status == "NO", resp
    resp = raw.command("DELETE DoesNotExist")
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp


def test_delete_parent_keeps_children(raw):
    raw.ok('CREATE "P/C"')
    raw.ok("DELETE P")
    entries = raw_list(raw, '"" "*"')
    assert "P/C" in entries
    # RFC 9051 §6.3.5: the parent survives only as a non-selectable hierarchy node.
    if "P" in entries:
        assert entries["P"][0] & {"\\NOSELECT", "\\NONEXISTENT"}, entries["P"]
    assert raw.command("SELECT P").status == "NO"


def test_subscribe_lsub_and_list_subscribed(raw):
    raw.ok("CREATE Reading")
    raw.ok("SUBSCRIBE Reading")
    lsub = list_entries(raw.ok('LSUB "" "*"').named("LSUB"))
    assert "Reading" in lsub
    sub = raw_list(raw, '(SUBSCRIBED) "" "*"')
    assert "Reading" in sub and "\\SUBSCRIBED" in sub["Reading"][0]
    ret = raw_list(raw, '"" "Reading" RETURN (SUBSCRIBED)')
    assert "\\SUBSCRIBED" in ret["Reading"][0]
    raw.ok("UNSUBSCRIBE Reading")
    assert "Reading" not in list_entries(raw.ok('LSUB "" "*"').named("LSUB"))
    assert "Reading" not in raw_list(raw, '(SUBSCRIBED) "" "*"')


def test_subscription_to_deleted_mailbox_is_nonexistent(raw):
    raw.ok("CREATE Temp")
    raw.ok("SUBSCRIBE Temp")
    raw.ok("DELETE Temp")
    sub = raw_list(raw, '(SUBSCRIBED) "" "*"')
    # RFC 5258 §3.1: subscribed but gone → \NonExistent (subscriptions are by name).
    if "Temp" in sub:
        assert "\\NONEXISTENT" in sub["Temp"][0], sub["Temp"]


def test_list_extended_recursivematch_childinfo(raw):
    """RFC 5258 §6 example 5: a subscribed child of an unsubscribed parent."""
    raw.ok('CREATE "Foo/Bar"')
    raw.ok('SUBSCRIBE "Foo/Bar"')
    resp = raw.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    entries = list_entries(resp.named("LIST"))
    assert "Foo" in entries, entries
    extra = entries["Foo"][2]
    assert extra, "CHILDINFO extended data expected"
    flat = [str(x).upper() if not isinstance(x, (bytes, list)) else x for x in extra[0]]
    assert flat[0] in (b"CHILDINFO", "CHILDINFO"), extra
    assert [b.upper() for b in flat[1]] == [b"SUBSCRIBED"]


def test_list_multiple_patterns(raw):
    entries = raw_list(raw, '"" ("INBOX" "Sent")')
    assert set(entries) == {"INBOX", "Sent"}


def test_list_status(raw):
    m1, m2 = message("one"), message("two")
    raw.ok("APPEND INBOX (\\Seen) ", Literal(m1))
    raw.ok("APPEND INBOX ", Literal(m2))
    resp = raw.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    statuses = {}
    for s in resp.named("STATUS"):
        parsed = parse_sexp(s)
        name = parsed[0].decode() if isinstance(parsed[0], bytes) else str(parsed[0])
        kv = parsed[1]
        statuses[name] = {str(kv[i]).upper(): int(kv[i + 1]) for i in range(0, len(kv), 2)}
    # RFC 5819: one STATUS per listed selectable mailbox, after its LIST.
    assert set(DEFAULTS) <= set(statuses), statuses
    assert statuses["INBOX"] == {"MESSAGES": 2, "UNSEEN": 1, "SIZE": len(m1) + len(m2)}
    assert statuses["Sent"]["MESSAGES"] == 0


def test_status_items(raw):
    m1, m2, m3 = message("a"), message("b"), message("c")
    raw.ok("APPEND INBOX (\\Seen) ", Literal(m1))
    raw.ok("APPEND INBOX (\\Deleted) ", Literal(m2))
    raw.ok("APPEND INBOX ", Literal(m3))
    resp = raw.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE "
                  "HIGHESTMODSEQ APPENDLIMIT MAILBOXID)")
    parsed = parse_sexp(resp.named("STATUS")[0])
    assert str(parsed[0]).upper() == "INBOX"
    kv = parsed[1]
    st = {str(kv[i]).upper(): kv[i + 1] for i in range(0, len(kv), 2)}
    assert int(st["MESSAGES"]) == 3
    assert int(st["RECENT"]) == 3
    assert int(st["UIDNEXT"]) >= 4
    assert int(st["UIDVALIDITY"]) > 0
    assert int(st["UNSEEN"]) == 2
    assert int(st["DELETED"]) == 1
    assert int(st["SIZE"]) == len(m1) + len(m2) + len(m3)
    assert int(st["HIGHESTMODSEQ"]) > 0
    assert st["APPENDLIMIT"] is None or int(st["APPENDLIMIT"]) > 0
    assert isinstance(st["MAILBOXID"], list) and len(st["MAILBOXID"]) == 1  # RFC 8474


def test_status_of_missing_mailbox(raw):
    resp = raw.command("STATUS Missing (MESSAGES)")
    assert resp.status == "NO" and resp.code == "NONEXISTENT", resp


def test_mailboxid_is_stable_across_rename(raw):
    raw.ok("CREATE Stable")
    before = raw.ok("STATUS Stable (MAILBOXID)").named("STATUS")[0]
    raw.ok("RENAME Stable Renamed")
    after = raw.ok("STATUS Renamed (MAILBOXID)").named("STATUS")[0]
    assert parse_sexp(before)[1] == parse_sexp(after)[1]


# ---- international names --------------------------------------------------------------

def test_modified_utf7_round_trip(raw):
    # "Été" in modified UTF-7 (RFC 3501 §5.1.3); "Tom & Jerry" needs "&-".
    raw.ok('CREATE "&AMk-t&AOk-"')
    raw.ok('CREATE "Tom &- Jerry"')
    entries = raw_list(raw, '"" "*"')
    assert "&AMk-t&AOk-" in entries
    assert "Tom &- Jerry" in entries
    assert raw.command('SELECT "&AMk-t&AOk-"').status == "OK"


def test_invalid_modified_utf7_is_refused(raw):
    resp = raw.command('CREATE "bad&name"')  # unterminated shift
    assert resp.status in ("BAD", "NO"), resp


def test_utf8_accept_round_trip(server, user):
    c = server.imap(user)
    try:
        typ, data = c.enable("UTF8=ACCEPT")
        assert typ == "OK"
        assert c.create('"Ünïcødé 📬"')[0] == "OK"
        names = set(list_entries(c.list()[1]))
        assert "Ünïcødé 📬" in names
        assert c.select('"Ünïcødé 📬"')[0] == "OK"
    finally:
        c.logout()
    # A session without UTF8=ACCEPT sees the same mailbox in modified UTF-7.
    r = server.raw(user)
    try:
        entries = raw_list(r, '"" "*"')
        assert mutf7("Ünïcødé 📬") in entries, entries
        # ...and a name created in modified UTF-7 is seen in UTF-8 by a UTF8=ACCEPT session.
        r.ok('CREATE "Caf&AOk-"')
    finally:
        r.close()
    c = server.imap(user)
    try:
        c.enable("UTF8=ACCEPT")
        assert "Café" in set(list_entries(c.list()[1]))
    finally:
        c.logout()


def test_utf8_name_via_literal(server, user):
    r = server.raw(user)
    try:
        r.ok("ENABLE UTF8=ACCEPT")
        name = "Résumé".encode()
        r.ok("CREATE ", Literal(name))
        r.ok("SELECT ", Literal(name))
    finally:
        r.close()
