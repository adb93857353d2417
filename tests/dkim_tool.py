#!/usr/bin/python3
"""An independent DKIM/ARC implementation for the tests: dkimpy (Debian's python3-dkim, with
python3-nacl for Ed25519), run with the system Python where Debian installed it.

    dkim_tool.py verify NAMESERVER:PORT < message      -> JSON [{"d", "s", "a", "ok"}, ...]
    dkim_tool.py sign KEYFILE SELECTOR DOMAIN < message -> the message with a DKIM-Signature
    dkim_tool.py arc-sign KEYFILE SELECTOR DOMAIN SRV_ID < message -> with an ARC set

Keys are looked up in the test's own dnsmasq (tests/dnsserver.py), never the machine's
resolver. KEYFILE is a PEM private key as `tern dkim generate` writes it (RSA, PKCS#8).
"""

import json
import sys

import dkim
import dns.resolver


def resolver(addr):
    host, port = addr.rsplit(":", 1)
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [host]
    r.port = int(port)

    def txt(name, timeout=5):
        answer = r.resolve(name.decode().rstrip(".") + ".", "TXT", lifetime=timeout)
        for rdata in answer:
            return b"".join(rdata.strings)
        return None

    return txt


def signature_tags(message):
    """(d, s, a) of every DKIM-Signature field, in order."""
    header = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    out = []
    for line in header.split(b"\r\n"):
        if line.lower().startswith(b"dkim-signature:"):
            tags = dict(
                (k.strip().decode(), v.strip().decode())
                for k, _, v in (t.partition(b"=") for t in line.split(b":", 1)[1].split(b";"))
                if k.strip()
            )
            out.append((tags.get("d"), tags.get("s"), tags.get("a")))
    return out


def main():
    cmd = sys.argv[1]
    message = sys.stdin.buffer.read()
    if b"\r\n" not in message:
        message = message.replace(b"\n", b"\r\n")
    if cmd == "verify":
        txt = resolver(sys.argv[2])
        d = dkim.DKIM(message)
        results = []
        for i, (dom, sel, alg) in enumerate(signature_tags(message)):
            try:
                ok = bool(d.verify(idx=i, dnsfunc=txt))
            except Exception as e:  # a verifier error is a failure, reported
                ok = False
                print(f"signature {i}: {e}", file=sys.stderr)
            results.append({"d": dom, "s": sel, "a": alg, "ok": ok})
        print(json.dumps(results))
    elif cmd == "sign":
        key, selector, domain = sys.argv[2:5]
        with open(key, "rb") as f:
            pem = f.read()
        sig = dkim.sign(message, selector.encode(), domain.encode(), pem,
                        canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        sys.stdout.buffer.write(sig + message)
    elif cmd == "arc-sign":
        key, selector, domain, srv_id = sys.argv[2:6]
        with open(key, "rb") as f:
            pem = f.read()
        fields = dkim.arc_sign(message, selector.encode(), domain.encode(), pem, srv_id.encode(),
                               include_headers=[b"from", b"to", b"subject", b"date"])
        sys.stdout.buffer.write(b"".join(fields) + message)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
