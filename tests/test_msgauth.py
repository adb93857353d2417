"""Message authentication on the MX (issue 3 item 5): SPF, DKIM, DMARC and ARC verified by
`tern serve` against a real DNS server on loopback (dnsmasq, tests/dnsserver.py), with mail
sent by smtplib from 127.0.0.1, DKIM signatures and ARC sets made by an independent
implementation (dkimpy, tests/dkim_tool.py) with keys from `tern dkim generate`, and the
delivered message read back with imaplib: one `Authentication-Results:` field at the top,
DMARC p=reject refused with 550 5.7.1 at DATA, p=quarantine delivered to Junk, forged
results claiming our host removed.
"""

import json
import os
import re
import smtplib
import subprocess
import uuid

import pytest

from dnsserver import Dns
from harness import DOMAIN, TernServer, message

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"
HOST = f"mail.{DOMAIN}"


def dkim_tool(*args, data):
    """Runs tests/dkim_tool.py (dkimpy) with the system Python."""
    res = subprocess.run([SYSTEM_PYTHON, os.path.join(HERE, "dkim_tool.py"), *args],
                         input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res.stdout


@pytest.fixture(scope="module")
def dkimpy():
    ok = subprocess.run([SYSTEM_PYTHON, "-c", "import dkim, dns.resolver, nacl"],
                        capture_output=True).returncode == 0
    if not ok:
        pytest.fail("python3-dkim (with python3-dnspython, python3-nacl) is required: "
                    "apt-get install python3-dkim python3-nacl")


@pytest.fixture(scope="module")
def keys(tmp_path_factory, dkimpy):
    """Signing keys made by `tern dkim generate` in a scratch data folder:
    {domain: (key file, selector, TXT value)}."""
    base = tmp_path_factory.mktemp("signer")
    signer = TernServer(str(base))
    out = {}
    for domain in ("signed.test", "weak.test", "list.test"):
        signer.cli("dkim", "generate", domain, "--selector", "s1")
    for k in json.loads(signer.cli("dkim", "list", "--json").stdout):
        out[k["domain"]] = (k["path"], k["selector"], k["txt"])
    return out


@pytest.fixture(scope="module")
def dns(keys):
    txt = {
        "pass.test": ["v=spf1 ip4:127.0.0.1 -all"],
        "fail.test": ["v=spf1 ip4:192.0.2.1 -all"],
        "soft.test": ["v=spf1 ip4:192.0.2.1 ~all"],
        # A domain whose mail always fails SPF, with a DMARC reject policy: only an
        # aligned DKIM signature can pass it.
        "signed.test": ["v=spf1 -all"],
        "_dmarc.signed.test": ["v=DMARC1; p=reject"],
        "reject.test": ["v=spf1 -all"],
        "_dmarc.reject.test": ["v=DMARC1; p=reject"],
        "quar.test": ["v=spf1 -all"],
        "_dmarc.quar.test": ["v=DMARC1; p=quarantine"],
        "weak.test": ["v=spf1 -all"],
        "_dmarc.weak.test": ["v=DMARC1; p=none"],
        "list.test": ["v=spf1 ip4:127.0.0.1 -all"],
    }
    for domain, (_, selector, value) in keys.items():
        txt[f"{selector}._domainkey.{domain}"] = [value]
    with Dns(txt=txt, a={"pass.test": "192.0.2.10"}) as d:
        yield d


def mx_config(dns, extra=""):
    return f'[dns]\nnameservers = ["{dns.addr}"]\n[auth_results]\nverify = true\n{extra}\n'


@pytest.fixture(scope="module")
def mx(tmp_path_factory, dns):
    s = TernServer(str(tmp_path_factory.mktemp("mx")), services=("smtp", "imap"),
                   extra_config=mx_config(dns))
    s.start()
    yield s
    s.stop()


def send(srv, rcpt, data, sender, helo="client.example.test"):
    """One transaction on the MX; returns the (code, text) that answered the end of data."""
    with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=60) as s:
        s.ehlo(helo)
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        return s.data(data)


def fetch_all(srv, user, mailbox="INBOX"):
    c = srv.imap(user)
    try:
        typ, _ = c.select(f'"{mailbox}"', readonly=True)
        assert typ == "OK", mailbox
        _, data = c.search(None, "ALL")
        out = []
        for n in data[0].split():
            _, msg = c.fetch(n, "(BODY.PEEK[])")
            out.append(msg[0][1])
        return out
    finally:
        c.logout()


def header_fields(raw):
    """[(name, value)] of the header section, unfolded, in order."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        else:
            name, _, value = line.partition(":")
            fields.append((name, value.strip()))
    return fields


def delivered_one(srv, user, mailbox="INBOX"):
    msgs = fetch_all(srv, user, mailbox)
    assert len(msgs) == 1, f"{len(msgs)} messages in {mailbox}"
    return msgs[0]


def our_results(raw):
    """The Authentication-Results field we added: second field, after Return-Path."""
    fields = header_fields(raw)
    assert fields[0][0] == "Return-Path", fields[:3]
    assert fields[1][0] == "Authentication-Results", fields[:3]
    assert fields[2][0] == "Received", fields[:3]
    ours = [v for n, v in fields if n.lower() == "authentication-results"
            and v.split(";")[0].strip().lower() == HOST]
    assert len(ours) == 1, ours
    assert fields[1][1] == ours[0]
    return ours[0]


def fresh(subject, sender, to, body="Hello.\r\n", extra_headers=""):
    return message(subject, body, sender=sender, to=to, extra_headers=extra_headers,
                   message_id=f"<{uuid.uuid4().hex}@{sender.split('@')[1]}>")


@pytest.mark.parametrize("domain,spf", [
    ("pass.test", "pass"), ("fail.test", "fail"), ("soft.test", "softfail"), ("none.test", "none"),
])
def test_spf_result_of_mail_from(mx, domain, spf):
    user = mx.add_user()
    sender = f"alice@{domain}"
    code, text = send(mx, user.address, fresh(f"spf {spf}", sender, user.address), sender)
    assert code == 250, text
    ar = our_results(delivered_one(mx, user))
    assert ar.startswith(f"{HOST};"), ar
    assert f"spf={spf}" in ar and f"smtp.mailfrom={sender}" in ar, ar
    assert "dkim=none" in ar and "dmarc=none" in ar and "arc=none" in ar, ar


def test_aligned_dkim_signature_passes_dmarc_despite_spf_fail(mx, keys, dns):
    user = mx.add_user()
    path, selector, _ = keys["signed.test"]
    signed = dkim_tool("sign", path, selector, "signed.test",
                       data=fresh("signed", "news@signed.test", user.address))
    code, text = send(mx, user.address, signed, "bounces@signed.test")
    assert code == 250, text
    raw = delivered_one(mx, user)
    ar = our_results(raw)
    # RFC 8601 §2.7.1: header.d, or header.i when the signature has an i= tag (dkimpy's does).
    assert re.search(r"dkim=pass header\.[di]=@?signed\.test header\.s=s1 ", ar), ar
    assert "spf=fail" in ar, ar
    assert "dmarc=pass" in ar and "header.from=signed.test" in ar, ar
    # The delivered message still verifies with dkimpy (nothing inside the signed part moved).
    assert json.loads(dkim_tool("verify", dns.addr, data=raw)) == [
        {"d": "signed.test", "s": "s1", "a": "rsa-sha256", "ok": True}]


def test_altered_body_fails_dkim_and_dmarc_reject_refuses_it(mx, keys):
    user = mx.add_user()
    path, selector, _ = keys["signed.test"]
    signed = dkim_tool("sign", path, selector, "signed.test",
                       data=fresh("altered", "news@signed.test", user.address, body="Pay 10 EUR.\r\n"))
    forged = signed.replace(b"Pay 10 EUR.", b"Pay 99 EUR.")
    code, text = send(mx, user.address, forged, "bounces@signed.test")
    assert code == 550 and text.startswith(b"5.7.1"), (code, text)
    assert b"DMARC" in text and b"signed.test" in text, text
    assert fetch_all(mx, user) == [] and fetch_all(mx, user, "Junk") == []


def test_altered_body_is_dkim_fail_under_a_none_policy(mx, keys):
    user = mx.add_user()
    path, selector, _ = keys["weak.test"]
    signed = dkim_tool("sign", path, selector, "weak.test",
                       data=fresh("altered", "news@weak.test", user.address, body="Original.\r\n"))
    code, text = send(mx, user.address, signed.replace(b"Original.", b"Changed!!"), "n@weak.test")
    assert code == 250, text
    ar = our_results(delivered_one(mx, user))
    assert re.search(r"dkim=fail \(body hash did not verify\) header\.[di]=@?weak\.test ", ar), ar
    assert "dmarc=fail" in ar and "policy.dmarc=none" in ar, ar


def test_dmarc_reject_policy_is_550_at_data(mx):
    user = mx.add_user()
    code, text = send(mx, user.address, fresh("spoof", "ceo@reject.test", user.address),
                      "ceo@reject.test")
    assert (code, text[:5]) == (550, b"5.7.1"), (code, text)
    assert fetch_all(mx, user) == [] and fetch_all(mx, user, "Junk") == []


def test_dmarc_quarantine_policy_delivers_to_junk(mx):
    user = mx.add_user()
    code, text = send(mx, user.address, fresh("maybe", "info@quar.test", user.address),
                      "info@quar.test")
    assert code == 250, text
    assert fetch_all(mx, user) == []
    ar = our_results(delivered_one(mx, user, "Junk"))
    assert "dmarc=fail" in ar and "policy.dmarc=quarantine" in ar, ar


def test_forged_results_claiming_our_host_are_removed(mx):
    user = mx.add_user()
    forged = (f"Authentication-Results: {HOST.upper()}; dkim=pass header.d=bank.test\r\n"
              f"Authentication-Results: other.test; spf=pass smtp.mailfrom=x@other.test\r\n")
    data = fresh("forged", "alice@pass.test", user.address, extra_headers="X-Keep: 1\r\n")
    data = forged.encode() + data
    code, text = send(mx, user.address, data, "alice@pass.test")
    assert code == 250, text
    raw = delivered_one(mx, user)
    ar = our_results(raw)
    assert "spf=pass" in ar and "dkim=none" in ar, ar
    names = [n for n, _ in header_fields(raw)]
    results = [v for n, v in header_fields(raw) if n.lower() == "authentication-results"]
    assert len(results) == 2, results
    assert results[1].startswith("other.test;"), results
    assert "bank.test" not in raw.decode(errors="replace")
    assert "X-Keep" in names and "Subject" in names


def test_arc_chain_from_a_trusted_sealer_overrides_dmarc_reject(tmp_path, dns, keys):
    """A mailing list (list.test) relays mail from reject.test: SPF and DKIM fail DMARC for
    reject.test, but the list sealed an ARC set (dkimpy arc_sign). Without trust: 550; with
    list.test in trusted_arc_sealers: delivered, arc=pass recorded."""
    path, selector, _ = keys["list.test"]
    body = fresh("via the list", "ceo@reject.test", f"list@{DOMAIN}")
    # What the list's own MX recorded before sealing (ARC needs its A-R).
    arrived = (b"Authentication-Results: lists.list.test; spf=pass smtp.mailfrom=ceo@reject.test;"
               b" dmarc=pass header.from=reject.test\r\n" + body)
    sealed = dkim_tool("arc-sign", path, selector, "list.test", "lists.list.test", data=arrived)
    assert sealed.startswith(b"ARC-Seal:"), sealed[:200]
    for trusted, want in ((False, 550), (True, 250)):
        extra = 'trusted_arc_sealers = ["list.test"]' if trusted else ""
        srv = TernServer(str(tmp_path / f"trusted-{trusted}"), services=("smtp", "imap"),
                         extra_config=mx_config(dns, extra)).start()
        try:
            user = srv.add_user()
            code, text = send(srv, user.address, sealed, "list-bounces@list.test")
            assert code == want, (trusted, code, text)
            if trusted:
                ar = our_results(delivered_one(srv, user))
                assert "arc=pass" in ar and "dmarc=fail" in ar, ar
        finally:
            srv.stop()


def test_dmarc_handling_can_be_lowered(tmp_path, dns):
    """dmarc_reject = "quarantine": a p=reject failure goes to Junk instead of 550."""
    srv = TernServer(str(tmp_path / "lowered"), services=("smtp", "imap"),
                     extra_config=mx_config(dns, 'dmarc_reject = "quarantine"')).start()
    try:
        user = srv.add_user()
        code, text = send(srv, user.address, fresh("spoof", "ceo@reject.test", user.address),
                          "ceo@reject.test")
        assert code == 250, text
        assert fetch_all(srv, user) == []
        ar = our_results(delivered_one(srv, user, "Junk"))
        assert "dmarc=fail" in ar and "policy.dmarc=reject" in ar, ar
    finally:
        srv.stop()


def test_verification_off_adds_nothing(tmp_path, dns):
    srv = TernServer(str(tmp_path / "off"), services=("smtp", "imap"),
                     extra_config=f'[dns]\nnameservers = ["{dns.addr}"]\n'
                                  '[auth_results]\nverify = false\n').start()
    try:
        user = srv.add_user()
        code, _ = send(srv, user.address, fresh("x", "ceo@reject.test", user.address),
                       "ceo@reject.test")
        assert code == 250
        names = [n for n, _ in header_fields(delivered_one(srv, user))]
        assert names[:2] == ["Return-Path", "Received"] and "Authentication-Results" not in names
    finally:
        srv.stop()
