"""A WebSocket IRC client for tests: the LineClient interface over aiohttp's client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp

from lanchat.protocol import Message, parse
from tests.support import DEFAULT_TIMEOUT_S, LineClient


class WsLineClient(LineClient):
    """An IRC connection over WebSocket: one line per frame, as ircv3 websocket says.

    `send`, `expect`, `register`... as LineClient; `frames` keeps each received frame's raw
    payload and type, `protocol` is the subprotocol the server chose (None when none).
    """

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        super().__init__(None, None)  # type: ignore[arg-type]  # no streams: frames instead
        self.session = session
        self.ws = ws
        self.protocol = ws.protocol
        self.frames: list[tuple[aiohttp.WSMsgType, bytes]] = []  # every data frame received

    @classmethod
    async def connect_ws(  # type: ignore[override]
        cls,
        port: int,
        *,
        path: str = "/",
        protocols: tuple[str, ...] = (),
        origin: str | None = None,
        host: str = "127.0.0.1",
    ) -> WsLineClient:
        """Open ws://HOST:PORT/PATH offering `protocols` in that order, with `origin` if given."""
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                f"ws://{host}:{port}{path}",
                protocols=protocols,
                origin=origin,
                autoclose=False,
                max_msg_size=0,
            )
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    def send(self, line: str | bytes, *, binary: bool | None = None) -> None:
        """Send one frame: text unless `binary` (default: binary for bytes)."""
        as_binary = isinstance(line, bytes) if binary is None else binary
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        asyncio.get_running_loop().create_task(self._send(data, as_binary))

    async def _send(self, data: bytes, binary: bool) -> None:
        opcode = aiohttp.WSMsgType.BINARY if binary else aiohttp.WSMsgType.TEXT
        with contextlib.suppress(ConnectionError):
            await self.ws.send_frame(data, opcode)

    async def frame(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> aiohttp.WSMessage:
        """The next message of any type (CLOSE included)."""
        return await asyncio.wait_for(self.ws.receive(), timeout_s)

    async def _next(self, timeout_s: float) -> Message:
        if self._pending:
            return self._pending.pop(0)
        msg = await self.frame(timeout_s)
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise ConnectionError(f"WebSocket ended: {msg.type.name} {msg.data!r}")
        raw = msg.data.encode("utf-8") if isinstance(msg.data, str) else msg.data
        self.frames.append((msg.type, raw))
        parsed = parse(raw)
        self.seen.append(parsed)
        return parsed

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.ws.close()
        await self.session.close()


async def ws_registered(
    port: int, nick: str, *rooms: str, protocols: tuple[str, ...] = ()
) -> WsLineClient:
    """A WebSocket client registered as `nick` that has joined `rooms` (end of NAMES seen)."""
    client = await WsLineClient.connect_ws(port, protocols=protocols)
    await client.register(nick)
    for room in rooms:
        client.send(f"JOIN {room}")
        await client.expect("366")
    return client


def is_privmsg(text: str) -> Callable[[Message], bool]:
    """A predicate: a PRIVMSG whose text is `text`."""
    return lambda m: m.verb == "PRIVMSG" and m.params[-1] == text
