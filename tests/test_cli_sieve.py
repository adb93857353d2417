"""`tern sieve ...` against a running server's data folder: scripts are compiled before they
are stored (errors with line and column, exit 1), listed, fetched, activated, deleted; the
help-desk `vacation` command keeps the user's own filters working through `include`."""

import json
import os
import uuid

from harness import IO_TIMEOUT  # noqa: F401
from test_queue import outbound_config, wait_for
from test_queue import dns, sink_port, sinks  # noqa: F401 (fixtures)
from test_sieve_delivery import folder, message

import pytest


@pytest.fixture
def srv(make_server, dns, sink_port):  # noqa: F811
    return make_server(services=("lmtp", "imap"), extra_config=outbound_config(dns, sink_port))


def write(srv, text):
    path = os.path.join(srv.dir, f"{uuid.uuid4().hex}.txt")
    with open(path, "w") as f:
        f.write(text)
    return path


def scripts(srv, user):
    return json.loads(srv.cli("sieve", "list", user.address, "--json").stdout)


def test_put_list_get_activate_delete(srv):
    user = srv.add_user()
    bad = write(srv, 'require "fileinto";\nif true {\n  fileinto "x"\n}\n')
    r = srv.cli("sieve", "put", user.address, "bad", bad, check=False)
    assert r.returncode == 1
    assert b"line 4, column" in r.stderr, r.stderr
    assert scripts(srv, user) == []

    good = 'require "fileinto";\r\nfileinto "Archive";\r\n'
    srv.cli("sieve", "put", user.address, "filters", "-", input=good)
    assert scripts(srv, user) == [{"name": "filters", "active": False, "size": len(good)}]
    assert srv.cli("sieve", "get", user.address, "filters").stdout.decode() == good
    srv.cli("sieve", "activate", user.address, "filters")
    assert scripts(srv, user)[0]["active"] is True
    r = srv.cli("sieve", "delete", user.address, "filters", check=False)
    assert r.returncode == 1 and b"active" in r.stderr
    srv.cli("sieve", "activate", user.address, "--none")
    srv.cli("sieve", "delete", user.address, "filters")
    assert scripts(srv, user) == []
    r = srv.cli("sieve", "list", "nobody@example.test", check=False)
    assert r.returncode == 1 and b"no such account" in r.stderr


def test_vacation_includes_the_previous_script_and_off_restores_it(srv, sinks, sink_port):  # noqa: F811
    sink = sinks(sink_port)
    user = srv.add_user()
    srv.cli("sieve", "put", user.address, "filters", "-",
            input='require "fileinto";\r\nif header :contains "subject" "work" { fileinto "Archive"; }\r\n')
    srv.cli("sieve", "activate", user.address, "filters")
    text = write(srv, "I am on leave.\nBack on the 5th.\n")
    srv.cli("sieve", "vacation", user.address, "--subject", "On leave", "--message-file", text,
            "--until", "2999-12-31")
    listed = {s["name"]: s["active"] for s in scripts(srv, user)}
    assert listed == {"filters": False, "tern-vacation": True}
    source = srv.cli("sieve", "get", user.address, "tern-vacation").stdout.decode()
    assert 'include :personal "filters";' in source and "currentdate" in source

    res = srv.deliver([user.address], message(user.address, "work item"), sender="alice@remote.test")
    assert res[user.address][0] == 250
    # The user's own filter still files it...
    assert [s for _, s in folder(srv, user, "Archive")] == ["work item"]
    # ...and the vacation reply went out.
    got = wait_for(lambda: sink.messages(), "the vacation reply")
    assert b"Subject: On leave" in got[0][2]

    srv.cli("sieve", "vacation", user.address, "--off")
    listed = {s["name"]: s["active"] for s in scripts(srv, user)}
    assert listed == {"filters": True}


def test_vacation_until_a_past_date_sends_nothing(srv, sinks, sink_port):  # noqa: F811
    sink = sinks(sink_port)
    user = srv.add_user()
    text = write(srv, "Away.\n")
    srv.cli("sieve", "vacation", user.address, "--subject", "Away", "--message-file", text,
            "--until", "2001-01-01")
    assert srv.deliver([user.address], message(user.address, "hello"),
                       sender="alice@remote.test")[user.address][0] == 250
    assert [s for _, s in folder(srv, user, "INBOX")] == ["hello"]
    assert sink.messages() == []
    r = srv.cli("sieve", "vacation", user.address, "--subject", "x", "--message-file", text,
                "--until", "next week", check=False)
    assert r.returncode != 0 and b"YYYY-MM-DD" in r.stderr
