"""draft/multiline for the client: a pasted block sent as one message, and a received
multiline batch joined back into one.

Layer: SANS-I/O client core. Imports the standard library and lanchat.protocol only.

Spec: https://ircv3.net/specs/extensions/multiline (the batch, `draft/multiline-concat`, the
max-bytes and max-lines limits of the capability's value).

    BATCH +<ref> draft/multiline <target>
    @batch=<ref> PRIVMSG <target> :<line>
    @batch=<ref>;draft/multiline-concat PRIVMSG <target> :<rest of the same line>
    BATCH -<ref>
"""

from __future__ import annotations

from lanchat.protocol import Message
from lanchat.protocol.caps import MULTILINE_MAX_BYTES, MULTILINE_MAX_LINES

__all__ = ["BATCH_TYPE", "CAP", "CONCAT", "MultilineLimits", "join_lines", "pieces"]

CAP = "draft/multiline"  # the capability and the batch type
BATCH_TYPE = CAP
CONCAT = "draft/multiline-concat"  # tag of a line joined to the previous one with nothing between


class MultilineLimits:
    """The server's max-bytes and max-lines (the capability's value, e.g.
    "max-bytes=4096,max-lines=50"); a missing or bad number keeps our default."""

    def __init__(self, value: str) -> None:
        """Read the limits from the capability's value."""
        limits = dict(item.partition("=")[::2] for item in value.split(",") if item)
        self.max_bytes = _number(limits.get("max-bytes"), MULTILINE_MAX_BYTES)
        self.max_lines = _number(limits.get("max-lines"), MULTILINE_MAX_LINES)

    def allow(self, lines: list[tuple[str, bool]]) -> bool:
        """True if the lines (text, concat) fit: each joining line feed counts one byte."""
        size = sum(len(text.encode("utf-8")) + (0 if concat else 1) for text, concat in lines)
        return len(lines) <= self.max_lines and size - 1 <= self.max_bytes


def _number(text: str | None, default: int) -> int:
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else default


def pieces(text: str, max_bytes: int) -> list[tuple[str, bool]]:
    """Cut `text` into the lines of a multiline batch: (line, concat), where concat says the
    line continues the previous one (a line longer than `max_bytes` UTF-8 bytes is cut at a
    character boundary). Blank lines inside are kept; leading and trailing ones are not."""
    out: list[tuple[str, bool]] = []
    for line in text.strip("\r\n").splitlines():
        rest, concat = line, False
        while len(rest.encode("utf-8")) > max_bytes:
            cut = len(rest.encode("utf-8")[:max_bytes].decode("utf-8", "ignore"))
            out.append((rest[:cut], concat))
            rest, concat = rest[cut:], True
        out.append((rest, concat))
    return out


def join_lines(opening: Message, lines: list[Message]) -> Message | None:
    """The one message a multiline batch carries: the lines joined by "\\n" (or by nothing
    for a concat line), with the tags of the opening BATCH (msgid, time, the parent batch).
    None for a batch without lines."""
    if not lines or len(opening.params) < 3:
        return None
    text = "".join(
        m.params[-1] if CONCAT in m.tags or i == 0 else "\n" + m.params[-1]
        for i, m in enumerate(lines)
        if len(m.params) >= 2
    )
    first = lines[0]
    return Message(first.verb, (opening.params[2], text), first.source, dict(opening.tags))
