"""The server's nouns: User, Room, Membership, whowas entries and the public RoomInfo.

Layer: pure server core; may import lanchat.protocol, lanchat.store.records and the standard
library. No I/O.

Memory (issue #4: an idle connection must cost about what it costs in a C server): every class
here is slotted, and the mode sets that are almost always empty or tiny (a user's modes, a
member's o/v) are frozensets, replaced on change: the empty one and the "o" of a room's first
member are shared by everyone instead of a 216-byte set each.

Identity rules (issue #2, "everything casefolded"): a User is found by its `conn_id` or by its
casefolded nick `key`; a Room by its casefolded name `key`. Room members are keyed by conn_id,
so a nick change never re-keys a room.
Spec: https://modern.ircdocs.horse/#clients and https://modern.ircdocs.horse/#channels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lanchat.protocol.casemap import casefold
from lanchat.protocol.hostmask import host_for_ip
from lanchat.protocol.tags import TagForm, tag_form
from lanchat.scram import ServerExchange
from lanchat.store.records import RoomRecord

__all__ = [
    "NO_MODES",
    "OPERATOR",
    "Group",
    "Membership",
    "MultilineBatch",
    "Room",
    "RoomInfo",
    "User",
    "WhowasEntry",
    "group_by_form",
]

# Membership prefixes in rank order (ISUPPORT PREFIX=(ov)@+).
PREFIX_MODES = "ov"
PREFIX_CHARS = "@+"
NO_MODES: frozenset[str] = frozenset()  # shared by every user and member without modes
OPERATOR: frozenset[str] = frozenset("o")  # shared by the members who run their room
_SPEAK_MODERATED = frozenset("ov")


@dataclass(slots=True, eq=False)
class MultilineBatch:
    """A draft/multiline batch a client has opened and not closed (handlers/multiline.py)."""

    ref: str  # the client's batch reference, without "+"
    target: str  # the batch target as written
    client_tags: dict[str, str]  # client-only tags of the opening BATCH: the message's tags
    label: str | None = None  # labeled-response label of the opening BATCH: for the echo
    lines: list[tuple[str, bool]] = field(default_factory=list)  # (text, concat) as received
    size: int = 0  # bytes of the combined message so far (each joining "\n" counts one)
    failed: bool = False  # an error was sent: the rest of the batch is read and dropped


@dataclass(slots=True, eq=False)
class User:
    """One client connection and the person behind it (registered or not)."""

    conn_id: int  # the edge's connection id
    ip: str  # peer IP literal as accepted ("127.0.0.1", "::1")
    connected_at: float  # clock() at connect
    nick: str = "*"  # "*" until NICK is accepted (modern.ircdocs: "<client>" before NICK)
    key: str = ""  # casefolded nick; "" until NICK is accepted
    username: str = ""  # from USER (a "~" is not added: there is no ident lookup)
    realname: str = ""  # from USER / SETNAME
    registered: bool = False  # 001 was sent
    # Enabled IRCv3 capabilities. Immutable: most clients never change them, and the empty
    # frozenset is shared, which saves a set per idle connection (issue #4, memory).
    caps: frozenset[str] = frozenset()
    cap_version: int = 0  # highest CAP LS version seen (302 enables values and cap-notify)
    cap_negotiating: bool = False  # CAP LS/REQ seen and no CAP END yet: registration waits
    password_ok: bool = False  # PASS matched the server password (or none is configured)
    away: str = ""  # AWAY message; "" when present
    modes: frozenset[str] = NO_MODES  # user modes, e.g. {"i"}; replaced on change
    # Keys of the rooms an operator invited this connection to (past +i and bans, once). Held
    # by the connection, not the nick: whoever takes the nick later is not who was invited
    # (issue 13), and the invites go with the connection. Replaced on change, like `modes`.
    invited_to: frozenset[str] = frozenset()
    rooms: dict[str, Room] = field(default_factory=dict)  # room key -> Room
    last_seen: float = 0.0  # clock() when the last line arrived (ping timer)
    last_message: float = 0.0  # clock() of the last PRIVMSG/NOTICE (WHOIS idle)
    ping_sent_at: float | None = None  # clock() of our unanswered PING, if any
    form: TagForm = TagForm.NONE  # tag form of relayed lines, cached from caps
    account: str = ""  # the account logged in to, as registered; "" when not logged in
    # AUTHENTICATE in progress (issue 17): the mechanism, then the base64 chunks so far.
    sasl: tuple[str, str] | None = None
    # A SCRAM-SHA-256 exchange past its first message: the account's key and the exchange,
    # then (key, None) once the proof is checked and the server's signature sent.
    scram: tuple[str, ServerExchange | None] | None = None
    password_pending: bool = False  # a Password effect is out: one check at a time
    rename_at: float = 0.0  # clock() when it is renamed off a nick it does not own; 0: never
    # ircv3 draft/read-marker: conversation key -> last read time (Unix ms), of a connection
    # not logged in (a logged-in user's are its account's: ServerState.read_markers); None
    # until the first MARKREAD, so idle connections carry no dict (issue #4, memory).
    read_markers: dict[str, int] | None = None
    multiline: MultilineBatch | None = None  # the draft/multiline batch being received
    # The upload URL for this connection (draft/FILEHOST, issue 21), on the address it
    # reached us at; set by the edge, "" when files are off.
    filehost: str = ""

    @property
    def host(self) -> str:
        """The host part of the hostmask (the IP, "0"-prefixed if it starts with ':')."""
        return host_for_ip(self.ip)

    @property
    def source(self) -> str:
        """The full hostmask nick!user@host used as the source of this user's lines."""
        return f"{self.nick}!{self.username}@{self.host}"

    def has(self, cap: str) -> bool:
        """True if the client enabled capability `cap`."""
        return cap in self.caps

    def set_caps(self, caps: frozenset[str]) -> None:
        """Replace the enabled capabilities and the values cached from them."""
        self.caps = caps
        form = tag_form(caps)
        if form != self.form:
            self.form = form
            for room in self.rooms.values():
                room.audience_changed()


@dataclass(slots=True, eq=False)
class Membership:
    """A user's seat in one room, with its prefix modes (o, v)."""

    user: User
    modes: frozenset[str] = NO_MODES  # subset of PREFIX_MODES; replaced on change
    joined_at: float = 0.0

    def prefixes(self, multi: bool = False) -> str:
        """The NAMES/WHO prefix: highest only, or all in rank order with multi-prefix."""
        chars = "".join(
            c for m, c in zip(PREFIX_MODES, PREFIX_CHARS, strict=True) if m in self.modes
        )
        return chars if multi else chars[:1]

    @property
    def is_op(self) -> bool:
        return "o" in self.modes

    @property
    def can_speak_moderated(self) -> bool:
        """Voice or op: may talk in a +m room (modern.ircdocs "Moderated Channel Mode")."""
        return not self.modes.isdisjoint(_SPEAK_MODERATED)


class Group:
    """A fan-out group: connections that read the same bytes of every message sent to them.

    A room has one per tag form of its members (Room.groups) and makes new ones whenever its
    membership changes, so a Group's members never change: consecutive messages to one Group
    can be joined once and written to every member (lanchat.server.delivery, issue #4). The
    edge tells groups apart by this object, never by its members, so two groups with the same
    members stay two. Do not mutate `conn_ids`.
    """

    __slots__ = ("conn_ids", "form")

    def __init__(self, form: TagForm, conn_ids: tuple[int, ...]) -> None:
        self.form = form  # the tag form of the lines its members read
        self.conn_ids = conn_ids  # the members, in the order they are written to

    def __repr__(self) -> str:
        return f"Group({self.form.name}, {self.conn_ids!r})"


@dataclass(slots=True, eq=False)
class Room:
    """A room (IRC channel): members, topic, modes, key, limit and bans.

    A room outlives its last member (lanchat issue 13): its key, modes, topic and bans stay,
    and so does its history, readable only by whoever gets in past them. See
    ServerState.remove_member for the whole rule.
    """

    name: str  # as created, e.g. "#Lobby"
    key: str  # casefolded name
    created_s: int  # Unix seconds (RPL_CREATIONTIME)
    topic: str = ""
    topic_setter: str = ""
    topic_time_s: int = 0
    modes: set[str] = field(default_factory=lambda: {"n", "t"})  # flag modes: i m n s t
    password: str = ""  # +k key; "" when none
    limit: int = 0  # +l; 0 when none
    bans: list[str] = field(default_factory=list)  # +b masks
    excepts: list[str] = field(default_factory=list)  # +e masks: past bans (issue 18)
    invex: list[str] = field(default_factory=list)  # +I masks: past +i (issue 18)
    # conn_id -> Membership. Change it through join()/leave()/empty() only: they keep the
    # fan-out cache below in step.
    members: dict[int, Membership] = field(default_factory=dict)
    permanent: bool = False  # configured room: never forgotten, advertised even when empty
    emptied_at: float = 0.0  # clock() when the last member left; 0: empty since the start
    # The members' fan-out groups by tag form, built on the first message after a change
    # (see groups()); None while they must be rebuilt.
    _groups: dict[TagForm, Group] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_record(cls, record: RoomRecord, *, permanent: bool = False) -> Room:
        """Rebuild a room from what the store kept."""
        return cls(
            name=record.name,
            key=record.key,
            created_s=record.created_s,
            topic=record.topic,
            topic_setter=record.topic_setter,
            topic_time_s=record.topic_time_s,
            modes=set(record.modes),
            password=record.password,
            limit=record.limit,
            bans=list(record.bans),
            excepts=list(record.excepts),
            invex=list(record.invex),
            permanent=permanent,
        )

    @classmethod
    def create(cls, name: str, created_s: int, *, permanent: bool = False) -> Room:
        """A new room with the default modes +nt."""
        return cls(name=name, key=casefold(name), created_s=created_s, permanent=permanent)

    def to_record(self, *, deleted: bool = False) -> RoomRecord:
        """What survives a restart (see lanchat.store.records.RoomRecord)."""
        return RoomRecord(
            key=self.key,
            name=self.name,
            created_s=self.created_s,
            topic=self.topic,
            topic_setter=self.topic_setter,
            topic_time_s=self.topic_time_s,
            modes="".join(sorted(self.modes)),
            password=self.password,
            limit=self.limit,
            bans=tuple(self.bans),
            deleted=deleted,
            excepts=tuple(self.excepts),
            invex=tuple(self.invex),
        )

    def member(self, user: User) -> Membership | None:
        """The user's membership, or None if not in the room."""
        return self.members.get(user.conn_id)

    def join(self, membership: Membership) -> None:
        """Seat a member (the caller also records the room in `user.rooms`)."""
        self.members[membership.user.conn_id] = membership
        self._groups = None

    def leave(self, conn_id: int) -> None:
        """Remove a member, if seated."""
        if self.members.pop(conn_id, None) is not None:
            self._groups = None

    def empty(self) -> None:
        """Remove every member (server shutdown)."""
        self.members.clear()
        self._groups = None

    def audience_changed(self) -> None:
        """A member's tag form changed (CAP REQ after joining): regroup on the next message."""
        self._groups = None

    def groups(self) -> dict[TagForm, Group]:
        """The room's fan-out groups: its members by the tag form relayed lines take for them.

        The fan-out of a room message starts from these groups instead of walking the members
        (issue #4): they are made anew only after a join, a part or a CAP change, so a room
        that talks pays nothing per member in Python. Do not mutate the result.
        """
        groups = self._groups
        if groups is None:
            groups = self._groups = group_by_form(m.user for m in self.members.values())
        return groups

    def mode_string(self) -> str:
        """The flag modes as "+kl..." (parameters are rendered by lanchat.server.modes)."""
        flags = "".join(sorted(self.modes))
        if self.password:
            flags += "k"
        if self.limit:
            flags += "l"
        return "+" + flags

    def info(self) -> RoomInfo:
        """The public face of the room, for discovery."""
        return RoomInfo(
            name=self.name,
            topic=self.topic,
            user_count=len(self.members),
            key_required=bool(self.password),
            secret="s" in self.modes,
        )


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What discovery advertises about a room (ServerState.room_info)."""

    name: str
    topic: str
    user_count: int
    key_required: bool  # +k is set
    secret: bool  # +s is set: not advertised


@dataclass(frozen=True, slots=True)
class WhowasEntry:
    """A nick that left, for WHOWAS (modern.ircdocs "WHOWAS message")."""

    nick: str
    key: str
    username: str
    host: str
    realname: str
    left_at: float


def group_by_form(users: Iterable[User]) -> dict[TagForm, Group]:
    """`users` in new fan-out groups, one per tag form relayed lines take for them."""
    lists: dict[TagForm, list[int]] = {}
    for user in users:
        lists.setdefault(user.form, []).append(user.conn_id)
    return {form: Group(form, tuple(ids)) for form, ids in lists.items()}
