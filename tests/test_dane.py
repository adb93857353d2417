"""DANE for SMTP (RFC 7672) in the outbound queue, with real parts only.

- DNS: NSD serves the zones on loopback and Unbound validates them (tests/dnssec_support.py):
  `dane.test` is signed with a key made for the test and trusted by Unbound (answers carry
  the AD bit), `plain.test` is not signed (no AD), `slow.test` points at an address where
  nothing listens. The sending Tern's `[dns] nameservers` is that Unbound, with
  `[outbound] dane = true`.
- The remote MX: a second Tern (`local_domains = ["dane.test"]` or `plain.test`) whose SMTP
  listener has a certificate from a CA made per test (tests/mx_support.py), or Postfix's
  smtp-sink, which offers no STARTTLS; the mailbox is read over IMAP.
- TLSA records are published at `_PORT._tcp.mx.DOMAIN`, PORT being the receiver's SMTP port
  (`[outbound] port`): Tern looks up the port it connects to, 25 outside the tests.

Nothing waits on a clock: retries are an hour apart, so the only attempts are the first and
the ones `tern queue retry` asks for; every wait is a poll with a generous bound.
"""

import hashlib
import json
import time

import pytest

from dnssec_support import Resolver
from mx_support import (CertAuthority, log, mailbox, spki_sha256, start_receiver, subject,
                        wait_deferred, wait_mailbox)
from test_queue import (Sink, delivery_status, free_port, inbox, make_message, queue_list,
                        submit, wait_for)

BOB = "bob@dane.test"
PLAIN_BOB = "bob@plain.test"
CAROL = "carol@slow.test"
SINK_HOST = "127.0.0.3"


@pytest.fixture
def ca(tmp_path):
    d = tmp_path / "ca"
    d.mkdir()
    return CertAuthority(str(d))


@pytest.fixture
def resolvers():
    started = []

    def make(zones, signed=("dane.test",)):
        r = Resolver(zones, signed)
        started.append(r)
        return r.start()
    yield make
    for r in started:
        r.stop()


@pytest.fixture
def receivers(tmp_path):
    started = []

    def make(ca, domain="dane.test", cert_names=("mx.dane.test",), chain=False):
        rx = start_receiver(str(tmp_path / f"rx{len(started)}"), domain, ca, cert_names,
                            chain=chain)
        started.append(rx)
        return rx
    yield make
    for rx in started:
        rx.stop()


def zones(port, tlsa=None, plain_tlsa=None, mx_ip="127.0.0.1", extra=()):
    """dane.test (signed), plain.test and slow.test (not signed); `tlsa`: the rdata of
    `_PORT._tcp.mx.dane.test` (None: no record), `plain_tlsa` that of plain.test's MX;
    `extra`: more dane.test records."""
    dane = ["@ MX 10 mx", f"mx A {mx_ip}", *extra]
    if tlsa:
        dane.append(f"_{port}._tcp.mx TLSA {tlsa}")
    plain = ["@ MX 10 mx", "mx A 127.0.0.1"]
    if plain_tlsa:
        plain.append(f"_{port}._tcp.mx TLSA {plain_tlsa}")
    return {"dane.test": dane, "plain.test": plain,
            "slow.test": ["@ MX 10 mx", "mx A 127.0.0.9"]}


def sender(make_server, resolver, port, extra="dane = true\nmta_sts = false\n"):
    return make_server(services=("submission", "imap"), extra_config=(
        f'[dns]\nnameservers = ["{resolver.addr}"]\n'
        f'[outbound]\nport = {port}\nretry_base = "1h"\n{extra}\n'))


def other_key_tlsa():
    return "3 1 1 " + hashlib.sha256(b"some other key").hexdigest()


def recipient(server, entry_id, address):
    shown = json.loads(server.cli("queue", "show", entry_id, "--json").stdout)
    return next(r for r in shown["recipients"] if r["address"] == address)


# ---- tests ------------------------------------------------------------------------------------

def test_dane_ee_match_delivers_over_verified_tls_and_records_it(make_server, ca, resolvers,
                                                                 receivers):
    rx = receivers(ca)
    port = rx.port("smtp")
    resolver = resolvers(zones(port, tlsa="3 1 1 " + spki_sha256(rx.tls_cert)))
    mta = sender(make_server, resolver, port)
    alice = mta.add_user("alice")
    # carol@slow.test cannot be delivered (nothing listens at its MX): the entry stays
    # queued, so bob's final state can be read from it.
    submit(mta, alice, [BOB, CAROL], make_message(alice, "dane ee", to=BOB))
    [got] = wait_mailbox(rx, 1, BOB)
    assert subject(got) == "dane ee"
    assert "with ESMTPS" in got.get_all("Received")[0], got.get_all("Received")
    entry, carol = wait_deferred(mta, CAROL)
    bob = recipient(mta, entry["id"], BOB)
    assert bob["state"] == "sent" and bob["tls"] is True, bob
    assert bob["dane"] == "verified", bob
    assert bob["remote_mta"] == "mx.dane.test"
    # slow.test is not signed: DANE did not apply to carol.
    assert carol["dane"] is None, carol
    text = mta.cli("queue", "show", entry["id"]).stdout.decode()
    assert "TLS, DANE verified" in text, text
    assert "DANE: certificate matched a TLSA record" in log(mta)


def test_dane_mismatch_defers_then_bounces_and_never_sends(make_server, ca, resolvers,
                                                           receivers):
    rx = receivers(ca)
    port = rx.port("smtp")
    resolver = resolvers(zones(port, tlsa=other_key_tlsa()))
    mta = sender(make_server, resolver, port)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "wrong key", to=BOB))
    entry, bob = wait_deferred(mta, BOB)
    assert bob["state"] == "pending"
    assert bob["dane"] == "failed", bob
    assert bob["last_reply"].startswith("4.7.5 DANE: mx.dane.test: certificate: "), bob
    assert "matches no TLSA record" in bob["last_reply"], bob
    # A second attempt fails the same way: no plain-text retry, ever.
    mta.cli("queue", "retry", "--all")
    entry, bob = wait_deferred(mta, BOB, attempts=2)
    assert bob["state"] == "pending" and bob["last_reply"].startswith("4.7.5 DANE"), bob
    assert mailbox(rx, BOB) == []
    assert "trying the host again in plain text" not in log(mta)
    assert "DANE: host refused" in log(mta)

    # At max_lifetime the recipient bounces with the reason (restarted with a lifetime the
    # entry has outlived, then asked to retry).
    mta.stop()
    with open(mta.config_path) as f:
        config = f.read()
    with open(mta.config_path, "w") as f:
        f.write(config.replace('retry_base = "1h"', 'retry_base = "1h"\nmax_lifetime = "1s"'))
    while time.time() < entry["arrival"] + 2:
        time.sleep(0.2)
    mta.start()
    mta.cli("queue", "retry", "--all")
    [dsn] = inbox(mta, alice)
    rcpt = delivery_status(dsn)[1]
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "4.4.7"
    assert "DANE" in rcpt["Diagnostic-Code"] and "TLSA" in rcpt["Diagnostic-Code"], rcpt
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert mailbox(rx, BOB) == []


def test_dane_host_without_starttls_is_deferred(make_server, resolvers):
    port = free_port(SINK_HOST)
    sink = Sink(port).start()
    try:
        resolver = resolvers(zones(port, tlsa=other_key_tlsa(), mx_ip=SINK_HOST))
        mta = sender(make_server, resolver, port)
        alice = mta.add_user("alice")
        submit(mta, alice, [BOB], make_message(alice, "no starttls", to=BOB))
        entry, bob = wait_deferred(mta, BOB)
        assert bob["state"] == "pending" and bob["dane"] == "failed", bob
        assert bob["last_reply"].startswith("4.7.5 DANE: mx.dane.test: TLS: "), bob
        assert "does not offer STARTTLS" in bob["last_reply"], bob
        assert sink.messages() == []
    finally:
        sink.stop()


def test_unsigned_zone_tlsa_is_ignored(make_server, ca, resolvers, receivers):
    rx = receivers(ca, domain="plain.test", cert_names=("mx.plain.test",))
    port = rx.port("smtp")
    # A TLSA record that matches nothing, in a zone nobody signed: no AD, so no DANE.
    resolver = resolvers(zones(port, plain_tlsa=other_key_tlsa()))
    mta = sender(make_server, resolver, port)
    alice = mta.add_user("alice")
    submit(mta, alice, [PLAIN_BOB, CAROL], make_message(alice, "insecure", to=PLAIN_BOB))
    [got] = wait_mailbox(rx, 1, PLAIN_BOB)
    assert subject(got) == "insecure"
    assert "with ESMTPS" in got.get_all("Received")[0]
    entry, _ = wait_deferred(mta, CAROL)
    bob = recipient(mta, entry["id"], PLAIN_BOB)
    assert bob["state"] == "sent" and bob["tls"] is True and bob["dane"] is None, bob
    assert "queue: DANE" not in log(mta)


def test_dane_off_ignores_tlsa(make_server, ca, resolvers, receivers):
    rx = receivers(ca)
    port = rx.port("smtp")
    resolver = resolvers(zones(port, tlsa=other_key_tlsa()))
    mta = sender(make_server, resolver, port, extra="dane = false\nmta_sts = false\n")
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB, CAROL], make_message(alice, "dane off", to=BOB))
    [got] = wait_mailbox(rx, 1, BOB)
    assert subject(got) == "dane off"
    entry, _ = wait_deferred(mta, CAROL)
    bob = recipient(mta, entry["id"], BOB)
    assert bob["state"] == "sent" and bob["dane"] is None, bob


@pytest.mark.parametrize("names,delivered", [(("mx.dane.test",), True),
                                              (("wrong.dane.test",), False)])
def test_dane_ta_with_the_test_ca(make_server, ca, resolvers, receivers, names, delivered):
    # The receiver sends its certificate and the CA's; the TLSA record is the CA's key.
    rx = receivers(ca, cert_names=names, chain=True)
    port = rx.port("smtp")
    resolver = resolvers(zones(port, tlsa="2 1 1 " + hashlib.sha256(ca.spki()).hexdigest()))
    mta = sender(make_server, resolver, port)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB, CAROL], make_message(alice, "dane ta", to=BOB))
    if delivered:
        [got] = wait_mailbox(rx, 1, BOB)
        assert subject(got) == "dane ta"
        entry, _ = wait_deferred(mta, CAROL)
        bob = recipient(mta, entry["id"], BOB)
        assert bob["state"] == "sent" and bob["dane"] == "verified", bob
        assert "record=2 1 1" in log(mta)
    else:
        entry, bob = wait_deferred(mta, BOB)
        assert bob["state"] == "pending" and bob["dane"] == "failed", bob
        assert "names none of mx.dane.test" in bob["last_reply"], bob
        assert mailbox(rx, BOB) == []


def test_bogus_tlsa_defers(make_server, ca, resolvers, receivers):
    rx = receivers(ca)
    port = rx.port("smtp")
    digest = spki_sha256(rx.tls_cert)
    resolver = resolvers(zones(port, tlsa="3 1 1 " + digest))
    # The TLSA data changed after signing: its signature no longer verifies, and Unbound
    # answers SERVFAIL (bogus) for it, while the MX and A records still validate.
    resolver.tamper("dane.test", digest, hashlib.sha256(b"forged").hexdigest())
    mta = sender(make_server, resolver, port)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "bogus", to=BOB))
    entry, bob = wait_deferred(mta, BOB)
    assert bob["state"] == "pending" and bob["dane"] == "failed", bob
    assert bob["last_reply"].startswith("4.7.5 DANE: TLSA lookup for mx.dane.test failed"), bob
    assert "SERVFAIL" in bob["last_reply"] or "Server Failure" in bob["last_reply"], bob
    assert mailbox(rx, BOB) == []


def test_dane_takes_precedence_over_mta_sts(make_server, ca, resolvers, receivers):
    """RFC 8461 §2: the domain's MTA-STS policy (enforce) does not name mx.dane.test, which
    alone would defer the mail; the host is DANE-protected, so DANE decides, and delivers."""
    from test_mta_sts import POLICY_IP, PolicyServer, policy_text
    policy = PolicyServer(ca, policy_text("enforce", mx=("other.dane.test",)), "dane.test")
    try:
        rx = receivers(ca)
        port = rx.port("smtp")
        resolver = resolvers(zones(
            port, tlsa="3 1 1 " + spki_sha256(rx.tls_cert),
            extra=['_mta-sts TXT "v=STSv1; id=dane1"', f"mta-sts A {POLICY_IP}"]))
        mta = sender(make_server, resolver, port,
                     extra=f'dane = true\ntls_ca_file = "{ca.path}"\n')
        alice = mta.add_user("alice")
        submit(mta, alice, [BOB, CAROL], make_message(alice, "dane over sts", to=BOB))
        [got] = wait_mailbox(rx, 1, BOB)
        assert subject(got) == "dane over sts"
        entry, _ = wait_deferred(mta, CAROL)
        bob = recipient(mta, entry["id"], BOB)
        assert bob["state"] == "sent" and bob["dane"] == "verified", bob
        assert bob["mta_sts"] is None, bob
        # The policy was fetched and in force: it is DANE that overrode it.
        assert policy.requests == 1
        assert "MTA-STS policy fetched" in log(mta)
    finally:
        policy.stop()
