"""A trivial IRC relay: the yardstick that proves the load generator is not the bottleneck.

Layer: standard library (+ uvloop when installed); no lanchat imports. Run as its own process
(`python -m benchkit.relay PORT`) so its CPU time is measured exactly like a real server's.

It does the least an IRC server must do for the benchmark: answer NICK/USER with 001 and 376,
JOIN with the JOIN broadcast and 366, PING with PONG, and relay `PRIVMSG #room :text` to
every other member of the room with the sender's prefix, serialised once per message, and
coalescing each connection's output of one loop pass into one write (so it is cheap enough
that the load generator, not the relay, is what saturates).
No validation, no flood control, no modes: whatever a real server achieves is measured
against this upper bound on the same machine and the same load generator.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

_NAME = b"relay.bench"


class _Relay:
    def __init__(self) -> None:
        self.rooms: dict[bytes, dict[int, asyncio.Transport]] = {}
        self.out: dict[asyncio.Transport, list[bytes]] = {}  # written at the end of the pass

    def write(self, t: asyncio.Transport, data: bytes) -> None:
        if not self.out:
            asyncio.get_running_loop().call_soon(self.flush)
        self.out.setdefault(t, []).append(data)

    def flush(self) -> None:
        out, self.out = self.out, {}
        for t, chunks in out.items():
            if not t.is_closing():
                t.write(b"".join(chunks))


class _Conn(asyncio.Protocol):
    def __init__(self, relay: _Relay) -> None:
        self.relay = relay
        self.buf = b""
        self.nick = b"*"
        self.prefix = b""
        self.transport: asyncio.Transport | None = None
        self.rooms: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        for room in self.rooms:
            self.relay.rooms.get(room, {}).pop(id(self), None)

    def data_received(self, data: bytes) -> None:
        lines = (self.buf + data).split(b"\r\n")
        self.buf = lines.pop()
        for line in lines:
            self._line(line)

    def _line(self, line: bytes) -> None:
        assert self.transport is not None
        verb, _, rest = line.partition(b" ")
        verb = verb.upper()
        if verb == b"PRIVMSG":
            target, _, _text = rest.partition(b" ")
            data = self.prefix + line + b"\r\n"
            write = self.relay.write
            for key, t in self.relay.rooms.get(target, {}).items():
                if key != id(self):
                    write(t, data)
        elif verb == b"PING":
            self.relay.write(
                self.transport, b":" + _NAME + b" PONG " + _NAME + b" " + rest + b"\r\n"
            )
        elif verb == b"NICK":
            self.nick = rest.split(b" ")[0].lstrip(b":")
            self.prefix = b":" + self.nick + b"!u@127.0.0.1 "
        elif verb == b"USER":
            n = self.nick
            welcome = b":%s 001 %s :Welcome\r\n:%s 376 %s :End of MOTD\r\n" % (_NAME, n, _NAME, n)
            self.relay.write(self.transport, welcome)
        elif verb == b"JOIN":
            room = rest.split(b" ")[0]
            members = self.relay.rooms.setdefault(room, {})
            members[id(self)] = self.transport
            self.rooms.append(room)
            data = self.prefix + b"JOIN " + room + b"\r\n"
            for t in members.values():
                self.relay.write(t, data)
            self.relay.write(self.transport, b":%s 366 %s %s :End\r\n" % (_NAME, self.nick, room))
        elif verb == b"QUIT":
            self.transport.close()


async def _serve(port: int) -> None:
    relay = _Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Conn(relay), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    print(f"ready: port {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Serve on 127.0.0.1:PORT (argv[1]) until killed."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
