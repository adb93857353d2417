"""Helpers shared by the workloads: percentiles, mailbox population by MULTIAPPEND (RFC 3502),
counting messages over IMAP.
"""

import asyncio
import math
import time

import msggen
from imapc import Imap, ProtocolError, quote
from servers import password_for


def pct(values, p):
    """The p-th percentile (nearest rank) of `values`, or None if empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def ms(x):
    return None if x is None else round(x * 1000, 3)


async def multiappend(c, mailbox, messages, flags_of=lambda i: b""):
    """Appends `messages` [(index, bytes)] in one MULTIAPPEND command; checks the count."""
    pieces, lits = [], []
    for k, (i, m) in enumerate(messages):
        fl = flags_of(i)
        head = (b" (" + fl + b")" if fl else b"") + b" {%d}" % len(m)
        if k == 0:
            pieces.append(b"APPEND " + quote(mailbox) + head)
        else:
            pieces.append(head)
        lits.append(m)
    await c.cmd(pieces, lits)


async def populate(host, port, user, count, size, mailbox="INBOX", batch=500, seed=1,
                   flags_of=lambda i: b"", create=()):
    """Fills `mailbox` of `user` with messages 0..count-1 of msggen (seeded); creates `create`
    mailboxes first. Returns seconds taken."""
    t = time.perf_counter()
    c = await Imap.connect(host, port)
    await c.login(user, password_for(user))
    for mb in create:
        try:
            await c.cmd(b"CREATE " + quote(mb))
        except ProtocolError as e:  # a server may create special-use mailboxes by itself
            if b"ALREADYEXISTS" not in str(e).encode():
                raise
    for start in range(0, count, batch):
        msgs = [(i, msggen.message(i, size, to=user, seed=seed))
                for i in range(start, min(count, start + batch))]
        await multiappend(c, mailbox, msgs, flags_of)
    await c.logout()
    return time.perf_counter() - t


async def count_messages(host, port, user, mailbox="INBOX"):
    c = await Imap.connect(host, port)
    try:
        await c.login(user, password_for(user))
        u, _ = await c.cmd(b"STATUS " + quote(mailbox) + b" (MESSAGES)")
        for line in u:
            if line.startswith(b"* STATUS") and b"MESSAGES" in line:
                return int(line.rsplit(b"MESSAGES", 1)[1].strip(b" )"))
        raise ProtocolError(f"STATUS without MESSAGES: {u!r}")
    finally:
        await c.logout()


async def gather_limited(coros, limit):
    sem = asyncio.Semaphore(limit)

    async def one(co):
        async with sem:
            return await co
    return await asyncio.gather(*(one(c) for c in coros))
