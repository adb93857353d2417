"""Python poplib and imaplib against a running `tern serve`, for tests/pop3.rs.

Usage: pop3_client.py SCENARIO HOST POP3_PORT POP3S_PORT IMAP_PORT CAFILE USER PASSWORD

Each scenario asserts on what the clients see (an AssertionError or a protocol error makes
the exit status non-zero) and prints one JSON object with its observations, which the Rust
test compares with what it delivered. TLS is verified against the server's generated
certificate (CAFILE); only the host name check is off, since the test connects to 127.0.0.1.
"""

import imaplib
import json
import poplib
import re
import ssl
import sys


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def hexed(data):
    return data.hex()


def retr_bytes(p, n):
    # poplib strips the CRLF of each line and undoes the dot-stuffing (RFC 1939 §3).
    _, lines, _ = p.retr(n)
    return b"\r\n".join(lines) + b"\r\n"


def pop3_stls(a):
    p = poplib.POP3(a.host, a.pop3, timeout=20)
    p.stls(context=tls_context(a.cafile))
    p.user(a.user)
    p.pass_(a.password)
    return p


def pop3_ssl(a):
    p = poplib.POP3_SSL(a.host, a.pop3s, context=tls_context(a.cafile), timeout=20)
    p.user(a.user)
    p.pass_(a.password)
    return p


def listing(p):
    _, lines, _ = p.list()
    sizes = [int(line.split()[1]) for line in lines]
    _, lines, _ = p.uidl()
    uidls = [line.decode().split(" ", 1)[1] for line in lines]
    return sizes, uidls


def imap_view(a):
    """INBOX as IMAP sees it: every message's bytes and flags, read without setting \\Seen."""
    imap = imaplib.IMAP4(a.host, a.imap, timeout=20)
    imap.login(a.user, a.password)
    typ, data = imap.select("INBOX", readonly=True)
    assert typ == "OK", (typ, data)
    count = int(data[0])
    messages, flags = [], []
    if count:
        typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK", (typ, data)
        for item in data:
            if isinstance(item, tuple):
                meta = item[0].decode()
                flags.append(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split())
                messages.append(hexed(item[1]))
    imap.logout()
    assert len(messages) == count, (count, data)
    return {"count": count, "messages": messages, "flags": flags}


def retrieve(a):
    """STLS on the pop3 port, then implicit TLS on pop3s: the same maildrop both ways."""
    p = pop3_stls(a)
    count, total = p.stat()
    sizes, uidls = listing(p)
    messages = [hexed(retr_bytes(p, n)) for n in range(1, count + 1)]
    out = {
        "stat": [count, total],
        "sizes": sizes,
        "uidls": uidls,
        "messages": messages,
        "quit": p.quit().decode(),
    }
    p = pop3_ssl(a)
    out["ssl_stat"] = list(p.stat())
    out["ssl_uidls"] = listing(p)[1]
    out["ssl_first"] = hexed(retr_bytes(p, 1))
    p.quit()
    out["imap"] = imap_view(a)
    return out


def dele_drop(a):
    """DELE every message, then vanish without QUIT: nothing may be deleted (RFC 1939 §6)."""
    p = pop3_stls(a)
    count = p.stat()[0]
    for n in range(1, count + 1):
        p.dele(n)
    p.close()
    return {"marked": count, "imap": imap_view(a)}


def dele_quit(a):
    """DELE 1 and QUIT over pop3s: IMAP and the next POP3 session see the deletion."""
    p = pop3_ssl(a)
    before = listing(p)
    dele = p.dele(1).decode()
    out = {"before_uidls": before[1], "dele": dele, "quit": p.quit().decode()}
    out["imap"] = imap_view(a)
    p = pop3_stls(a)
    out["after_stat"] = list(p.stat())
    out["after_uidls"] = listing(p)[1]
    out["after_first"] = hexed(retr_bytes(p, 1))
    p.quit()
    return out


SCENARIOS = {f.__name__: f for f in [retrieve, dele_drop, dele_quit]}


class Args:
    def __init__(self, argv):
        self.host = argv[0]
        self.pop3, self.pop3s, self.imap = int(argv[1]), int(argv[2]), int(argv[3])
        self.cafile, self.user, self.password = argv[4], argv[5], argv[6]


if __name__ == "__main__":
    scenario = sys.argv[1]
    print(json.dumps(SCENARIOS[scenario](Args(sys.argv[2:9]))))
