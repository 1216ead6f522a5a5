"""A node's replica of the cluster: the whole ServerState, fed by the cluster's log in order.

Layer: pure, like the server core it drives (no asyncio, no redis, no sqlite3): events in,
effects out, tested by plain calls. docs/cluster.md has the design and its argument.

Every node applies the same entries in the same order to a ServerState that started empty, so
every node holds the same users, rooms, members, topics and modes. What the core reads besides
the events is made the same everywhere too:

- time: the entry's id is the time Redis appended it (one clock for the cluster); the core's
  clock returns it while the entry is applied;
- msgids: made of the entry's id and a count within the entry, so every node gives a message
  the same msgid and server-time, and stores it under them;
- ticks (PINGs, timeouts): run before the first entry at least a second after the last tick,
  so every node runs them at the same place in the log;
- an entry a node appended twice (its XADD answer was lost, and the append repeated) carries
  the same node and sequence number both times: applied the first time, skipped after, on
  every node alike (a node's sequence numbers only grow along the log);
- password checks and hashes (scrypt, on a thread of the node whose client asked; a SCRAM
  proof too): the outcome is an entry of its own, which every node hands to the core;
- passwords themselves are not in the log (lanchat.cluster.redact): the origin applies the
  line as sent, which it keeps (keep), every other node the redacted line, whose outcome is
  the same without the secret;
- the settings the core reads are the same on every running node: a hello carries the digests
  of the node's (lanchat.cluster.settings), and a hello whose digests differ from those of a
  node that said hello and is not gone is refused (its rooms are not opened, `refused` says
  why), on every node alike; the refused node stops before it opens its ports.

Effects are the core's, for every user of the cluster; the node applying them writes only to
its own connections (a remote user is a conn_id with no connection here), and keeps Queries
and Passwords of its own clients only (lanchat.cluster.node).
"""

from __future__ import annotations

import dataclasses
import time

from lanchat.cluster.events import (
    CONNECT,
    DISCONNECTED,
    GONE,
    HELLO,
    LINE,
    PASSWORD,
    TOO_LONG,
    Event,
    entry_time,
    node_of,
    read_hello,
    read_password_outcome,
)
from lanchat.cluster.redact import restore
from lanchat.cluster.settings import differing
from lanchat.config import Config
from lanchat.errors import ProtocolError
from lanchat.protocol.lines import TOO_LONG as LINE_TOO_LONG
from lanchat.protocol.message import parse
from lanchat.server.effects import Effect, Password, Persist
from lanchat.server.state import ServerState
from lanchat.store.records import AccountRecord

__all__ = ["Replica", "entry_msgid", "last_msgid"]

TICK_S = 1.0  # as lanchat.server.app.TICK_S: timeouts are whole seconds


class Replica:
    """The cluster's state as this node holds it. Not thread-safe: one event loop drives it."""

    def __init__(self, config: Config) -> None:
        """An empty cluster: no rooms (the nodes' hellos open them), no users, no accounts.

        Args:
            config: this node's configuration; the nodes of a cluster share [limits],
                [accounts], [opers] and the server password (lanchat.cluster.settings),
                or their replicas drift apart.
        """
        self.now = time.time()  # the time of the entry being applied (RPL_CREATED before one)
        self._entry = (0, 0)  # the id of the entry being applied, as (ms, seq)
        self._serial = 0  # msgids made for that entry so far
        self._last_tick = 0.0
        on_its_own = dataclasses.replace(config.server, rooms=(), key="")
        self.state = ServerState(
            dataclasses.replace(config, server=on_its_own),
            clock=self.clock,
            msgid_factory=self.new_msgid,
        )
        # The Password effect each connection waits on, until its outcome entry.
        self._passwords: dict[int, Password] = {}
        # (conn_id, Event.secret) -> the line as sent (or chunks), of this node's redacted lines.
        self._kept: dict[tuple[int, int], bytes] = {}
        self._seqs: dict[int, int] = {}  # node -> the sequence number of its last entry applied
        self._server_password = config.server.password
        # The settings digests of each node that said hello and is not gone (its hello agreed).
        self.settings: dict[int, dict[str, str]] = {}
        # Each node whose hello was refused -> the nodes it differed from, and in which parts.
        self.refused: dict[int, dict[int, list[str]]] = {}

    def keep(self, conn_id: int, secret: int, line: bytes) -> None:
        """This node appended a redacted line numbered `secret`: apply `line` in its place
        (the chunks as sent, one a line, for an entry of chunks)."""
        self._kept[conn_id, secret] = line

    def _forget(self, conn_id: int) -> None:
        """The connection is gone: the lines kept for it will not come (Redis refused them)."""
        for kept in [kept for kept in self._kept if kept[0] == conn_id]:
            del self._kept[kept]

    def clock(self) -> float:
        """The core's clock: the time of the entry being applied (Unix seconds)."""
        return self.now

    def new_msgid(self) -> str:
        """The next msgid of the entry being applied: time-sortable, the same on every node."""
        self._serial += 1
        return entry_msgid(self._entry, self._serial)

    def apply(self, entry_id: str, event: Event) -> list[Effect]:
        """Apply one entry of the log, in order; return the core's effects.

        Args:
            entry_id: the entry's stream id ("1733345000123-0"), later than the last one.
            event: the entry.

        Returns:
            The effects of the tick due before it (if one is), then the entry's own; none for
            an entry appended twice, the second time.
        """
        if event.seq:
            if event.seq <= self._seqs.get(event.node, 0):
                return []
            self._seqs[event.node] = event.seq
        self._entry = entry_time(entry_id)
        self._serial = 0
        self.now = self._entry[0] / 1000
        effects: list[Effect] = []
        if self.now - self._last_tick >= TICK_S:
            self._last_tick = self.now
            effects += self.state.tick()
        effects += self._event(event)
        for effect in effects:
            if type(effect) is Password:
                self._passwords[effect.conn_id] = effect
        return effects

    def users_of(self, node: int) -> list[int]:
        """The conn_ids of node `node`'s connections, in the order they came."""
        return [conn_id for conn_id in self.state.users if node_of(conn_id) == node]

    def nodes(self) -> set[int]:
        """The nodes that said hello and are not gone, or have a connection in the state."""
        return {node_of(conn_id) for conn_id in self.state.users} | set(self.settings)

    def differing_nodes(self, settings: dict[str, str]) -> dict[int, list[str]]:
        """The running nodes whose settings differ from `settings`, each with the parts that do."""
        out = {}
        for node, theirs in self.settings.items():
            if parts := differing(settings, theirs):
                out[node] = parts
        return out

    def _event(self, event: Event) -> list[Effect]:
        state, kind, conn_id = self.state, event.kind, event.conn_id
        if kind == LINE:
            return self._line(event)
        if kind == CONNECT:
            return state.connect(conn_id, event.data.decode())
        if kind == TOO_LONG:
            return state.reject_line(conn_id, LINE_TOO_LONG)
        if kind == DISCONNECTED:
            self._forget(conn_id)
            return state.disconnected(conn_id, event.data.decode())
        if kind == HELLO:
            names, settings = read_hello(event.data)
            if others := self.differing_nodes(settings):
                self.refused[event.node] = others
                return []
            self.settings[event.node] = settings
            return state.open_rooms(names, event.flag)
        if kind == GONE:
            self.settings.pop(int(event.data), None)
            effects: list[Effect] = []
            for gone in self.users_of(int(event.data)):
                self._passwords.pop(gone, None)
                self._forget(gone)
                effects += state.disconnected(gone, event.flag)
            return effects
        if kind == PASSWORD:
            detail, scram = read_password_outcome(event.data)
            return self._password_done(conn_id, event.flag == "1", detail, scram)
        return []  # TICK: only time went on

    def _line(self, event: Event) -> list[Effect]:
        """A LINE: the line (or the chunks) as the origin kept it, else as logged."""
        conn_id, data = event.conn_id, event.data
        if event.secret:
            kept = self._kept.pop((conn_id, event.secret), None)
            if kept is not None:
                data = kept
            elif not event.chunks:
                data = restore(data, self._server_password)
        effects: list[Effect] = []
        for line in data.split(b"\n") if event.chunks else (data,):
            try:
                msg = parse(line)
            except ProtocolError as e:
                effects += self.state.reject_line(conn_id, e)
                continue
            effects += self.state.receive(conn_id, msg)
        return effects

    def _password_done(self, conn_id: int, ok: bool, detail: str, scram: str) -> list[Effect]:
        waiting = self._passwords.pop(conn_id, None)
        if waiting is None:
            return []
        effects: list[Effect] = []
        if waiting.purpose == "register" and ok:
            # Every node stores the new account (the origin only hashed its password).
            record = AccountRecord(waiting.key, waiting.name, detail, waiting.created_s, scram)
            effects.append(Persist(record))
        return effects + self.state.password_done(waiting, ok, detail, scram)


def entry_msgid(entry: tuple[int, int], serial: int) -> str:
    """The msgid of the `serial`th message made by entry (ms, seq): hex of fixed width, so
    msgids sort as their entries do (a node's history is handed over by msgid range:
    lanchat.cluster.handoff)."""
    ms, seq = entry
    return f"{ms:012x}{seq:05x}{serial:04x}"


def last_msgid(entry_id: str) -> str:
    """A msgid after every message entry `entry_id` made, and before the next entry's."""
    return entry_msgid(entry_time(entry_id), 0xFFFF)
