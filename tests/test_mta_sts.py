"""MTA-STS (RFC 8461) in the outbound queue, with real parts only.

- DNS: a dnsmasq on loopback (tests/dnsserver.py) serves the MX, the A records and the
  `_mta-sts.remote.test` TXT record.
- The policy: Python's http.server over TLS on 127.0.0.46:443 (the port RFC 8461 fixes;
  loopback only), with a certificate for mta-sts.remote.test from a CA made per test
  (the `cryptography` module); the sending Tern trusts that CA through
  `[outbound] tls_ca_file`.
- The remote MX: a second Tern (`local_domains = ["remote.test"]`) whose SMTP listener has
  a certificate for mx.remote.test from the same CA (or one for another name, or its own
  self-signed one); its mailbox is read over IMAP.

Nothing waits on a clock: retries are an hour apart, so the only attempts are the first and
the ones `tern queue retry` asks for; every wait is a poll with a generous bound.
"""

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dnsserver import Dns
from mx_support import (BOB, CertAuthority, log, mailbox, start_receiver, subject,
                        wait_deferred, wait_mailbox)
from test_queue import delivery_status, inbox, make_message, queue_list, submit, wait_for

POLICY_IP = "127.0.0.46"


def policy_text(mode="enforce", mx=("mx.remote.test",), max_age=86400):
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx]
    return "\r\n".join(lines + [f"max_age: {max_age}", ""])


# ---- the policy host --------------------------------------------------------------------------

class PolicyServer:
    """https://mta-sts.DOMAIN/.well-known/mta-sts.txt on POLICY_IP:443 (DOMAIN: remote.test
    unless told); `policy` is what it serves (change it at will), `requests` how many
    fetches it answered."""

    def __init__(self, ca, policy, domain="remote.test"):
        self.policy = policy
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = outer.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cert, key = ca.issue(f"mta-sts.{domain}")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        try:
            self.httpd = ThreadingHTTPServer((POLICY_IP, 443), Handler)
        except PermissionError:
            pytest.skip("binding port 443 on loopback needs root (CAP_NET_BIND_SERVICE)")
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def ca(tmp_path):
    d = tmp_path / "ca"
    d.mkdir()
    return CertAuthority(str(d))


@pytest.fixture
def dns():
    with Dns(mx={"remote.test": [(10, "mx.remote.test")],
                 "slow.test": [(10, "mx.slow.test")]},
             a={"mx.remote.test": "127.0.0.1", "other.remote.test": "127.0.0.1",
                "mta-sts.remote.test": POLICY_IP, "mx.slow.test": "127.0.0.9"},
             txt={"_mta-sts.remote.test": "v=STSv1; id=20261204a"}) as d:
        yield d


@pytest.fixture
def policy_server(ca):
    servers = []

    def make(policy):
        s = PolicyServer(ca, policy)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def receivers(tmp_path):
    """`make(cert_names)`: a Tern for remote.test on 127.0.0.1 (smtp, imap), with a CA
    certificate for `cert_names`, or (None) its own self-signed one; bob@remote.test exists."""
    started = []

    def make(ca, cert_names=("mx.remote.test",)):
        rx = start_receiver(str(tmp_path / f"rx{len(started)}"), "remote.test", ca, cert_names)
        started.append(rx)
        return rx
    yield make
    for rx in started:
        rx.stop()


def sender(make_server, dns, rx, ca, extra=""):
    return make_server(services=("submission", "imap"), extra_config=(
        f'[dns]\nnameservers = ["{dns.addr}"]\n'
        f'[outbound]\nport = {rx.port("smtp")}\nretry_base = "1h"\n'
        f'tls_ca_file = "{ca.path}"\n{extra}\n'))


# ---- tests ------------------------------------------------------------------------------------

def test_enforce_delivers_over_verified_tls_and_records_it(make_server, dns, ca, policy_server,
                                                           receivers):
    policy = policy_server(policy_text("enforce"))
    rx = receivers(ca)
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    # carol@slow.test cannot be delivered (nothing listens at its MX): the entry stays
    # queued, so bob's final state can be read from it.
    submit(mta, alice, [BOB, "carol@slow.test"], make_message(alice, "enforced", to=BOB))
    [got] = wait_mailbox(rx, 1)
    assert subject(got) == "enforced"
    # The remote Tern's trace field: it was received over TLS.
    assert "with ESMTPS" in got.get_all("Received")[0], got.get_all("Received")
    entry, carol = wait_deferred(mta, "carol@slow.test")
    bob = next(r for r in entry["recipients"] if r["address"] == BOB)
    assert bob["state"] == "sent"
    assert bob["tls"] is True
    assert bob["mta_sts"] == "enforce"
    assert bob["remote_mta"] == "mx.remote.test"
    assert carol["state"] == "pending" and carol["mta_sts"] is None
    shown = json.loads(mta.cli("queue", "show", entry["id"], "--json").stdout)
    assert [r["mta_sts"] for r in shown["recipients"]] == ["enforce", None]
    text = mta.cli("queue", "show", entry["id"]).stdout.decode()
    assert "TLS, MTA-STS enforce" in text, text
    assert policy.requests == 1
    assert "MTA-STS policy fetched" in log(mta)


def test_enforce_mx_not_in_policy_defers_then_bounces(make_server, dns, ca, policy_server,
                                                      receivers):
    policy_server(policy_text("enforce", mx=("other.remote.test", "*.elsewhere.test")))
    rx = receivers(ca)
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "not for that mx", to=BOB))
    entry, bob = wait_deferred(mta)
    assert bob["state"] == "pending"
    assert bob["mta_sts"] == "enforce"
    assert bob["last_reply"].startswith("4.7.5 "), bob
    assert "mx.remote.test" in bob["last_reply"], bob
    assert "MTA-STS policy" in bob["last_reply"], bob
    assert "other.remote.test" in bob["last_reply"], bob
    assert mailbox(rx) == []
    assert "MTA-STS enforce: MX host not in the policy" in log(mta)

    # At max_lifetime the recipient bounces with the reason (the server restarted with a
    # lifetime the entry has outlived, then asked to retry).
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
    assert "MTA-STS policy" in rcpt["Diagnostic-Code"], rcpt
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert mailbox(rx) == []


@pytest.mark.parametrize("certificate", ["other-name", "self-signed"])
def test_enforce_bad_certificate_defers_and_never_sends_in_plain_text(
        make_server, dns, ca, policy_server, receivers, certificate):
    policy_server(policy_text("enforce"))
    rx = receivers(ca, ("wrong.remote.test",) if certificate == "other-name" else None)
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "bad cert", to=BOB))
    entry, bob = wait_deferred(mta)
    assert bob["state"] == "pending"
    assert bob["mta_sts"] == "enforce"
    assert bob["last_reply"].startswith("4.7.5 MTA-STS policy of remote.test (enforce): TLS"), bob
    assert "certificate" in bob["last_reply"], bob
    # A second attempt fails the same way: no downgrade, ever.
    mta.cli("queue", "retry", "--all")
    entry, bob = wait_deferred(mta, attempts=2)
    assert bob["state"] == "pending" and bob["last_reply"].startswith("4.7.5 "), bob
    assert mailbox(rx) == []
    assert "trying the host again in plain text" not in log(mta)


def test_testing_mode_delivers_despite_a_bad_certificate_and_logs_it(
        make_server, dns, ca, policy_server, receivers):
    policy_server(policy_text("testing"))
    rx = receivers(ca, ("wrong.remote.test",))
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "testing mode", to=BOB))
    [got] = wait_mailbox(rx, 1)
    assert subject(got) == "testing mode"
    assert "with ESMTPS" in got.get_all("Received")[0]
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    text = log(mta)
    assert "MTA-STS testing: would have failed: certificate" in text, text[-3000:]
    assert 'not valid for name "mx.remote.test"' in text


def test_cached_policy_survives_a_restart_while_https_is_down(make_server, dns, ca,
                                                              policy_server, receivers):
    policy = policy_server(policy_text("enforce"))
    rx = receivers(ca)
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "first", to=BOB))
    wait_mailbox(rx, 1)
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert policy.requests == 1

    # The policy host goes away, the sender restarts, and the domain's MX moves to a host
    # the cached policy does not name: only the cached policy can stop this delivery (with
    # no policy, opportunistic TLS would deliver it to other.remote.test, the same Tern).
    policy.stop()
    mta.stop()
    dns.mx = {"remote.test": [(10, "other.remote.test")]}
    dns.restart()
    mta.start()
    submit(mta, alice, [BOB], make_message(alice, "second", to=BOB))
    entry, bob = wait_deferred(mta)
    assert bob["mta_sts"] == "enforce"
    assert bob["last_reply"].startswith("4.7.5 "), bob
    assert "other.remote.test" in bob["last_reply"], bob
    assert [subject(m) for m in mailbox(rx)] == ["first"]


def test_a_new_txt_id_fetches_the_new_policy(make_server, dns, ca, policy_server, receivers):
    policy = policy_server(policy_text("enforce"))
    rx = receivers(ca)
    mta = sender(make_server, dns, rx, ca)
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "one", to=BOB))
    wait_mailbox(rx, 1)
    assert policy.requests == 1

    # A new policy text under the same id is not fetched: the cached policy still applies.
    policy.policy = policy_text("enforce", mx=("other.remote.test",))
    submit(mta, alice, [BOB], make_message(alice, "two", to=BOB))
    wait_mailbox(rx, 2)
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert policy.requests == 1

    # A new id in DNS: the new policy is fetched and applied (mx.remote.test no longer in it).
    dns.txt = {"_mta-sts.remote.test": "v=STSv1; id=20261204b"}
    dns.restart()
    submit(mta, alice, [BOB], make_message(alice, "three", to=BOB))
    entry, bob = wait_deferred(mta)
    assert policy.requests == 2
    assert bob["last_reply"].startswith("4.7.5 "), bob
    assert "other.remote.test" in bob["last_reply"], bob
    assert sorted(subject(m) for m in mailbox(rx)) == ["one", "two"]
    assert log(mta).count("MTA-STS policy fetched") == 2


def test_mta_sts_off_ignores_the_policy(make_server, dns, ca, policy_server, receivers):
    policy = policy_server(policy_text("enforce", mx=("other.remote.test",)))
    rx = receivers(ca)
    mta = sender(make_server, dns, rx, ca, "mta_sts = false\n")
    alice = mta.add_user("alice")
    submit(mta, alice, [BOB], make_message(alice, "no sts", to=BOB))
    wait_mailbox(rx, 1)
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert policy.requests == 0
