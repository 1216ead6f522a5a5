"""Presentation state of the chat client, as plain classes with no Tk (IDLE's testable core).

Layer: GUI view-model; imports the standard library, lanchat.protocol (case mapping),
lanchat.gui.lines, lanchat.client.events (plain values: where Join connects) and the pure
parts of lanchat.discovery (records, events, clusters: how advertisements make room list
entries) only. The tabs (one per room, private conversation or
server), their unread counts and member lists, the window title, and the rooms listed on the
Rooms page are decided here; the widgets only copy the result onto the screen, so all of it
is tested without a display. How a line reads is in lanchat.gui.lines, what a typed line means
in lanchat.gui.commands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from lanchat.client.events import Endpoint
from lanchat.discovery.clusters import Listings, RoomListing
from lanchat.discovery.events import RoomEvent
from lanchat.discovery.records import RoomAd
from lanchat.gui.lines import Line, Segment, nick_colour_index, unread_marker
from lanchat.protocol import casefold

__all__ = [
    "DEFAULT_VISIBLE_LINES",
    "ChatModel",
    "Conversation",
    "Member",
    "MemberRow",
    "RoomListModel",
    "RoomRow",
    "conversation_key",
    "server_label",
]

# The Text widget shows at most this many lines per conversation; older ones stay in
# Conversation.lines (the history) so a 10,000-message room stays as fast as a quiet one.
DEFAULT_VISIBLE_LINES = 2000
CONTEXT_ABOVE = 5  # lines shown above a search hit the transcript jumps to


# --- conversations (tabs) --------------------------------------------------------------------


def server_label(host: str, port: int) -> str:
    """ "host:port" (an IPv6 address in brackets): the window's name for a connection."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def conversation_key(server_id: str, name: str) -> str:
    """The identity of a tab: the same room name on two servers is two tabs."""
    return f"{server_id} {casefold(name)}"


class Member(NamedTuple):
    """Someone in a room, as the member list knows them."""

    prefixes: str  # "@", "+", "" (highest first)
    nick: str
    ip: str = ""  # their address on a lanchat server ("" when unknown)
    away: bool = False


class MemberRow(NamedTuple):
    """One row of the member list, ready to show."""

    text: str  # "@bob", "alice (you)"
    nick: str
    tag: str  # "own", "away" or "nick<i>" (the nick's colour in the transcript)
    ip: str


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
    members: dict[str, Member] = field(default_factory=dict)  # casefolded nick → member
    joined: bool = True  # False after we left or were kicked; the tab stays readable
    # Where history asked for on (re)join is inserted: above "You joined" and anything said
    # since, so older lines never sit below newer ones (issue #15); None: history appends.
    history_at: int | None = None
    marked: bool = False  # the "New messages" line is drawn above the first unread line
    read_ms: int = 0  # the server's read marker: time of the last message read (0: none known)
    _msgids: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return conversation_key(self.server_id, self.name)

    def add(self, line: Line, *, seen: bool, counts: bool = True, history: bool = False) -> bool:
        """Append `line`; count it as unread unless the tab is `seen` (visible, window focused).

        Args:
            line: the formatted line.
            seen: the user is looking at this tab right now.
            counts: False for notices (joins, parts) that should not raise a badge.
            history: a line from the history of the room, inserted at `history_at` when set.

        Returns:
            False when the line's msgid was already shown (history overlapping live lines).
        """
        if line.msgid:
            if line.msgid in self._msgids:
                return False
            self._msgids.add(line.msgid)
        if history and self.history_at is not None:
            self.lines.insert(self.history_at, line)
            self.history_at += 1
        else:
            self.lines.append(line)
        if not seen and counts:
            self.unread += 1
            self.highlighted = self.highlighted or line.highlight
        return True

    def redact(self, msgid: str) -> bool:
        """The message `msgid` was deleted: its line now says so. False if it is not here."""
        for i, line in enumerate(self.lines):
            if line.msgid == msgid:
                gone = (Segment("message deleted", ("event",)),)
                self.lines[i] = line._replace(segments=gone)
                return True
        return False

    def _unread_lines(self) -> list[Line]:
        """Messages of others after the read marker (none while no marker is known)."""
        if not self.read_ms:
            return []
        return [
            line
            for line in self.lines
            if line.msgid and line.sender_tag != "own" and line.time_ms > self.read_ms
        ]

    def read_up_to(self, time_ms: int) -> None:
        """The account read the tab up to `time_ms` (here, on another connection, or before
        we joined): the badge counts the messages of others after it."""
        self.read_ms = max(self.read_ms, time_ms)
        unread = self._unread_lines()
        self.unread = len(unread)
        self.highlighted = any(line.highlight for line in unread)

    def newest_message_ms(self) -> int:
        """Time of the newest message (0 when there is none): how far reading it goes."""
        return next((line.time_ms for line in reversed(self.lines) if line.msgid), 0)

    def mark_read(self) -> None:
        """The user looked at the tab: clear its badge."""
        self.unread = 0
        self.highlighted = False

    def index_of(self, msgid: str) -> int | None:
        """Where the message `msgid` is in `lines` (None when it is not loaded)."""
        if msgid not in self._msgids:
            return None
        return next((i for i, line in enumerate(self.lines) if line.msgid == msgid), None)

    def insert_context(self, lines: Iterable[Line]) -> None:
        """Put the messages around a search hit (CHATHISTORY AROUND, oldest first) among the
        lines, as one block above the first message not older than the block; the ones
        already here are not added again. Only messages (with a msgid) place it: local notes
        ("You joined") are stamped when shown, not when said, and messages sent in one burst
        can share a millisecond, so placing each line by its own time could split the block.
        """
        new = [line for line in lines if line.msgid and line.msgid not in self._msgids]
        if not new:
            return
        self._msgids.update(line.msgid for line in new)
        first = new[0].time_ms
        later = (i for i, old in enumerate(self.lines) if old.msgid and old.time_ms >= first)
        at = next(later, len(self.lines))
        self.lines[at:at] = new
        if self.history_at is not None and at <= self.history_at:
            self.history_at += len(new)

    def visible(self, around: str = "") -> list[Line]:
        """The lines the Text widget shows: the newest `visible_limit` (or, to show the
        message `around`, from a few lines above it to the newest), with "New messages"
        above the first one after the read marker while the tab is marked."""
        start = max(len(self.lines) - self.visible_limit, 0)
        found = self.index_of(around) if around else None
        if found is not None:
            start = min(start, max(found - CONTEXT_ABOVE, 0))
        lines = self.lines[start:]
        first = next(iter(self._unread_lines()), None) if self.marked else None
        if first is not None and first in lines:
            at = lines.index(first)
            lines = [*lines[:at], unread_marker(first.time_ms), *lines[at:]]
        return lines

    def title(self) -> str:
        """The tab label with its unread badge: "#lobby", "#lobby (3)", "bob (1!)"."""
        if not self.unread:
            return self.name
        return f"{self.name} ({self.unread}{'!' if self.highlighted else ''})"

    def set_members(self, members: Iterable[tuple[str, str] | tuple[str, str, str, bool]]) -> None:
        """Replace the member list with (prefixes, nick[, ip, away]) tuples."""
        self.members = {casefold(m[1]): Member(*m) for m in members}

    def member_list(self, own_nick: str) -> list[MemberRow]:
        """Members for the list, ops first, then voiced, then the rest, each by name.

        Our own nick is marked " (you)"; each row carries the colour its nick has in the
        transcript (issue #15: the member list had none), or "away" for someone away.
        """
        rank = {"~": 0, "&": 1, "@": 2, "%": 3, "+": 4}
        own_key = casefold(own_nick)

        def order(m: Member) -> tuple[int, str]:
            return (min((rank.get(p, 5) for p in m.prefixes), default=5), casefold(m.nick))

        rows = []
        for m in sorted(self.members.values(), key=order):
            own = casefold(m.nick) == own_key
            text = f"{m.prefixes[:1]}{m.nick}{' (you)' if own else ''}"
            tag = "own" if own else "away" if m.away else f"nick{nick_colour_index(m.nick)}"
            rows.append(MemberRow(text, m.nick, tag, m.ip))
        return rows

    def member_rows(self, own_nick: str) -> list[str]:
        """The texts of `member_list(own_nick)`: "@bob", "alice (you)"."""
        return [row.text for row in self.member_list(own_nick)]

    def nicks(self) -> list[str]:
        return [m.nick for m in self.members.values()]


class ChatModel:
    """All tabs of one chat window (over any number of connections), which one is active,
    our nick on each connection, and the window title."""

    def __init__(self, *, visible_limit: int = DEFAULT_VISIBLE_LINES) -> None:
        self.visible_limit = visible_limit  # lines shown per tab
        self.nicks: dict[str, str] = {}  # server_id → our nick there
        self.connected: set[str] = set()  # server_ids registered now
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
        self,
        server_id: str,
        name: str,
        kind: str,
        line: Line,
        *,
        counts: bool = True,
        history: bool = False,
    ) -> tuple[Conversation, bool]:
        """Append `line` to tab `name` (created if needed); see Conversation.add.

        Returns:
            (the tab, False when the line was a duplicate and was dropped).
        """
        conv, _ = self.ensure(server_id, name, kind)
        seen = self.is_seen(conv)
        return conv, conv.add(line, seen=seen, counts=counts, history=history)

    def unread_total(self) -> int:
        return sum(c.unread for c in self.conversations.values())

    def window_title(self) -> str:
        """ "#lobby — lanchat" for the tab in front once its connection is up (and we are in
        the room), else "lanchat — alice" (our nick); prefixed with the unread count ("(4) ")
        and "* " when something unread mentions us."""
        active = self.conversations.get(self.active)
        nick = self.nicks.get(active.server_id, "") if active else ""
        if not nick and len(set(self.nicks.values())) == 1:
            nick = next(iter(self.nicks.values()))
        base = f"lanchat — {nick}" if nick else "lanchat"
        connected = active is not None and active.server_id in self.connected
        if (
            active
            and connected
            and (active.kind == "private" or (active.kind == "room" and active.joined))
        ):
            base = f"{active.name} — lanchat"
        total = self.unread_total()
        if not total:
            return base
        star = "* " if any(c.highlighted for c in self.conversations.values()) else ""
        return f"{star}({total}) {base}"

    def rename_nick(
        self, server_id: str, old: str, new: str, *, own: bool = False
    ) -> list[Conversation]:
        """Apply a nick change on `server_id` to every member list and a private tab's name.

        Args:
            server_id: the connection.
            old: the nick before.
            new: the nick now.
            own: it is our own nick: a private tab named `old` is the conversation with
                someone else who had that nick (issue #15), so it keeps its name.

        Returns:
            The tabs `old` was part of, so each can show the notice.
        """
        old_folded, touched = casefold(old), []
        for conv in list(self.conversations.values()):
            if conv.server_id != server_id:
                continue
            if old_folded in conv.members:
                member = conv.members.pop(old_folded)
                conv.members[casefold(new)] = member._replace(nick=new)
                touched.append(conv)
            elif conv.kind == "private" and casefold(conv.name) == old_folded and not own:
                touched.append(conv)
        if own:
            return touched
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


@dataclass(frozen=True, slots=True)
class RoomRow:
    """One row of the Rooms page: one room list entry (lanchat.discovery.clusters), which is
    one advertisement, or every node of a clustered room (issue 20)."""

    instance: str  # the entry's key (the DNS-SD instance of an unclustered room): the row id
    room: str
    host: str  # the host label; for a clustered room every node's, comma-separated
    port: int  # of the first node
    users: int
    topic: str
    locked: bool
    addresses: tuple[str, ...]  # of the first node, the one that answered its probe first
    tls: int = 0  # the first node's TLS port, 0 when the room offers none (issue #17)
    fp: str = ""  # its advertised certificate fingerprint
    nodes: tuple[RoomAd, ...] = ()  # every node serving the room (one unless clustered)

    @classmethod
    def of(cls, entry: RoomListing) -> RoomRow:
        """The row showing `entry`."""
        first = entry.first
        return cls(entry.key, first.room, ", ".join(entry.hosts), first.port, entry.users,
                   first.topic, any(n.key_required for n in entry.nodes), first.addresses,
                   first.tls, first.fp, entry.nodes)  # fmt: skip

    def values(self) -> tuple[str, str, str, str, str]:
        """Treeview cells: room (with a lock when it needs a key), host, users, topic, address."""
        lock = " \N{LOCK}" if self.locked else ""
        return (f"{self.room}{lock}", self.host, str(self.users), self.topic, self.where_all())

    def connect_host(self) -> str:
        """The address Join connects to, the one the Address column shows: the first one,
        which the browser puts first because it answered (issue 13, item 11: a row that showed
        one address and connected to another hid which of two look-alike rooms was joined)."""
        return self.addresses[0] if self.addresses else self.host

    def where(self) -> str:
        """`address:port` connected to first (IPv6 in brackets)."""
        return server_label(self.connect_host(), self.port)

    def wheres(self) -> tuple[str, ...]:
        """Each node's `address:port`, the one connected to first, then the other nodes of a
        clustered room."""
        others = [server_label(_node_host(n), n.port) for n in self.nodes[1:]]
        return (self.where(), *others)

    def endpoints(self) -> tuple[Endpoint, ...]:
        """Where Join connects: the node connected to first, then a clustered room's other
        nodes, tried when one does not answer (issue 20). A node that offers TLS is reached
        over TLS, its certificate checked against its advertised fingerprint (TXT fp=) and
        the pin kept for its host (issue #17); the Rooms page and the launcher's Join both
        connect this way."""
        if not self.nodes:  # a row made by hand: one node, told by the row's own fields
            if self.tls:
                return (Endpoint(self.connect_host(), self.tls, True, self.fp, f"lan:{self.host}"),)
            return (Endpoint(self.connect_host(), self.port),)
        return tuple(_endpoint(node, self.nodes) for node in self.nodes)

    def where_all(self) -> str:
        """`address:port` as shown: for a clustered room, each node's, comma-separated."""
        return ", ".join(self.wheres())

    def label(self) -> str:
        """`#lobby on vm (10.0.0.5:6667)`: which of several same-named rooms this is."""
        return f"{self.room} on {self.host} ({self.where_all()})"


def _node_host(ad: RoomAd) -> str:
    return ad.addresses[0] if ad.addresses else ad.host


def _pin_key(node: RoomAd, nodes: tuple[RoomAd, ...]) -> str:
    """Whose pin a node's certificate is checked against: its host's (issue #17). The nodes of
    a cluster each have their own certificate, so nodes sharing a host name (several on one
    machine) are told apart by their TLS port."""
    if sum(other.host == node.host for other in nodes) > 1:
        return f"lan:{node.host}:{node.tls}"
    return f"lan:{node.host}"


def _endpoint(node: RoomAd, nodes: tuple[RoomAd, ...]) -> Endpoint:
    """Where to reach one node of a room, and how to check its certificate."""
    if node.tls:
        return Endpoint(_node_host(node), node.tls, True, node.fp, _pin_key(node, nodes))
    return Endpoint(_node_host(node), node.port)


class RoomListModel:
    """The rooms seen on the LAN, one row per room list entry, sorted by room then host."""

    def __init__(self) -> None:
        self.listings = Listings()  # advertisements grouped into entries
        self.rows: dict[str, RoomRow] = {}  # entry key -> row

    def apply(self, event: RoomEvent) -> list[tuple[str, RoomRow]]:
        """Follow one discovery event.

        Returns:
            ("added" | "updated" | "same" | "removed", row) for each row it touched, in order.
        """
        changes = []
        for change, entry in self.listings.apply(event):
            row = RoomRow.of(entry)
            if change == "removed":
                self.rows.pop(row.instance, None)
            else:
                old = self.rows.get(row.instance)
                self.rows[row.instance] = row
                change = "same" if old == row else change
            changes.append((change, row))
        return changes

    def sorted(self) -> list[RoomRow]:
        return sorted(self.rows.values(), key=lambda r: (casefold(r.room), r.host, r.port))

    def index_of(self, instance: str) -> int:
        """Position of `instance` in sorted(), for inserting a Treeview row in order."""
        return [r.instance for r in self.sorted()].index(instance)
