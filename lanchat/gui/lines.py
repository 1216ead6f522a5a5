"""How a transcript line reads: time stamp, speaker, text, links and nick colours.

Layer: GUI view-model (no Tk); imports the standard library and lanchat.protocol (case
mapping) only, so every rule here is tested with plain calls.

Own messages read ``You: text`` and others ``nick (IP): text``, as in the original lanchat;
``/me`` (CTCP ACTION, https://modern.ircdocs.horse/ctcp#action) reads ``* nick waves``.
"""

from __future__ import annotations

import re
import time
import zlib
from typing import NamedTuple

from lanchat.protocol import casefold

__all__ = [
    "NICK_PALETTES",
    "Line",
    "Segment",
    "format_event",
    "format_message",
    "format_time",
    "nick_colour",
    "nick_colour_index",
    "split_urls",
]

# Eight hues per theme, chosen so that (tests/gui/test_theme.py holds all of it): each has at
# least 4.5:1 contrast against its theme's transcript background; any two are at least 20
# apart in CIELAB (the twelve of before had near twins, e.g. two greens); none is near the
# theme's error red, its link blue or the plain text colour our own name is drawn in (issue
# #15, bug 9). Fewer colours, each telling one person from another at a glance.
NICK_PALETTES: dict[str, tuple[str, ...]] = {
    "light": ("#15803d", "#0f766e", "#0e7490", "#4338ca", "#a21caf", "#be185d", "#a16207",
              "#4d7c0f"),
    "dark": ("#4ade80", "#2dd4bf", "#818cf8", "#f472b6", "#fb923c", "#facc15", "#a3e635",
             "#e879f9"),
}  # fmt: skip


def nick_colour_index(nick: str) -> int:
    """A stable palette index for `nick`: the same nick gets the same colour in every run.

    The nick is casefolded first (rfc1459), so "Alice" and "alice" share a colour; CRC-32 is
    used instead of hash() because str hashes are salted per process.
    """
    return zlib.crc32(casefold(nick).encode("utf-8")) % len(NICK_PALETTES["light"])


def nick_colour(nick: str, theme: str) -> str:
    """The colour of `nick` in `theme` ("light" or "dark"), e.g. "#0b57d0"."""
    return NICK_PALETTES[theme][nick_colour_index(nick)]


# --- formatted lines ---------------------------------------------------------------------------

# Bare "www." links count too: people paste them that way. Trailing punctuation is not part
# of the link ("see https://x.org." ends the sentence, not the URL).
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'}]", re.IGNORECASE)


# Segment and Line are NamedTuples rather than dataclasses on purpose: a tuple holding only
# strings, numbers and such tuples is untracked by the garbage collector, so a history of tens
# of thousands of lines adds nothing to the full collections that would otherwise pause the
# window (scripts/bench_gui.py measured 60-90 ms pauses with dataclasses).


class Segment(NamedTuple):
    """A run of text with the Text-widget tags it is drawn with ("url", "nick3", "own", ...)."""

    text: str
    tags: tuple[str, ...] = ()


class Line(NamedTuple):
    """One transcript line, ready to insert: segments plus what the tab badge needs to know."""

    time_ms: int  # server time of the message, Unix milliseconds
    segments: tuple[Segment, ...]  # stamp, speaker and text, each with its tags
    highlight: bool = False  # mentions our nick or is a private message to us
    msgid: str = ""  # ircv3 msgid; "" for local notices

    @property
    def text(self) -> str:
        """The line as plain text, as it appears (and is copied) in the transcript."""
        return "".join(s.text for s in self.segments)


def format_time(time_ms: int) -> str:
    """Local wall-clock "HH:MM" for a Unix-milliseconds time stamp."""
    return time.strftime("%H:%M", time.localtime(time_ms / 1000))


def split_urls(text: str, tags: tuple[str, ...] = ()) -> list[Segment]:
    """Split `text` into segments, tagging links with "url" (on top of `tags`)."""
    out: list[Segment] = []
    pos = 0
    for m in _URL.finditer(text):
        if m.start() > pos:
            out.append(Segment(text[pos : m.start()], tags))
        out.append(Segment(m.group(), (*tags, "url")))
        pos = m.end()
    if pos < len(text) or not out:
        out.append(Segment(text[pos:], tags))
    return out


def _stamp(time_ms: int) -> Segment:
    return Segment(format_time(time_ms) + " ", ("time",))


def format_message(
    *,
    nick: str,
    ip: str,
    text: str,
    time_ms: int,
    own: bool,
    kind: str = "privmsg",
    highlight: bool = False,
    msgid: str = "",
) -> Line:
    """Format a chat message the way the original lanchat showed it.

    Own messages read ``You: text``, others ``nick (IP): text``; ``/me`` actions read
    ``* nick waves``; notices ``-nick (IP)- text``. Links in the text are tagged "url".

    Args:
        nick: the sender's nick.
        ip: the sender's IP address ("" when unknown: then no brackets are shown).
        text: the message text (for an action, without the ACTION wrapper).
        time_ms: server time, Unix milliseconds.
        own: True when we sent it.
        kind: "privmsg", "notice" or "action".
        highlight: MessageReceived.highlight: the line mentions us or is a private message
            to us (the client library decides; the GUI only shows it).
        msgid: the ircv3 msgid, kept for de-duplication.

    Returns:
        The line, with a "highlight" tag on the text when `highlight` is set.
    """
    who_tag = "own" if own else f"nick{nick_colour_index(nick)}"
    body_tags: tuple[str, ...] = ("highlight",) if highlight and not own else ()
    from_ip = f" ({ip})" if ip and not own else ""
    segs = [_stamp(time_ms)]
    if kind == "action":
        segs.append(Segment("* ", ("action",)))
        segs.append(Segment(nick, (who_tag, "action")))
        segs.append(Segment(" ", ("action",)))
        segs.extend(split_urls(text, (*body_tags, "action")))
    elif kind == "notice":
        segs.append(Segment(f"-{'You' if own else nick}{from_ip}-", (who_tag, "notice")))
        segs.append(Segment(" "))
        segs.extend(split_urls(text, (*body_tags, "notice")))
    else:
        segs.append(Segment("You" if own else nick, (who_tag,)))
        segs.append(Segment(f"{from_ip}: "))
        segs.extend(split_urls(text, body_tags))
    return Line(time_ms, tuple(segs), highlight and not own, msgid)


def format_event(text: str, time_ms: int | None = None, *, tag: str = "event") -> Line:
    """A local notice line (join, part, topic, errors): "12:00 — bob (10.0.0.7) joined".

    Args:
        text: what happened, in plain words.
        time_ms: when; None means now.
        tag: the text tag ("event", or "error" for problems).
    """
    now = int(time.time() * 1000) if time_ms is None else time_ms
    return Line(now, (_stamp(now), Segment("— ", (tag,)), *split_urls(text, (tag,))))
