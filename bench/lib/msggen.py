"""Synthetic RFC 5322 messages for the benchmarks: deterministic (seeded), varied subjects,
senders and dates (so SORT and SEARCH have work to do), a third of them multipart with an
attachment (so BODYSTRUCTURE is not trivial), CRLF line endings, roughly `size` bytes.

`NEEDLE` appears in the Subject of every message whose index is a multiple of `NEEDLE_EVERY`:
`needle_count(n)` is how many of the first n messages a `HEADER Subject NEEDLE` search finds.
"""

import base64
import random

NEEDLE = "quokka"
NEEDLE_EVERY = 97

_WORDS = (
    "budget report meeting minutes draft review lecture seminar exam grades thesis defense "
    "library access network outage printer room booking travel claim invoice payment grant "
    "proposal deadline committee agenda schedule update reminder question answer notes slides "
    "project kickoff status weekly monthly annual summary request approval contract lab safety"
).split()
_NAMES = ("alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy "
          "rupert sybil trent victor walter").split()
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def needle_count(n):
    return (n - 1) // NEEDLE_EVERY + 1 if n > 0 else 0


def message(i, size=4096, to="user@example.test", seed=1):
    """Message number i (0-based) of a mailbox: bytes, CRLF, about `size` bytes long."""
    rnd = random.Random(seed * 1_000_003 + i)
    subject = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(2, 6)))
    if i % NEEDLE_EVERY == 0:
        subject += " " + NEEDLE
    sender = rnd.choice(_NAMES)
    day, month, year = rnd.randint(1, 28), rnd.randrange(12), rnd.choice((2024, 2025, 2026))
    date = (f"{_DAYS[rnd.randrange(7)]}, {day:02d} {_MONTHS[month]} {year} "
            f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d} +0000")
    head = (f"From: {sender.title()} <{sender}@example.test>\r\n"
            f"To: <{to}>\r\n"
            f"Subject: {subject} #{i}\r\n"
            f"Date: {date}\r\n"
            f"Message-ID: <bench.{seed}.{i}@example.test>\r\n"
            "MIME-Version: 1.0\r\n")
    words = []
    length = 0
    target = max(64, size - len(head) - 200)
    while length < target:
        w = rnd.choice(_WORDS)
        words.append(w)
        length += len(w) + 1
    lines = []
    for k in range(0, len(words), 12):
        lines.append(" ".join(words[k:k + 12]))
    text = "\r\n".join(lines) + "\r\n"
    if i % 3 == 2:
        half = len(text) // 2
        attach = base64.encodebytes(text[half:].encode()).decode().replace("\n", "\r\n")
        boundary = f"=_b{seed}_{i}"
        body = (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text[:half]}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream; name=\"notes.bin\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n"
                f"Content-Disposition: attachment; filename=\"notes.bin\"\r\n\r\n{attach}"
                f"--{boundary}--\r\n")
    else:
        body = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
    return (head + body).encode()
