"""NOTIFY (RFC 5465): STATUS for changes in other mailboxes, the STATUS indicator, events for
the selected mailbox pushed without a command, and NOTIFY NONE."""

import re

from harness import IO_TIMEOUT, message, parse_sexp


def statuses(untagged):
    out = {}
    for u in untagged:
        if u.upper().startswith(b"STATUS "):
            parsed = parse_sexp(u[7:])
            name = parsed[0].decode() if isinstance(parsed[0], bytes) else str(parsed[0])
            kv = parsed[1]
            out[name] = {str(kv[i]).upper(): int(kv[i + 1]) for i in range(0, len(kv), 2)}
    return out


def test_notify_status_for_other_mailbox(server, user):
    a = server.raw(user)
    b = server.imap(user)
    try:
        a.ok("SELECT INBOX")
        a.ok("NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange)) "
             "(PERSONAL (MessageNew MessageExpunge))")
        b.append("Archive", None, None, message("elsewhere"))
        # The notification may come unsolicited or with the next command's responses.
        resp = a.ok("NOOP")
        seen = statuses(resp.untagged)
        assert "Archive" in seen, resp
        assert seen["Archive"]["MESSAGES"] == 1
        assert "UIDNEXT" in seen["Archive"]
    finally:
        b.logout()
        a.close()


def test_notify_set_status_reports_now(raw):
    resp = raw.ok("NOTIFY SET STATUS (PERSONAL (MessageNew MessageExpunge))")
    seen = statuses(resp.untagged)
    # RFC 5465 §3.1: with STATUS, the current state of every named mailbox right away.
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} <= set(seen), resp
    assert seen["INBOX"]["MESSAGES"] == 0


def test_notify_pushes_selected_mailbox_changes_without_a_command(server, user):
    a = server.raw(user)
    b = server.imap(user)
    try:
        a.ok("SELECT INBOX")
        a.ok("NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange))")
        b.append("INBOX", None, None, message("pushed"))
        # No command is sent: the server reports the new message on its own (RFC 5465 §1).
        line = a.read_response(timeout=IO_TIMEOUT)
        while not re.match(rb"\* \d+ EXISTS", line):
            line = a.read_response(timeout=IO_TIMEOUT)
        assert line == b"* 1 EXISTS"
    finally:
        b.logout()
        a.close()


def test_notify_none_stops_notifications(server, user):
    a = server.raw(user)
    b = server.imap(user)
    try:
        a.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        a.ok("NOTIFY NONE")
        b.append("Archive", None, None, message("quiet"))
        resp = a.ok("NOOP")
        assert "Archive" not in statuses(resp.untagged), resp
    finally:
        b.logout()
        a.close()


def test_notify_mailboxes_filter_names_only_those(server, user):
    a = server.raw(user)
    b = server.imap(user)
    try:
        a.ok("NOTIFY SET (MAILBOXES (Junk) (MessageNew MessageExpunge))")
        b.append("Archive", None, None, message("not watched"))
        b.append("Junk", None, None, message("watched"))
        resp = a.ok("NOOP")
        seen = statuses(resp.untagged)
        assert "Junk" in seen and "Archive" not in seen, resp
    finally:
        b.logout()
        a.close()


def test_notify_bad_syntax(raw):
    resp = raw.command("NOTIFY SET (NOT-A-FILTER (MessageNew))")
    assert resp.status == "BAD", resp
    assert raw.command("NOOP").status == "OK"
