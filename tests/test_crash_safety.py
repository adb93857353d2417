"""Acknowledged means durable: kill -9 the server during a flood of concurrent IMAP APPENDs and
LMTP deliveries, restart it on the same data folder, and check that every acknowledged message
is present exactly once and byte-identical, and that every stored message can be read (no
metadata row points at a missing blob).

Self-contained (does not rely on conftest fixtures) so it reads as one story.
"""

import imaplib
import os
import re
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import uuid

TERN = os.environ.get("TERN_BIN", os.path.join(os.path.dirname(__file__), "..", "target", "debug", "tern"))
USER = "crash@example.test"
PASSWORD = "Crash#Pass1"


def _config(data_dir):
    path = os.path.join(data_dir, "tern.toml")
    with open(path, "w") as f:
        f.write(
            f'''hostname = "mail.example.test"
data_dir = "{data_dir}"
local_domains = ["example.test"]
[listen]
imap = ["127.0.0.1:0"]
lmtp = ["127.0.0.1:0"]
[auth]
allow_plaintext = true
[quota]
default = "1GB"
'''
        )
    return path


def _start(config):
    """Starts `tern serve` and returns (process, {service: port}) once it reports ready."""
    proc = subprocess.Popen(
        [TERN, "serve", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ports = {}
    deadline = time.time() + 120
    for line in proc.stdout:
        m = re.search(r"(\w+) listening on (?:\[?[\d.:a-f]+\]?):(\d+)", line)
        if m:
            ports[m.group(1).lower()] = int(m.group(2))
        if "ready" in line.lower():
            break
        if time.time() > deadline:
            break
    assert "imap" in ports and "lmtp" in ports, f"server did not report its ports: {ports}"
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, ports


def _message(token, size):
    filler = ("x" * 76 + "\r\n") * (size // 78 + 1)
    return (
        f"From: flood@example.test\r\nTo: {USER}\r\nSubject: crash {token}\r\n"
        f"Message-ID: <{token}@example.test>\r\n\r\nTOKEN {token}\r\n{filler}"
    ).encode()


def _appender(port, acked, stop, idx):
    try:
        c = imaplib.IMAP4("127.0.0.1", port)
        c.login(USER, PASSWORD)
        n = 0
        while not stop.is_set():
            token = f"imap-{idx}-{n}-{uuid.uuid4().hex[:8]}"
            data = _message(token, 2000 + (n % 7) * 3000)
            typ, _ = c.append("INBOX", None, None, data)
            if typ == "OK":
                acked.append(("imap", token, data))
            n += 1
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
        pass  # the server was killed mid-command: that message was not acknowledged


def _deliverer(port, acked, stop, idx):
    n = 0
    while not stop.is_set():
        try:
            s = smtplib.LMTP("127.0.0.1", port, timeout=30)
            s.ehlo_or_helo_if_needed = lambda: None
            s.docmd("LHLO", "flood.example.test")
            while not stop.is_set():
                token = f"lmtp-{idx}-{n}-{uuid.uuid4().hex[:8]}"
                data = _message(token, 1000 + (n % 5) * 4000)
                refused = s.sendmail("flood@example.test", [USER], data)
                if not refused:
                    acked.append(("lmtp", token, data))
                n += 1
        except (OSError, smtplib.SMTPException):
            return


def test_kill_9_during_flood_loses_nothing_acknowledged():
    with tempfile.TemporaryDirectory() as data_dir:
        config = _config(data_dir)
        add = subprocess.run(
            [TERN, "user", "add", USER, "--password-stdin", "--config", config],
            input=PASSWORD + "\n", text=True, capture_output=True,
        )
        assert add.returncode == 0, add.stderr

        proc, ports = _start(config)
        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=_appender, args=(ports["imap"], acked, stop, i)) for i in range(4)]
        threads += [threading.Thread(target=_deliverer, args=(ports["lmtp"], acked, stop, i)) for i in range(4)]
        for t in threads:
            t.start()
        # Let the flood run until a good number of messages were acknowledged, then kill -9
        # while commands are in flight.
        deadline = time.time() + 120
        while len(acked) < 150 and time.time() < deadline:
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        snapshot = list(acked)
        assert len(snapshot) >= 50, f"only {len(snapshot)} messages acknowledged before the kill"

        proc, ports = _start(config)
        try:
            c = imaplib.IMAP4("127.0.0.1", ports["imap"])
            c.login(USER, PASSWORD)
            typ, data = c.select("INBOX")
            assert typ == "OK"
            count = int(data[0])
            found = {}
            if count:
                typ, items = c.fetch("1:*", "(BODY.PEEK[])")
                assert typ == "OK"
                bodies = [part[1] for part in items if isinstance(part, tuple)]
                # Every stored message must be readable: a dangling blob reference would
                # fail the FETCH or return fewer bodies than EXISTS.
                assert len(bodies) == count
                for body in bodies:
                    m = re.search(rb"TOKEN (\S+)", body)
                    assert m, "stored message without a token"
                    found.setdefault(m.group(1).decode(), []).append(body)
            for kind, token, data in snapshot:
                assert token in found, f"acknowledged {kind} message {token} lost"
                assert len(found[token]) == 1, f"{token} stored {len(found[token])} times"
                body = found[token][0]
                if kind == "imap":
                    assert body == data, f"{token} not byte-identical"
                else:
                    # LMTP delivery prepends trace headers (Return-Path, Received); the
                    # message itself follows unchanged.
                    assert body.endswith(data), f"{token} not byte-identical after trace headers"
            # Messages the server stored but never acknowledged (killed between commit and
            # reply) are allowed; nothing may be duplicated.
            assert all(len(v) == 1 for v in found.values())
            c.logout()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
