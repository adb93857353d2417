"""ACL (RFC 4314) and mailboxes shared between accounts under "Other Users/<owner>/"
(RFC 2342 NAMESPACE): GETACL/SETACL/DELETEACL/LISTRIGHTS/MYRIGHTS, rights enforcement on
SELECT/STORE/APPEND, and identifier canonicalization through the directory."""

import pytest

from harness import message, parse_sexp, quote, status

ALL_RIGHTS = set("lrswipkxtea")


def shared_name(owner, mailbox="INBOX"):
    return f"Other Users/{owner.address}/{mailbox}"


def acl_map(c, mailbox):
    typ, data = c.getacl(quote(mailbox) if " " in mailbox else mailbox)
    assert typ == "OK", data
    parsed = parse_sexp(data[0])
    pairs = parsed[1:]
    return {str(pairs[i]) if not isinstance(pairs[i], bytes) else pairs[i].decode():
            set(str(pairs[i + 1]) if not isinstance(pairs[i + 1], bytes) else pairs[i + 1].decode())
            for i in range(0, len(pairs), 2)}


def myrights(c, mailbox):
    typ, data = c.myrights(quote(mailbox))
    assert typ == "OK", data
    rights = parse_sexp(data[0])[1]
    return set(rights.decode() if isinstance(rights, bytes) else str(rights))


def listed(c, pattern="*"):
    typ, data = c.list('""', quote(pattern))
    assert typ == "OK"
    names = set()
    for d in data:
        if d is None:
            continue
        name = parse_sexp(d)[2]
        names.add(name.decode() if isinstance(name, bytes) else str(name))
    return names


@pytest.fixture
def alice(server):
    return server.add_user()


@pytest.fixture
def bob(server):
    return server.add_user()


@pytest.fixture
def a(server, alice):
    c = server.imap(alice)
    yield c
    c.logout()


@pytest.fixture
def b(server, bob):
    c = server.imap(bob)
    yield c
    c.logout()


def test_owner_has_all_rights(a, alice):
    assert ALL_RIGHTS <= myrights(a, "INBOX")
    acl = acl_map(a, "INBOX")
    assert ALL_RIGHTS <= acl[alice.address]


def test_share_read_only_with_bob(a, b, alice, bob):
    for i in range(2):
        a.append("INBOX", None, None, message(f"shared {i}"))
    assert a.setacl("INBOX", bob.address, "lr")[0] == "OK"
    acl = acl_map(a, "INBOX")
    assert acl[bob.address] == set("lr")

    name = shared_name(alice)
    assert name in listed(b), listed(b)
    assert name in listed(b, "Other Users/*")
    assert myrights(b, name) == set("lr")
    typ, data = b.select(quote(name), readonly=True)
    assert typ == "OK" and data == [b"2"], data
    typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"shared 0" in data[0][1]
    # lr only: no append, no ACL administration.
    typ, data = b.append(quote(name), None, None, message("intrusion"))
    assert typ == "NO", data
    typ, data = b.getacl(quote(name))
    assert typ == "NO", data
    assert status(a, "INBOX")["MESSAGES"] == 2


def test_shared_select_is_read_only(server, alice, bob, a):
    a.setacl("INBOX", bob.address, "lr")
    a.append("INBOX", None, None, message("one"))
    r = server.raw(bob)
    try:
        # RFC 4314 §5.2: none of "i", "e" or the shared-flag rights → READ-ONLY.
        resp = r.ok(f"SELECT {quote(shared_name(alice))}")
        assert resp.code == "READ-ONLY", resp
        assert b"1 EXISTS" in resp.untagged
        assert r.command("STORE 1 +FLAGS (\\Flagged)").status == "NO"
        assert r.command("EXPUNGE").status == "NO"
    finally:
        r.close()


def test_granting_insert_and_write(a, b, alice, bob):
    name = shared_name(alice)
    a.setacl("INBOX", bob.address, "lr")
    assert a.setacl("INBOX", bob.address, "+iws")[0] == "OK"
    assert acl_map(a, "INBOX")[bob.address] == set("lrswi")
    assert b.append(quote(name), None, None, message("from bob"))[0] == "OK"
    assert status(a, "INBOX")["MESSAGES"] == 1
    b.select(quote(name))
    assert b.store("1", "+FLAGS", "(\\Seen)")[0] == "OK"
    a.select("INBOX")
    typ, data = a.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]
    assert a.setacl("INBOX", bob.address, "-w")[0] == "OK"
    assert acl_map(a, "INBOX")[bob.address] == set("lrsi")


def test_deleteacl_revokes(a, b, alice, bob):
    name = shared_name(alice)
    a.setacl("INBOX", bob.address, "lr")
    assert name in listed(b)
    assert a.deleteacl("INBOX", bob.address)[0] == "OK"
    assert bob.address not in acl_map(a, "INBOX")
    assert name not in listed(b)
    typ, data = b.select(quote(name))
    assert typ == "NO", data
    # RFC 4314 §6: exactly as if it did not exist.
    assert b"NONEXISTENT" in data[0]


def test_unshared_mailbox_is_invisible(a, b, alice):
    name = shared_name(alice)
    assert not any(n.startswith("Other Users/") for n in listed(b))
    typ, data = b.select(quote(name))
    assert typ == "NO" and b"NONEXISTENT" in data[0], data
    typ, data = b.myrights(quote(name))
    assert typ == "NO"
    typ, data = b.getacl(quote(name))
    assert typ == "NO" and b"NONEXISTENT" in data[0], data


def test_share_other_folder_and_anyone(server, a, alice):
    a.create("Team")
    a.append("Team", None, None, message("team news"))
    assert a.setacl("Team", "anyone", "lr")[0] == "OK"
    carol = server.add_user()
    c = server.imap(carol)
    try:
        name = shared_name(alice, "Team")
        assert name in listed(c)
        assert status(c, quote(name))["MESSAGES"] == 1
    finally:
        c.logout()
    assert acl_map(a, "Team")["anyone"] == set("lr")


def test_identifier_is_canonicalized(a, alice, bob):
    assert a.setacl("INBOX", bob.address.upper(), "lr")[0] == "OK"
    acl = acl_map(a, "INBOX")
    # RFC 4314 §3.3: the canonical form, here the lower-case primary address.
    assert bob.address in acl and bob.address.upper() not in acl


def test_setacl_errors(a, alice):
    typ, data = a.setacl("INBOX", "nobody-here@example.test", "lr")
    assert typ == "NO", data
    with pytest.raises(a.error):
        a.setacl("INBOX", "anyone", "lrQ")  # RFC 4314 §3.1: unknown rights → BAD
    with pytest.raises(a.error):
        a.setacl("INBOX", "anyone", "lrz")
    typ, data = a.setacl("NoSuchBox", "anyone", "lr")
    assert typ == "NO" and b"NONEXISTENT" in data[0]


def test_owner_rights_cannot_be_reduced(a, alice):
    typ, data = a.setacl("INBOX", alice.address, "lr")
    assert typ == "NO", data
    assert ALL_RIGHTS <= myrights(a, "INBOX")


def test_obsolete_c_and_d_rights(a, bob):
    # RFC 4314 §2.1.1: "d" stands for "et" (and maybe "x"), "c" for "k" (and maybe "x").
    assert a.setacl("INBOX", bob.address, "lrcd")[0] == "OK"
    rights = acl_map(a, "INBOX")[bob.address]
    assert {"e", "t", "k", "c", "d"} <= rights


def test_listrights(a, bob):
    typ, data = a._simple_command("LISTRIGHTS", "INBOX", bob.address)
    assert typ == "OK", data
    typ, data = a._untagged_response(typ, data, "LISTRIGHTS")
    parsed = parse_sexp(data[0])
    assert str(parsed[0]) == "INBOX" and str(parsed[1]) == bob.address
    required = parsed[2]
    optional = {str(x) if not isinstance(x, bytes) else x.decode() for x in parsed[3:]}
    assert required in (b"", "")
    assert ALL_RIGHTS <= set("".join(optional))


def test_other_users_hierarchy(a, b, alice, bob):
    a.setacl("INBOX", bob.address, "lr")
    typ, data = b.namespace()
    other = parse_sexp(data[0])[1]
    assert other[0][0] == b"Other Users/"
    typ, data = b.list('""', '"Other Users/%"')
    names = [parse_sexp(d)[2] for d in data if d]
    # The owner level is a non-selectable node with children.
    owner_node = f"Other Users/{alice.address}".encode()
    assert owner_node in [n if isinstance(n, bytes) else str(n).encode() for n in names], names


def test_bob_sees_alices_new_messages(a, b, alice, bob):
    a.setacl("INBOX", bob.address, "lr")
    name = shared_name(alice)
    b.select(quote(name), readonly=True)
    a.append("INBOX", None, None, message("later"))
    b.noop()
    _, values = b.response("EXISTS")
    assert values[-1] == b"1", values


def test_copy_out_of_shared_but_no_move_without_rights(server, a, alice, bob):
    a.append("INBOX", None, None, message("copy me"))
    a.setacl("INBOX", bob.address, "lr")
    r = server.raw(bob)
    try:
        r.ok(f"SELECT {quote(shared_name(alice))}")
        resp = r.ok("COPY 1 INBOX")
        assert resp.code and resp.code.startswith("COPYUID"), resp
        # MOVE needs the rights to delete from the source ("t" and "e", RFC 6851 §3.2 with
        # RFC 4314): lr is not enough, and nothing moves.
        resp = r.command("MOVE 1 Archive")
        assert resp.status == "NO", resp
    finally:
        r.close()
    assert status(a, "INBOX")["MESSAGES"] == 1
    c = server.imap(bob)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 1
        assert status(c, "Archive")["MESSAGES"] == 0
    finally:
        c.logout()


def test_append_by_grantee_counts_against_owner_quota(server):
    owner = server.add_user(quota="30KB")
    grantee = server.add_user()
    o = server.imap(owner)
    g = server.imap(grantee)
    try:
        o.setacl("INBOX", grantee.address, "lri")
        name = quote(f"Other Users/{owner.address}/INBOX")
        assert g.append(name, None, None, message("fits", "f" * 10_000))[0] == "OK"
        typ, data = g.append(name, None, None, message("too much", "g" * 25_000))
        assert typ == "NO" and b"OVERQUOTA" in data[0], data
        assert status(o, "INBOX")["MESSAGES"] == 1
    finally:
        o.logout()
        g.logout()


def test_delete_removes_acl_and_recreate_does_not_inherit(a, b, alice, bob):
    a.create("Temp")
    a.setacl("Temp", bob.address, "lr")
    assert shared_name(alice, "Temp") in listed(b)
    a.delete("Temp")
    assert shared_name(alice, "Temp") not in listed(b)
    a.create("Temp")
    # RFC 4314 §4: DELETE deletes the ACL; the new mailbox is not shared.
    assert bob.address not in acl_map(a, "Temp")
    assert shared_name(alice, "Temp") not in listed(b)


def test_rename_keeps_acl(a, b, alice, bob):
    a.create("Proj")
    a.setacl("Proj", bob.address, "lr")
    a.rename("Proj", "Project")
    # RFC 4314 §4: RENAME SHOULD NOT change the ACL.
    assert acl_map(a, "Project").get(bob.address) == set("lr")
    names = listed(b)
    assert shared_name(alice, "Project") in names and shared_name(alice, "Proj") not in names


def test_read_without_lookup_is_not_listed_but_selectable(a, b, alice, bob):
    a.append("INBOX", None, None, message("hidden"))
    a.setacl("INBOX", bob.address, "r")
    name = shared_name(alice)
    # RFC 4314 §4: LIST needs "l"; SELECT needs only "r".
    assert name not in listed(b)
    typ, data = b.select(quote(name), readonly=True)
    assert typ == "OK" and data == [b"1"], data


def test_status_needs_read_right(a, b, alice, bob):
    a.setacl("INBOX", bob.address, "l")
    name = shared_name(alice)
    assert name in listed(b)
    typ, data = b.status(quote(name), "(MESSAGES)")
    assert typ == "NO", data
    typ, data = b.select(quote(name), readonly=True)
    assert typ == "NO", data


def test_subscribe_to_shared_mailbox(a, b, alice, bob):
    a.setacl("INBOX", bob.address, "lr")
    name = shared_name(alice)
    assert b.subscribe(quote(name))[0] == "OK"
    typ, data = b.lsub('""', '"*"')
    names = [parse_sexp(d)[2] for d in data if d]
    assert name.encode() in [n if isinstance(n, bytes) else str(n).encode() for n in names]
