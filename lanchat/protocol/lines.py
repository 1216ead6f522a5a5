"""Split a byte stream into IRC lines with a hard size limit.

Layer: sans-I/O protocol core; standard library and lanchat.errors only.
Spec: https://modern.ircdocs.horse/#message-format ("Messages are terminated by CR LF; servers
SHOULD accept a bare LF") and ircv3 message-tags (up to 8191 bytes of tags before the body).

The reader never holds more than `max_bytes` of an unfinished line: when a line grows past the
limit its bytes are dropped up to the next LF and a single `TOO_LONG` marker is returned in its
place, so a peer that never sends LF costs a bounded buffer (unlike irctokens' StatefulDecoder).
"""

from __future__ import annotations

from typing import Final

__all__ = ["TOO_LONG", "LineReader", "TooLong"]


class TooLong:
    """Marker for a line that exceeded the limit and was discarded."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = TooLong()


class LineReader:
    """Incremental line splitter: `feed(bytes)` returns the complete lines it finished.

    Lines are returned without CR/LF; empty lines are dropped (modern.ircdocs: "empty messages
    are silently ignored").
    """

    __slots__ = ("_buf", "_discarding", "max_bytes")

    def __init__(self, max_bytes: int = 512 + 8191) -> None:
        self.max_bytes = max_bytes  # longest accepted line, tags + body, without CRLF
        self._buf = b""  # start of the unfinished line
        self._discarding = False  # inside an over-long line: drop bytes until the next LF

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        """Add received bytes; return the finished lines in order (or TOO_LONG markers)."""
        out: list[bytes | TooLong] = []
        if b"\n" not in data:
            if self._discarding:
                return out
            self._buf += data
            if len(self._buf) > self.max_bytes:
                self._buf = b""
                self._discarding = True
                out.append(TOO_LONG)
            return out
        chunks = (self._buf + data).split(b"\n") if self._buf else data.split(b"\n")
        self._buf = chunks.pop()
        limit = self.max_bytes
        for raw in chunks:
            if self._discarding:
                self._discarding = False
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > limit:
                out.append(TOO_LONG)
            elif raw:
                out.append(raw)
        if len(self._buf) > limit:
            self._buf = b""
            self._discarding = True
            out.append(TOO_LONG)
        return out
