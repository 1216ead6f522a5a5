"""A WebSocket IRC client for tests: the LineClient interface over aiohttp's client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
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


def client_frame(payload: bytes, *, binary: bool = False, opcode: int | None = None) -> bytes:
    """One masked client-to-server frame (RFC 6455 5.2, 5.3), FIN set."""
    op = opcode if opcode is not None else (2 if binary else 1)
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | op, 0x80 | size))
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | op, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class Handshake:
    """A raw WebSocket opening handshake (RFC 6455 4.1) and what the server answered."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status  # 101 when upgraded
        self.headers = headers  # response headers, names lower-cased
        self.body = body  # what followed the headers when the server refused


def upgrade_request(
    port: int,
    *,
    path: str = "/",
    protocols: tuple[str, ...] = (),
    origin: str | None = None,
    host: str | None = None,
) -> bytes:
    """An HTTP/1.1 WebSocket upgrade request for 127.0.0.1:PORT/PATH (RFC 6455 4.1), with
    the Host header `host` (default 127.0.0.1:PORT)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host or f'127.0.0.1:{port}'}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(protocols)}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status code and headers (names lower-cased) of an HTTP response head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def raw_upgrade(
    port: int,
    *,
    path: str = "/",
    protocols: tuple[str, ...] = (),
    origin: str | None = None,
    host: str | None = None,
) -> tuple[Handshake, asyncio.StreamReader, asyncio.StreamWriter]:
    """Send an upgrade request by hand on a fresh TCP connection; parse the answer's head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(upgrade_request(port, path=path, protocols=protocols, origin=origin, host=host))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEFAULT_TIMEOUT_S)
    status, headers = parse_head(head)
    body = b""
    if status != 101:
        size = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(size), DEFAULT_TIMEOUT_S)
    return Handshake(status, headers, body), reader, writer
