"""Split a byte stream into IRC lines and hold each line to the size limits.

Layer: sans-I/O protocol core; standard library and lanchat.errors only.
Spec: https://modern.ircdocs.horse/#message-format ("Messages are terminated by CR LF; servers
SHOULD accept a bare LF"; 512 bytes with CR LF, tags not counted) and
https://ircv3.net/specs/extensions/message-tags "Size limit" (8191 bytes of tags in all, of
which a client may send 4094).

Every limit on a line's length lives here, named, and every violation is reported the same
way: a `TOO_LONG` marker (type `TooLong`) in place of the line, which the server answers with
417 ERR_INPUTTOOLONG and keeps the connection (Ergo). The edge only acts on the marker.

The reader never holds more than `max_bytes` of an unfinished line: when a line grows past the
limit its bytes are dropped up to the next LF and a single `TOO_LONG` marker is returned in its
place, so a peer that never sends LF costs a bounded buffer (unlike irctokens' StatefulDecoder).
Given `limits`, it also checks each finished line section by section (LineLimits.check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lanchat.protocol.tags import MAX_CLIENT_TAG_BYTES

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_TAGS_BYTES",
    "TOO_LONG",
    "LineLimits",
    "LineReader",
    "TooLong",
]

# modern.ircdocs "Message format": 512 bytes with the CR LF, the tags section not counted.
MAX_BODY_BYTES: Final = 510
# ircv3 message-tags "Size limit": the tags section, leading '@' and trailing space included.
MAX_TAGS_BYTES: Final = 8191


class TooLong:
    """Marker for a line that exceeded the limit and was discarded."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = TooLong()

_AT = 0x40  # b"@": a line that starts with message tags


@dataclass(frozen=True, slots=True)
class LineLimits:
    """How long each section of a client's line may be, in bytes, without the CR LF."""

    max_body_bytes: int = MAX_BODY_BYTES  # source, command and parameters
    max_tags_bytes: int = MAX_TAGS_BYTES  # the whole tags section, '@' and space included
    max_client_tag_bytes: int = MAX_CLIENT_TAG_BYTES  # the tag data itself, '@' and space not

    @property
    def max_line_bytes(self) -> int:
        """The longest line these limits can accept: tags and body together."""
        return self.max_body_bytes + self.max_tags_bytes

    def check(self, line: bytes) -> bytes | TooLong:
        """`line` if every section is within its limit, else the TOO_LONG marker.

        Args:
            line: one line from a client, without CR LF.

        Returns:
            The line unchanged, or TOO_LONG (the caller answers 417 ERR_INPUTTOOLONG).
        """
        tags = 0  # bytes of the tags section, '@' and the space after it included
        if line and line[0] == _AT:  # the tags section ends after the first space
            space = line.find(b" ")
            tags = space + 1 if space >= 0 else len(line)
        if (
            len(line) - tags > self.max_body_bytes
            or tags > self.max_tags_bytes
            or tags - 2 > self.max_client_tag_bytes  # ircv3: clients send at most 4094
        ):
            return TOO_LONG
        return line


class LineReader:
    """Incremental line splitter: `feed(bytes)` returns the complete lines it finished.

    Lines are returned without CR/LF; empty lines are dropped (modern.ircdocs: "empty messages
    are silently ignored").
    """

    __slots__ = ("_buf", "_discarding", "limits", "max_bytes")

    def __init__(self, max_bytes: int | None = None, *, limits: LineLimits | None = None) -> None:
        """Start with an empty buffer.

        Args:
            max_bytes: the most bytes of one line held, without CR LF (default: what
                `limits` or the default LineLimits can accept).
            limits: check each finished line against these (a server reading a client);
                None keeps only the `max_bytes` bound (a client reading a server).
        """
        if max_bytes is None:
            max_bytes = (limits or LineLimits()).max_line_bytes
        self.max_bytes = max_bytes  # longest line kept whole, tags + body, without CRLF
        self.limits = limits  # section limits each finished line is held to, if any
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
        limit, limits = self.max_bytes, self.limits
        for raw in chunks:
            if self._discarding:
                self._discarding = False
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > limit:
                out.append(TOO_LONG)
            elif raw:
                out.append(raw if limits is None else limits.check(raw))
        if len(self._buf) > limit:
            self._buf = b""
            self._discarding = True
            out.append(TOO_LONG)
        return out
