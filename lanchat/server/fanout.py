"""One loop pass of outgoing bytes: Sends gathered per recipient group, then queued per member.

Layer: asyncio edge (it fills IrcConnection.pending); imports lanchat.server.effects only.
Loop thread only. Spec: issue #4 ("serialise a broadcast once and write the same bytes to every
recipient"; "keep per-message work off the fan-out path").

A room message's Send names the room's cached group of members (Room.by_form: the same tuple
object for every message until the membership changes) and skips its sender. Consecutive Sends
to one group form a run; when the run is queued its bytes are joined once, so every member but
the senders appends one shared bytes object however many messages the run holds; a sender
gets its own copies (echo-message) and replies in its messages' places. Before, each
message walked every member (14 % of the samples at fan-out saturation, docs/benchmarks.md).

Order: runs of different groups may be open together only while they share no connection, so
a Send to anyone already in an open run queues the open runs first. Every client therefore
reads its lines in the order the core produced them: private lines between room lines, mixed
tag forms, echo-message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lanchat.server.effects import Send

if TYPE_CHECKING:
    from lanchat.server.connection import IrcConnection

__all__ = ["Outgoing"]


class _Run:
    """Consecutive Sends to one group of connections, not yet queued on them."""

    __slots__ = ("conn_ids", "data", "insteads", "skips")

    def __init__(self, conn_ids: tuple[int, ...]) -> None:
        self.conn_ids = conn_ids  # the Sends' shared tuple: a room's cached group, or one Send's
        self.data: list[bytes] = []  # each Send's bytes, in order
        self.skips: list[int] = []  # each Send's skip (its sender, or 0)
        self.insteads: list[bytes] = []  # what each Send's skip gets instead


class Outgoing:
    """This pass's Sends: gathered in runs by `send`, queued on connections by `queue`."""

    __slots__ = ("_connections", "_members", "_on_first", "_runs", "dirty")

    def __init__(self, connections: dict[int, IrcConnection], on_first: Callable[[], None]) -> None:
        """Start with nothing gathered.

        Args:
            connections: the live connections by conn_id (the hub's dict, read at queue time).
            on_first: called when a pass gets its first run: schedule the flush.
        """
        self._connections = connections
        self._on_first = on_first
        self._runs: dict[int, _Run] = {}  # id() of the group tuple -> its open run
        self._members: set[int] | None = None  # the open runs' conn_ids, once 2+ groups are open
        self.dirty: list[IrcConnection] = []  # connections with pending bytes this pass

    def send(self, send: Send) -> None:
        """Add `send` to the run of its group, opening one if needed."""
        run = self._runs.get(id(send.conn_ids))
        if run is None:
            run = self._open(send.conn_ids)
        run.data.append(send.data)
        run.skips.append(send.skip)
        run.insteads.append(send.instead)

    def _open(self, conn_ids: tuple[int, ...]) -> _Run:
        runs = self._runs
        if runs:
            members = self._members
            if members is None:
                members = set()
                for run in runs.values():
                    members.update(run.conn_ids)
            if members.isdisjoint(conn_ids):
                members.update(conn_ids)
                self._members = members
            else:
                self.queue()  # a connection in two open runs could read them out of order
        else:
            self._on_first()
        run = _Run(conn_ids)
        self._runs[id(conn_ids)] = run
        return run

    def queue(self) -> None:
        """Queue the bytes of every open run on its connections: the fan-out loop.

        The only place bytes are queued, and the only loop over a fan-out's recipients: locals,
        no method call and no byte count per recipient. A connection's first bytes of the pass
        put it on `dirty`; IrcConnection.flush() writes them in one write and checks the SendQ.
        A closing connection takes nothing more (Hub.drop).
        """
        runs = self._runs
        if not runs:
            return
        self._runs = {}
        self._members = None
        get = self._connections.get
        dirty = self.dirty
        for run in runs.values():
            datas, skips = run.data, run.skips
            data = datas[0] if len(datas) == 1 else b"".join(datas)
            skipped = set(skips)
            skipped.discard(0)
            for conn_id in run.conn_ids:
                conn = get(conn_id)
                if conn is None or conn.closing:
                    continue
                out = data
                if conn_id in skipped:
                    mine = zip(datas, skips, run.insteads, strict=True)
                    out = b"".join([own if skip == conn_id else d for d, skip, own in mine])
                    if not out:
                        continue
                pending = conn.pending
                if pending is None:
                    conn.pending = [out]
                    dirty.append(conn)
                else:
                    pending.append(out)

    def take_dirty(self) -> list[IrcConnection]:
        """Queue what is open and hand over the connections to write; the pass starts anew."""
        self.queue()
        dirty, self.dirty = self.dirty, []
        return dirty
