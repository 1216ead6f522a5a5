"""A replica's state as a document of plain values, and back: the cluster's snapshots.

Layer: pure, like the replica it reads (no asyncio, no redis, no sqlite3); the standard
library, the server's nouns and lanchat.scram. lanchat.cluster.compaction stores the bytes in
Redis and trims the log behind them; docs/cluster.md ("Snapshots and trimming") has the design.

A node that starts loads the newest snapshot into its empty replica and applies only the entries
after the one the snapshot reflects. For that node to behave from then on exactly as a node that
applied the whole log, the document holds everything the core reads, in the order it reads it
(dicts are lists of pairs, kept in insertion order: WHO, NAMES and the tick walk them in that
order): users with their rooms, caps, modes, SASL/SCRAM exchanges and multiline batches; nicks;
rooms with members, modes, topics, bans and keys; whowas; MONITOR lists; accounts and the ones
being registered; read markers; the failure throttle's windows; the counters (guest nicks, batch
references, the most users, the cached +i count); and the replica's own clock, last tick and the
password checks awaiting their outcome entry. `tests/cluster/test_snapshot.py` fails when a
field is added to a class the document covers and not to the document.

Policies a reader might question:
- JSON (compressed with zlib), never pickle: whatever is in Redis can reach every node, and
  reading it must not be able to run code. The format is versioned (FORMAT); a node refuses a
  snapshot of another format and replays the log instead.
- What is this node's alone is left out, as a node replaying the log would not have it either:
  its start time (RPL_CREATED), its connections' upload URLs and upload tokens (random on each
  node, lanchat.server.uploads), the lines it kept unredacted (Replica.keep), and the password
  of a check in progress (only the origin holds it, and a node loading a snapshot is never the
  origin of a connection already in it).
- No secret goes to Redis: a snapshot is not taken while a client of the writing node is in the
  middle of a SASL message sent in chunks (its buffer holds what the client sent, unredacted);
  `holds_secrets` says so and the writer tries again at its next chance.
- The document is built on the event loop (`document`: it must reflect one entry, and nothing
  else runs meanwhile) and encoded on a thread (`pack`: JSON and zlib, more than half of the
  time). So `dump` copies every mutable container of the state it reads (a room's bans, a
  batch's lines, a node's digests): the document holds numbers, strings and containers of its
  own, which the entries applied meanwhile cannot change; copying those few costs less than a
  deep copy of the document would. `pack` makes the JSON a piece at a time (each user, each
  room), not in one json.dumps: that C call holds the GIL throughout (14 ms for 2,000 users),
  which would stop the loop as surely as running it there; between pieces the thread lets the
  loop have the GIL within the switch interval (zlib lets go of it by itself).
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from typing import Any

from lanchat.cluster.events import node_of
from lanchat.cluster.replica import Replica
from lanchat.protocol.tags import TagForm
from lanchat.scram import ServerExchange, parse_credentials
from lanchat.server.effects import Password
from lanchat.server.model import Membership, MultilineBatch, Room, User, WhowasEntry
from lanchat.server.throttle import _Window
from lanchat.store.records import AccountRecord

__all__ = [
    "FORMAT",
    "Snapshot",
    "SnapshotError",
    "canonical",
    "decode",
    "document",
    "dump",
    "encode",
    "holds_secrets",
    "pack",
    "restore",
]

FORMAT = 1  # the document's version; another one is not read
MAGIC = b"lanchat-snapshot\n"  # what the stored bytes start with, then zlib(JSON)
_MAX_JSON = 1 << 30  # a snapshot larger than this once inflated is refused (a zlib bomb)

Doc = dict[str, Any]

# The attributes each class has, and whether the document holds them: a new one fails
# tests/cluster/test_snapshot.py until it is sorted in here.
USER_FIELDS = frozenset(User.__dataclass_fields__) - {"filehost"}  # filehost: the node's own
ROOM_FIELDS = frozenset(Room.__dataclass_fields__) - {"_groups"}  # _groups: a cache, rebuilt
STATE_LEFT_OUT = frozenset(
    {"config", "clock", "commands", "new_msgid", "created_at", "upload_tokens"}
)
# The fields `_user` and `_room` take as they are, in the document's order (sorted once here:
# per user, sorting them was a tenth of the document's time). The others are copied below.
_USER_AS_IS = sorted(USER_FIELDS - {"caps", "modes", "invited_to", "rooms", "form", "sasl",
                                    "scram", "read_markers", "multiline"})  # fmt: skip
_ROOM_AS_IS = sorted(ROOM_FIELDS - {"modes", "members", "bans", "excepts", "invex"})
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_PIECES_DEPTH = 3  # the body, its state, the state's lists: each item of those is one piece


class SnapshotError(ValueError):
    """Stored bytes that are not a snapshot this lanchat can read (another format, damaged)."""


class Snapshot:
    """A decoded snapshot: the cluster it is of, the entry it reflects, the state document."""

    __slots__ = ("cluster_id", "doc", "entry_id")

    def __init__(self, cluster_id: str, entry_id: str, doc: Doc) -> None:
        self.cluster_id = cluster_id
        self.entry_id = entry_id  # the last entry applied to the state it holds
        self.doc = doc


def holds_secrets(replica: Replica, node: int) -> bool:
    """Whether a client of `node` is halfway through a chunked SASL message (see the module)."""
    return any(
        user.sasl is not None and user.sasl[1] and node_of(user.conn_id) == node
        for user in replica.state.users.values()
    )


def encode(replica: Replica, cluster_id: str, entry_id: str) -> bytes:
    """The stored form of `replica`'s state after entry `entry_id` of cluster `cluster_id`."""
    return pack(document(replica, cluster_id, entry_id))


def document(replica: Replica, cluster_id: str, entry_id: str) -> Doc:
    """The snapshot of `replica`'s state after entry `entry_id` of cluster `cluster_id`, as
    plain values that share nothing mutable with the state (dump). On the replica's loop."""
    return {"format": FORMAT, "cluster": cluster_id, "entry": entry_id, "state": dump(replica)}


def pack(doc: Doc) -> bytes:
    """The stored form of a snapshot `document`: JSON, compressed. On a thread, which lets the
    event loop run between the pieces of the JSON (see the module's policies)."""
    return MAGIC + zlib.compress(_json(doc, _PIECES_DEPTH).encode(), 6)


def _json(value: Any, depth: int) -> str:
    """`value` as json.dumps(value, ensure_ascii=False, separators=(",", ":")) gives it, made
    of one json call per item `depth` levels of dicts and lists down."""
    if depth and isinstance(value, dict):
        items = (f"{_ENCODE(key)}:{_json(item, depth - 1)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if depth and isinstance(value, list):
        return "[" + ",".join(_json(item, depth - 1) for item in value) + "]"
    return _ENCODE(value)


def decode(data: bytes) -> Snapshot:
    """The snapshot stored as `data` (encode).

    Raises:
        SnapshotError: not a snapshot, damaged, or of another FORMAT.
    """
    if not data.startswith(MAGIC):
        raise SnapshotError("not a lanchat snapshot")
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(data[len(MAGIC) :], _MAX_JSON)
        if inflater.unconsumed_tail or not inflater.eof:
            raise SnapshotError("the snapshot is damaged or too large")
        body = json.loads(text)
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SnapshotError(f"the snapshot is damaged ({e})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SnapshotError(f"the snapshot is of another format than {FORMAT}")
    return Snapshot(str(body["cluster"]), str(body["entry"]), body["state"])


# ---------------------------------------------------------------------- state -> document


def canonical(replica: Replica) -> str:
    """The replica's state as one string (dump, as JSON): equal for equal states."""
    return json.dumps(dump(replica), sort_keys=True, ensure_ascii=False)


def dump(replica: Replica) -> Doc:
    """The replica's state as plain values (JSON types), in a canonical order: two replicas
    that applied the same entries give equal documents. Every list and dict in it is its own
    (see the module's policies): the entries applied after it leave it as it is."""
    state = replica.state
    monitors = state.monitors
    throttle = state.auth_throttle
    return {
        "now": replica.now,
        "last_tick": replica._last_tick,
        "passwords": [_password(p) for p in replica._passwords.values()],
        "seqs": list(replica._seqs.items()),
        "settings": [[node, dict(digests)] for node, digests in replica.settings.items()],
        "refused": [
            [node, [[other, list(parts)] for other, parts in others.items()]]
            for node, others in replica.refused.items()
        ],
        "users": [_user(user) for user in state.users.values()],
        "nicks": [[key, user.conn_id] for key, user in state.nicks.items()],
        "rooms": [_room(room) for room in state.rooms.values()],
        "whowas": [_fields(entry, WhowasEntry) for entry in state.whowas],
        "watchers": [[k, list(users)] for k, users in monitors._watchers.items()],
        "watching": [[c, list(nicks.items())] for c, nicks in monitors._lists.items()],
        "registered_users": state.registered_users,
        "max_users": state.max_users,
        "invisible": list(state._invisible) if state._invisible is not None else None,
        "batch_serial": state.batch_serial,
        "throttle": [
            [address, w.start, w.failures, w.refused] for address, w in throttle._windows.items()
        ],
        "throttle_sweep_at": throttle._sweep_at,
        "accounts": [_fields(a, AccountRecord) for a in state.accounts.values()],
        "registering": sorted(state.registering),
        "read_markers": [[k, list(m.items())] for k, m in state.read_markers.items()],
        "guest_serial": state.guest_serial,
    }


def _fields(obj: object, cls: Any) -> list[Any]:
    """The values of a dataclass's fields, in their order (what `cls(*values)` takes)."""
    return [_own(getattr(obj, name)) for name in cls.__dataclass_fields__]


def _own(value: Any) -> Any:
    """`value`, a list or a dict of the state copied (their items are immutable: strings,
    numbers, tuples), so that the document does not change with the state."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _password(effect: Password) -> Doc:
    # The password itself stays with its origin (see the module's policies).
    return {
        "conn_id": effect.conn_id,
        "purpose": effect.purpose,
        "name": effect.name,
        "stored": effect.stored,
        "key": effect.key,
        "created_s": effect.created_s,
        "label": effect.label,
    }


def _user(user: User) -> Doc:
    doc = {name: getattr(user, name) for name in _USER_AS_IS}  # numbers, strings, None
    doc["caps"] = sorted(user.caps)
    doc["modes"] = sorted(user.modes)
    doc["invited_to"] = sorted(user.invited_to)
    doc["rooms"] = list(user.rooms)
    doc["form"] = int(user.form)
    doc["sasl"] = list(user.sasl) if user.sasl is not None else None
    doc["scram"] = doc["read_markers"] = doc["multiline"] = None
    if user.scram is not None:
        key, exchange = user.scram
        doc["scram"] = [key, exchange.state if exchange is not None else None]
    if user.read_markers is not None:
        doc["read_markers"] = list(user.read_markers.items())
    if user.multiline is not None:
        doc["multiline"] = _fields(user.multiline, MultilineBatch)
    return doc


def _room(room: Room) -> Doc:
    doc = {name: getattr(room, name) for name in _ROOM_AS_IS}  # numbers, strings
    doc["modes"] = sorted(room.modes)
    doc["bans"] = list(room.bans)
    doc["excepts"] = list(room.excepts)
    doc["invex"] = list(room.invex)
    doc["members"] = [
        [conn_id, sorted(m.modes), m.joined_at] for conn_id, m in room.members.items()
    ]
    return doc


# ---------------------------------------------------------------------- document -> state


def restore(replica: Replica, doc: Doc) -> None:
    """Make `replica` (one that applied nothing yet) hold the state of `doc` (dump), in place:
    the hub keeps its reference to replica.state.

    Raises:
        SnapshotError: the document does not fit (a field missing or of the wrong type).
    """
    try:
        _restore(replica, doc)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise SnapshotError(f"the snapshot does not fit this lanchat ({e!r})") from None


def _restore(replica: Replica, doc: Doc) -> None:
    state = replica.state
    replica._kept.clear()
    replica.now = float(doc["now"])
    replica._last_tick = float(doc["last_tick"])
    replica._passwords = {p["conn_id"]: Password(password="", **p) for p in doc["passwords"]}
    replica._seqs = {int(node): int(seq) for node, seq in doc["seqs"]}
    replica.settings = {int(node): dict(digests) for node, digests in doc["settings"]}
    replica.refused = {
        int(node): {int(other): list(parts) for other, parts in others}
        for node, others in doc["refused"]
    }
    users = {u["conn_id"]: _new_user(u) for u in doc["users"]}
    state.users = users
    state.nicks = {key: users[conn_id] for key, conn_id in doc["nicks"]}
    state.rooms = {}
    for room_doc in doc["rooms"]:
        room = _new_room(room_doc, users)
        state.rooms[room.key] = room
    for user_doc in doc["users"]:
        user = users[user_doc["conn_id"]]
        user.rooms = {key: state.rooms[key] for key in user_doc["rooms"]}
    state.whowas = deque(
        (WhowasEntry(*entry) for entry in doc["whowas"]), maxlen=state.whowas.maxlen
    )
    monitors = state.monitors
    monitors._watchers = {k: {c: users[c] for c in conn_ids} for k, conn_ids in doc["watchers"]}
    monitors._lists = {c: dict(nicks) for c, nicks in doc["watching"]}
    state.registered_users = int(doc["registered_users"])
    state.max_users = int(doc["max_users"])
    invisible = doc["invisible"]
    state._invisible = (float(invisible[0]), int(invisible[1])) if invisible else None
    state.batch_serial = int(doc["batch_serial"])
    throttle = state.auth_throttle
    throttle._windows = {}
    for address, start, failures, refused in doc["throttle"]:
        window = throttle._windows[address] = _Window(start)
        window.failures, window.refused = failures, refused
    throttle._sweep_at = int(doc["throttle_sweep_at"])
    accounts = (AccountRecord(*fields) for fields in doc["accounts"])
    state.accounts = {account.key: account for account in accounts}
    state.registering = set(doc["registering"])
    state.read_markers = {key: dict(markers) for key, markers in doc["read_markers"]}
    state.guest_serial = int(doc["guest_serial"])


def _new_user(doc: Doc) -> User:
    user = User(conn_id=doc["conn_id"], ip=doc["ip"], connected_at=doc["connected_at"])
    for name in USER_FIELDS - {"rooms", "sasl", "scram", "read_markers", "multiline"}:
        setattr(user, name, doc[name])
    user.caps = frozenset(doc["caps"])
    user.modes = frozenset(doc["modes"])
    user.invited_to = frozenset(doc["invited_to"])
    user.form = TagForm(doc["form"])
    user.sasl = (doc["sasl"][0], doc["sasl"][1]) if doc["sasl"] is not None else None
    scram = doc.get("scram")
    if scram is not None:
        user.scram = (scram[0], _exchange(scram[1]) if scram[1] is not None else None)
    markers = doc.get("read_markers")
    user.read_markers = dict(markers) if markers is not None else None
    batch = doc.get("multiline")
    if batch is not None:
        fields = dict(zip(MultilineBatch.__dataclass_fields__, batch, strict=True))
        fields["lines"] = [(text, concat) for text, concat in fields["lines"]]
        user.multiline = MultilineBatch(**fields)
    return user


def _exchange(state: str) -> ServerExchange:
    """A SCRAM exchange rebuilt from ServerExchange.state (its server nonce included)."""
    gs2_header, bare, encoded, nonce = json.loads(state)
    credentials = parse_credentials(encoded)
    if credentials is None:
        raise ValueError("a SCRAM exchange with unreadable keys")
    return ServerExchange(gs2_header, bare, credentials, nonce)


def _new_room(doc: Doc, users: dict[int, User]) -> Room:
    fields = {name: doc[name] for name in ROOM_FIELDS - {"members", "modes"}}
    room = Room(**fields, modes=set(doc["modes"]))
    for conn_id, modes, joined_at in doc["members"]:
        room.join(Membership(users[conn_id], frozenset(modes), joined_at))
    return room
