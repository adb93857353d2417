"""A minimal LMTP client (RFC 2033) for timed single deliveries: one transaction, one recipient,
the per-recipient reply after DATA checked. Used where the harness needs the instant the final
dot was sent (IDLE → EXISTS latency); bulk delivery uses Postfix's smtp-source instead.
"""

import asyncio
import time


class LmtpError(Exception):
    pass


class Lmtp:
    def __init__(self, reader, writer):
        self.r, self.w = reader, writer

    @classmethod
    async def connect(cls, host, port):
        r, w = await asyncio.open_connection(host, port)
        c = cls(r, w)
        await c.reply(b"220")
        c.w.write(b"LHLO bench.example.test\r\n")
        await c.reply(b"250")
        return c

    async def reply(self, code):
        """Reads one (possibly multi-line) reply; raises unless it starts with `code`."""
        while True:
            line = await self.r.readline()
            if not line:
                raise LmtpError("connection closed")
            if not line.startswith(code):
                raise LmtpError(f"expected {code!r}, got {line[:200]!r}")
            if line[3:4] != b"-":
                return line

    async def deliver(self, sender, rcpt, message):
        """Delivers `message` (CRLF bytes, no dot-stuffing needed for our messages).
        Returns (t_dot_sent, t_250) as time.monotonic() values."""
        self.w.write(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (sender.encode(), rcpt.encode()))
        await self.w.drain()
        await self.reply(b"250")
        await self.reply(b"250")
        await self.reply(b"354")
        self.w.write(message if message.endswith(b"\r\n") else message + b"\r\n")
        await self.w.drain()
        t0 = time.monotonic()
        self.w.write(b".\r\n")
        await self.w.drain()
        await self.reply(b"250")
        return t0, time.monotonic()

    async def quit(self):
        try:
            self.w.write(b"QUIT\r\n")
            await self.w.drain()
            await self.reply(b"221")
        finally:
            self.w.close()
