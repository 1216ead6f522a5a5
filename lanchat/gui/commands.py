"""The input line: Up/Down history, Tab completion, and what a typed line means.

Layer: GUI view-model (no Tk); imports the standard library, lanchat.protocol (name rules) and
lanchat.client.events (the commands a line becomes) only.

Slash commands follow the usual IRC client conventions; names and rules:
https://modern.ircdocs.horse/#channels and https://modern.ircdocs.horse/#clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    "Completer",
    "Help",
    "InputHistory",
    "Typed",
    "UsageError",
    "parse_input",
]

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
