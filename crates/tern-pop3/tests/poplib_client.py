"""Python poplib scenarios against a running Tern POP3 server, for tests/clients.rs.

Usage: poplib_client.py SCENARIO HOST PORT TLS_PORT USER PASSWORD

Each scenario asserts on what poplib sees (raising on a mismatch, so the exit status is
non-zero) and prints one JSON object with its observations for the Rust test to compare
against the store.
"""

import base64
import json
import poplib
import ssl
import sys


def unverified():
    # The server's certificate is self-signed; these scenarios test POP3, not PKI.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def expect_error(fn, prefix):
    try:
        fn()
    except poplib.error_proto as e:
        reply = e.args[0]
        assert reply.startswith(prefix), (reply, prefix)
        return reply.decode()
    raise AssertionError("expected %r" % prefix)


def login_stls(host, port, user, password):
    p = poplib.POP3(host, port, timeout=20)
    p.stls(context=unverified())
    p.user(user)
    p.pass_(password)
    return p


def stls_session(host, port, tls_port, user, password):
    p = poplib.POP3(host, port, timeout=20)
    out = {"welcome": p.getwelcome().decode()}
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps, caps
    out["refused"] = expect_error(lambda: p.user(user), b"-ERR [AUTH] Plaintext")
    p.stls(context=unverified())
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps, caps
    assert caps["SASL"] == ["PLAIN", "LOGIN"], caps
    out["caps"] = sorted(caps)
    p.user(user)
    p.pass_(password)
    count, size = p.stat()
    out["stat"] = [count, size]
    _, listing, _ = p.uidl()
    out["uidls"] = [line.decode().split(" ", 1)[1] for line in listing]
    out["messages"] = []
    for n in range(1, count + 1):
        _, lines, octets = p.retr(n)
        body = b"\r\n".join(lines) + b"\r\n"
        out["messages"].append(base64.b64encode(body).decode())
    _, lines, _ = p.top(1, 0)
    out["top0"] = base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode()
    out["quit"] = p.quit().decode()
    return out


def ssl_dele_quit(host, port, tls_port, user, password):
    p = poplib.POP3_SSL(host, tls_port, context=unverified(), timeout=20)
    p.user(user)
    p.pass_(password)
    out = {"before": p.stat()[0], "dele": p.dele(1).decode()}
    out["quit"] = p.quit().decode()
    return out


def dele_drop(host, port, tls_port, user, password):
    p = login_stls(host, port, user, password)
    count = p.stat()[0]
    for n in range(1, count + 1):
        p.dele(n)
    # Vanish without QUIT: nothing may be deleted.
    p.close()
    return {"marked": count}


def in_use(host, port, tls_port, user, password):
    first = login_stls(host, port, user, password)
    second = poplib.POP3(host, port, timeout=20)
    second.stls(context=unverified())
    second.user(user)
    out = {"second": expect_error(lambda: second.pass_(password), b"-ERR [IN-USE]")}
    first.quit()
    second.user(user)
    out["after_quit"] = second.pass_(password).decode()
    second.quit()
    return out


def wrong_password(host, port, tls_port, user, password):
    p = poplib.POP3(host, port, timeout=20)
    p.stls(context=unverified())
    p.user(user)
    return {"reply": expect_error(lambda: p.pass_(password + "x"), b"-ERR [AUTH]")}


SCENARIOS = {
    f.__name__: f for f in [stls_session, ssl_dele_quit, dele_drop, in_use, wrong_password]
}

if __name__ == "__main__":
    scenario, host, port, tls_port, user, password = sys.argv[1:7]
    result = SCENARIOS[scenario](host, int(port), int(tls_port), user, password)
    print(json.dumps(result))
