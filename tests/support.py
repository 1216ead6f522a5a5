"""Test helpers that read like the spec: a line-oriented IRC test client over real sockets.

Use asyncio timeouts, never sleep-polling: every wait has a deadline and fails with what was
received so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from lanchat.protocol import Message, parse

DEFAULT_TIMEOUT_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LineClient:
    """A raw IRC connection for tests: send lines, expect messages.

    Every received message is kept in `seen` so that a failed expectation can show them.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader  # asyncio stream from the server
        self.writer = writer  # asyncio stream to the server
        self.seen: list[Message] = []  # everything received, in order
        self._pending: list[Message] = []  # received but not yet consumed by expect()

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> LineClient:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def register(
        self, nick: str, user: str | None = None, caps: tuple[str, ...] = ()
    ) -> None:
        """NICK/USER (and CAP negotiation when `caps` is given); wait for 001 and end of MOTD."""
        if caps:
            self.send("CAP LS 302")
            self.send("CAP REQ :" + " ".join(caps))
        self.send(f"NICK {nick}")
        self.send(f"USER {user or nick} 0 * :{nick} test")
        if caps:
            await self.expect("CAP", lambda m: len(m.params) > 1 and m.params[1] == "ACK")
            self.send("CAP END")
        await self.expect_numeric("001")
        await self.expect(lambda m: m.command in ("376", "422"))

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\r\n"
        self.writer.write(data)

    async def _next(self, timeout_s: float) -> Message:
        if self._pending:
            return self._pending.pop(0)
        raw = await asyncio.wait_for(self.reader.readline(), timeout_s)
        if not raw:
            raise ConnectionError("server closed the connection")
        msg = parse(raw)
        self.seen.append(msg)
        return msg

    async def expect(
        self,
        what: str | Callable[[Message], bool],
        where: Callable[[Message], bool] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Message:
        """Wait for the first message matching `what` (a command or a predicate) and `where`.

        Messages that do not match stay available for later expect() calls, in order.
        Answers PING on the way.
        """

        def ok(m: Message) -> bool:
            hit = m.verb == what.upper() if isinstance(what, str) else what(m)
            return hit and (where is None or where(m))

        skipped: list[Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                m = await self._next(remaining)
                if ok(m):
                    return m
                if m.verb == "PING":
                    self.send("PONG :" + (m.params[-1] if m.params else ""))
                skipped.append(m)
        except TimeoutError:
            got = "\n  ".join(x.to_line() for x in skipped[-20:])
            raise AssertionError(f"expected {what!r} within {timeout_s}s; got:\n  {got}") from None
        finally:
            self._pending[:0] = skipped

    async def expect_numeric(self, numeric: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Message:
        """Wait for the numeric reply `numeric` (e.g. "433")."""
        return await self.expect(numeric, timeout_s=timeout_s)

    async def expect_closed(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Message]:
        """Read until the server closes the connection; return what came before."""
        got: list[Message] = []
        try:
            while True:
                got.append(await self._next(timeout_s))
        except (ConnectionError, OSError):
            return got

    def drain(self) -> None:
        """Forget messages received so far but not consumed."""
        self._pending.clear()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
