"""Shared pieces of the migration tests (test_migrate_dovecot.py, test_migrate_cyrus.py):
populating a real source server with real clients, snapshotting a mailbox tree over IMAP,
POP3 UIDL listings, and running `tern migrate`."""

import hashlib
import imaplib
import json
import os
import poplib
import re
import smtplib
import subprocess

from harness import TERN_BIN, message

LIST_RE = re.compile(rb'\((?P<attrs>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$')


def utf7_decode(name):
    """IMAP modified UTF-7 → str (RFC 3501 §5.1.3), enough for test folder names."""
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c == "&":
            j = name.index("-", i)
            chunk = name[i + 1:j]
            if chunk == "":
                out.append("&")
            else:
                import base64
                b = chunk.replace(",", "/")
                b += "=" * (-len(b) % 4)
                out.append(base64.b64decode(b).decode("utf-16-be"))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def utf7_encode(name):
    import base64
    out, pending = [], []

    def flush():
        if pending:
            b = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def list_folders(c):
    """{decoded name with '/' as delimiter: set of lower-cased attributes} of LIST "" "*"."""
    typ, data = c.list('""', '"*"')
    assert typ == "OK", data
    out = {}
    i = 0
    while i < len(data):
        item = data[i]
        if isinstance(item, tuple):  # literal name
            head, lit = item
            m = LIST_RE.match(head + b'"x"')
            attrs, delim, name = m.group("attrs"), m.group("delim"), lit
        else:
            m = LIST_RE.match(item)
            assert m, item
            attrs, delim, name = m.group("attrs"), m.group("delim"), m.group("name")
            if name.startswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        i += 1
        d = delim.strip(b'"').decode()
        n = utf7_decode(name.decode())
        if d and d != "/":
            n = n.replace(d, "/")
        out[n] = {a.decode().lower() for a in attrs.split()}
    return out


def raw_name(c, tree_name, delim):
    """The on-the-wire name of a decoded '/'-delimited folder name."""
    return utf7_encode(tree_name.replace("/", delim))


def snapshot(c, raw):
    """EXAMINE a folder: (UIDVALIDITY, {uid: (flags, internaldate, sha256)})."""
    typ, data = c.select(q(raw), readonly=True)
    assert typ == "OK", (raw, data)
    uidvalidity = int(c.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
    count = int(data[0])
    msgs = {}
    if count:
        typ, data = c.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if not isinstance(item, tuple):
                continue
            head, body = item
            uid = int(re.search(rb"UID (\d+)", head).group(1))
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
            flags.discard("\\Recent")
            date = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1).decode()
            msgs[uid] = (frozenset(flags), imaplib.Internaldate2tuple(
                f'INTERNALDATE "{date}"'.encode()), hashlib.sha256(body).hexdigest())
    c.unselect() if hasattr(c, "unselect") else c.close()
    return uidvalidity, msgs


def subscriptions(c):
    typ, data = c.lsub('""', '"*"')
    assert typ == "OK", data
    out = set()
    for item in data:
        if item is None:
            continue
        m = LIST_RE.match(item)
        name = m.group("name")
        if name.startswith(b'"'):
            name = name[1:-1]
        d = m.group("delim").strip(b'"').decode()
        n = utf7_decode(name.decode())
        out.add(n.replace(d, "/") if d and d != "/" else n)
    return out


def pop3_uidls(port, login, password):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        p.user(login)
        p.pass_(password)
        _, lines, _ = p.uidl()
        return sorted(line.split()[1].decode() for line in lines)
    finally:
        p.quit()


def lmtp_deliver(port, rcpt, data):
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as l:
        l.ehlo("client.example.test")
        l.sendmail("sender@example.test", [rcpt], data)


def append(c, raw, flags, date, data):
    typ, resp = c.append(q(raw), flags, date, data)
    assert typ == "OK", resp


def big_message(subject, size):
    """A message with a base64 attachment of about `size` octets (deterministic bytes)."""
    import base64
    blob = hashlib.sha256(subject.encode()).digest() * (size // 32 + 1)
    b64 = base64.encodebytes(blob[:size]).replace(b"\n", b"\r\n").decode()
    body = ("--b1\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b1\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            'Content-Disposition: attachment; filename="big.bin"\r\n\r\n' + b64 + "--b1--\r\n")
    return message(subject, body, extra_headers='Content-Type: multipart/mixed; boundary="b1"\r\n'
                   ).replace(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n", b"\r\n", 1)


def migrate(server, *args, check=True, verify=False):
    """Runs `tern migrate [verify] ARGS --json`; returns (returncode, parsed JSON, stderr)."""
    cmd = [TERN_BIN, "--config", server.config_path, "migrate"]
    if verify:
        cmd.append("verify")
    res = subprocess.run(cmd + list(args) + ["--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300)
    out = res.stdout.decode(errors="replace")
    err = res.stderr.decode(errors="replace")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    if check:
        assert res.returncode == 0 and doc is not None, (res.returncode, out, err)
    return res.returncode, doc, err


def compare_trees(src, src_delim, tern, folders):
    """Asserts each folder has the same UIDVALIDITY, UIDs, flags, dates and bytes."""
    for name in folders:
        s = snapshot(src, raw_name(src, name, src_delim))
        t = snapshot(tern, raw_name(tern, name, "/"))
        assert s[0] == t[0], f"{name}: UIDVALIDITY source {s[0]} Tern {t[0]}"
        assert sorted(s[1]) == sorted(t[1]), f"{name}: UIDs {sorted(s[1])} vs {sorted(t[1])}"
        for uid in s[1]:
            assert s[1][uid] == t[1][uid], f"{name} UID {uid}: {s[1][uid]} vs {t[1][uid]}"


def write_secret(tmp_path, name, secret):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(secret + "\n")
    return path
