"""IRC over WebSocket: one more transport into the same hub as TCP.

Layer: asyncio edge; may import asyncio, aiohttp, lanchat.server.{connection,delivery,hub} and
lanchat.web.frames.
Spec: https://ircv3.net/specs/extensions/websocket ("each IRC line is sent as one WebSocket
message", no CR/LF, text.ircv3.net / binary.ircv3.net); issue 16 ("a web connection is one more
transport into the same server state").

A WebConnection IS an IrcConnection (lanchat.server.connection): the same hub accepts it, the
same per-IP cap, flood control, line limits, SendQ, PING timeouts and Disconnect handling apply,
because they are the same code. Only the two ends differ:

- in: aiohttp has parsed a frame; its payload is one line for IrcConnection.lines_received
  (a trailing CRLF is tolerated, an over-long one gets 417 with the connection kept,
  invalid UTF-8 goes on to the parser's FAIL INVALID_UTF8 exactly as on TCP);
- out: `transport` is a WebTransport, which turns the CRLF-terminated lines Delivery writes into
  one frame per line on the real TCP transport (frames of a fan-out are built once), and tells
  Delivery whether the TCP transport has paused writing (aiohttp's protocol hears that).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from lanchat.server.connection import IrcConnection
from lanchat.web.frames import BINARY_SUBPROTOCOL, FrameCache, close_frame

if TYPE_CHECKING:
    from aiohttp.base_protocol import BaseProtocol

    from lanchat.server.delivery import Outbound
    from lanchat.server.hub import Hub

__all__ = ["WebConnection", "WebTransport"]

_LF = 0x0A
_CR = 0x0D


class WebTransport:
    """Delivery's view of a WebSocket: `write` takes CRLF lines and sends one frame per line.

    Everything else (buffer size and limits, peer address, abort) is the TCP transport's.
    Loop thread only.
    """

    __slots__ = ("_binary", "_cache", "_closed", "_protocol", "_transport", "outbound")

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: BaseProtocol,
        *,
        binary: bool,
        cache: FrameCache,
    ) -> None:
        self._transport = transport  # the TCP connection under the WebSocket
        # aiohttp's protocol of the TCP connection: it gets pause_writing/resume_writing.
        self._protocol = protocol
        self._binary = binary  # binary.ircv3.net: binary frames; else text frames
        self._cache = cache  # shared by every web connection of the server
        self._closed = False  # our Close frame is written
        self.outbound: Outbound | None = None  # the connection's outgoing side, once accepted

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._transport.write(self._cache.frames(data, self._binary))
        out = self.outbound
        if out is not None:
            # Only a write fills the buffer, so the flag as it stands after one is what
            # Delivery's next SendQ check needs (a drain since then leaves it set: the check
            # then counts the bytes, and finds them few).
            out.paused = self._protocol.writing_paused

    def close(self) -> None:
        """Send a Close frame (1000), then close the TCP connection once its buffer is written.

        The peer's own Close frame is not awaited (RFC 6455 7.1.1 lets the server close the
        TCP connection first); the close linger of Delivery bounds a peer that reads
        nothing.
        """
        if not self._closed:
            self._closed = True
            self._transport.write(close_frame())
        self._transport.close()

    def abort(self) -> None:
        self._closed = True
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._closed or self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high=high, low=low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class WebConnection(IrcConnection):
    """One browser's (or web IRC client's) WebSocket, seen by the hub as an IrcConnection.

    Loop thread only. Created by the WebSocket handler after the opening handshake; the handler
    calls `admit`, then `frame_received` per data frame and `connection_lost` when the
    WebSocket ends.
    """

    __slots__ = ("_framed",)

    def __init__(
        self,
        hub: Hub,
        transport: asyncio.Transport,
        protocol: BaseProtocol,
        *,
        subprotocol: str | None,
        cache: FrameCache,
    ) -> None:
        super().__init__(hub)
        binary = subprotocol == BINARY_SUBPROTOCOL
        self._framed = WebTransport(transport, protocol, binary=binary, cache=cache)
        self.transport = cast(asyncio.Transport, self._framed)

    def admit(self) -> None:
        super().admit()
        self._framed.outbound = self.out

    def frame_received(self, payload: bytes) -> None:
        """One text or binary frame: one IRC line, to flood control and the core."""
        if self.closing:
            return
        # The spec says frames carry no CRLF; clients that add one anyway are not punished.
        end = len(payload)
        if end and payload[end - 1] == _LF:
            end -= 1
            if end and payload[end - 1] == _CR:
                end -= 1
        if end:
            line = payload[:end] if end < len(payload) else payload
            self.lines_received([self.hub.line_limits.check(line)])  # TOO_LONG if over a limit
