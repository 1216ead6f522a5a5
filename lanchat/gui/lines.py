"""How a transcript reads: messages grouped by sender under a name and a time, date
separators, notices, links, emoji and nick colours.

Layer: GUI view-model (no Tk); imports the standard library and lanchat.protocol (case
mapping) only, so every rule here is tested with plain calls.

A `Line` is what happened (who, when, the text cut into tagged segments); `render` decides how
it reads after the line before it, as chat apps do (issue #15):

    Today                               a date separator when the day changes
    bob  18:54                          a header when the sender changes, or after 5 minutes
    hi everyone 👋                      the text, wrapped under itself
    and the tournament starts at nine   the same sender again: no header
    You  18:55                          our own messages, under "You"
    18:55  * bob waves                  actions, notices and events: time, then text; wrapped
    18:56  carol joined.                lines are indented under the text, not the time

``/me`` is CTCP ACTION (https://modern.ircdocs.horse/ctcp#action). The sender's address is not
repeated on every line: the member list and the name's tooltip show it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zlib
from typing import NamedTuple

from lanchat.protocol import casefold

__all__ = [
    "GROUP_GAP_MS",
    "NICK_PALETTES",
    "Line",
    "Segment",
    "day_label",
    "format_event",
    "format_message",
    "format_time",
    "nick_colour",
    "nick_colour_index",
    "render",
    "split_text",
    "split_urls",
    "unread_marker",
]

GROUP_GAP_MS = 5 * 60 * 1000  # a sender's next message after this long gets its header again

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
# Runs of emoji (pictographs, symbols, flags, skin tones, joiners and variation selectors):
# drawn with the colour emoji font by name, as Tk's own fallback picks a monochrome font.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]"
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u200d\ufe0f]*"
)


# Segment and Line are NamedTuples rather than dataclasses on purpose: a tuple holding only
# strings, numbers and such tuples is untracked by the garbage collector, so a history of tens
# of thousands of lines adds nothing to the full collections that would otherwise pause the
# window (scripts/bench_gui.py measured 60-90 ms pauses with dataclasses).


class Segment(NamedTuple):
    """A run of text with the Text-widget tags it is drawn with ("url", "nick3", "own", ...)."""

    text: str
    tags: tuple[str, ...] = ()


class Line(NamedTuple):
    """One thing said or done in a conversation, before `render` lays it out."""

    time_ms: int  # server time of the message, Unix milliseconds
    segments: tuple[Segment, ...]  # the text, with its tags (links, emoji, highlight...)
    highlight: bool = False  # mentions our nick or is a private message to us
    msgid: str = ""  # ircv3 msgid; "" for local notices
    sender: str = ""  # the name in the header ("You" for us); "" for actions and events
    sender_tag: str = ""  # "own" or "nick<i>": the colour of the name
    ip: str = ""  # the sender's address, shown by the name's tooltip
    kind: str = "event"  # "privmsg", "action", "notice", "event" or "error"

    @property
    def text(self) -> str:
        """The text of the line without its header (what was said, or what happened)."""
        return "".join(s.text for s in self.segments)


def format_time(time_ms: int) -> str:
    """Local wall-clock "HH:MM" for a Unix-milliseconds time stamp."""
    return time.strftime("%H:%M", time.localtime(time_ms / 1000))


def _day(time_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(time_ms / 1000).date()


def day_label(day: dt.date, today: dt.date) -> str:
    """ "Today", "Yesterday", "Monday 30 November", or with the year when not this year."""
    if day == today:
        return "Today"
    if day == today - dt.timedelta(days=1):
        return "Yesterday"
    label = f"{day:%A} {day.day} {day:%B}"
    return label if day.year == today.year else f"{label} {day.year}"


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


def split_text(text: str, tags: tuple[str, ...] = ()) -> list[Segment]:
    """Split `text` into segments: links tagged "url", runs of emoji tagged "emoji"."""
    out: list[Segment] = []
    for seg in split_urls(text, tags):
        if "url" in seg.tags or not _EMOJI.search(seg.text):
            out.append(seg)
            continue
        pos = 0
        for m in _EMOJI.finditer(seg.text):
            if m.start() > pos:
                out.append(Segment(seg.text[pos : m.start()], seg.tags))
            out.append(Segment(m.group(), (*seg.tags, "emoji")))
            pos = m.end()
        if pos < len(seg.text):
            out.append(Segment(seg.text[pos:], seg.tags))
    return out


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
    """The line of a chat message: its header name, colour and text segments.

    Our own messages are under "You" (as the original lanchat said ``You: text``); ``/me``
    actions read ``* nick waves``; notices ``-nick- text``. Links in the text are tagged "url".

    Args:
        nick: the sender's nick.
        ip: the sender's IP address ("" when unknown), for the name's tooltip.
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
    name = "You" if own else nick
    highlight = highlight and not own
    body_tags: tuple[str, ...] = ("highlight",) if highlight else ()
    if kind == "action":
        segs = [Segment("* ", ("action",)), Segment(nick, (who_tag, "action")), Segment(" ")]
        segs.extend(split_text(text, (*body_tags, "action")))
        return Line(time_ms, tuple(segs), highlight, msgid, "", who_tag, ip, kind)
    if kind == "notice":
        segs = [Segment(f"-{name}-", (who_tag, "notice")), Segment(" ")]
        segs.extend(split_text(text, (*body_tags, "notice")))
        return Line(time_ms, tuple(segs), highlight, msgid, "", who_tag, ip, kind)
    segs = split_text(text, body_tags)
    return Line(time_ms, tuple(segs), highlight, msgid, name, who_tag, ip, "privmsg")


def unread_marker(time_ms: int) -> Line:
    """The "New messages" line drawn above the first line not yet seen."""
    return Line(time_ms, (Segment("New messages", ("unread",)),), kind="unread")


def format_event(text: str, time_ms: int | None = None, *, tag: str = "event") -> Line:
    """A local notice line (join, part, topic, errors): "18:56  bob joined.".

    Args:
        text: what happened, in plain words.
        time_ms: when; None means now.
        tag: the text tag ("event", or "error" for problems).
    """
    now = int(time.time() * 1000) if time_ms is None else time_ms
    return Line(now, tuple(split_text(text, (tag,))), kind=tag)


def render(line: Line, prev: Line | None, today: dt.date) -> list[Segment]:
    """How `line` reads after `prev` (None at the top): the segments to insert, newlines
    between its rows, no newline at the end.

    Args:
        line: the line to lay out.
        prev: the line above it, or None.
        today: the local date, for "Today" and "Yesterday".

    Returns:
        A date separator when the day changed; for a message, a header (name and time) unless
        the same sender spoke within GROUP_GAP_MS, then the text; for anything else the time
        and the text on one row.
    """
    if line.kind == "unread":
        return list(line.segments)
    out: list[Segment] = []
    day = _day(line.time_ms)
    new_day = prev is None or _day(prev.time_ms) != day
    if new_day:
        out += [Segment(day_label(day, today), ("date",)), Segment("\n")]
    if not line.sender:
        out.append(Segment(format_time(line.time_ms), ("time", "row")))
        out.append(Segment("  ", ("row",)))
        out.extend(Segment(s.text, (*s.tags, "row")) for s in line.segments)
        return out
    grouped = (
        not new_day
        and prev is not None
        and prev.sender == line.sender
        and prev.ip == line.ip
        and line.time_ms - prev.time_ms < GROUP_GAP_MS
    )
    if not grouped:
        out.append(Segment(line.sender, (line.sender_tag, "header", "name")))
        out.append(Segment("  ", ("header",)))
        out.append(Segment(format_time(line.time_ms), ("time", "header")))
        out.append(Segment("\n"))
    out.extend(Segment(s.text, (*s.tags, "body")) for s in line.segments)
    return out
