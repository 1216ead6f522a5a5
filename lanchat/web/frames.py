"""IRC lines as WebSocket frames, and what the ircv3 websocket transport names.

Layer: pure; the standard library only (no asyncio, no aiohttp), so every framing rule is
tested with plain function calls.
Spec: https://ircv3.net/specs/extensions/websocket (subprotocols, one IRC line per message,
no CR/LF); RFC 6455 https://www.rfc-editor.org/rfc/rfc6455 section 5.2 (base framing).

aiohttp reads frames (masking, fragments, control frames) and does the opening handshake; the
server writes its own frames here because a fan-out sends the same bytes to hundreds of
connections: a room message is framed once per loop pass, not once per recipient (issue #4's
rule, "serialise once"), which aiohttp's per-connection writer cannot do.
"""

from __future__ import annotations

import struct

__all__ = [
    "BINARY_SUBPROTOCOL",
    "CLOSE_NORMAL",
    "SUBPROTOCOLS",
    "TEXT_SUBPROTOCOL",
    "FrameCache",
    "close_frame",
    "frame_lines",
]

TEXT_SUBPROTOCOL = "text.ircv3.net"  # UTF-8 lines in text frames
BINARY_SUBPROTOCOL = "binary.ircv3.net"  # lines as they are, in binary frames
# Both are offered to aiohttp, which picks the first of the client's list that it knows (so the
# client's order of preference decides, as the spec asks) and goes on without a subprotocol
# when the client offers none; such a client gets text frames.
SUBPROTOCOLS = (TEXT_SUBPROTOCOL, BINARY_SUBPROTOCOL)
CLOSE_NORMAL = 1000  # RFC 6455 7.4.1

_FIN_TEXT = 0x81  # FIN + opcode 1 (RFC 6455 5.2, 5.6)
_FIN_BINARY = 0x82  # FIN + opcode 2
_FIN_CLOSE = 0x88  # FIN + opcode 8 (5.5.1)
_CRLF = b"\r\n"
_CACHE_ENTRIES = 64  # framed runs kept; a loop pass rarely has more distinct ones


def _header(first: int, size: int) -> bytes:
    # Server-to-client frames are never masked (5.1); the length takes 7, 7+16 or 7+64 bits.
    if size < 126:
        return bytes((first, size))
    if size < 65536:
        return struct.pack("!BBH", first, 126, size)
    return struct.pack("!BBQ", first, 127, size)


def frame_lines(data: bytes, *, binary: bool) -> bytes:
    """Each line of `data` as one unfragmented, unmasked frame, without its CRLF.

    Args:
        data: whole IRC lines, each ending in CRLF, as the server writes them to TCP clients.
        binary: binary frames (binary.ircv3.net) instead of text frames.

    Returns:
        The frames, concatenated; empty lines make no frame.
    """
    first = _FIN_BINARY if binary else _FIN_TEXT
    parts = []
    for line in data.split(_CRLF):
        if line:
            parts.append(_header(first, len(line)))
            parts.append(line)
    return b"".join(parts)


def close_frame(code: int = CLOSE_NORMAL) -> bytes:
    """A Close frame with a status code and no reason (RFC 6455 5.5.1)."""
    return struct.pack("!BBH", _FIN_CLOSE, 2, code)


class FrameCache:
    """Frames each distinct run of lines once, for every connection it goes to.

    Keyed by content, not by object: a fan-out hands every member the same bytes object (its
    hash is computed once and kept by the object), and when several runs reach a connection
    in one loop pass, Delivery joins them into a new object per connection whose content
    is still the same for every member that got the same runs (one memcmp to find it, instead
    of framing line by line per member). Loop thread only.
    """

    __slots__ = ("_binary", "_text")

    def __init__(self) -> None:
        self._text: dict[bytes, bytes] = {}  # CRLF lines -> their text frames
        self._binary: dict[bytes, bytes] = {}  # CRLF lines -> their binary frames

    def frames(self, data: bytes, binary: bool) -> bytes:
        """`frame_lines(data, binary=binary)`, computed once per distinct content."""
        framed_by = self._binary if binary else self._text
        framed = framed_by.get(data)
        if framed is None:
            framed = frame_lines(data, binary=binary)
            if len(framed_by) >= _CACHE_ENTRIES:
                framed_by.clear()
            framed_by[data] = framed
        return framed
