"""The `[limits]` config keys as clients meet them: the pre-authentication timeout ends with
BYE, the message size limit (APPENDLIMIT, NO [TOOBIG], LMTP 552 5.3.4), the connection cap,
and the command line limit. Waits are bounded and generous; nothing asserts on timing."""

import socket

from harness import DOMAIN, Literal, RawImap, message


def test_preauth_timeout_says_bye(make_server):
    srv = make_server(extra_config='[limits]\npreauth_timeout = "2s"\n')
    r = srv.raw()
    try:
        lines = []
        try:
            while True:
                lines.append(r.read_line(timeout=60))
        except EOFError:
            pass
        # RFC 9051 §7.1.5: the server says BYE before it closes an idle connection.
        assert any(l.startswith(b"* BYE") for l in lines), lines
    finally:
        r.close()


def test_max_message_size(make_server):
    srv = make_server(extra_config='[limits]\nmax_message_size = "100KB"\n')
    u = srv.add_user()
    r = srv.raw(u)
    try:
        caps = r.ok("CAPABILITY").named("CAPABILITY")[0].upper().split()
        assert b"APPENDLIMIT=100000" in caps, caps
        assert r.command("APPEND INBOX ", Literal(message("ok", "a" * 50_000))).status == "OK"
        resp = r.command("APPEND INBOX ", Literal(message("too big", "b" * 100_001)))
        assert resp.status == "NO" and resp.code == "TOOBIG", resp
    finally:
        r.close()
    # LMTP: too large by declared SIZE, and by the data itself.
    with srv.lmtp() as l:
        l.ehlo("client.example.test")
        code, text = l.mail(f"s@{DOMAIN}", ["SIZE=200000"])
        if code == 250:
            code, text = l.rcpt(u.address)
        assert code == 552 and text.startswith(b"5.3.4"), (code, text)
    results = srv.deliver([u.address], message("big data", "c" * 150_000))
    code, text = results[u.address]
    assert code == 552 and text.startswith(b"5.3.4"), results


def test_connection_cap(make_server):
    """At the cap, a new connection waits in the listen backlog (tern-net's documented
    behaviour) and is served as soon as a place frees."""
    srv = make_server(extra_config='[limits]\nmax_connections = 3\npreauth_timeout = "10m"\n')
    port = srv.port("imap")
    held = [RawImap("127.0.0.1", port) for _ in range(3)]
    waiting = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        assert all(h.greeting.startswith(b"* OK") for h in held)
        # No greeting for the fourth while three are held. (A server without a cap would
        # greet at once; a slow machine cannot make this fail wrongly.)
        waiting.settimeout(3)
        try:
            early = waiting.recv(100)
        except socket.timeout:
            early = None
        assert early is None, early
        # A freed place is used by the waiting connection.
        held.pop().close()
        waiting.settimeout(60)
        assert waiting.recv(100).startswith(b"* OK")
    finally:
        waiting.close()
        for h in held:
            h.close()


def test_max_line_length(make_server):
    srv = make_server(extra_config='[limits]\nmax_line_length = "4KB"\n')
    u = srv.add_user()
    r = srv.raw(u)
    try:
        r.send(b"t1 NOOP " + b"x" * 10_000 + b"\r\n")
        resp = r.read_response()
        assert resp.startswith((b"t1 BAD", b"* BAD", b"* BYE")), resp[:200]
    finally:
        r.close()
