"""SORT and THREAD (RFC 5256): sort keys incl. REVERSE, base-subject rules, UID SORT,
ORDEREDSUBJECT and REFERENCES threading, as imaplib sends them."""

import pytest

from harness import parse_sexp

# seq: (subject, from, to, cc, date, size-padding, message-id, in-reply-to, references)
MSGS = [
    ("Topic", "zed@example.test", "amy@example.test", "", "Mon, 02 Mar 2026 10:00:00 +0000", 50,
     "<t1@x>", None, None),
    ("Other thing", "amy@example.test", "zed@example.test", "bob@example.test",
     "Sun, 01 Mar 2026 10:00:00 +0000", 500, "<o1@x>", None, None),
    ("Re: Topic", "bob@example.test", "zed@example.test", "", "Tue, 03 Mar 2026 10:00:00 +0000", 10,
     "<t2@x>", "<t1@x>", "<t1@x>"),
    ("RE: [list] Fwd: Topic", "carl@example.test", "bob@example.test", "",
     "Wed, 04 Mar 2026 10:00:00 +0000", 1000, "<t3@x>", "<t2@x>", "<t1@x> <t2@x>"),
    ("another", "Beth <beth@example.test>", "yan@example.test", "", "Thu, 05 Mar 2026 10:00:00 +0000", 5,
     "<a1@x>", None, None),
]


def build(m):
    subject, frm, to, cc, date, pad, mid, irt, refs = m
    h = f"From: {frm}\r\nTo: {to}\r\n"
    if cc:
        h += f"Cc: {cc}\r\n"
    h += f"Subject: {subject}\r\nDate: {date}\r\nMessage-ID: {mid}\r\n"
    if irt:
        h += f"In-Reply-To: {irt}\r\n"
    if refs:
        h += f"References: {refs}\r\n"
    return (h + "\r\n" + "x" * pad + "\r\n").encode()


@pytest.fixture
def box(imap):
    # Distinct INTERNALDATEs in append order, so ARRIVAL has no ties (RFC 5256 §3: ties
    # keep mailbox order, even under REVERSE).
    for i, m in enumerate(MSGS):
        date = f'"20-Feb-2026 10:0{i}:00 +0000"'
        assert imap.append("INBOX", None, date, build(m))[0] == "OK"
    imap.select("INBOX")
    return imap


def sort(c, criteria, uid=False):
    typ, data = (c.uid("SORT", criteria, "UTF-8", "ALL") if uid
                 else c.sort(criteria, "UTF-8", "ALL"))
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


@pytest.mark.parametrize("criteria, expected", [
    ("(ARRIVAL)", [1, 2, 3, 4, 5]),
    ("(REVERSE ARRIVAL)", [5, 4, 3, 2, 1]),
    ("(DATE)", [2, 1, 3, 4, 5]),
    ("(REVERSE DATE)", [5, 4, 3, 1, 2]),
    # Base subjects: "topic", "other thing", "topic", "topic", "another" (RFC 5256 §2.1);
    # ties are broken by sequence number.
    ("(SUBJECT)", [5, 2, 1, 3, 4]),
    ("(SUBJECT REVERSE DATE)", [5, 2, 4, 3, 1]),
    ("(FROM)", [2, 5, 3, 4, 1]),
    ("(TO)", [1, 4, 5, 2, 3]),
    # Messages without Cc sort as the empty string, first.
    ("(CC)", [1, 3, 4, 5, 2]),
])
def test_sort(box, criteria, expected):
    assert sort(box, criteria) == expected


def by_size():
    sizes = [len(build(m)) for m in MSGS]
    return sorted(range(1, len(MSGS) + 1), key=lambda seq: (sizes[seq - 1], seq))


def test_sort_size(box):
    assert len({len(build(m)) for m in MSGS}) == len(MSGS)  # no ties: the order is exact
    assert sort(box, "(SIZE)") == by_size()
    assert sort(box, "(REVERSE SIZE)") == by_size()[::-1]


def test_sort_display_from(box):
    # RFC 5957: DISPLAYFROM uses the display name when there is one ("Beth").
    assert sort(box, "(DISPLAYFROM)") == [2, 5, 3, 4, 1]


def test_uid_sort(box):
    typ, data = box.uid("SEARCH", None, "ALL")
    uids = [int(x) for x in data[0].split()]
    assert sort(box, "(SIZE)", uid=True) == [uids[i - 1] for i in by_size()]


def test_sort_with_search_criteria(box):
    typ, data = box.sort("(DATE)", "UTF-8", "SUBJECT", "topic")
    assert [int(x) for x in data[0].split()] == [1, 3, 4]


def test_sort_bad_criteria(box):
    with pytest.raises(box.error):
        box.sort("(NOT-A-KEY)", "UTF-8", "ALL")


def threads(c, algorithm):
    typ, data = c.thread(algorithm, "UTF-8", "ALL")
    assert typ == "OK", data
    raw = data[0] or b""
    return parse_sexp(raw)


def as_ints(t):
    return [as_ints(x) if isinstance(x, list) else int(x) for x in t]


def test_thread_references(box):
    t = as_ints(threads(box, "REFERENCES"))
    # 1 ← 3 ← 4 is one thread; 2 and 5 stand alone. Threads are ordered by the date of
    # their first message: 2 (1 Mar), 1 (2 Mar), 5 (5 Mar).
    assert t == [[2], [1, 3, 4], [5]], t


def test_thread_orderedsubject(box):
    t = as_ints(threads(box, "ORDEREDSUBJECT"))
    # RFC 5256 §3.1: grouped by base subject, ordered by sent date; within a thread the
    # first message is the parent of all the others: (1 (3)(4)).
    assert t == [[2], [1, [3], [4]], [5]], t


def test_uid_thread(box):
    typ, data = box.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
    assert typ == "OK"
    typ, s = box.uid("SEARCH", None, "ALL")
    uids = [int(x) for x in s[0].split()]
    t = as_ints(parse_sexp(data[0]))
    assert t == [[uids[1]], [uids[0], uids[2], uids[3]], [uids[4]]]


def test_thread_unknown_algorithm(box):
    with pytest.raises(box.error):
        box.thread("X-NOPE", "UTF-8", "ALL")
