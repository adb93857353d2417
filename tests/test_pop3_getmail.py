"""POP3 with getmail6 (Debian's `getmail`), a real retriever nobody here wrote, against the real
`tern serve` refusing plaintext logins before TLS:

- over POP3S (995-style implicit TLS) with the certificate checked against the server's own
  (`ca_certs`; a certificate from elsewhere is refused), into a Maildir, byte for byte;
- `read_all = false`: getmail's UIDL state (its `oldmail` file) — a second run fetches
  nothing, a later run only what is new (UIDLs are stable across sessions);
- `delete = true`: DELE + QUIT remove the messages from Tern, and IMAP sees INBOX empty;
- plain POP3: getmail6 has no STLS (no `SimplePOP3Retriever` option for it), so its USER/PASS
  before TLS is refused with `[AUTH]` and nothing is fetched, unless `[auth] allow_plaintext`.

The other POP3 clients (poplib, fetchmail) are driven from crates/tern-pop3/tests/clients.rs.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

from harness import DOMAIN, IO_TIMEOUT, message

GETMAIL = "/usr/bin/getmail"

pytestmark = pytest.mark.skipif(not os.path.exists(GETMAIL),
                                reason="getmail6 not installed (apt package getmail6)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from harness import TernServer

    s = TernServer(str(tmp_path_factory.mktemp("pop3-getmail")), allow_plaintext=False,
                   services=("pop3", "pop3s", "imap", "lmtp")).start()
    yield s
    s.stop()


def tricky(subject):
    """A message that catches dot-stuffing, line-length and header-rewriting mistakes."""
    body = (".a line starting with a dot\r\n..and two\r\n.\r\n"
            + "x" * 1500 + "\r\n"
            + "".join(f"body line {i} of {subject}\r\n" for i in range(300)))
    # Header lines stay within 78 octets: getmail's writer (Python's email generator)
    # re-folds longer ones, which would be getmail's change, not Tern's.
    extra = ("X-Folded: one\r\n\ttwo\r\n"
             "Received: from a.example.test by b.example.test;\r\n"
             " Mon, 2 Mar 2026 09:59:00 +0000\r\n")
    return message(subject, body, extra_headers=extra)


class Getmail:
    """One getmail configuration (a getmaildir with its rc file and a Maildir)."""

    def __init__(self, base, server, user, *, ssl=True, ca_certs=None, **options):
        self.dir = os.path.join(base, uuid.uuid4().hex[:8])
        os.makedirs(self.dir)
        destination = ["type = Maildir"]
        if os.geteuid() == 0:
            # getmail refuses to deliver as root: its Maildir writer runs as `nobody`, in a
            # folder nobody can reach (pytest's tmp_path is private to root).
            self.maildir_root = tempfile.mkdtemp(prefix="tern-getmail-")
            nobody = pwd.getpwnam("nobody")
            destination.append("user = nobody")
        else:
            self.maildir_root, nobody = self.dir, None
        self.maildir = os.path.join(self.maildir_root, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        if nobody:
            for d in (self.maildir_root, self.maildir, *glob.glob(self.maildir + "/*")):
                os.chown(d, nobody.pw_uid, nobody.pw_gid)
        destination.append(f"path = {self.maildir}/")
        retriever = [
            f"type = {'SimplePOP3SSLRetriever' if ssl else 'SimplePOP3Retriever'}",
            "server = 127.0.0.1",
            f"port = {server.port('pop3s' if ssl else 'pop3')}",
            f"username = {user.address}",
            f"password = {user.password}",
            f"timeout = {IO_TIMEOUT}",
        ]
        if ssl:
            retriever += [f"ca_certs = {ca_certs or server.cert_path()}",
                          f"ssl_cert_hostname = mail.{DOMAIN}"]
        opts = {"verbose": 2, "read_all": True, "delete": False,
                # Deliver the message as Tern sent it: no header of getmail's own.
                "delivered_to": False, "received": False, **options}
        self.rc = os.path.join(self.dir, "getmailrc")
        with open(self.rc, "w") as f:
            f.write("[retriever]\n" + "\n".join(retriever) + "\n\n"
                    "[destination]\n" + "\n".join(destination) + "\n\n"
                    "[options]\n"
                    + "".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}\n"
                              for k, v in opts.items()))

    def set(self, **options):
        """Changes [options] values for the next run (same UIDL state)."""
        lines = open(self.rc).read().splitlines()
        for k, v in options.items():
            value = str(v).lower() if isinstance(v, bool) else v
            lines = [f"{k} = {value}" if l.startswith(f"{k} = ") else l for l in lines]
        with open(self.rc, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self):
        """Runs getmail once; returns (exit code, output)."""
        r = subprocess.run([GETMAIL, f"--getmaildir={self.dir}", f"--rcfile={self.rc}"],
                           capture_output=True, timeout=3 * IO_TIMEOUT,
                           env=dict(os.environ, HOME=self.dir))
        return r.returncode, (r.stdout + r.stderr).decode(errors="replace")

    def close(self):
        if self.maildir_root != self.dir:
            shutil.rmtree(self.maildir_root, ignore_errors=True)

    def messages(self):
        """The delivered files' bytes, in delivery order."""
        files = glob.glob(os.path.join(self.maildir, "new", "*"))
        files.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
        return [open(p, "rb").read() for p in files]


@pytest.fixture
def getmail(tmp_path):
    """Getmail(server, user, **options) configurations, cleaned up after the test."""
    made = []

    def make(server, user, **options):
        g = Getmail(str(tmp_path), server, user, **options)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


def as_maildir(raw):
    """A message as a Maildir file holds it: LF line ends (getmail writes the native form)."""
    return raw.replace(b"\r\n", b"\n")


def stored(server, user):
    """INBOX's messages as Tern stores them (its Return-Path and Received lines added at
    delivery), read over IMAP."""
    c = server.imap_starttls(user)
    try:
        assert c.select("INBOX", readonly=True)[0] == "OK"
        typ, data = c.fetch("1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [item[1] for item in data if isinstance(item, tuple)]
    finally:
        c.logout()


def inbox_count(server, user):
    c = server.imap_starttls(user)
    try:
        typ, data = c.select("INBOX", readonly=True)
        assert typ == "OK", data
        return int(data[0])
    finally:
        c.logout()


def test_pop3s_checked_certificate_byte_exact_and_uidl_state(server, getmail):
    user = server.add_user()
    sent = [tricky("one"), message("two"), tricky("three")]
    for m in sent:
        assert server.deliver([user.address], m)[user.address][0] == 250

    on_server = stored(server, user)
    assert len(on_server) == 3

    g = getmail(server, user, read_all=False)
    code, out = g.run()
    assert code == 0, out
    assert "3 messages (" in out and "retrieved" in out, out
    assert sorted(g.messages()) == sorted(as_maildir(m) for m in on_server), out

    # getmail remembers the UIDLs it saw: the next run fetches nothing.
    code, out = g.run()
    assert code == 0, out
    assert "0 messages" in out, out
    assert len(g.messages()) == 3
    assert inbox_count(server, user) == 3, "delete = false kept them on the server"

    # New mail: only it is fetched (the old UIDLs did not change between sessions).
    server.deliver([user.address], message("four"))
    code, out = g.run()
    assert code == 0, out
    assert "1 messages (" in out, out
    assert sorted(g.messages()) == sorted(as_maildir(m) for m in stored(server, user))
    assert b"Subject: four\n" in g.messages()[-1]


def test_delete_empties_the_inbox_seen_from_imap(server, getmail):
    user = server.add_user()
    sent = [message("a"), tricky("b")]
    for m in sent:
        server.deliver([user.address], m)
    on_server = stored(server, user)
    assert len(on_server) == 2

    g = getmail(server, user, delete=True)
    code, out = g.run()
    assert code == 0, out
    assert sorted(g.messages()) == sorted(as_maildir(m) for m in on_server)
    assert inbox_count(server, user) == 0, out
    code, out = g.run()
    assert code == 0 and "0 messages" in out, out


def test_certificate_from_elsewhere_is_refused(server, getmail, tmp_path):
    user = server.add_user()
    server.deliver([user.address], message("kept"))
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN=mail.{DOMAIN}", "-addext",
                    f"subjectAltName=DNS:mail.{DOMAIN},IP:127.0.0.1",
                    "-keyout", str(tmp_path / "other.key"), "-out", str(other)],
                   check=True, capture_output=True, timeout=IO_TIMEOUT)
    g = getmail(server, user, ca_certs=str(other), delete=True)
    code, out = g.run()
    assert code != 0 and "certificate verify failed" in out, out
    assert g.messages() == []
    assert inbox_count(server, user) == 1


def test_plain_pop3_refused_before_tls(server, getmail):
    """getmail6 cannot STLS: its USER/PASS in the clear gets -ERR [AUTH], nothing moves."""
    user = server.add_user()
    server.deliver([user.address], message("stays"))
    g = getmail(server, user, ssl=False, delete=True)
    code, out = g.run()
    assert code != 0, out
    assert "[AUTH] Plaintext authentication disallowed" in out, out
    assert g.messages() == []
    assert inbox_count(server, user) == 1


def test_plain_pop3_where_plaintext_is_allowed(make_server, getmail):
    s = make_server(services=("pop3", "imap", "lmtp"), allow_plaintext=True)
    user = s.add_user()
    for m in (message("clear"), tricky("text")):
        s.deliver([user.address], m)
    g = getmail(s, user, ssl=False)
    code, out = g.run()
    assert code == 0, out
    assert sorted(g.messages()) == sorted(as_maildir(m) for m in stored(s, user))
