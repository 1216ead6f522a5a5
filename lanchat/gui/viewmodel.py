"""Presentation state of the chat client, as plain classes with no Tk (IDLE's testable core).

Layer: GUI view-model; imports the standard library, lanchat.protocol (case mapping) and
lanchat.client.events (plain command values) only. Everything the Tk layer shows is decided
here: how a line reads, which colour a nick gets, what Tab completes, which slash command a
line is, how many lines are unread, which rooms the Rooms page lists. The widgets only copy
the result onto the screen, so all of it is tested without a display.

Specs: CTCP ACTION (``/me``) https://modern.ircdocs.horse/ctcp#action; channel and nick names
https://modern.ircdocs.horse/#channels and https://modern.ircdocs.horse/#clients.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lanchat.client.events import (
    Action,
    ChangeNick,
    Join,
    Part,
    Quit,
    Say,
    SetAway,
    SetTopic,
)
from lanchat.protocol import casefold, is_valid_channel, is_valid_nick

__all__ = [
    "COMMANDS",
    "DEFAULT_VISIBLE_LINES",
    "NICK_PALETTES",
    "AdLike",
    "ChatModel",
    "Completer",
    "Conversation",
    "Help",
    "InputHistory",
    "Line",
    "RoomListModel",
    "RoomRow",
    "Segment",
    "Typed",
    "UsageError",
    "conversation_key",
    "format_event",
    "format_message",
    "format_time",
    "mentions",
    "nick_colour",
    "nick_colour_index",
    "parse_input",
    "split_urls",
]

# The Text widget shows at most this many lines per conversation; older ones stay in
# Conversation.lines (the history) so a 10,000-message room stays as fast as a quiet one.
DEFAULT_VISIBLE_LINES = 2000

# Twelve hues per theme, each with at least 4.5:1 contrast against that theme's background
# (#ffffff light, #1e2127 dark), so every nick stays readable whichever theme is on.
NICK_PALETTES: dict[str, tuple[str, ...]] = {
    "light": (
        "#b3261e",
        "#1a6b2c",
        "#0b57d0",
        "#8a4b00",
        "#7b1fa2",
        "#00695c",
        "#ad1457",
        "#3949ab",
        "#5d4037",
        "#2e7d32",
        "#c2185b",
        "#006064",
    ),
    "dark": (
        "#ff8a80",
        "#81c995",
        "#8ab4f8",
        "#fdd663",
        "#d7aefb",
        "#78d9ec",
        "#ff8bcb",
        "#a1c2fa",
        "#fcad70",
        "#a8dab5",
        "#f28b82",
        "#80cbc4",
    ),
}


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


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text with the Text-widget tags it is drawn with ("url", "nick3", "own", ...)."""

    text: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Line:
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


def mentions(text: str, nick: str) -> bool:
    """True when `text` names `nick` as a whole word, ignoring case ("hi Bob!" names bob).

    Word boundaries are nick boundaries: "bobby" does not mention "bob", "@bob:" does.
    """
    if not nick:
        return False
    folded, key = casefold(text), casefold(nick)
    start = 0
    while (i := folded.find(key, start)) >= 0:
        before = folded[i - 1] if i else " "
        after = folded[i + len(key)] if i + len(key) < len(folded) else " "
        if not _is_nick_char(before) and not _is_nick_char(after):
            return True
        start = i + 1
    return False


def _is_nick_char(ch: str) -> bool:
    return ch.isalnum() or ch in "[]\\`_^{|}-"


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
        highlight: True when the line mentions us or is a private message to us.
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


# --- conversations (tabs) --------------------------------------------------------------------


def conversation_key(server_id: str, name: str) -> str:
    """The identity of a tab: the same room name on two servers is two tabs."""
    return f"{server_id} {casefold(name)}"


@dataclass(slots=True)
class Conversation:
    """One tab: a room, a private conversation, or the server tab of one connection.

    `lines` is the whole history of this session; the Text widget shows the last
    `visible_limit` of them (trimming the view, never the history).
    """

    server_id: str  # the connection this tab belongs to
    name: str  # as first seen ("#Lobby", "bob", or the server's label)
    kind: str  # "room", "private" or "server"
    visible_limit: int = DEFAULT_VISIBLE_LINES
    lines: list[Line] = field(default_factory=list)
    unread: int = 0  # messages since the tab was last looked at
    highlighted: bool = False  # an unread line mentions us (or it is a private message)
    topic: str = ""
    members: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (prefixes, nick)
    joined: bool = True  # False after we left or were kicked; the tab stays readable
    _msgids: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return conversation_key(self.server_id, self.name)

    def add(self, line: Line, *, seen: bool, counts: bool = True) -> bool:
        """Append `line`; count it as unread unless the tab is `seen` (visible, window focused).

        Args:
            line: the formatted line.
            seen: the user is looking at this tab right now.
            counts: False for notices (joins, parts) that should not raise a badge.

        Returns:
            False when the line's msgid was already shown (history overlapping live lines).
        """
        if line.msgid:
            if line.msgid in self._msgids:
                return False
            self._msgids.add(line.msgid)
        self.lines.append(line)
        if not seen and counts:
            self.unread += 1
            self.highlighted = self.highlighted or line.highlight
        return True

    def mark_read(self) -> None:
        """The user looked at the tab: clear its badge."""
        self.unread = 0
        self.highlighted = False

    def visible(self) -> list[Line]:
        """The lines the Text widget shows: the newest `visible_limit`."""
        return self.lines[-self.visible_limit :]

    def title(self) -> str:
        """The tab label with its unread badge: "#lobby", "#lobby (3)", "bob (1!)"."""
        if not self.unread:
            return self.name
        return f"{self.name} ({self.unread}{'!' if self.highlighted else ''})"

    def set_members(self, members: Iterable[tuple[str, str]]) -> None:
        """Replace the member list with (prefixes, nick) pairs."""
        self.members = {casefold(nick): (prefixes, nick) for prefixes, nick in members}

    def member_rows(self, own_nick: str) -> list[str]:
        """Members for the list, ops first, then voiced, then the rest, each by name.

        Our own nick is marked " (you)".
        """
        rank = {"~": 0, "&": 1, "@": 2, "%": 3, "+": 4}
        own_key = casefold(own_nick)

        def order(item: tuple[str, str]) -> tuple[int, str]:
            prefixes, nick = item
            return (min((rank.get(p, 5) for p in prefixes), default=5), casefold(nick))

        rows = []
        for prefixes, nick in sorted(self.members.values(), key=order):
            mark = prefixes[:1]
            rows.append(f"{mark}{nick}{' (you)' if casefold(nick) == own_key else ''}")
        return rows

    def nicks(self) -> list[str]:
        return [nick for _, nick in self.members.values()]


class ChatModel:
    """All tabs of one chat window (over any number of connections), which one is active,
    our nick on each connection, and the window title."""

    def __init__(self, *, visible_limit: int = DEFAULT_VISIBLE_LINES) -> None:
        self.visible_limit = visible_limit  # lines shown per tab
        self.nicks: dict[str, str] = {}  # server_id → our nick there
        self.conversations: dict[str, Conversation] = {}  # conversation_key → tab, tab order
        self.active = ""  # key of the tab in front ("" when none, e.g. the Rooms page)
        self.focused = True  # the window has the keyboard focus

    def get(self, server_id: str, name: str) -> Conversation | None:
        return self.conversations.get(conversation_key(server_id, name))

    def ensure(self, server_id: str, name: str, kind: str) -> tuple[Conversation, bool]:
        """The tab for `name` on `server_id`, created when missing. Returns (tab, created)."""
        key = conversation_key(server_id, name)
        conv = self.conversations.get(key)
        if conv is not None:
            return conv, False
        conv = Conversation(server_id, name, kind, self.visible_limit)
        self.conversations[key] = conv
        return conv, True

    def close(self, key: str) -> None:
        """Forget the tab `key`."""
        self.conversations.pop(key, None)
        if self.active == key:
            self.active = ""

    def activate(self, key: str) -> None:
        """Bring tab `key` to the front and mark it read ("" for a page that is not a tab)."""
        self.active = key if key in self.conversations else ""
        if self.active:
            self.conversations[key].mark_read()

    def is_seen(self, conv: Conversation) -> bool:
        """True when the user is looking at `conv` right now."""
        return self.focused and self.active == conv.key

    def add(
        self, server_id: str, name: str, kind: str, line: Line, *, counts: bool = True
    ) -> tuple[Conversation, bool]:
        """Append `line` to tab `name` (created if needed).

        Returns:
            (the tab, False when the line was a duplicate and was dropped).
        """
        conv, _ = self.ensure(server_id, name, kind)
        return conv, conv.add(line, seen=self.is_seen(conv), counts=counts)

    def unread_total(self) -> int:
        return sum(c.unread for c in self.conversations.values())

    def window_title(self) -> str:
        """ "lanchat — alice" (our nick where the active tab is), prefixed with the unread
        count ("(4) ") and "* " when something unread mentions us."""
        active = self.conversations.get(self.active)
        nick = self.nicks.get(active.server_id, "") if active else ""
        if not nick and len(set(self.nicks.values())) == 1:
            nick = next(iter(self.nicks.values()))
        base = f"lanchat — {nick}" if nick else "lanchat"
        total = self.unread_total()
        if not total:
            return base
        star = "* " if any(c.highlighted for c in self.conversations.values()) else ""
        return f"{star}({total}) {base}"

    def rename_nick(self, server_id: str, old: str, new: str) -> list[Conversation]:
        """Apply a nick change on `server_id` to every member list and a private tab's name.

        Returns:
            The tabs `old` was part of, so each can show the notice.
        """
        old_folded, touched = casefold(old), []
        for conv in list(self.conversations.values()):
            if conv.server_id != server_id:
                continue
            if old_folded in conv.members:
                prefixes, _ = conv.members.pop(old_folded)
                conv.members[casefold(new)] = (prefixes, new)
                touched.append(conv)
            elif conv.kind == "private" and casefold(conv.name) == old_folded:
                touched.append(conv)
        old_key = conversation_key(server_id, old)
        private = self.conversations.get(old_key)
        if private is not None and private.kind == "private" and casefold(new) != old_folded:
            del self.conversations[old_key]
            private.name = new
            self.conversations[private.key] = private
            if self.active == old_key:
                self.active = private.key
        return touched


# --- the Rooms page ---------------------------------------------------------------------------


class AdLike(Protocol):
    """What the Rooms page reads from a lanchat.discovery.records.RoomAd."""

    @property
    def room(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def users(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def key_required(self) -> bool: ...
    @property
    def addresses(self) -> tuple[str, ...]: ...
    @property
    def instance(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RoomRow:
    """One row of the Rooms page, derived from a discovered RoomAd."""

    instance: str  # DNS-SD instance name: the row's identity
    room: str
    host: str
    port: int
    users: int
    topic: str
    locked: bool
    addresses: tuple[str, ...]

    def values(self) -> tuple[str, str, str, str, str]:
        """Treeview cells: room (with a lock when it needs a key), host, users, topic, address."""
        lock = " \N{LOCK}" if self.locked else ""
        where = f"{self.addresses[0]}:{self.port}" if self.addresses else f":{self.port}"
        return (f"{self.room}{lock}", self.host, str(self.users), self.topic, where)

    def connect_host(self) -> str:
        """The address to connect to: the first advertised IPv4 address, else the first."""
        for a in self.addresses:
            if ":" not in a:
                return a
        return self.addresses[0] if self.addresses else self.host


class RoomListModel:
    """The rooms seen on the LAN, keyed by DNS-SD instance, sorted by room then host."""

    def __init__(self) -> None:
        self.rows: dict[str, RoomRow] = {}  # instance → row

    def upsert(self, ad: AdLike) -> tuple[str, RoomRow]:
        """Add or update the room `ad` describes.

        Returns:
            ("added" | "updated" | "same", the row).
        """
        row = RoomRow(
            _instance_of(ad),
            ad.room,
            ad.host,
            ad.port,
            ad.users,
            ad.topic,
            ad.key_required,
            ad.addresses,
        )
        old = self.rows.get(row.instance)
        self.rows[row.instance] = row
        if old is None:
            return "added", row
        return ("same" if old == row else "updated"), row

    def remove(self, ad: AdLike) -> RoomRow | None:
        """Forget the room `ad` describes. Returns its row, or None if it was not listed."""
        return self.rows.pop(_instance_of(ad), None)

    def sorted(self) -> list[RoomRow]:
        return sorted(self.rows.values(), key=lambda r: (casefold(r.room), r.host, r.port))

    def index_of(self, instance: str) -> int:
        """Position of `instance` in sorted(), for inserting a Treeview row in order."""
        return [r.instance for r in self.sorted()].index(instance)


def _instance_of(ad: AdLike) -> str:
    # The browser always fills `instance`; a hand-made ad without one is keyed by its address.
    return ad.instance or f"{ad.room}@{ad.host}:{ad.port}"


# --- the input line ---------------------------------------------------------------------------


class InputHistory:
    """Up/Down recall of lines typed before, like a shell; keeps what was being typed."""

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit  # lines remembered
        self.entries: list[str] = []
        self._pos = 0  # index into entries; len(entries) means "the line being typed"
        self._draft = ""  # what was typed before the first Up

    def push(self, line: str) -> None:
        """Remember a sent line (not a repeat of the previous one) and reset the cursor."""
        if line and (not self.entries or self.entries[-1] != line):
            self.entries.append(line)
            del self.entries[: -self.limit]
        self._pos = len(self.entries)
        self._draft = ""

    def up(self, current: str) -> str:
        """The previous line (stays on the oldest)."""
        if self._pos == len(self.entries):
            self._draft = current
        self._pos = max(0, self._pos - 1)
        return self.entries[self._pos] if self.entries else current

    def down(self, current: str) -> str:
        """The next line; past the newest, the line that was being typed."""
        if self._pos >= len(self.entries):
            return current
        self._pos += 1
        return self._draft if self._pos == len(self.entries) else self.entries[self._pos]


class Completer:
    """Tab completion of nicks (anywhere) and /commands (at the start), cycling on repeat.

    A nick completed at the start of the line gets ": " after it, as IRC clients do.
    """

    def __init__(self) -> None:
        self._cycle: _Cycle | None = None  # the completion in progress, if Tab was just pressed

    def reset(self) -> None:
        """Forget the cycle (call on any key other than Tab)."""
        self._cycle = None

    def complete(self, line: str, cursor: int, nicks: Sequence[str]) -> tuple[str, int]:
        """Complete the word before `cursor`; pressing Tab again offers the next match.

        Args:
            line: the input line.
            cursor: the insertion index.
            nicks: nicks of the current tab.

        Returns:
            (new line, new cursor); unchanged when nothing matches.
        """
        cycle = self._cycle
        if cycle is not None and (cycle.result, cycle.cursor) == (line, cursor):
            cycle.index = (cycle.index + 1) % len(cycle.candidates)
        else:
            start = cursor
            while start > 0 and not line[start - 1].isspace():
                start -= 1
            word = line[start:cursor]
            if word.startswith("/") and start == 0:
                cands = [f"/{c}" for c in COMMANDS if c.startswith(word[1:].lower())]
            elif word:
                key = casefold(word)
                cands = sorted((n for n in nicks if casefold(n).startswith(key)), key=casefold)
            else:
                cands = []
            if not cands:
                return line, cursor
            cycle = _Cycle(line[:start], line[cursor:].lstrip(" "), cands)
            self._cycle = cycle
        cand = cycle.candidates[cycle.index]
        suffix = " " if cand.startswith("/") or cycle.before else ": "
        cycle.result = cycle.before + cand + suffix + cycle.after
        cycle.cursor = len(cycle.before) + len(cand) + len(suffix)
        return cycle.result, cycle.cursor


@dataclass(slots=True)
class _Cycle:
    before: str  # the line before the completed word
    after: str  # the line after it
    candidates: list[str]  # sorted matches
    index: int = 0  # the match shown now
    result: str = ""  # the line as completed, to recognise a repeated Tab
    cursor: int = 0


# --- slash commands ---------------------------------------------------------------------------


class UsageError(ValueError):
    """A typed command is malformed; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Help:
    """/help: show these lines in the current tab (nothing is sent)."""

    lines: tuple[str, ...]


Typed = Say | Action | Join | Part | ChangeNick | SetTopic | SetAway | Quit | Help

# name → (usage, what it does); the order is the /help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "join": ("/join #room [key]", "join a room (creates it if nobody is there)"),
    "part": ("/part [#room] [reason]", "leave this room (or the one named)"),
    "nick": ("/nick newnick", "change your nickname"),
    "msg": ("/msg nick text", "send a private message (opens a tab)"),
    "me": ("/me text", 'describe an action: "/me waves" shows "* you waves"'),
    "topic": ("/topic [new topic]", "show or change the room's topic"),
    "away": ("/away [message]", "mark yourself away; /away alone marks you back"),
    "quit": ("/quit [reason]", "disconnect and close the chat window"),
    "help": ("/help", "list these commands"),
}


def parse_input(text: str, *, target: str, server_id: str) -> Typed:
    """Turn what was typed in tab `target` into a command.

    A line not starting with "/" is said to `target`; "//text" says "/text" literally.

    Args:
        text: the input line (without the newline).
        target: the active tab's name ("#lobby", "bob"; "" on the server tab).
        server_id: the connection the command is for.

    Returns:
        The client command to submit (Say, Action, Join, Part, ChangeNick, SetTopic, SetAway,
        Quit; "/msg bob hi" is Say to "bob"), or Help to show locally.

    Raises:
        UsageError: unknown command, missing or invalid argument; the message is the usage.
    """
    if not text.startswith("/") or text.startswith("//"):
        body = text[1:] if text.startswith("//") else text
        _need_target(target, "talk")
        return Say(server_id, target, body)
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name not in COMMANDS:
        raise UsageError(f"/{name} is not a command here; type /help for the list")
    usage = COMMANDS[name][0]
    if name == "me":
        _need_target(target, "use /me")
        if not rest:
            raise UsageError(f"usage: {usage}")
        return Action(server_id, target, rest)
    if name == "join":
        parts = rest.split()
        if not parts or len(parts) > 2:
            raise UsageError(f"usage: {usage}")
        room = parts[0] if parts[0].startswith("#") else "#" + parts[0]
        if not is_valid_channel(room):
            raise UsageError(f"{room} is not a valid room name: use # and no spaces or commas")
        return Join(server_id, room, parts[1] if len(parts) > 1 else "")
    if name == "part":
        if rest.startswith("#"):
            room, _, reason = rest.partition(" ")
            return Part(server_id, room, reason.strip())
        if not target.startswith("#"):
            raise UsageError(f"you are not in a room here; usage: {usage}")
        return Part(server_id, target, rest)
    if name == "nick":
        if not rest or " " in rest:
            raise UsageError(f"usage: {usage}")
        if not is_valid_nick(rest):
            raise UsageError(
                f"{rest} is not a valid nickname: start with a letter, then letters, digits "
                "or - _ [ ] { } \\ ` ^ |"
            )
        return ChangeNick(server_id, rest)
    if name == "msg":
        nick, _, body = rest.partition(" ")
        if not nick or not body.strip():
            raise UsageError(f"usage: {usage}")
        return Say(server_id, nick, body.strip())
    if name == "topic":
        if not target.startswith("#"):
            raise UsageError("/topic works in a room tab")
        return SetTopic(server_id, target, rest)
    if name == "away":
        return SetAway(server_id, rest)
    if name == "quit":
        return Quit(server_id, rest)
    return Help(tuple(f"{u} — {what}" for u, what in COMMANDS.values()))


def _need_target(target: str, what: str) -> None:
    if not target:
        raise UsageError(f"to {what}, join a room first: /join #room")
