"""The gateway filters on the SMTP MX, against the real peers: rspamd (HTTP /checkv2) with
the GTUBE pattern, clamd (INSTREAM) with an EICAR attachment, Debian's clamav-milter (the
Sendmail milter protocol) talking to the same clamd, and filters that are down (a closed
port) under fail-open and fail-closed. Replies are read from smtplib; delivered messages are
read back over IMAP.

rspamd starts once per pytest run (its cold start takes ~15 s); every test has its own
`tern serve` with the [spam] / [virus] / [milter] tables it needs.
"""

import base64
import smtplib
import socket
import uuid

import pytest

from harness import DOMAIN, PASSWORD, message
from peers import peer

RSPAMD = "127.0.0.1:21333"
CLAMD = "127.0.0.1:13310"
MILTER = "127.0.0.1:13320"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="module")
def filters():
    peer("rspamd")
    peer("clamd")


@pytest.fixture(scope="module")
def milter(filters):
    peer("clamav_milter")


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def eicar_message(to):
    boundary = "b-" + uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream; name=report.com\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=report.com\r\n\r\n"
        f"{base64.b64encode(EICAR).decode()}\r\n--{boundary}--\r\n"
    )
    return message("Quarterly report", body, to=to).replace(
        b"Content-Type: text/plain; charset=us-ascii",
        f"Content-Type: multipart/mixed; boundary={boundary}".encode(),
    )


def send(srv, to, data, sender=f"sender@{DOMAIN}"):
    """Sends over the MX; returns (code, text) of the reply to the end of data."""
    with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=120) as s:
        s.ehlo("client.example.test")
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        code, text = s.rcpt(to)
        assert code == 250, (code, text)
        return s.data(data)


def mailbox(srv, user, name="INBOX"):
    """Every message in the mailbox, as bytes."""
    c = srv.imap(user)
    try:
        typ, _ = c.select(f'"{name}"', readonly=True)
        assert typ == "OK", name
        typ, data = c.search(None, "ALL")
        out = []
        for num in data[0].split():
            typ, fetched = c.fetch(num, "(BODY.PEEK[])")
            out.append(fetched[0][1])
        return out
    finally:
        c.logout()


def header_section(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode()


def field_names(raw):
    return [l.split(":", 1)[0] for l in header_section(raw).split("\r\n") if l and l[0] not in " \t"]


def server(make_server, config):
    return make_server(services=("smtp", "imap"), extra_config=config)


def test_gtube_rejected_at_data(filters, make_server):
    srv = server(make_server, f'[spam]\nrspamd = "{RSPAMD}"\non_reject = "reject"\n')
    u = srv.add_user()
    code, text = send(srv, u.address, message("Cheap", f"{GTUBE}\r\n", to=u.address))
    assert code == 550 and text.startswith(b"5.7.1"), (code, text)
    assert b"Gtube pattern" in text, text
    assert mailbox(srv, u) == []


def test_gtube_to_junk(filters, make_server):
    srv = server(make_server, f'[spam]\nrspamd = "{RSPAMD}"\non_reject = "junk"\n')
    u = srv.add_user()
    code, text = send(srv, u.address, message("Cheap", f"{GTUBE}\r\n", to=u.address))
    assert code == 250, (code, text)
    assert mailbox(srv, u) == []
    junk = mailbox(srv, u, "Junk")
    assert len(junk) == 1, junk
    head = header_section(junk[0])
    assert "X-Spam-Status: Yes," in head and "action=reject" in head, head
    assert "GTUBE(" in head, head


def test_clean_message_gets_the_headers(filters, make_server):
    srv = server(make_server, f'[spam]\nrspamd = "{RSPAMD}"\n[virus]\nclamd = "{CLAMD}"\n')
    u = srv.add_user()
    body = "Hello,\r\n\r\nthe meeting moves to Thursday at ten, room 4.\r\n\r\nRegards\r\n"
    forged = "X-Spam-Status: No, forged\r\nX-Virus-Status: Clean (forged)\r\n"
    code, text = send(srv, u.address, message("Meeting", body, to=u.address,
                                              extra_headers=forged))
    assert code == 250, (code, text)
    [raw] = mailbox(srv, u)
    head = header_section(raw)
    assert "forged" not in head, head
    assert field_names(raw).count("X-Spam-Status") == 1, head
    assert "X-Spam-Status: No," in head, head
    assert "X-Virus-Status: Clean" in head, head
    names = field_names(raw)
    # Return-Path stays first; the filters' fields sit above our Received, above the
    # client's own header.
    assert names[0] == "Return-Path", names
    assert names.index("X-Spam-Status") < names.index("Received") < names.index("Subject"), names
    assert names.index("X-Virus-Status") < names.index("Received"), names
    assert raw.endswith(b"room 4.\r\n\r\nRegards\r\n")


def test_eicar_rejected_by_clamd(filters, make_server):
    srv = server(make_server, f'[virus]\nclamd = "{CLAMD}"\n')
    u = srv.add_user()
    code, text = send(srv, u.address, eicar_message(u.address))
    assert code == 554 and text.startswith(b"5.7.1"), (code, text)
    assert b"virus" in text.lower(), text
    assert mailbox(srv, u) == []


def test_filter_down_fail_open_delivers_and_logs(make_server):
    port = closed_port()
    srv = server(make_server, f'[spam]\nrspamd = "127.0.0.1:{port}"\non_failure = "open"\n'
                              f'timeout = "5s"\n')
    u = srv.add_user()
    code, text = send(srv, u.address, message("Still delivered", to=u.address))
    assert code == 250, (code, text)
    [raw] = mailbox(srv, u)
    assert b"X-Spam-Status" not in raw
    log = open(srv.log_path, "rb").read().decode(errors="replace")
    assert "WARN" in log and "fail-open" in log and str(port) in log, srv.log_tail()


def test_filter_down_fail_closed_is_451(make_server):
    port = closed_port()
    srv = server(make_server, f'[virus]\nclamd = "127.0.0.1:{port}"\non_failure = "closed"\n')
    u = srv.add_user()
    code, text = send(srv, u.address, message("Wait", to=u.address))
    assert code == 451 and text.startswith(b"4.7.1"), (code, text)
    assert mailbox(srv, u) == []
    log = open(srv.log_path, "rb").read().decode(errors="replace")
    assert "fail-closed" in log, srv.log_tail()


def test_milter_rejects_eicar(milter, make_server):
    srv = server(make_server, f'[milter]\nservers = ["{MILTER}"]\n')
    u = srv.add_user()
    code, text = send(srv, u.address, eicar_message(u.address))
    assert code == 550 and text.startswith(b"5.7.1"), (code, text)
    assert mailbox(srv, u) == []


def test_milter_adds_its_header_to_a_clean_message(milter, make_server):
    srv = server(make_server, f'[milter]\nservers = ["{MILTER}"]\n')
    u = srv.add_user()
    # clamav-milter's "AddHeader Replace" changes X-Virus-Scanned (SMFIR_CHGHEADER): the
    # client's forged one is replaced, not kept beside the milter's.
    data = message("Clean", "Nothing to see.\r\n", to=u.address,
                   extra_headers="X-Virus-Scanned: forged by the sender\r\n")
    code, text = send(srv, u.address, data)
    assert code == 250, (code, text)
    [raw] = mailbox(srv, u)
    head = header_section(raw)
    assert "X-Virus-Scanned: clamav-milter" in head, head
    assert "forged by the sender" not in head, head
    assert field_names(raw).count("X-Virus-Scanned") == 1, head


def test_submission_scanned_only_by_filters_that_say_so(filters, make_server):
    srv = make_server(services=("submission", "imap"), extra_config=(
        f'[spam]\nrspamd = "{RSPAMD}"\non_reject = "reject"\n'
        f'[virus]\nclamd = "{CLAMD}"\nsubmission = true\n'))
    u = srv.add_user()

    def submit(data):
        with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=120) as s:
            s.ehlo("client.example.test")
            s.login(u.address, PASSWORD)
            assert s.mail(u.address)[0] == 250
            assert s.rcpt(u.address)[0] == 250
            return s.data(data)

    # [spam] has no `submission = true`: GTUBE from an authenticated user is delivered.
    code, text = submit(message("Test", f"{GTUBE}\r\n", sender=u.address, to=u.address))
    assert code == 250, (code, text)
    [raw] = mailbox(srv, u)
    assert b"X-Spam-Status" not in raw and b"X-Virus-Status: Clean" in raw, raw[:600]
    eicar = eicar_message(u.address).replace(f"From: sender@{DOMAIN}".encode(),
                                             f"From: {u.address}".encode())
    eicar = eicar.replace(f"From: alice@{DOMAIN}".encode(), f"From: {u.address}".encode())
    code, text = submit(eicar)
    assert code == 554 and text.startswith(b"5.7.1"), (code, text)
    assert len(mailbox(srv, u)) == 1
