"""The outbound queue (issue 3 item 4) with real peers: Tern's submission takes mail for
remote recipients, resolves MX records from a dnsmasq on loopback (tests/dnsserver.py) and
delivers to a Postfix smtp-sink on 127.0.0.3; failures come back as RFC 3464 DSNs in the
sender's INBOX (read with imaplib); `tern queue` shows, retries and deletes entries.

Nothing waits on a clock: the retry interval is set to an hour, so the only retries are the
ones `tern queue retry` asks for, and every wait is a poll with a generous bound.
"""

import email
import email.parser
import email.policy
import imaplib
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from dnsserver import Dns
from harness import DOMAIN, IO_TIMEOUT, TernServer, unverified_tls_context

SINK_HOST = "127.0.0.3"
WAIT = 90


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Sink:
    """Postfix's smtp-sink as the remote MX, one file per transaction (`-d`)."""

    def __init__(self, port, *options, host=SINK_HOST):
        self.host, self.port, self.options = host, port, options
        self.dir = tempfile.mkdtemp(prefix="tern-sink-")
        os.chmod(self.dir, 0o777)  # smtp-sink writes as nobody
        self.proc = None

    def start(self, *options):
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        cmd = [exe]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += ["-d", os.path.join(self.dir, "%Y%m%d%H%M%S."), *(options or self.options),
                f"{self.host}:{self.port}", "64"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def up():
            if self.proc.poll() is not None:
                pytest.fail("smtp-sink exited: " + self.proc.stderr.read().decode())
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as c:
                    c.recv(100)
                return True
            except OSError:
                return False
        wait_for(up, "smtp-sink to listen", 20)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def messages(self):
        """[(mail_from, [rcpts], message bytes with LF line ends)] for every transaction dumped."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), "rb") as f:
                data = f.read()
            head, _, rest = data.partition(b"Received: from ")
            lines = head.decode(errors="replace").splitlines()
            mail_from = next((l.split(": ", 1)[1] for l in lines if l.startswith("X-Mail-Args:")), "")
            rcpts = [l.split(": ", 1)[1].split()[0] for l in lines if l.startswith("X-Rcpt-Args:")]
            # Drop the sink's own Received: field (three lines).
            body = rest.split(b"\n", 3)[3] if rest.count(b"\n") >= 3 else b""
            # The dump ends each transaction with an empty line of its own.
            if body.endswith(b"\n\n"):
                body = body[:-1]
            out.append((mail_from, rcpts, body))
        return out


@pytest.fixture
def dns():
    with Dns(mx={"remote.test": [(10, "mx.remote.test")],
                 "backup.test": [(10, "down.backup.test"), (20, "mx.remote.test")],
                 "nullmx.test": [(0, ".")]},
             a={"mx.remote.test": SINK_HOST, "implicit.test": SINK_HOST,
                "down.backup.test": "127.0.0.9"}) as d:
        yield d


@pytest.fixture
def sink_port():
    return free_port(SINK_HOST)


@pytest.fixture
def sinks():
    started = []

    def make(port, *options):
        s = Sink(port, *options)
        started.append(s)
        return s.start()
    yield make
    for s in started:
        s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)


def outbound_config(dns, sink_port, extra=""):
    return (f'[dns]\nnameservers = ["{dns.addr}"]\n'
            f'[outbound]\nport = {sink_port}\nretry_base = "1h"\n{extra}\n')


@pytest.fixture
def mta(make_server, dns, sink_port):
    return make_server(services=("submission", "imap"),
                       extra_config=outbound_config(dns, sink_port))


def submit(server, user, rcpts, message, sender=None, mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.example.test")
        s.starttls(context=unverified_tls_context())
        s.ehlo("client.example.test")
        s.login(user.address, user.password)
        refused = s.sendmail(user.address if sender is None else sender, rcpts, message,
                             mail_options=list(mail_options), rcpt_options=list(rcpt_options))
        assert refused == {}


def make_message(user, subject, to="bob@remote.test", body="Hello from Tern.\r\n"):
    return (f"From: <{user.address}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{DOMAIN}>\r\n"
            f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n{body}").encode()


def queue_list(server):
    return json.loads(server.cli("queue", "list", "--json").stdout)


def inbox(server, user, min_count=1):
    def fetch():
        c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=IO_TIMEOUT)
        try:
            c.login(user.address, user.password)
            c.select("INBOX")
            _, data = c.search(None, "ALL")
            nums = data[0].split()
            if len(nums) < min_count:
                return None
            out = []
            for n in nums:
                _, msg = c.fetch(n, "(BODY.PEEK[])")
                out.append(email.message_from_bytes(msg[0][1], policy=email.policy.compat32))
            return out
        finally:
            c.logout()
    return wait_for(fetch, f"{min_count} message(s) in {user.address}'s INBOX")


def delivery_status(dsn):
    """The per-message and per-recipient field groups of a DSN's message/delivery-status."""
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = dsn.get_payload()
    status = next(p for p in parts if p.get_content_type() in (
        "message/delivery-status", "message/global-delivery-status"))
    if status.get_content_type() == "message/delivery-status":
        # compat32 parses message/delivery-status into a list of field blocks.
        return [dict(block.items()) for block in status.get_payload()]
    # RFC 6533's global report: compat32 parses its first field block as the header of an
    # inner message whose body holds the per-recipient blocks (UTF-8, surrogate-escaped).
    (inner,) = status.get_payload()
    rest = inner.get_payload(decode=True).decode("utf-8")
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    blocks = [b for b in rest.replace("\r\n", "\n").strip("\n").split("\n\n") if b]
    return [dict(inner.items())] + [dict(parser.parsestr(b + "\n").items()) for b in blocks]


def test_delivers_to_the_mx_with_trace_fields_and_no_return_path(mta, sinks, sink_port):
    sink = sinks(sink_port)
    alice = mta.add_user("alice")
    msg = make_message(alice, "two domains")
    submit(mta, alice, ["bob@remote.test", "carol@remote.test", "dan@implicit.test"], msg)
    wait_for(lambda: len(sink.messages()) == 2, "two transactions at the sink")
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    got = sorted(sink.messages(), key=lambda m: m[1])
    assert [m[1] for m in got] == [["<bob@remote.test>", "<carol@remote.test>"],
                                    ["<dan@implicit.test>"]]
    for mail_from, _, body in got:
        assert mail_from.startswith(f"<{alice.address}>")
        assert b"Return-Path:" not in body
        assert body.startswith(b"Received: from client.example.test"), body[:200]
        assert b"by mail.example.test (Tern)" in body
        # Exactly what was submitted follows the Received field (the sink writes LF).
        assert body.endswith(msg.replace(b"\r\n", b"\n")), body


def test_temporary_failure_is_retried_on_request(mta, sinks, sink_port):
    soft = sinks(sink_port, "-r", "RCPT")
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "retry me"))

    def deferred():
        entries = queue_list(mta)
        if entries and entries[0]["recipients"][0]["attempts"] >= 1:
            return entries
    entries = deferred_entries = wait_for(deferred, "a deferred entry")
    rcpt = entries[0]["recipients"][0]
    assert rcpt["state"] == "pending"
    assert rcpt["last_reply"].startswith("450 4.3.0"), rcpt
    assert rcpt["remote_mta"] == "mx.remote.test"
    shown = json.loads(mta.cli("queue", "show", deferred_entries[0]["id"], "--json").stdout)
    assert shown["recipients"][0]["last_reply"] == rcpt["last_reply"]
    assert soft.messages() == []

    soft.stop()
    good = sinks(sink_port)
    out = mta.cli("queue", "retry", "--all").stdout.decode()
    assert "1 recipient" in out
    wait_for(lambda: len(good.messages()) == 1, "the retried message at the sink")
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert b"Subject: retry me" in good.messages()[0][2]


def test_permanent_failure_bounces_to_the_local_sender(mta, sinks, sink_port):
    sinks(sink_port, "-f", "RCPT", "-B", "550 5.1.1 No such user here")
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "will bounce"),
           mail_options=["RET=HDRS", "ENVID=env-42"],
           rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;Bob@remote.test"])
    [dsn] = inbox(mta, alice)
    assert dsn["From"].startswith("Mail Delivery System <MAILER-DAEMON@")
    assert dsn["Return-Path"] == "<>"
    fields = delivery_status(dsn)
    assert fields[0]["Reporting-MTA"] == "dns; mail.example.test"
    assert fields[0]["Original-Envelope-Id"] == "env-42"
    assert "Arrival-Date" in fields[0]
    rcpt = fields[1]
    assert rcpt["Final-Recipient"] == "rfc822; bob@remote.test"
    assert rcpt["Original-Recipient"] == "rfc822; Bob@remote.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Remote-MTA"] == "dns; mx.remote.test"
    assert rcpt["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user here"
    # RET=HDRS: the header of the original only.
    returned = dsn.get_payload()[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert "Subject: will bounce" in returned.get_payload()
    assert "Hello from Tern" not in returned.get_payload()
    wait_for(lambda: queue_list(mta) == [], "an empty queue")


def test_no_dsn_for_the_null_sender_nor_for_notify_never(mta, sinks, sink_port):
    sinks(sink_port, "-f", "RCPT")
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "null sender"), sender="")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "never"),
           rcpt_options=["NOTIFY=NEVER"])
    # A third message with a DSN proves DSNs work in this server, and arrives after the
    # other two were processed (one worker pass handles them in order).
    wait_for(lambda: queue_list(mta) == [], "the two bounced entries to be done")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "marker"))
    [dsn] = inbox(mta, alice)
    assert "marker" in dsn.as_string()
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert len(inbox(mta, alice)) == 1


def test_success_dsn_when_the_remote_lacks_dsn(mta, sinks, sink_port):
    sink = sinks(sink_port, "-N")
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "tell me"),
           rcpt_options=["NOTIFY=SUCCESS"])
    [dsn] = inbox(mta, alice)
    rcpt = delivery_status(dsn)[1]
    assert rcpt["Action"] == "relayed"
    assert rcpt["Status"] == "2.0.0"
    assert len(sink.messages()) == 1


def test_dsn_parameters_are_passed_on_to_a_dsn_server(mta, sinks, sink_port):
    sink = sinks(sink_port)
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "params"),
           mail_options=["RET=FULL", "ENVID=abc+2Bdef"],
           rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;bob@remote.test"])
    wait_for(lambda: len(sink.messages()) == 1, "the message at the sink")
    # The remote supports DSN: it reports success itself, Tern sends nothing. (An empty
    # queue also means the sink answered the content, so its dump is complete.)
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    dump = os.listdir(sink.dir)[0]
    head = open(os.path.join(sink.dir, dump), "rb").read().split(b"Received:")[0].decode()
    assert "RET=FULL" in head and "ENVID=abc+2Bdef" in head, head
    assert "NOTIFY=SUCCESS,DELAY" in head and "ORCPT=rfc822;bob@remote.test" in head, head


def test_next_mx_when_the_best_is_down_and_delete(mta, sinks, sink_port):
    sink = sinks(sink_port)
    alice = mta.add_user("alice")
    submit(mta, alice, ["eve@backup.test"], make_message(alice, "backup mx"))
    wait_for(lambda: len(sink.messages()) == 1, "delivery through the second MX")
    wait_for(lambda: queue_list(mta) == [], "an empty queue")

    sink.stop()
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "to delete"))
    entries = wait_for(lambda: [e for e in queue_list(mta)
                                if e["recipients"][0]["attempts"] >= 1], "a deferred entry")
    assert "connect" in entries[0]["recipients"][0]["last_reply"]
    mta.cli("queue", "delete", entries[0]["id"])
    assert queue_list(mta) == []
    assert mta.cli("queue", "delete", entries[0]["id"], check=False).returncode == 1
    # Deleting does not bounce.
    assert not os.listdir(os.path.join(mta.data_dir, "queue"))


def test_kill_9_loses_nothing_and_delivers_once(mta, sinks, sink_port):
    alice = mta.add_user("alice")
    n = 6
    for i in range(n):
        submit(mta, alice, ["bob@remote.test"], make_message(alice, f"crash {i}"))
    assert len(queue_list(mta)) == n
    mta.proc.kill()
    mta.proc.wait()
    mta._log.close()
    mta.proc = None
    mta.ports = {}
    sink = sinks(sink_port)
    mta.start()
    mta.cli("queue", "retry", "--all")
    wait_for(lambda: queue_list(mta) == [], "the queue to drain after the restart")
    got = sink.messages()
    subjects = sorted(line for _, _, body in got for line in body.decode().splitlines()
                      if line.startswith("Subject: crash"))
    assert subjects == sorted(f"Subject: crash {i}" for i in range(n))


@pytest.mark.parametrize("mode,service", [("starttls", "submission"), ("tls", "submissions")])
def test_smarthost_with_auth_over_tls(make_server, dns, sinks, sink_port, tmp_path, mode,
                                      service):
    sink = sinks(sink_port)
    relay = make_server(services=("submission", "submissions"),
                        extra_config=outbound_config(dns, sink_port))
    relay_user = relay.add_user("alice")
    cert = relay.cert_path()
    assert cert
    secret = tmp_path / "relay.secret"
    secret.write_text(relay_user.password + "\n")
    mta = make_server(services=("submission", "imap"), extra_config=outbound_config(
        dns, 9, f'smarthost = "127.0.0.1:{relay.port(service)}"\n'
                f'smarthost_user = "{relay_user.address}"\n'
                f'smarthost_password_file = "{secret}"\n'
                f'smarthost_tls = "{mode}"\n'
                f'smarthost_ca_file = "{cert}"\n'))
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "via relay"))
    # smtp-sink writes its dump as the data arrives: wait for the body's last line too.
    wait_for(lambda: len(sink.messages()) == 1 and b"Hello from Tern." in sink.messages()[0][2],
             "the whole message at the sink through the relay")
    _, rcpts, body = sink.messages()[0]
    assert rcpts == ["<bob@remote.test>"]
    # Two Tern hops: the relay's Received (with ESMTPSA: TLS and AUTH) above the first.
    assert body.count(b"(Tern) with ESMTP") == 2, body
    assert b"ESMTPSA" in body.split(b"\n\n")[0]
    wait_for(lambda: queue_list(mta) == [], "an empty queue at the first server")
    wait_for(lambda: queue_list(relay) == [], "an empty queue at the relay")


def test_smarthost_refuses_wrong_password_as_a_bounce(make_server, dns, sinks, sink_port,
                                                       tmp_path):
    relay = make_server(services=("submission",), extra_config=outbound_config(dns, sink_port))
    relay_user = relay.add_user("alice")
    secret = tmp_path / "bad.secret"
    secret.write_text("wrong password\n")
    mta = make_server(services=("submission", "imap"), extra_config=outbound_config(
        dns, 9, f'smarthost = "127.0.0.1:{relay.port("submission")}"\n'
                f'smarthost_user = "{relay_user.address}"\n'
                f'smarthost_password_file = "{secret}"\n'
                f'smarthost_ca_file = "{relay.cert_path()}"\n'))
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "bad auth"))
    [dsn] = inbox(mta, alice)
    rcpt = delivery_status(dsn)[1]
    assert rcpt["Action"] == "failed"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 535"), rcpt


def wait_deferred(server):
    def deferred():
        entries = queue_list(server)
        if entries and all(r["attempts"] >= 1 for r in entries[0]["recipients"]):
            return entries[0]
    return wait_for(deferred, "a deferred entry")


def test_delay_warning_once_then_still_retried(make_server, dns, sinks, sink_port):
    sinks(sink_port, "-r", "RCPT")
    mta = make_server(services=("submission", "imap"), extra_config=outbound_config(
        dns, sink_port, 'delay_warning = "1s"\n'))
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "slow"))
    entry = wait_deferred(mta)
    # The warning is due once the entry is older than delay_warning: let that much pass
    # (the clock is the subject here), then ask for the next attempt.
    while time.time() < entry["arrival"] + 2:
        time.sleep(0.2)
    mta.cli("queue", "retry", entry["id"])
    [dsn] = inbox(mta, alice)
    assert dsn["Subject"].startswith("Delayed Mail")
    per_msg, rcpt = delivery_status(dsn)
    assert rcpt["Action"] == "delayed"
    assert rcpt["Status"] == "4.3.0"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 450 4.3.0")
    assert "Will-Retry-Until" in rcpt
    # Once only: another failed attempt warns no more, and the entry stays queued.
    wait_for(lambda: queue_list(mta)[0]["recipients"][0]["delay_warned"], "the warned mark")
    mta.cli("queue", "retry", "--all")
    wait_for(lambda: queue_list(mta)[0]["recipients"][0]["attempts"] >= 3, "a third attempt")
    assert len(inbox(mta, alice)) == 1
    assert queue_list(mta)[0]["recipients"][0]["state"] == "pending"


def test_lifetime_expiry_bounces_with_the_last_error(make_server, dns, sinks, sink_port):
    sinks(sink_port, "-r", "RCPT")
    mta = make_server(services=("submission", "imap"), extra_config=outbound_config(
        dns, sink_port, 'max_lifetime = "1s"\ndelay_warning = "1h"\n'))
    alice = mta.add_user("alice")
    submit(mta, alice, ["bob@remote.test"], make_message(alice, "too late"))
    entry = wait_deferred(mta)
    while time.time() < entry["arrival"] + 2:
        time.sleep(0.2)
    mta.cli("queue", "retry", "--all")
    [dsn] = inbox(mta, alice)
    rcpt = delivery_status(dsn)[1]
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "4.4.7"
    assert "450 4.3.0" in rcpt["Diagnostic-Code"]
    wait_for(lambda: queue_list(mta) == [], "an empty queue")


def test_null_mx_and_unknown_domain_bounce_at_once(mta, sinks, sink_port):
    sink = sinks(sink_port)
    alice = mta.add_user("alice")
    submit(mta, alice, ["x@nullmx.test", "y@nowhere.test", "bob@remote.test"],
           make_message(alice, "dns"))
    [dsn] = inbox(mta, alice)
    per_msg, *rcpts = delivery_status(dsn)
    by = {r["Final-Recipient"]: r for r in rcpts}
    assert set(by) == {"rfc822; x@nullmx.test", "rfc822; y@nowhere.test"}
    assert by["rfc822; x@nullmx.test"]["Status"] == "5.1.10"
    assert by["rfc822; y@nowhere.test"]["Status"] == "5.1.2"
    assert all(r["Action"] == "failed" and "Remote-MTA" not in r for r in rcpts)
    assert "null MX" in by["rfc822; x@nullmx.test"]["Diagnostic-Code"]
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    # The good recipient was delivered, alone in its transaction.
    assert [m[1] for m in sink.messages()] == [["<bob@remote.test>"]]


def test_no_downgrade_smtputf8_and_8bit_bounce(mta, sinks, sink_port):
    # smtp-sink never offers SMTPUTF8; -8 also hides 8BITMIME.
    sink = sinks(sink_port, "-8")
    alice = mta.add_user("alice")
    utf8 = make_message(alice, "utf8", to="bøb@remote.test", body="Grüße\r\n")
    with smtplib.SMTP("127.0.0.1", mta.port("submission"), timeout=IO_TIMEOUT) as s:
        s.ehlo("client.example.test")
        s.starttls(context=unverified_tls_context())
        s.ehlo("client.example.test")
        s.login(alice.address, alice.password)
        assert s.sendmail(alice.address, ["bøb@remote.test"], utf8,
                          mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
    submit(mta, alice, ["carol@remote.test"],
           make_message(alice, "8bit", to="carol@remote.test", body="Grüße\r\n"),
           mail_options=["BODY=8BITMIME"])
    dsns = inbox(mta, alice, 2)
    status = {str(delivery_status(d)[1]["Final-Recipient"]): delivery_status(d)[1]
              for d in dsns}
    # RFC 6533: the SMTPUTF8 message's DSN is a global one, the other a plain RFC 3464 one.
    kinds = sorted(d.get_payload()[1].get_content_type() for d in dsns)
    assert kinds == ["message/delivery-status", "message/global-delivery-status"]
    originals = sorted(d.get_payload()[2].get_content_type() for d in dsns)
    assert originals == ["message/global", "message/rfc822"]
    assert status["utf-8; bøb@remote.test"]["Status"] == "5.6.7"
    assert status["rfc822; carol@remote.test"]["Status"] == "5.6.3"
    assert all("Remote-MTA" in r for r in status.values())
    wait_for(lambda: queue_list(mta) == [], "an empty queue")
    assert sink.messages() == []


def test_delivered_dsn_for_local_notify_success(mta):
    """RFC 3461 §5.2.2.2: a local recipient with NOTIFY=SUCCESS gets the sender a
    "delivered" DSN (header only by default, the whole message with RET=FULL); recipients
    without it, or with NOTIFY=FAILURE, get none."""
    alice = mta.add_user("alice")
    bob = mta.add_user("bob")
    carol = mta.add_user("carol")
    submit(mta, alice, [bob.address], make_message(alice, "tell me", to=bob.address),
           mail_options=["RET=HDRS", "ENVID=env-42"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{bob.address}"])
    submit(mta, alice, [carol.address], make_message(alice, "quiet", to=carol.address),
           rcpt_options=["NOTIFY=FAILURE"])
    (dsn,) = inbox(mta, alice, 1)
    assert dsn["Subject"] == "Successful Mail Delivery Report"
    assert dsn["Return-Path"] == "<>"
    per_message, per_rcpt = delivery_status(dsn)[:2]
    assert per_message["Original-Envelope-Id"] == "env-42"
    assert per_rcpt["Action"] == "delivered"
    assert per_rcpt["Status"] == "2.0.0"
    assert per_rcpt["Final-Recipient"] == f"rfc822; {bob.address}"
    parts = dsn.get_payload()
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: tell me" in parts[2].get_payload()
    assert "Hello from Tern." not in parts[2].get_payload()
    # Only one DSN: carol asked for failures only.
    assert len(inbox(mta, alice, 1)) == 1
