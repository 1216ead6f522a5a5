"""The client's view of one IRC connection, with no I/O: feed it messages, get events out.

Layer: SANS-I/O client core (ircstates-like). Imports the standard library, lanchat.protocol and
lanchat.client.events only: no sockets, no asyncio. The asyncio driver is
lanchat.client.connection; it feeds every received `Message` to `ClientSession.feed` and writes
what `data_to_send()` returns after every call.

Specs followed:
- Registration and CAP LS 302: https://modern.ircdocs.horse/#connection-registration and
  https://ircv3.net/specs/extensions/capability-negotiation
- RPL_ISUPPORT (PREFIX, CHANMODES, NETWORK, CASEMAPPING, CHATHISTORY):
  https://modern.ircdocs.horse/#rplisupport-005
- echo-message, server-time, batch, away-notify, userhost-in-names, multi-prefix:
  https://ircv3.net/irc/
- CHATHISTORY: https://ircv3.net/specs/extensions/chathistory
- CTCP ACTION: https://modern.ircdocs.horse/ctcp.html#action

One session object lives as long as the GUI's connection, across reconnects: `start()` begins a
new TCP connection (clearing what the server knew) but keeps the rooms we want to be in and the
last message seen in each, so a rejoin asks only for the gap (CHATHISTORY AFTER) and messages
seen twice are dropped by msgid.
"""

from __future__ import annotations

import functools
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lanchat.client.events import (
    AwayChanged,
    ClientEvent,
    HistoryLoaded,
    Joined,
    Kicked,
    Member,
    MembersChanged,
    MessageKind,
    MessageReceived,
    NickChanged,
    Parted,
    Registered,
    ServerError,
    ServerNotice,
    TopicChanged,
    UserQuit,
)
from lanchat.protocol import Message, parse
from lanchat.protocol.casemap import casefold_ascii, casefold_rfc1459, is_valid_nick

__all__ = ["HISTORY_LIMIT", "WANTED_CAPS", "ClientSession", "hint_for", "split_text"]

# Capabilities we use when the server offers them (CAP LS 302). chathistory is still a draft:
# servers offer it as "draft/chathistory" or, once ratified, "chathistory".
WANTED_CAPS = (
    "message-tags",
    "server-time",
    "echo-message",
    "batch",
    "multi-prefix",
    "userhost-in-names",
    "extended-join",
    "away-notify",
    "setname",
    "labeled-response",
    "invite-notify",
    "chathistory",
    "draft/chathistory",
    "cap-notify",
)

HISTORY_LIMIT = 100  # messages asked for on the first join of a room, and per page of a gap

_MAX_SEEN_MSGIDS = 50_000  # msgids remembered for de-duplication (oldest forgotten first)
_MAX_GAP_TARGETS = 50  # private conversations caught up after a reconnect
_TARGETS_SPAN_MS = 366 * 24 * 3600 * 1000  # TARGETS end bound: "until now" on any clock
_MAX_NICK_FALLBACKS = 5  # nick_, nick__ ... before giving up and asking the person

# What to do about each refusal, in plain words (numerics: modern.ircdocs.horse "Numerics").
_HINTS = {
    "401": "Nobody with that nickname is here; check the spelling",
    "403": "There is no such room; room names start with #",
    "404": "You cannot talk in this room right now (join it first, or ask an operator for voice)",
    "405": "You are in too many rooms; leave one first",
    "412": "Type some text to send",
    "417": "That message is too long; split it into shorter ones",
    "421": "The server does not know that command; type /help for the ones you can use",
    "431": "Type a nickname",
    "432": "Nicknames use letters, digits and - _ [ ] { } \\ | ^ ` and cannot start with a digit;"
    " pick another",
    "433": "That nickname is taken; pick another",
    "436": "That nickname is taken; pick another",
    "441": "That person is not in this room",
    "442": "You are not in that room; join it first",
    "443": "They are already in this room",
    "451": "Wait until you are connected",
    "461": "That command needs more details; type /help",
    "464": "Wrong server password; ask the host of the room for the right one",
    "465": "You are banned from this server",
    "471": "This room is full; try again later",
    "473": "This room is invite-only; ask someone inside to /invite you",
    "474": "You are banned from this room",
    "475": "This room needs a key (password)",
    "476": "That is not a valid room name; room names start with #",
    "482": "You need to be a room operator (@) to do that",
}


def hint_for(code: str) -> str:
    """Plain words saying what to do about the error numeric `code` ("" when there is none).

    Args:
        code: a three-digit numeric such as "433", or a standard-reply code such as "FAIL".

    Returns:
        The hint, e.g. "That nickname is taken; pick another".
    """
    return _HINTS.get(code, "")


def split_text(text: str, max_bytes: int) -> list[str]:
    """Split `text` into chunks that fit one message each.

    Each line of `text` is sent on its own; a line longer than `max_bytes` (UTF-8) is cut at
    the last space that fits, or at a character boundary when there is none. Empty lines are
    dropped (IRC cannot send an empty PRIVMSG, modern.ircdocs ERR_NOTEXTTOSEND).

    Args:
        text: what the person typed, possibly several lines.
        max_bytes: the most UTF-8 bytes one chunk may take (at least 4).

    Returns:
        The chunks in order.
    """
    chunks: list[str] = []
    for line in text.splitlines():
        rest = line
        while len(rest.encode("utf-8")) > max_bytes:
            cut = len(rest.encode("utf-8")[:max_bytes].decode("utf-8", "ignore"))
            space = rest.rfind(" ", 0, cut + 1)
            if space > 0:
                chunks.append(rest[:space])
                rest = rest[space + 1 :]
            else:
                chunks.append(rest[:cut])
                rest = rest[cut:]
        if rest.strip():
            chunks.append(rest)
    return chunks


def _optional(param: str) -> tuple[str, ...]:
    """A trailing parameter that is left out when empty ("JOIN #a" rather than "JOIN #a :")."""
    return (param,) if param else ()


@functools.lru_cache(maxsize=64)
def _mention_pattern(nick_folded: str) -> re.Pattern[str]:
    # Word boundary by nick characters, not \b: "[bob]" and "bob_" are different nicks.
    nick_chars = r"[\w\[\]\\`^{|}-]"
    return re.compile(f"(?<!{nick_chars}){re.escape(nick_folded)}(?!{nick_chars})")


def _nick_of(source: str | None) -> str:
    return (source or "").partition("!")[0]


def _host_of(source: str | None) -> str:
    return (source or "").partition("@")[2]


def _time_ms(msg: Message, clock: Callable[[], float]) -> int:
    """The server-time tag in Unix ms (ircv3 server-time: ISO 8601 UTC with ms), else now."""
    stamp = msg.tags.get("time")
    if stamp:
        try:
            when = datetime.fromisoformat(stamp)
            if when.tzinfo is None:  # the spec says UTC; a stamp without "Z" is still UTC
                when = when.replace(tzinfo=UTC)
            return int(when.timestamp() * 1000)
        except (ValueError, OverflowError):
            pass  # a malformed tag is no reason to drop the message: use our clock
    return int(clock() * 1000)


def _format_time(ms: int) -> str:
    """Unix ms as the ircv3 timestamp format (YYYY-MM-DDThh:mm:ss.sssZ)."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@dataclass(slots=True)
class _User:
    nick: str
    ip: str = ""
    away: bool = False


@dataclass(slots=True)
class _Room:
    name: str
    members: dict[str, str] = field(default_factory=dict)  # nick key -> prefixes ("@+")
    names_pending: dict[str, str] | None = None  # a NAMES reply being collected
    topic: str = ""
    topic_pending: bool = False  # RPL_TOPIC seen, waiting for RPL_TOPICWHOTIME


@dataclass(slots=True)
class _Batch:
    kind: str  # the batch type, e.g. "chathistory"
    target: str  # for chathistory: the room or nick it is about
    parent: str | None  # the batch this one is nested in
    events: list[ClientEvent] = field(default_factory=list)
    received: int = 0  # messages in the batch, duplicates included (for paging)
    last_msgid: str | None = None  # msgid of the batch's last message, duplicates included


class ClientSession:
    """The sans-I/O state machine of one client connection.

    Call `start()` when the TCP connection opens, `feed(msg)` for every received message, and
    the command methods (`join`, `say`, ...) for what the person does; after each call, write
    `data_to_send()` to the socket. Events (lanchat.client.events) come back from `feed` and
    from the commands that produce local events.
    """

    def __init__(
        self,
        nick: str,
        user: str | None = None,
        realname: str | None = None,
        password: str | None = None,
        *,
        server_id: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a session; nothing is sent until `start()`.

        Args:
            nick: the nickname we ask for (a taken nick falls back to nick_, nick__ ...).
            user: the USER name (defaults to the nick).
            realname: the real name shown by WHOIS (defaults to "lanchat user").
            password: the server password sent with PASS, or None.
            server_id: copied into every event (the GUI's name for this connection).
            clock: seconds since the epoch; used when a message has no server-time tag.
        """
        self.wanted_nick = nick  # the nick the person chose; fallbacks derive from it
        self.nick = nick  # our current nick (the server's word once registered)
        self.user = user or nick
        self.realname = realname or "lanchat user"
        self.password = password
        self.server_id = server_id
        self.clock = clock
        self.wanted_rooms: dict[str, tuple[str, str]] = {}  # key -> (name, key); kept on reconnect
        self.last_seen: dict[str, tuple[str | None, int]] = {}  # target key -> (msgid, time_ms)
        self._seen_msgids: OrderedDict[str, None] = OrderedDict()  # for echo/history dedupe
        self._outbox: list[Message] = []
        self._reset_connection()

    # ------------------------------------------------------------------ connection state

    def _reset_connection(self) -> None:
        """Forget everything the previous connection told us (but not what we want)."""
        self.registered = False  # 001 received
        self.welcomed = False  # end of MOTD received: Registered was emitted
        self.server_name = ""
        self.network = ""
        self.caps_offered: dict[str, str] = {}  # CAP LS: name -> value
        self.caps: set[str] = set()  # enabled capabilities
        self._cap_pending = 0  # CAP REQs not answered yet
        self._nick_attempts = 0
        self.prefix_modes = "ov"  # ISUPPORT PREFIX=(ov)@+, in rank order
        self.prefix_chars = "@+"
        self.chanmodes = ("beI", "k", "l", "imnst")  # ISUPPORT CHANMODES types A, B, C, D
        self.chantypes = "#"
        self.fold: Callable[[str], str] = casefold_rfc1459
        self.rooms: dict[str, _Room] = {}  # key -> room we are in
        self.users: dict[str, _User] = {}  # nick key -> someone sharing a room with us
        self.last_error = ""  # the ERROR line's reason, for Disconnected
        self._batches: dict[str, _Batch] = {}
        self._filling_gaps: set[str] = set()  # room keys with a CHATHISTORY AFTER in flight
        self._history_pending: list[str] = []  # targets of unanswered CHATHISTORY, oldest first
        self._gap_start_ms = 0  # after a reconnect: the newest message seen before the drop
        self._who_pending: set[str] = set()  # room keys whose WHO (sent on join) is running

    def start(self) -> None:
        """Begin registration on a fresh connection: CAP LS 302, PASS, NICK, USER.

        Rooms in `wanted_rooms` are joined again after registration, and their gaps are filled
        from history.
        """
        self._reset_connection()
        self._outbox = []  # lines for the previous connection are stale
        self.nick = self.wanted_nick
        self._send("CAP", "LS", "302")
        if self.password:
            self._send("PASS", self.password)
        self._send("NICK", self.nick)
        self._send("USER", self.user, "0", "*", self.realname)

    def data_to_send(self) -> list[Message]:
        """Messages queued for the server since the last call, in order (and forget them)."""
        out, self._outbox = self._outbox, []
        return out

    def _send(self, command: str, *params: str) -> None:
        """Queue a message, checked now so that a bad parameter fails the command that made it
        (raises ProtocolError: a CR, LF or NUL in a parameter, or a misplaced space)."""
        msg = Message(command, params)
        msg.to_line()
        self._outbox.append(msg)

    @property
    def history_enabled(self) -> bool:
        """True if the server lets us ask for history (CHATHISTORY)."""
        return "chathistory" in self.caps or "draft/chathistory" in self.caps

    def is_room(self, name: str) -> bool:
        """True if `name` is a room (starts with a CHANTYPES character) rather than a nick."""
        return bool(name) and name[0] in self.chantypes

    def is_me(self, nick: str) -> bool:
        """True if `nick` is our current nick (casefolded)."""
        return self.fold(nick) == self.fold(self.nick)

    # ------------------------------------------------------------------ commands

    def join(self, room: str, key: str = "") -> None:
        """Join `room` (with `key`); remembered so a reconnect joins it again."""
        self.wanted_rooms[self.fold(room)] = (room, key)
        if self.welcomed:
            self._send("JOIN", room, *_optional(key))

    def part(self, room: str, reason: str = "") -> None:
        """Leave `room`; it is no longer rejoined after a reconnect."""
        self.wanted_rooms.pop(self.fold(room), None)
        self._send("PART", room, *_optional(reason))

    def say(self, target: str, text: str, *, action: bool = False) -> list[ClientEvent]:
        """Send `text` to `target` as PRIVMSG (or CTCP ACTION), split to fit the line limit.

        Returns:
            Our own messages as events when the server will not echo them (no echo-message);
            with echo-message the server's echo is the event, carrying its msgid and time.
        """
        # The server prefixes ":nick!user@host "; hosts are IP literals here, at most 39 chars
        # for IPv6, and we leave room for a longer hostname on other servers (64).
        overhead = len(f":{self.nick}!{self.user}@{'x' * 64} PRIVMSG {target} :\r\n".encode())
        if action:
            overhead += len("\x01ACTION \x01")
        events: list[ClientEvent] = []
        for chunk in split_text(text, max(16, 512 - overhead)):
            body = f"\x01ACTION {chunk}\x01" if action else chunk
            self._send("PRIVMSG", target, body)
            if "echo-message" not in self.caps:
                events.append(
                    self._message_event(
                        target,
                        self.nick,
                        "",
                        chunk,
                        int(self.clock() * 1000),
                        None,
                        "action" if action else "privmsg",
                        own=True,
                        history=False,
                    )
                )
        return events

    def change_nick(self, nick: str) -> None:
        """Ask for a new nick; the server's NICK echo (or a 433) is the answer."""
        self.wanted_nick = nick
        self._send("NICK", nick)

    def set_topic(self, room: str, topic: str) -> None:
        """Set (or with "" clear) the topic of `room`."""
        self._send("TOPIC", room, topic)

    def set_away(self, message: str) -> None:
        """Mark us away with `message`, or back with ""."""
        self._send("AWAY", *_optional(message))

    def request_history(
        self, target: str, before_msgid: str | None = None, limit: int = HISTORY_LIMIT
    ) -> None:
        """Ask for `limit` messages of `target` before `before_msgid` (None: the latest).

        Does nothing when the server does not offer CHATHISTORY.
        """
        if not self.history_enabled:
            return
        if before_msgid:
            self._ask_history("BEFORE", target, f"msgid={before_msgid}", limit)
        else:
            self._ask_history("LATEST", target, "*", limit)

    def history_request_after_join(self, room: str) -> None:
        """Ask for what we missed in `room`: after the last message we saw there (a rejoin
        after a reconnect), or the latest HISTORY_LIMIT messages on the first join."""
        if not self.history_enabled:
            return
        if self.fold(room) in self.last_seen:
            self._fill_gap(room, 0)
        else:
            self._ask_history("LATEST", room, "*", HISTORY_LIMIT)

    def _fill_gap(self, target: str, since_ms: int) -> None:
        """Ask for what `target` got after the last message we saw there (or, for a
        conversation we never saw, after `since_ms`)."""
        msgid, time_ms = self.last_seen.get(self.fold(target), (None, since_ms))
        bound = f"msgid={msgid}" if msgid else f"timestamp={_format_time(time_ms)}"
        self._filling_gaps.add(self.fold(target))
        self._ask_history("AFTER", target, bound, HISTORY_LIMIT)

    def _ask_history(self, subcommand: str, target: str, bound: str, limit: int) -> None:
        self._history_pending.append(self.fold(target))
        self._send("CHATHISTORY", subcommand, target, bound, str(limit))

    def send_raw(self, line: str) -> None:
        """Queue one raw line, parsed so that it is well-formed.

        Raises:
            ProtocolError: the line is not a valid IRC message.
        """
        self._outbox.append(parse(line))

    def quit(self, reason: str = "") -> None:
        """Say goodbye; the server then closes the connection."""
        self._send("QUIT", *_optional(reason))

    # ------------------------------------------------------------------ receiving

    def feed(self, msg: Message) -> list[ClientEvent]:
        """Update the state with one message from the server; return what happened.

        Replies the protocol requires (PONG, CAP END, a fallback NICK, JOINs after
        registration, history requests) are queued for `data_to_send()`.
        """
        batch_id = msg.tags.get("batch")
        if batch_id and msg.verb in ("PRIVMSG", "NOTICE"):
            history = self._history_batch(batch_id)
            if history is not None:
                history.received += 1
                history.last_msgid = msg.tags.get("msgid", history.last_msgid)
                history.events.extend(self._on_message(msg, history=True))
                return []
        handler = _HANDLERS.get(msg.verb)
        if handler is not None:
            return handler(self, msg)
        if msg.verb.isdigit():
            return self._on_numeric(msg)
        return []

    def _history_batch(self, batch_id: str) -> _Batch | None:
        """The chathistory batch `batch_id` belongs to (directly or nested), if any."""
        seen = 0
        current: str | None = batch_id
        while current is not None and seen < 10:  # bounded: a server could nest in a cycle
            batch = self._batches.get(current)
            if batch is None:
                return None
            if batch.kind in ("chathistory", "draft/chathistory"):
                return batch
            current = batch.parent
            seen += 1
        return None

    def _on_ping(self, msg: Message) -> list[ClientEvent]:
        self._send("PONG", *(msg.params[-1:] or ("",)))
        return []

    def _on_error(self, msg: Message) -> list[ClientEvent]:
        self.last_error = msg.params[-1] if msg.params else "the server closed the connection"
        return []

    def _on_cap(self, msg: Message) -> list[ClientEvent]:
        # CAP <nick> <subcommand> [*] :<caps>   (ircv3 capability-negotiation)
        if len(msg.params) < 3:
            return []
        sub = msg.params[1].upper()
        more = len(msg.params) > 3 and msg.params[2] == "*"
        caps = msg.params[-1].split()
        if sub in ("LS", "NEW"):
            for item in caps:
                name, _, value = item.partition("=")
                self.caps_offered[name] = value
            if sub == "LS" and more:
                return []
            wanted = [c for c in WANTED_CAPS if c in self.caps_offered and c not in self.caps]
            if wanted:
                self._cap_pending += 1
                self._send("CAP", "REQ", " ".join(wanted))
            elif sub == "LS":
                self._end_cap()
        elif sub == "ACK":
            for item in caps:
                if item.startswith("-"):
                    self.caps.discard(item[1:])
                else:
                    self.caps.add(item)
            if not more:
                self._cap_answered()
        elif sub == "NAK":
            self._cap_answered()
        elif sub == "DEL":
            for name in caps:
                self.caps.discard(name)
                self.caps_offered.pop(name, None)
        return []

    def _cap_answered(self) -> None:
        self._cap_pending = max(0, self._cap_pending - 1)
        if self._cap_pending == 0:
            self._end_cap()

    def _end_cap(self) -> None:
        if not self.registered:
            self._send("CAP", "END")

    def _on_numeric(self, msg: Message) -> list[ClientEvent]:
        code = msg.command
        handler = _NUMERICS.get(code)
        if handler is not None:
            return handler(self, msg)
        text = msg.params[-1] if msg.params else ""
        if code[0] in "45":
            return [ServerError(self.server_id, code, self._error_text(msg), hint_for(code))]
        if code in _QUIET_NUMERICS:
            return []
        return [ServerNotice(self.server_id, " ".join(msg.params[1:]) if msg.params else text)]

    def _on_unknown_command(self, msg: Message) -> list[ClientEvent]:
        # 421 <client> <command> :Unknown command
        if len(msg.params) >= 2 and msg.params[1].upper() == "CHATHISTORY":
            return self._history_failed()
        return [ServerError(self.server_id, msg.command, self._error_text(msg), hint_for("421"))]

    def _on_fail(self, msg: Message) -> list[ClientEvent]:
        # FAIL <command> <code> [<context>...] :<description>  (ircv3 standard-replies)
        if len(msg.params) < 3:
            return []
        if msg.params[0].upper() == "CHATHISTORY":
            return self._history_failed()
        code = f"{msg.params[0]} {msg.params[1]}"
        return [ServerError(self.server_id, code, msg.params[-1], hint_for(code))]

    def _history_failed(self) -> list[ClientEvent]:
        """The oldest history request was refused: it ends with no messages (history is a
        nicety; the room works without it, so this is not shown as an error)."""
        if not self._history_pending:
            return []
        key = self._history_pending.pop(0)
        self._filling_gaps.discard(key)
        room = self.rooms.get(key)
        return [HistoryLoaded(self.server_id, room.name if room else key, 0)]

    def _error_text(self, msg: Message) -> str:
        # "<client> <subject> :<text>": show the subject (the nick or room refused) with the text.
        params = msg.params[1:]
        if len(params) >= 2:
            return f"{' '.join(params[:-1])}: {params[-1]}"
        return params[0] if params else msg.command

    def _on_welcome(self, msg: Message) -> list[ClientEvent]:
        self.registered = True
        self.server_name = msg.source or ""
        if msg.params:
            self.nick = msg.params[0]
        return []

    def _on_isupport(self, msg: Message) -> list[ClientEvent]:
        for token in msg.params[1:-1]:
            name, _, value = token.partition("=")
            if name == "PREFIX" and value.startswith("("):
                modes, _, chars = value[1:].partition(")")
                if len(modes) == len(chars):
                    self.prefix_modes, self.prefix_chars = modes, chars
            elif name == "CHANMODES":
                parts = value.split(",")
                if len(parts) >= 4:
                    self.chanmodes = (parts[0], parts[1], parts[2], parts[3])
            elif name == "CHANTYPES":
                self.chantypes = value
            elif name == "NETWORK":
                self.network = value
            elif name == "CASEMAPPING":
                self.fold = casefold_ascii if value == "ascii" else casefold_rfc1459
        return []

    def _on_end_of_motd(self, msg: Message) -> list[ClientEvent]:
        if self.welcomed:
            return []
        self.welcomed = True
        for name, key in self.wanted_rooms.values():
            self._send("JOIN", name, *_optional(key))
        if self.history_enabled and self.last_seen:
            # A reconnect: rooms fill their gaps when rejoined; private conversations are found
            # with TARGETS, from the newest message we saw. The end bound is far ahead because
            # our clock need not agree with the server's.
            self._gap_start_ms = max(time_ms for _, time_ms in self.last_seen.values())
            start = _format_time(self._gap_start_ms)
            end = _format_time(self._gap_start_ms + _TARGETS_SPAN_MS)
            self._send(
                "CHATHISTORY",
                "TARGETS",
                f"timestamp={start}",
                f"timestamp={end}",
                str(_MAX_GAP_TARGETS),
            )
        return [Registered(self.server_id, self.nick, self.network, self.server_name)]

    def _on_chathistory(self, msg: Message) -> list[ClientEvent]:
        # CHATHISTORY TARGETS <target> <latest timestamp>, one per conversation with news.
        if len(msg.params) >= 2 and msg.params[0].upper() == "TARGETS":
            target = msg.params[1]
            # Rooms fill their own gaps when rejoined; anything else must be a nick.
            if not self.is_room(target) and is_valid_nick(target, nicklen=len(target)):
                self._fill_gap(target, self._gap_start_ms)
        return []

    def _on_nick_in_use(self, msg: Message) -> list[ClientEvent]:
        # 433 before registration: try nick_, nick__ ... (the person can change it later).
        if not self.registered and self._nick_attempts < _MAX_NICK_FALLBACKS:
            self._nick_attempts += 1
            self.nick = self.wanted_nick + "_" * self._nick_attempts
            self._send("NICK", self.nick)
            return []
        return [ServerError(self.server_id, msg.command, self._error_text(msg), hint_for("433"))]

    # ------------------------------------------------------------------ rooms and members

    def _user(self, nick: str, ip: str = "") -> _User:
        user = self.users.setdefault(self.fold(nick), _User(nick))
        user.nick = nick
        if ip:
            user.ip = ip
        return user

    def _members_event(self, room: _Room) -> MembersChanged:
        def rank(item: tuple[str, str]) -> tuple[int, str]:
            key, prefixes = item
            first = self.prefix_chars.find(prefixes[0]) if prefixes else len(self.prefix_chars)
            return first, key

        members = []
        for key, prefixes in sorted(room.members.items(), key=rank):
            user = self.users.get(key) or _User(key)
            members.append(Member(user.nick, prefixes, user.ip, user.away))
        return MembersChanged(self.server_id, room.name, tuple(members))

    def _forget_if_alone(self, key: str) -> None:
        """Drop a user we no longer share any room with (they might come back as someone else)."""
        if not self.is_me(key) and not any(key in r.members for r in self.rooms.values()):
            self.users.pop(key, None)

    def _on_join(self, msg: Message) -> list[ClientEvent]:
        if not msg.params:
            return []
        name = msg.params[0]
        nick, ip = _nick_of(msg.source), _host_of(msg.source)
        key, nick_key = self.fold(name), self.fold(nick)
        self._user(nick, ip)
        own = self.is_me(nick)
        if own:
            self.rooms[key] = _Room(name)
            self.wanted_rooms.setdefault(key, (name, ""))
        room = self.rooms.get(key)
        if room is None:
            return []
        room.members[nick_key] = ""
        events: list[ClientEvent] = [Joined(self.server_id, room.name, nick, ip, own)]
        if own:
            self.history_request_after_join(room.name)
            if "away-notify" in self.caps:
                # away-notify only tells changes; WHO tells who is away already (ircv3
                # away-notify: "clients SHOULD send WHO on join").
                self._who_pending.add(key)
                self._send("WHO", room.name)
        else:
            events.append(self._members_event(room))
        return events

    def _on_part(self, msg: Message) -> list[ClientEvent]:
        if not msg.params:
            return []
        nick = _nick_of(msg.source)
        reason = msg.params[1] if len(msg.params) > 1 else ""
        return self._leave(msg.params[0], nick, Parted, reason, "")

    def _on_kick(self, msg: Message) -> list[ClientEvent]:
        if len(msg.params) < 2:
            return []
        reason = msg.params[2] if len(msg.params) > 2 else ""
        return self._leave(msg.params[0], msg.params[1], Kicked, reason, _nick_of(msg.source))

    def _leave(
        self, name: str, nick: str, kind: type[Parted] | type[Kicked], reason: str, by: str
    ) -> list[ClientEvent]:
        key = self.fold(name)
        room = self.rooms.get(key)
        if room is None:
            return []
        own = self.is_me(nick)
        event: ClientEvent = (
            Kicked(self.server_id, room.name, nick, by, reason, own)
            if kind is Kicked
            else Parted(self.server_id, room.name, nick, reason, own)
        )
        if own:
            # Parted or kicked: not rejoined after a reconnect (a kick is the room's decision).
            del self.rooms[key]
            self.wanted_rooms.pop(key, None)
            for member in list(room.members):
                self._forget_if_alone(member)
            return [event]
        room.members.pop(self.fold(nick), None)
        self._forget_if_alone(self.fold(nick))
        return [event, self._members_event(room)]

    def _on_quit(self, msg: Message) -> list[ClientEvent]:
        nick = _nick_of(msg.source)
        key = self.fold(nick)
        reason = msg.params[0] if msg.params else ""
        shared = [r for r in self.rooms.values() if key in r.members]
        for room in shared:
            del room.members[key]
        self.users.pop(key, None)
        events: list[ClientEvent] = [
            UserQuit(self.server_id, nick, reason, tuple(r.name for r in shared))
        ]
        events.extend(self._members_event(r) for r in shared)
        return events

    def _on_nick(self, msg: Message) -> list[ClientEvent]:
        if not msg.params:
            return []
        old, new = _nick_of(msg.source), msg.params[0]
        old_key, new_key = self.fold(old), self.fold(new)
        own = self.is_me(old)
        if own:
            self.nick = new
        user = self.users.pop(old_key, None) or _User(new, _host_of(msg.source))
        user.nick = new
        self.users[new_key] = user
        events: list[ClientEvent] = [NickChanged(self.server_id, old, new, own)]
        for room in self.rooms.values():
            if old_key in room.members:
                room.members[new_key] = room.members.pop(old_key)
                events.append(self._members_event(room))
        return events

    def _on_names_reply(self, msg: Message) -> list[ClientEvent]:
        # 353 <client> <symbol> <channel> :[prefix]<nick>{ [prefix]<nick>}
        if len(msg.params) < 4:
            return []
        room = self.rooms.get(self.fold(msg.params[2]))
        if room is None:
            return []
        if room.names_pending is None:
            room.names_pending = {}
        for item in msg.params[3].split():
            stripped = item.lstrip(self.prefix_chars)
            prefixes = item[: len(item) - len(stripped)]
            nick, _, host = stripped.partition("!")
            self._user(nick, host.partition("@")[2])
            room.names_pending[self.fold(nick)] = prefixes
        return []

    def _on_end_of_names(self, msg: Message) -> list[ClientEvent]:
        if len(msg.params) < 2:
            return []
        room = self.rooms.get(self.fold(msg.params[1]))
        if room is None:
            return []
        if room.names_pending is not None:
            room.members, room.names_pending = room.names_pending, None
        events: list[ClientEvent] = []
        if room.topic_pending:
            room.topic_pending = False
            events.append(TopicChanged(self.server_id, room.name, room.topic, "", 0))
        events.append(self._members_event(room))
        return events

    def _on_who_reply(self, msg: Message) -> list[ClientEvent]:
        # 352 <client> <channel> <username> <host> <server> <nick> <flags> :<hopcount> <realname>
        key = self.fold(msg.params[1]) if len(msg.params) >= 7 else ""
        if key not in self._who_pending:
            return [ServerNotice(self.server_id, " ".join(msg.params[1:]))]  # someone's /who
        room = self.rooms.get(key)
        nick_key = self.fold(msg.params[5])
        if room is not None and nick_key in room.members:
            user = self._user(msg.params[5], msg.params[3])
            user.away = msg.params[6].startswith("G")  # G: gone (away), H: here
        return []

    def _on_end_of_who(self, msg: Message) -> list[ClientEvent]:
        # 315 <client> <mask> :End of WHO list
        key = self.fold(msg.params[1]) if len(msg.params) >= 2 else ""
        if key not in self._who_pending:
            return []
        self._who_pending.discard(key)
        room = self.rooms.get(key)
        return [self._members_event(room)] if room is not None else []

    def _on_topic_reply(self, msg: Message) -> list[ClientEvent]:
        # 332 <client> <channel> :<topic>; 333 (setter, time) usually follows.
        if len(msg.params) >= 3 and (room := self.rooms.get(self.fold(msg.params[1]))):
            room.topic, room.topic_pending = msg.params[2], True
        return []

    def _on_topic_who_time(self, msg: Message) -> list[ClientEvent]:
        # 333 <client> <channel> <nick> <setat>
        if len(msg.params) < 4 or not (room := self.rooms.get(self.fold(msg.params[1]))):
            return []
        room.topic_pending = False
        setter = _nick_of(msg.params[2])
        when = (
            int(msg.params[3]) * 1000 if msg.params[3].isascii() and msg.params[3].isdigit() else 0
        )
        return [TopicChanged(self.server_id, room.name, room.topic, setter, when)]

    def _on_topic(self, msg: Message) -> list[ClientEvent]:
        if len(msg.params) < 2 or not (room := self.rooms.get(self.fold(msg.params[0]))):
            return []
        room.topic, room.topic_pending = msg.params[1], False
        return [
            TopicChanged(
                self.server_id,
                room.name,
                room.topic,
                _nick_of(msg.source),
                _time_ms(msg, self.clock),
            )
        ]

    def _on_mode(self, msg: Message) -> list[ClientEvent]:
        # MODE <channel> <modestring> [<mode arguments>...]; only prefix modes change members.
        if len(msg.params) < 2 or not (room := self.rooms.get(self.fold(msg.params[0]))):
            return []
        type_a, type_b, type_c, _ = self.chanmodes
        args = list(msg.params[2:])
        adding, changed = True, False
        for ch in msg.params[1]:
            if ch in "+-":
                adding = ch == "+"
                continue
            takes_arg = (
                ch in self.prefix_modes or ch in type_a or ch in type_b or (ch in type_c and adding)
            )
            arg = args.pop(0) if takes_arg and args else ""
            if ch not in self.prefix_modes or not arg:
                continue
            key = self.fold(arg)
            if key not in room.members:
                continue
            prefix = self.prefix_chars[self.prefix_modes.index(ch)]
            have = set(room.members[key]) - {prefix}
            if adding:
                have.add(prefix)
            room.members[key] = "".join(c for c in self.prefix_chars if c in have)
            changed = True
        return [self._members_event(room)] if changed else []

    def _on_away(self, msg: Message) -> list[ClientEvent]:
        # away-notify: ":nick!u@h AWAY :message" (away) or ":nick!u@h AWAY" (back).
        nick = _nick_of(msg.source)
        message = msg.params[0] if msg.params else ""
        return self._away_changed(nick, bool(message), message)

    def _away_changed(self, nick: str, away: bool, message: str) -> list[ClientEvent]:
        key = self.fold(nick)
        user = self.users.get(key)
        if user is not None:
            user.away = away
        events: list[ClientEvent] = [
            AwayChanged(self.server_id, nick, away, message, self.is_me(nick))
        ]
        events.extend(self._members_event(r) for r in self.rooms.values() if key in r.members)
        return events

    def _on_unaway(self, msg: Message) -> list[ClientEvent]:
        return self._away_changed(self.nick, False, "")

    def _on_nowaway(self, msg: Message) -> list[ClientEvent]:
        return self._away_changed(self.nick, True, msg.params[-1] if msg.params else "")

    def _on_invite(self, msg: Message) -> list[ClientEvent]:
        if len(msg.params) < 2:
            return []
        who, target, room = _nick_of(msg.source), msg.params[0], msg.params[1]
        whom = "you" if self.is_me(target) else target
        return [ServerNotice(self.server_id, f"{who} invited {whom} to {room}")]

    # ------------------------------------------------------------------ messages

    def _on_privmsg(self, msg: Message) -> list[ClientEvent]:
        return self._on_message(msg, history=False)

    def _on_message(self, msg: Message, *, history: bool) -> list[ClientEvent]:
        if len(msg.params) < 2:
            return []
        nick = _nick_of(msg.source)
        raw_target, text = msg.params[0], msg.params[1]
        # A server notice: no user source, or addressed to "*" before registration.
        if "!" not in (msg.source or "") and msg.verb == "NOTICE":
            return [ServerNotice(self.server_id, text)]
        kind: MessageKind = "privmsg" if msg.verb == "PRIVMSG" else "notice"
        if text.startswith("\x01"):
            ctcp, _, arg = text.strip("\x01").partition(" ")
            if ctcp.upper() != "ACTION" or msg.verb != "PRIVMSG":
                return []  # other CTCPs (VERSION, PING...) are not shown
            kind, text = "action", arg
        # STATUSMSG: "@#room" addresses the room's operators; it still belongs to the room.
        target = raw_target.lstrip(self.prefix_chars)
        own = self.is_me(nick)
        if not self.is_room(target):
            target = raw_target if own else nick  # a conversation is named after the other side
        msgid = msg.tags.get("msgid")
        if msgid is not None:
            if msgid in self._seen_msgids:
                return []
            self._seen_msgids[msgid] = None
            if len(self._seen_msgids) > _MAX_SEEN_MSGIDS:
                self._seen_msgids.popitem(last=False)
        ip = _host_of(msg.source)
        return [
            self._message_event(
                target, nick, ip, text, _time_ms(msg, self.clock), msgid, kind, own, history
            )
        ]

    def _message_event(
        self,
        target: str,
        nick: str,
        ip: str,
        text: str,
        time_ms: int,
        msgid: str | None,
        kind: MessageKind,
        own: bool,
        history: bool,
    ) -> MessageReceived:
        private = not self.is_room(target)
        key = self.fold(target)
        # Older pages (RequestHistory BEFORE) must not move the reconnect point back.
        if time_ms >= self.last_seen.get(key, (None, 0))[1]:
            self.last_seen[key] = (msgid, time_ms)
        return MessageReceived(
            self.server_id,
            target=target,
            nick=nick,
            ip=ip,
            text=text,
            time_ms=time_ms,
            msgid=msgid,
            kind=kind,
            own=own,
            private=private,
            highlight=not own and (private or self._mentions_me(text)),
            history=history,
        )

    def _mentions_me(self, text: str) -> bool:
        return _mention_pattern(self.fold(self.nick)).search(self.fold(text)) is not None

    def _on_batch(self, msg: Message) -> list[ClientEvent]:
        # BATCH +<id> <type> [params...] ... BATCH -<id>   (ircv3 batch)
        if not msg.params:
            return []
        ref = msg.params[0]
        if ref.startswith("+") and len(msg.params) >= 2:
            target = msg.params[2] if len(msg.params) > 2 else ""
            self._batches[ref[1:]] = _Batch(msg.params[1], target, msg.tags.get("batch"))
            return []
        batch = self._batches.pop(ref.lstrip("-"), None)
        if batch is None or batch.kind not in ("chathistory", "draft/chathistory"):
            return []
        key = self.fold(batch.target)
        if key in self._history_pending:
            self._history_pending.remove(key)
        full_page = batch.received >= HISTORY_LIMIT and batch.last_msgid is not None
        still_there = key in self.rooms or not self.is_room(batch.target)
        if key in self._filling_gaps and full_page and still_there:
            # A full page of a gap after a reconnect: there may be more; ask for the next page.
            self._ask_history("AFTER", batch.target, f"msgid={batch.last_msgid}", HISTORY_LIMIT)
        else:
            self._filling_gaps.discard(key)
        events: list[ClientEvent] = list(batch.events)
        events.append(HistoryLoaded(self.server_id, batch.target, len(batch.events)))
        return events


_Handler = Callable[[ClientSession, Message], list[ClientEvent]]

# Verb -> handler (Ergo style: one table, one function per verb).
_HANDLERS: dict[str, _Handler] = {
    "PING": ClientSession._on_ping,
    "ERROR": ClientSession._on_error,
    "CAP": ClientSession._on_cap,
    "JOIN": ClientSession._on_join,
    "PART": ClientSession._on_part,
    "KICK": ClientSession._on_kick,
    "QUIT": ClientSession._on_quit,
    "NICK": ClientSession._on_nick,
    "TOPIC": ClientSession._on_topic,
    "MODE": ClientSession._on_mode,
    "AWAY": ClientSession._on_away,
    "INVITE": ClientSession._on_invite,
    "PRIVMSG": ClientSession._on_privmsg,
    "NOTICE": ClientSession._on_privmsg,
    "BATCH": ClientSession._on_batch,
    "FAIL": ClientSession._on_fail,
    "CHATHISTORY": ClientSession._on_chathistory,
}

# Numerics with their own handler (names from modern.ircdocs.horse "Numerics").
_NUMERICS: dict[str, _Handler] = {
    "001": ClientSession._on_welcome,  # RPL_WELCOME
    "005": ClientSession._on_isupport,  # RPL_ISUPPORT
    "376": ClientSession._on_end_of_motd,  # RPL_ENDOFMOTD
    "422": ClientSession._on_end_of_motd,  # ERR_NOMOTD (registration is still complete)
    "433": ClientSession._on_nick_in_use,  # ERR_NICKNAMEINUSE
    "421": ClientSession._on_unknown_command,  # ERR_UNKNOWNCOMMAND
    "353": ClientSession._on_names_reply,  # RPL_NAMREPLY
    "366": ClientSession._on_end_of_names,  # RPL_ENDOFNAMES
    "332": ClientSession._on_topic_reply,  # RPL_TOPIC
    "333": ClientSession._on_topic_who_time,  # RPL_TOPICWHOTIME
    "352": ClientSession._on_who_reply,  # RPL_WHOREPLY
    "315": ClientSession._on_end_of_who,  # RPL_ENDOFWHO
    "305": ClientSession._on_unaway,  # RPL_UNAWAY
    "306": ClientSession._on_nowaway,  # RPL_NOWAWAY
}

# Replies that carry nothing a person needs to read (state we track, or list delimiters).
_QUIET_NUMERICS = frozenset(
    {"002", "003", "004", "331", "375", "329", "324", "318", "369", "265", "266"}
)
