"""FETCH (RFC 9051 §6.4.5): FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, BODY,
body sections (HEADER, HEADER.FIELDS[.NOT], TEXT, MIME, part numbers), partials, \\Seen
side effects, BINARY / BINARY.SIZE (RFC 3516), PREVIEW (RFC 8970), EMAILID/THREADID
(RFC 8474), and the macros."""

import base64
import imaplib

import pytest

from harness import imaplib_fetch

ATTACHMENT = bytes([0, 1, 2, 3, 4, 5, 0xFF])

TEXT_PART_BODY = b"Hello =C3=A9 world\r\nSecond line\r\n"
ATTACH_BODY = base64.b64encode(ATTACHMENT) + b"\r\n"

HEADER = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>, carol@example.test\r\n"
    b"Cc: Dave <dave@example.test>\r\n"
    b"Subject: Test message\r\n"
    b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    b"Message-ID: <m1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
    b"\r\n"
)
PART1_HEADER = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
PART2_HEADER = (b'Content-Type: application/octet-stream; name="data.bin"\r\n'
                b'Content-Disposition: attachment; filename="data.bin"\r\n'
                b"Content-Transfer-Encoding: base64\r\n\r\n")
# RFC 2046: the CRLF before a boundary delimiter belongs to the delimiter, not the part.
TEXT = (b"--XYZ\r\n" + PART1_HEADER + TEXT_PART_BODY + b"\r\n--XYZ\r\n" + PART2_HEADER
        + ATTACH_BODY + b"\r\n--XYZ--\r\n")
MESSAGE = HEADER + TEXT


@pytest.fixture
def box(imap):
    assert imap.append("INBOX", "(\\Flagged)", '"02-Mar-2026 11:00:00 +0100"', MESSAGE)[0] == "OK"
    assert imap.select("INBOX")[0] == "OK"
    return imap


def one(c, items):
    return imaplib_fetch(c, "1", items)[1]


def upper(x):
    if isinstance(x, list):
        return [upper(i) for i in x]
    if isinstance(x, (bytes, str)):
        return x.upper() if isinstance(x, bytes) else str(x).upper()
    return x


def test_flags_internaldate_size_uid(box):
    item = one(box, "(FLAGS INTERNALDATE RFC822.SIZE UID)")
    assert "\\Flagged" in item["FLAGS"]
    assert item["INTERNALDATE"] == b"02-Mar-2026 11:00:00 +0100"
    assert int(item["RFC822.SIZE"]) == len(MESSAGE)
    assert int(item["UID"]) >= 1


def test_envelope(box):
    env = one(box, "(ENVELOPE)")["ENVELOPE"]
    date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
    assert date == b"Mon, 02 Mar 2026 10:00:00 +0000"
    assert subject == b"Test message"
    alice = [[b"Alice Example", None, b"alice", b"example.test"]]
    assert frm == alice
    # RFC 9051 §7.5.2: Sender and Reply-To default to From.
    assert sender == alice and reply_to == alice
    assert to == [[b"Bob", None, b"bob", b"example.test"], [None, None, b"carol", b"example.test"]]
    assert cc == [[b"Dave", None, b"dave", b"example.test"]]
    assert bcc is None and in_reply_to is None
    assert message_id == b"<m1@example.test>"


def test_bodystructure(box):
    bs = one(box, "(BODYSTRUCTURE)")["BODYSTRUCTURE"]
    text, attach = bs[0], bs[1]
    assert upper(bs[2]) == b"MIXED"
    assert upper(bs[3]) == [b"BOUNDARY", b"XYZ"]
    # Body type text: type subtype params id description encoding size lines
    assert upper(text[:2]) == [b"TEXT", b"PLAIN"]
    assert upper(text[2]) == [b"CHARSET", b"UTF-8"]
    assert text[3] is None and text[4] is None
    assert upper(text[5]) == b"QUOTED-PRINTABLE"
    assert int(text[6]) == len(TEXT_PART_BODY)
    assert int(text[7]) == TEXT_PART_BODY.count(b"\r\n")
    assert upper(attach[:2]) == [b"APPLICATION", b"OCTET-STREAM"]
    assert upper(attach[2]) == [b"NAME", b"DATA.BIN"]
    assert upper(attach[5]) == b"BASE64"
    assert int(attach[6]) == len(ATTACH_BODY)
    # Extension data of the basic part: md5, disposition, ...
    assert attach[7] is None
    assert upper(attach[8]) == [b"ATTACHMENT", [b"FILENAME", b"DATA.BIN"]]


def test_body_is_non_extensible(box):
    body = one(box, "(BODY)")["BODY"]
    text = body[0]
    assert upper(text[:2]) == [b"TEXT", b"PLAIN"]
    assert len(text) == 8  # no extension data in BODY
    assert upper(body[2]) == b"MIXED" and len(body) == 3


@pytest.mark.parametrize("section, expected", [
    ("BODY.PEEK[]", MESSAGE),
    ("BODY.PEEK[HEADER]", HEADER),
    ("BODY.PEEK[TEXT]", TEXT),
    ("BODY.PEEK[1]", TEXT_PART_BODY),
    ("BODY.PEEK[2]", ATTACH_BODY),
    ("BODY.PEEK[1.MIME]", PART1_HEADER),
    ("BODY.PEEK[2.MIME]", PART2_HEADER),
    ("BODY.PEEK[HEADER.FIELDS (Subject From)]",
     b"From: Alice Example <alice@example.test>\r\nSubject: Test message\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (X-Not-There)]", b"\r\n"),
    ("RFC822.HEADER", HEADER),
])
def test_body_sections(box, section, expected):
    item = one(box, f"({section})")
    assert len(item) == 1 or "FLAGS" in item, item
    value = next(v for k, v in item.items() if k != "FLAGS")
    assert value == expected


def test_header_fields_not(box):
    item = one(box, "(BODY.PEEK[HEADER.FIELDS.NOT (To Cc Content-Type Message-ID MIME-Version Date)])")
    (value,) = item.values()
    assert value == (b"From: Alice Example <alice@example.test>\r\n"
                     b"Subject: Test message\r\n\r\n")


def test_response_names_the_section_as_asked(box):
    item = one(box, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    (key,) = item.keys()
    # RFC 9051 §7.5.2: BODY[section] in the response, without .PEEK.
    assert key.startswith("BODY[HEADER.FIELDS (SUBJECT")


@pytest.mark.parametrize("origin, length", [(0, 10), (5, 20), (len(MESSAGE) - 5, 100)])
def test_partial(box, origin, length):
    item = one(box, f"(BODY.PEEK[]<{origin}.{length}>)")
    assert item[f"BODY[]<{origin}>"] == MESSAGE[origin:origin + length]


def test_partial_beyond_end_is_empty(box):
    item = one(box, f"(BODY.PEEK[]<{len(MESSAGE) + 10}.10>)")
    assert item[f"BODY[]<{len(MESSAGE) + 10}>"] == b""


def test_partial_of_part(box):
    item = one(box, "(BODY.PEEK[1]<6.9>)")
    assert item["BODY[1]<6>"] == TEXT_PART_BODY[6:15]


def test_missing_part_is_empty(box):
    item = one(box, "(BODY.PEEK[9])")
    assert item["BODY[9]"] in (b"", None)


def test_body_sets_seen_peek_does_not(box):
    box.store("1", "-FLAGS", "(\\Seen)")
    assert "\\Seen" not in one(box, "(BODY.PEEK[TEXT] FLAGS)")["FLAGS"]
    item = one(box, "(BODY[TEXT])")
    # RFC 9051 §6.4.5: the FLAGS change is reported with the FETCH.
    assert "\\Seen" in item.get("FLAGS", []) or "\\Seen" in one(box, "(FLAGS)")["FLAGS"]
    assert "\\Seen" in one(box, "(FLAGS)")["FLAGS"]


def test_rfc822_sets_seen_and_returns_message(box):
    box.store("1", "-FLAGS", "(\\Seen)")
    item = one(box, "(RFC822)")
    assert item["RFC822"] == MESSAGE
    assert "\\Seen" in one(box, "(FLAGS)")["FLAGS"]


def test_binary_decodes_content_transfer_encoding(box):
    item = one(box, "(BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[1] BINARY.SIZE[2])")
    assert item["BINARY[1]"] == "Hello é world\r\nSecond line\r\n".encode()
    assert item["BINARY[2]"] == ATTACHMENT
    assert int(item["BINARY.SIZE[1]"]) == len(item["BINARY[1]"])
    assert int(item["BINARY.SIZE[2]"]) == len(ATTACHMENT)


def test_binary_uses_literal8_for_nul(box):
    typ, data = box.fetch("1", "(BINARY.PEEK[2])")
    assert typ == "OK"
    prefix = data[0][0]
    # RFC 3516 §4.3: content with NUL is sent as literal8 ~{n}.
    assert prefix.endswith(b"~{%d}" % len(ATTACHMENT)), prefix


def test_binary_partial(box):
    item = one(box, "(BINARY.PEEK[2]<1.3>)")
    assert item["BINARY[2]<1>"] == ATTACHMENT[1:4]


def test_binary_of_unknown_encoding_fails(imap):
    msg = (b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: x-unknown\r\n\r\nbody\r\n")
    imap.append("INBOX", None, None, msg)
    imap.select("INBOX")
    typ, data = imap._simple_command("FETCH", "1", "(BINARY.PEEK[1])")
    # RFC 3516 §4.3: NO [UNKNOWN-CTE].
    assert typ == "NO" and b"UNKNOWN-CTE" in data[0], data


def test_preview(box):
    item = one(box, "(PREVIEW)")
    preview = item["PREVIEW"]
    assert isinstance(preview, bytes)
    text = preview.decode("utf-8")
    assert text.startswith("Hello é world"), text
    assert len(text) <= 256  # RFC 8970 §3.1


def test_objectid_emailid_threadid(box):
    item = one(box, "(EMAILID THREADID)")
    assert isinstance(item["EMAILID"], list) and len(item["EMAILID"]) == 1
    # THREADID is either (id) or NIL (RFC 8474 §5.2).
    assert item["THREADID"] is None or len(item["THREADID"]) == 1


def test_emailid_is_kept_by_copy(box):
    before = one(box, "(EMAILID)")["EMAILID"]
    box.copy("1", "Archive")
    box.select("Archive")
    after = one(box, "(EMAILID)")["EMAILID"]
    assert before == after  # RFC 8474 §5.1: same message, same EMAILID


def test_macros(box):
    fast = one(box, "FAST")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(fast)
    full = one(box, "FULL")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"} <= set(full)
    all_ = one(box, "ALL")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(all_)


def test_uid_fetch_always_includes_uid(box):
    typ, data = box.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK" and b"UID" in data[0], data


def test_uid_fetch_of_missing_uid_is_ok_and_empty(box):
    typ, data = box.uid("FETCH", "999999", "(FLAGS)")
    assert typ == "OK" and data == [None], data


def test_fetch_of_sequence_number_beyond_exists_is_bad(box):
    # RFC 9051 §9 (seq-number): a number above EXISTS gets a tagged BAD.
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        box.fetch("5", "(FLAGS)")
    assert box.noop()[0] == "OK"


def test_fetch_many_messages_in_order(imap):
    for i in range(25):
        imap.append("INBOX", None, None, b"Subject: n%d\r\n\r\nbody\r\n" % i)
    imap.select("INBOX")
    items = imaplib_fetch(imap, "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert sorted(items) == list(range(1, 26))
    for seq, item in items.items():
        (v,) = item.values()
        assert v == b"Subject: n%d\r\n\r\n" % (seq - 1)
