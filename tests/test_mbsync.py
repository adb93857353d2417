"""mbsync (isync) against Tern over IMAPS, trusting the self-signed certificate that
`tern serve` generated: a two-way sync of INBOX and a folder with a local Maildir —
messages, flags, new messages and deletions travel both ways."""

import os
import shutil
import subprocess
import time
import uuid

import pytest

from harness import imaplib_fetch, message, status

MBSYNC = shutil.which("mbsync")

pytestmark = pytest.mark.skipif(
    MBSYNC is None, reason="mbsync (isync) is not installed: apt-get install isync")


def maildir_messages(path):
    """{subject: (flags, bytes)} of a Maildir folder."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            flags = name.split(":2,", 1)[1] if ":2," in name else ""
            subject = next((line[9:].strip() for line in data.split(b"\r\n") + data.split(b"\n")
                            if line.lower().startswith(b"subject: ")), b"")
            out[subject.decode()] = (set(flags), data, os.path.join(d, name))
    return out


class Mbsync:
    def __init__(self, server, user, workdir):
        cert = server.cert_path()
        assert cert and os.path.exists(cert), server.stdout_lines
        self.local = os.path.join(workdir, "mail")
        os.makedirs(self.local, exist_ok=True)
        self.conf = os.path.join(workdir, "mbsyncrc")
        with open(self.conf, "w") as f:
            f.write(f"""IMAPAccount tern
Host 127.0.0.1
Port {server.port('imaps')}
User {user.address}
Pass "{user.password}"
SSLType IMAPS
CertificateFile {cert}
SystemCertificates no

IMAPStore remote
Account tern

MaildirStore local
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Work
Create Both
Expunge Both
SyncState *
""")

    def run(self):
        res = subprocess.run([MBSYNC, "-c", self.conf, "-V", "sync"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        out = res.stdout.decode(errors="replace")
        assert res.returncode == 0, out[-4000:]
        return out


def test_mbsync_two_way(server, tmp_path):
    u = server.add_user()
    c = server.imap(u)
    try:
        c.append("INBOX", "(\\Seen)", None, message("remote one", "first\r\n"))
        c.append("INBOX", "(\\Flagged)", None, message("remote two", "second\r\n"))
        c.append("INBOX", None, None, message("remote three", "third\r\n"))
        c.create("Work")
        c.append("Work", None, None, message("work item", "todo\r\n"))
    finally:
        c.logout()

    sync = Mbsync(server, u, str(tmp_path))
    sync.run()

    inbox = maildir_messages(os.path.join(sync.local, "INBOX"))
    assert set(inbox) == {"remote one", "remote two", "remote three"}, inbox.keys()
    assert "S" in inbox["remote one"][0]
    assert "F" in inbox["remote two"][0]
    assert not inbox["remote three"][0] & set("SF")
    assert b"second\r\n" in inbox["remote two"][1] or b"second\n" in inbox["remote two"][1]
    work = maildir_messages(os.path.join(sync.local, "Work"))
    assert set(work) == {"work item"}

    # Local changes: a new message, a flag, a deletion.
    new_name = f"{int(time.time())}.{uuid.uuid4().hex}.local"
    with open(os.path.join(sync.local, "INBOX", "new", new_name), "wb") as f:
        f.write(message("local new", "written locally\r\n"))
    _, _, path_three = inbox["remote three"]
    base = path_three.split(":2,")[0]
    flagged_path = os.path.join(os.path.dirname(os.path.dirname(path_three)), "cur",
                                os.path.basename(base) + ":2,S")
    os.rename(path_three, flagged_path)
    os.unlink(inbox["remote one"][2])

    sync.run()

    c = server.imap(u)
    try:
        c.select("INBOX", readonly=True)
        items = imaplib_fetch(c, "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
        by_subject = {}
        for item in items.values():
            hdr = next(v for k, v in item.items() if k.startswith("BODY[HEADER"))
            by_subject[hdr.decode().split(":", 1)[1].strip()] = item
        assert set(by_subject) == {"remote two", "remote three", "local new"}, by_subject.keys()
        assert "\\Seen" in by_subject["remote three"]["FLAGS"]
        assert by_subject["local new"]["BODY[TEXT]"] == b"written locally\r\n"

        # A change on the server side travels back.
        c.select("INBOX")
        typ, data = c.search(None, "UNFLAGGED")
        for seq in data[0].split():
            c.store(seq, "+FLAGS", "(\\Flagged)")
    finally:
        c.logout()

    sync.run()
    inbox = maildir_messages(os.path.join(sync.local, "INBOX"))
    assert set(inbox) == {"remote two", "remote three", "local new"}
    assert all("F" in flags for flags, _, _ in inbox.values()), inbox
    c = server.imap(u)
    try:
        assert status(c, "INBOX")["MESSAGES"] == 3
        assert status(c, "Work")["MESSAGES"] == 1
    finally:
        c.logout()
