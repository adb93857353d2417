"""MIME structure through FETCH (RFC 9051 §7.5.2, RFC 2045/2046): nested multiparts and part
numbers, an attached message/rfc822 (its ENVELOPE and BODYSTRUCTURE, and sections inside it),
defaults of a message without Content-Type, group addresses and encoded words in ENVELOPE,
folded header fields, and SEARCH through encodings."""

import base64

import pytest

from harness import Literal, imaplib_fetch

INNER = (b"From: Inner Sender <inner@example.test>\r\n"
         b"Subject: Inner subject\r\n"
         b"Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n"
         b"Content-Type: text/plain; charset=us-ascii\r\n"
         b"\r\n"
         b"Inner body line\r\n")

NESTED = (b"From: outer@example.test\r\n"
          b"To: undisclosed-recipients:;\r\n"
          b"Subject: =?UTF-8?Q?Caf=C3=A9?= menu\r\n"
          b"X-Folded: first part\r\n second part\r\n"
          b"MIME-Version: 1.0\r\n"
          b'Content-Type: multipart/mixed; boundary="outer"\r\n'
          b"\r\n"
          b"preamble is ignored\r\n"
          b"--outer\r\n"
          b'Content-Type: multipart/alternative; boundary="alt"\r\n'
          b"\r\n"
          b"--alt\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\n"
          b"\r\n"
          b"plain version\r\n"
          b"--alt\r\n"
          b"Content-Type: text/html; charset=utf-8\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"\r\n"
          + base64.b64encode(b"<p>html version with secretword</p>") + b"\r\n"
          b"--alt--\r\n"
          b"\r\n"
          b"--outer\r\n"
          b"Content-Type: message/rfc822\r\n"
          b"\r\n"
          + INNER +
          b"\r\n--outer--\r\n")


@pytest.fixture
def box(imap):
    assert imap.append("INBOX", None, None, NESTED)[0] == "OK"
    assert imap.append("INBOX", None, None, b"Subject: bare\r\n\r\nno content type\r\n")[0] == "OK"
    imap.select("INBOX")
    return imap


def up(x):
    if isinstance(x, list):
        return [up(i) for i in x]
    if isinstance(x, bytes):
        return x.upper()
    if isinstance(x, str):
        return str(x).upper()
    return x


def fetch(c, seq, items):
    return imaplib_fetch(c, str(seq), items)[seq]


def test_nested_bodystructure(box):
    bs = fetch(box, 1, "(BODYSTRUCTURE)")["BODYSTRUCTURE"]
    alternative, attached = bs[0], bs[1]
    assert up(bs[2]) == b"MIXED"
    assert up(alternative[2]) == b"ALTERNATIVE"
    assert up(alternative[0][:2]) == [b"TEXT", b"PLAIN"]
    assert up(alternative[1][:2]) == [b"TEXT", b"HTML"]
    assert up(alternative[1][5]) == b"BASE64"
    # message/rfc822: type subtype params id desc enc size envelope body lines
    assert up(attached[:2]) == [b"MESSAGE", b"RFC822"]
    assert int(attached[6]) == len(INNER)
    envelope = attached[7]
    assert envelope[1] == b"Inner subject"
    assert envelope[2] == [[b"Inner Sender", None, b"inner", b"example.test"]]
    inner_body = attached[8]
    assert up(inner_body[:2]) == [b"TEXT", b"PLAIN"]
    assert int(attached[9]) == INNER.count(b"\r\n")


@pytest.mark.parametrize("section, expected", [
    ("1.1", b"plain version"),
    ("1.2", base64.b64encode(b"<p>html version with secretword</p>")),
    ("2", INNER),
    ("2.HEADER", INNER.split(b"\r\n\r\n")[0] + b"\r\n\r\n"),
    ("2.TEXT", b"Inner body line\r\n"),
    ("2.1", b"Inner body line\r\n"),
])
def test_sections_of_nested_parts(box, section, expected):
    item = fetch(box, 1, f"(BODY.PEEK[{section}])")
    assert item[f"BODY[{section}]"] == expected


def test_binary_of_nested_base64_part(box):
    item = fetch(box, 1, "(BINARY.PEEK[1.2])")
    assert item["BINARY[1.2]"] == b"<p>html version with secretword</p>"


def test_default_content_type(box):
    bs = fetch(box, 2, "(BODYSTRUCTURE)")["BODYSTRUCTURE"]
    # RFC 2045 §5.2: text/plain; charset=us-ascii, 7bit.
    assert up(bs[:3]) == [b"TEXT", b"PLAIN", [b"CHARSET", b"US-ASCII"]]
    assert up(bs[5]) == b"7BIT"
    assert int(bs[6]) == len(b"no content type\r\n")
    assert int(bs[7]) == 1


def test_single_part_body_section_1_is_the_body(box):
    # RFC 9051 §6.4.5: a non-multipart message has part 1, its body.
    item = fetch(box, 2, "(BODY.PEEK[1])")
    assert item["BODY[1]"] == b"no content type\r\n"


def test_envelope_group_and_encoded_word(box):
    env = fetch(box, 1, "(ENVELOPE)")["ENVELOPE"]
    # The subject as in the header: encoded words are not decoded in ENVELOPE.
    assert env[1] == b"=?UTF-8?Q?Caf=C3=A9?= menu"
    # Group syntax: a start marker (NIL NIL "group" NIL) and an end marker (NIL NIL NIL NIL).
    assert env[5] == [[None, None, b"undisclosed-recipients", None], [None, None, None, None]]
    # No Date header: NIL.
    assert env[0] is None


def test_folded_header_field(box):
    item = fetch(box, 1, "(BODY.PEEK[HEADER.FIELDS (X-Folded)])")
    (value,) = item.values()
    assert value == b"X-Folded: first part\r\n second part\r\n\r\n"


def test_search_decodes_encoded_words_and_transfer_encoding(box, server, user):
    r = server.raw(user)
    try:
        r.ok("SELECT INBOX")
        # RFC 9051 §6.4.4: header strings are matched after decoding RFC 2047 words.
        resp = r.ok("SEARCH CHARSET UTF-8 SUBJECT ", Literal("Café".encode()))
        assert resp.named("SEARCH")[0].split() == [b"1"], resp
        # The word is only present base64-encoded in part 1.2.
        resp = r.ok("SEARCH BODY secretword")
        assert resp.named("SEARCH")[0].split() == [b"1"], resp
        resp = r.ok("SEARCH SUBJECT menu")
        assert resp.named("SEARCH")[0].split() == [b"1"], resp
    finally:
        r.close()
