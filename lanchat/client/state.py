"""What the server told this connection: our nick, ISUPPORT, our rooms and who is in them.

Layer: SANS-I/O client core (ircstates' `Server`, typed). Imports the standard library,
lanchat.protocol and lanchat.client (events, wire) only: no sockets, no asyncio. The session
(lanchat.client.session) feeds it the lines about rooms and people and does what the protocol
asks in return (rejoins, WHO, history requests); everything here is forgotten by `reset()`
when a new connection starts.

Specs followed:
- JOIN, PART, KICK, QUIT, NICK, TOPIC, MODE, INVITE:
  https://modern.ircdocs.horse/#channel-operations and https://modern.ircdocs.horse/#nick-message
- RPL_NAMREPLY, RPL_TOPIC, RPL_TOPICWHOTIME, RPL_WHOREPLY, RPL_UNAWAY, RPL_NOWAWAY:
  https://modern.ircdocs.horse/#numerics
- RPL_ISUPPORT (PREFIX, CHANMODES, CHANTYPES, NETWORK, CASEMAPPING):
  https://modern.ircdocs.horse/#rplisupport-005
- multi-prefix, userhost-in-names, away-notify: https://ircv3.net/irc/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lanchat.client.events import (
    AwayChanged,
    ClientEvent,
    Joined,
    Kicked,
    Member,
    MembersChanged,
    NickChanged,
    Parted,
    ServerNotice,
    TopicChanged,
    UserQuit,
)
from lanchat.client.wire import sender, time_ms
from lanchat.protocol import Hostmask, Message
from lanchat.protocol.casemap import casefold_ascii, casefold_rfc1459

__all__ = ["NetworkState", "Room", "User"]


@dataclass(slots=True)
class User:
    """Someone sharing a room with us."""

    nick: str
    ip: str = ""  # the host part of their source: their IP on lanchat servers
    away: bool = False


@dataclass(slots=True)
class Room:
    """A room we are in."""

    name: str
    members: dict[str, str] = field(default_factory=dict)  # nick key -> prefixes ("@+")
    names_pending: dict[str, str] | None = None  # a NAMES reply being collected
    topic: str = ""
    topic_pending: bool = False  # RPL_TOPIC seen, waiting for RPL_TOPICWHOTIME


class NetworkState:
    """The rooms, people and server settings one connection has been told about.

    The `on_*` methods take one received message each and return the events it caused.
    """

    def __init__(self, server_id: str, clock: Callable[[], float]) -> None:
        """Create an empty state; `reset()` is what a new connection calls.

        Args:
            server_id: copied into every event (the GUI's name for this connection).
            clock: seconds since the epoch; used when a TOPIC has no server-time tag.
        """
        self.server_id = server_id
        self.clock = clock
        self.reset("")

    def reset(self, nick: str) -> None:
        """Forget everything the previous connection told us; `nick` is the one we ask for.

        Args:
            nick: our nick until the server says otherwise.
        """
        self.nick = nick  # our current nick (the server's word once registered)
        self.registered = False  # 001 received
        self.server_name = ""
        self.network = ""
        self.prefix_modes = "ov"  # ISUPPORT PREFIX=(ov)@+, in rank order
        self.prefix_chars = "@+"
        self.chanmodes = ("beI", "k", "l", "imnst")  # ISUPPORT CHANMODES types A, B, C, D
        self.filehost = ""  # ISUPPORT draft/FILEHOST: the upload URL, "" if files are off
        self.chantypes = "#"
        self.fold: Callable[[str], str] = casefold_rfc1459
        self.rooms: dict[str, Room] = {}  # key -> room we are in
        self.users: dict[str, User] = {}  # nick key -> someone sharing a room with us
        self.who_pending: set[str] = set()  # room keys whose WHO (sent on join) is running

    def is_room(self, name: str) -> bool:
        """True if `name` is a room (starts with a CHANTYPES character) rather than a nick."""
        return bool(name) and name[0] in self.chantypes

    def is_me(self, nick: str) -> bool:
        """True if `nick` is our current nick (casefolded)."""
        return self.fold(nick) == self.fold(self.nick)

    # ------------------------------------------------------------------ registration

    def on_welcome(self, msg: Message) -> list[ClientEvent]:
        """001 RPL_WELCOME: registered; its first parameter is our nick."""
        self.registered = True
        self.server_name = msg.source or ""
        if msg.params:
            self.nick = msg.params[0]
        return []

    def on_isupport(self, msg: Message) -> list[ClientEvent]:
        """005 RPL_ISUPPORT: the tokens that change how we read names, prefixes and modes."""
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
            elif name in ("draft/FILEHOST", "soju.im/FILEHOST"):
                self.filehost = value
        return []

    # ------------------------------------------------------------------ rooms and members

    def _room_named(self, msg: Message, index: int, min_params: int) -> Room | None:
        """The room we are in named by `msg.params[index]` (None if `msg` is too short)."""
        if len(msg.params) < min_params:
            return None
        return self.rooms.get(self.fold(msg.params[index]))

    def _user(self, nick: str, ip: str = "") -> User:
        user = self.users.setdefault(self.fold(nick), User(nick))
        user.nick = nick
        if ip:
            user.ip = ip
        return user

    def members_event(self, room: Room) -> MembersChanged:
        """The member list of `room`, highest prefix first, then by nick."""

        def rank(item: tuple[str, str]) -> tuple[int, str]:
            key, prefixes = item
            first = self.prefix_chars.find(prefixes[0]) if prefixes else len(self.prefix_chars)
            return first, key

        members = []
        for key, prefixes in sorted(room.members.items(), key=rank):
            user = self.users.get(key) or User(key)
            members.append(Member(user.nick, prefixes, user.ip, user.away))
        return MembersChanged(self.server_id, room.name, tuple(members))

    def _forget_if_alone(self, key: str) -> None:
        """Drop a user we no longer share any room with (they might come back as someone else)."""
        if not self.is_me(key) and not any(key in r.members for r in self.rooms.values()):
            self.users.pop(key, None)

    def on_join(self, msg: Message) -> list[ClientEvent]:
        """JOIN <channel>: our own join opens the room; anyone else's adds a member."""
        if not msg.params or not msg.params[0]:  # "JOIN :" names no room
            return []
        name = msg.params[0]
        who = sender(msg)
        key = self.fold(name)
        self._user(who.nick, who.host)
        own = self.is_me(who.nick)
        if own:
            self.rooms[key] = Room(name)
        room = self.rooms.get(key)
        if room is None:
            return []
        room.members[self.fold(who.nick)] = ""
        events: list[ClientEvent] = [Joined(self.server_id, room.name, who.nick, who.host, own)]
        if not own:
            events.append(self.members_event(room))
        return events

    def on_part(self, msg: Message) -> list[ClientEvent]:
        """PART <channel> [<reason>]."""
        room = self._room_named(msg, 0, min_params=1)
        if room is None:
            return []
        nick = sender(msg).nick
        reason = msg.params[1] if len(msg.params) > 1 else ""
        return self._leave(
            room, nick, Parted(self.server_id, room.name, nick, reason, self.is_me(nick))
        )

    def on_kick(self, msg: Message) -> list[ClientEvent]:
        """KICK <channel> <user> [<comment>]."""
        room = self._room_named(msg, 0, min_params=2)
        if room is None:
            return []
        nick, by = msg.params[1], sender(msg).nick
        reason = msg.params[2] if len(msg.params) > 2 else ""
        own = self.is_me(nick)
        return self._leave(room, nick, Kicked(self.server_id, room.name, nick, by, reason, own))

    def _leave(self, room: Room, nick: str, event: ClientEvent) -> list[ClientEvent]:
        if self.is_me(nick):
            del self.rooms[self.fold(room.name)]
            for member in list(room.members):
                self._forget_if_alone(member)
            return [event]
        room.members.pop(self.fold(nick), None)
        self._forget_if_alone(self.fold(nick))
        return [event, self.members_event(room)]

    def on_quit(self, msg: Message) -> list[ClientEvent]:
        """QUIT [<reason>]: they leave every room we share."""
        nick = sender(msg).nick
        key = self.fold(nick)
        reason = msg.params[0] if msg.params else ""
        shared = [r for r in self.rooms.values() if key in r.members]
        for room in shared:
            del room.members[key]
        self.users.pop(key, None)
        events: list[ClientEvent] = [
            UserQuit(self.server_id, nick, reason, tuple(r.name for r in shared))
        ]
        events.extend(self.members_event(r) for r in shared)
        return events

    def on_nick(self, msg: Message) -> list[ClientEvent]:
        """NICK <nickname>: someone (perhaps us) is known by a new nick."""
        if not msg.params:
            return []
        who, new = sender(msg), msg.params[0]
        old_key, new_key = self.fold(who.nick), self.fold(new)
        own = self.is_me(who.nick)
        if own:
            self.nick = new
        user = self.users.pop(old_key, None) or User(new, who.host)
        user.nick = new
        self.users[new_key] = user
        events: list[ClientEvent] = [NickChanged(self.server_id, who.nick, new, own)]
        for room in self.rooms.values():
            if old_key in room.members:
                room.members[new_key] = room.members.pop(old_key)
                events.append(self.members_event(room))
        return events

    def on_names_reply(self, msg: Message) -> list[ClientEvent]:
        """353 RPL_NAMREPLY, collected until 366."""
        # 353 <client> <symbol> <channel> :[prefix]<nick>{ [prefix]<nick>}
        room = self._room_named(msg, 2, min_params=4)
        if room is None:
            return []
        if room.names_pending is None:
            room.names_pending = {}
        for item in msg.params[3].split():
            stripped = item.lstrip(self.prefix_chars)
            prefixes = item[: len(item) - len(stripped)]
            who = Hostmask.parse(stripped)
            self._user(who.nick, who.host)
            room.names_pending[self.fold(who.nick)] = prefixes
        return []

    def on_end_of_names(self, msg: Message) -> list[ClientEvent]:
        """366 RPL_ENDOFNAMES: the collected names become the member list."""
        room = self._room_named(msg, 1, min_params=2)
        if room is None:
            return []
        if room.names_pending is not None:
            room.members, room.names_pending = room.names_pending, None
        events: list[ClientEvent] = []
        if room.topic_pending:
            room.topic_pending = False
            events.append(TopicChanged(self.server_id, room.name, room.topic, "", 0))
        events.append(self.members_event(room))
        return events

    def on_who_reply(self, msg: Message) -> list[ClientEvent]:
        """352 RPL_WHOREPLY: away flags for our WHO on join; anyone else's /who is shown."""
        # 352 <client> <channel> <username> <host> <server> <nick> <flags> :<hopcount> <realname>
        key = self.fold(msg.params[1]) if len(msg.params) >= 7 else ""
        if key not in self.who_pending:
            return [ServerNotice(self.server_id, " ".join(msg.params[1:]))]
        room = self.rooms.get(key)
        if room is not None and self.fold(msg.params[5]) in room.members:
            user = self._user(msg.params[5], msg.params[3])
            user.away = msg.params[6].startswith("G")  # G: gone (away), H: here
        return []

    def on_end_of_who(self, msg: Message) -> list[ClientEvent]:
        """315 RPL_ENDOFWHO: our WHO on join is complete."""
        # 315 <client> <mask> :End of WHO list
        key = self.fold(msg.params[1]) if len(msg.params) >= 2 else ""
        if key not in self.who_pending:
            return []
        self.who_pending.discard(key)
        room = self.rooms.get(key)
        return [self.members_event(room)] if room is not None else []

    def on_topic_reply(self, msg: Message) -> list[ClientEvent]:
        """332 RPL_TOPIC, held until 333 (setter, time) or the end of NAMES."""
        # 332 <client> <channel> :<topic>
        if room := self._room_named(msg, 1, min_params=3):
            room.topic, room.topic_pending = msg.params[2], True
        return []

    def on_topic_who_time(self, msg: Message) -> list[ClientEvent]:
        """333 RPL_TOPICWHOTIME: the topic with who set it and when."""
        # 333 <client> <channel> <nick> <setat>
        room = self._room_named(msg, 1, min_params=4)
        if room is None:
            return []
        room.topic_pending = False
        setter = Hostmask.parse(msg.params[2]).nick
        set_at = msg.params[3]
        when = int(set_at) * 1000 if set_at.isascii() and set_at.isdigit() else 0
        return [TopicChanged(self.server_id, room.name, room.topic, setter, when)]

    def on_topic(self, msg: Message) -> list[ClientEvent]:
        """TOPIC <channel> :<topic>: someone changed it just now."""
        room = self._room_named(msg, 0, min_params=2)
        if room is None:
            return []
        room.topic, room.topic_pending = msg.params[1], False
        setter, when = sender(msg).nick, time_ms(msg, self.clock)
        return [TopicChanged(self.server_id, room.name, room.topic, setter, when, live=True)]

    def on_mode(self, msg: Message) -> list[ClientEvent]:
        """MODE <channel> <modestring> [<mode arguments>...]; only prefix modes change members."""
        room = self._room_named(msg, 0, min_params=2)
        if room is None:
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
        return [self.members_event(room)] if changed else []

    def on_away(self, msg: Message) -> list[ClientEvent]:
        """away-notify: ":nick!u@h AWAY :message" (away) or ":nick!u@h AWAY" (back)."""
        message = msg.params[0] if msg.params else ""
        return self._away_changed(sender(msg).nick, bool(message), message)

    def on_unaway(self, msg: Message) -> list[ClientEvent]:
        """305 RPL_UNAWAY: we are back."""
        return self._away_changed(self.nick, False, "")

    def on_nowaway(self, msg: Message) -> list[ClientEvent]:
        """306 RPL_NOWAWAY: we are away."""
        return self._away_changed(self.nick, True, msg.params[-1] if msg.params else "")

    def _away_changed(self, nick: str, away: bool, message: str) -> list[ClientEvent]:
        key = self.fold(nick)
        user = self.users.get(key)
        if user is not None:
            user.away = away
        events: list[ClientEvent] = [
            AwayChanged(self.server_id, nick, away, message, self.is_me(nick))
        ]
        events.extend(self.members_event(r) for r in self.rooms.values() if key in r.members)
        return events

    def on_invite(self, msg: Message) -> list[ClientEvent]:
        """INVITE <nickname> <channel>: to us, or (invite-notify) to someone in our room."""
        if len(msg.params) < 2:
            return []
        who, target, room = sender(msg).nick, msg.params[0], msg.params[1]
        whom = "you" if self.is_me(target) else target
        return [ServerNotice(self.server_id, f"{who} invited {whom} to {room}")]
