"""The hub: applies the pure core's effects to connections and to the store, in order.

Layer: asyncio edge; may import asyncio, the pure server core, lanchat.protocol, lanchat.config
and the store's public API (StoreWriter). Loop thread only.
Spec: issue #2 "A message is durable before it is shown"; issue #4 (fan-out, coalesced writes).

What happens to effects::

    Persist      collected per loop pass and handed to StoreWriter.persist() as one batch
                 (group commit); a barrier goes into the ordered outbox
    Publish      its records join that batch and it waits in the outbox behind the barrier;
                 committed: its Sends are written; failed: none are, and the sender gets
                 ServerState.undelivered() instead (the rest of the outbox goes out as usual)
    Send         written at once, or queued in the outbox behind an uncommitted barrier;
                 the same bytes object goes to every recipient; consecutive Sends to one
                 room group are joined first (lanchat.server.fanout); each connection's bytes
                 of one loop pass go out in ONE transport.write by a single call_soon flush
    Disconnect   ordered like Send; the connection closes after its queued bytes are written
    Query        ordered like Send (so a client's history includes what it just sent), run by
                 StoreWriter.query(), the rows go to ServerState.history_result() (a failed
                 query to ServerState.history_failed())
    RoomChanged  handed straight to the app (mDNS), which is not ordered with chat lines
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lanchat.config import Config
from lanchat.protocol.hostmask import host_for_ip
from lanchat.server.connection import SENDQ_EXCEEDED, IrcConnection
from lanchat.server.effects import Disconnect, Effect, Persist, Publish, Query, RoomChanged, Send
from lanchat.server.fanout import Outgoing
from lanchat.server.heap import HeapTrimmer
from lanchat.store.records import HistoryRecord, RoomRecord

if TYPE_CHECKING:
    from lanchat.server.state import ServerState
    from lanchat.store.writer import StoreWriter

__all__ = ["Hub", "peer_ip"]

log = logging.getLogger(__name__)
room_log = logging.getLogger("lanchat.rooms")  # the "<IP> nick #room: text" lines

# What the room log shows escaped (issue 13: client bytes reached the host's terminal): the
# control characters a terminal acts on (C0 and C1: ESC starts an escape sequence, BEL rings,
# CR rewrites the line; DEL) and the invisible ones that reorder or break the text after them
# (bidi embeddings, overrides and isolates, line and paragraph separators).
_CONSOLE_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    c: f"\\u{c:04x}" for c in (*range(0x2028, 0x202F), *range(0x2066, 0x206A))
}


def console_text(text: str) -> str:
    """`text` as the room log may print it: terminal controls spelled out ("\\x1b").

    Args:
        text: a line made of what clients sent (nick, room name, message).

    Returns:
        `text` itself when every character is printable, else with each control escaped.
    """
    return text if text.isprintable() else text.translate(_CONSOLE_ESCAPES)


# Transport buffer above this: pause_writing() tells us the peer is not keeping up.
_WRITE_HIGH_WATER = 64 * 1024
_WRITE_LOW_WATER = 16 * 1024


def peer_ip(peername: object) -> str:
    """The IP literal of a peer address as asyncio reports it.

    IPv4 clients of a dual-stack "::" listener appear as "::ffff:a.b.c.d"; they are shown as
    the plain IPv4 address everyone recognises.

    Args:
        peername: transport.get_extra_info("peername"): (ip, port) or (ip, port, flow, scope).

    Returns:
        The IP literal, e.g. "192.168.1.7" or "fe80::1".
    """
    ip = str(peername[0]) if isinstance(peername, tuple) and peername else "unknown"
    if ip.startswith("::ffff:") and "." in ip:
        return ip[len("::ffff:") :]
    return ip


class _Barrier:
    """A place in the outbox: what follows waits until one persist batch is committed."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False  # the batch is committed, or failed
        self.error: str | None = None  # why it failed, in a few words people can read


class _Held:
    """A Publish in the outbox, with the barrier of the batch that holds its records."""

    __slots__ = ("barrier", "publish")

    def __init__(self, publish: Publish, barrier: _Barrier) -> None:
        self.publish = publish
        self.barrier = barrier


_Outgoing = Send | Disconnect | Query | _Barrier | _Held


def _reason(error: BaseException) -> str:
    """What went wrong with the store, in the words people in a room may see.

    StoreError texts name the file and then SQLite's own words in parentheses ("cannot write
    to history database /srv/x.db (database or disk is full); check ..."); the path and the
    advice are for the operator's log, the parenthesis is for the room.
    """
    text = str(error)
    start = text.find("(")
    end = text.find(")", start)
    if 0 <= start < end:
        return text[start + 1 : end]
    return "the history database failed"


class Hub:
    """Applies effects: owns the connections, the ordered outbox and the per-pass write flush.

    Loop thread only.
    """

    def __init__(
        self,
        config: Config,
        state: ServerState,
        store: StoreWriter,
        *,
        on_room_changed: Callable[[str], None],
        debug: bool = False,
    ) -> None:
        """Create the hub for one running server.

        Args:
            config: the validated configuration (limits and flood settings are read here).
            state: the pure server core.
            store: the history store; persist() and query() are called on this loop.
            on_room_changed: called with a casefolded room name for each RoomChanged effect.
            debug: log every raw line in and out at DEBUG ("<" in, ">" out).
        """
        self.config = config
        self.state = state
        self.store = store
        self.on_room_changed = on_room_changed
        self.debug = debug
        self.loop = asyncio.get_running_loop()
        self.clock = self.loop.time  # one bound method for every connection's FloodControl
        # Whole lines of up to 512 bytes of body plus 8191 of tags, without CRLF; one int
        # object for every connection's LineReader.
        self.max_line_bytes = config.limits.max_line_bytes + config.limits.max_tag_bytes
        self.connections: dict[int, IrcConnection] = {}  # conn_id -> live connection
        self._next_id = 1  # connection ids are increasing ints, never reused
        self._per_ip: dict[str, int] = {}  # IP -> open connections (max_connections_per_ip)
        self._outbox: deque[_Outgoing] = deque()  # effects held behind uncommitted batches
        self._batch: list[HistoryRecord | RoomRecord] | None = None  # this pass's Persists
        self._batch_barrier = _Barrier()  # the outbox barrier of `_batch`
        self._in_flight = 0  # persist batches and queries the store has not answered yet
        # This pass's Sends, joined per room group, and the connections with bytes to write.
        self._outgoing = Outgoing(self.connections, self._schedule_flush)
        self._room_lines: list[str] = []  # this pass's room log lines, logged by _flush
        self._flush_scheduled = False  # _flush runs at the end of this loop pass
        self._idle = asyncio.Event()  # set whenever nothing is held, in flight or unwritten
        self._idle.set()
        self._closed = asyncio.Event()  # set whenever no connection is open
        self._closed.set()
        # Returns the memory a burst freed to the kernel once the loop is quiet (issue #4).
        self.heap = HeapTrimmer(self.loop)

    # ------------------------------------------------------------------ connections

    def accept(self, conn: IrcConnection, transport: asyncio.Transport) -> None:
        """A new TCP connection: enforce the per-IP limit, give it an id, tell the core."""
        ip = peer_ip(transport.get_extra_info("peername"))
        conn.ip = ip
        if self._per_ip.get(ip, 0) >= self.config.limits.max_connections_per_ip:
            log.info("refused a connection from %s: too many connections from that address", ip)
            transport.write(b"ERROR :Too many connections from your address\r\n")
            transport.close()
            return
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        conn.conn_id = self._next_id
        self._next_id += 1
        self.connections[conn.conn_id] = conn
        self._closed.clear()
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER, low=_WRITE_LOW_WATER)
        if self.debug:
            log.debug("%d connected from %s", conn.conn_id, ip)
        self.apply(self.state.connect(conn.conn_id, ip))

    def lost(self, conn: IrcConnection, reason: str) -> None:
        """The socket of `conn` is gone: forget it and tell the core (if it does not know)."""
        if self.connections.pop(conn.conn_id, None) is None:
            return
        left = self._per_ip[conn.ip] - 1
        if left:
            self._per_ip[conn.ip] = left
        else:
            del self._per_ip[conn.ip]
        if not self.connections:
            self._closed.set()
        if self.debug:
            log.debug("%d disconnected: %s", conn.conn_id, reason)
        self.apply(self.state.disconnected(conn.conn_id, reason))

    def drop(self, conn: IrcConnection, reason: str) -> None:
        """Disconnect `conn` for an edge limit ("SendQ exceeded", "Excess Flood").

        Safe to call in the middle of a fan-out: the connection takes no more bytes at once,
        while the core hears about it (QUIT to the rooms) in the next callback, so nobody's
        copy of the message being fanned out is reordered around that QUIT. What was sent to
        it before, and the ERROR line, are written now: the end of this pass's flush closes
        a closing connection.
        """
        if conn.closing:
            return
        if reason != SENDQ_EXCEEDED:  # a full buffer that is not read takes nothing more
            self._outgoing.queue()
            conn.write_pending()
            host = host_for_ip(conn.ip)
            conn.transport.write(f"ERROR :Closing Link: {host} ({reason})\r\n".encode())
        conn.closing = True
        self.loop.call_soon(self._drop_now, conn, reason)

    def _drop_now(self, conn: IrcConnection, reason: str) -> None:
        if conn.conn_id not in self.connections:
            return  # the peer went away on its own in the meantime
        log.info("dropped %s (connection %d): %s", conn.ip, conn.conn_id, reason)
        if reason == SENDQ_EXCEEDED:
            conn.transport.abort()  # its buffer is full and it does not read
        else:
            conn.close_transport()
        self.lost(conn, reason)

    # ------------------------------------------------------------------ effects

    def apply(self, effects: Sequence[Effect]) -> None:
        """Apply the core's effects in order (see the module docstring). Loop thread only."""
        outbox = self._outbox
        for effect in effects:
            if isinstance(effect, Publish):
                for record in effect.records:
                    self._persist(record)
                outbox.append(_Held(effect, self._batch_barrier))
            elif isinstance(effect, Persist):
                self._persist(effect.record)
            elif isinstance(effect, RoomChanged):
                self.on_room_changed(effect.key)
            elif outbox:
                outbox.append(effect)
            else:
                self._deliver(effect)

    def _deliver(self, effect: Send | Disconnect | Query) -> None:
        if type(effect) is Send:
            self._outgoing.send(effect)
        elif type(effect) is Disconnect:
            self._outgoing.queue()  # what it was sent before goes out before it closes
            conn = self.connections.get(effect.conn_id)
            if conn is not None:
                conn.finish(effect.reason)
        else:
            assert isinstance(effect, Query)
            self._query(effect)

    def _persist(self, record: HistoryRecord | RoomRecord) -> None:
        if self._batch is None:
            self._batch = []
            self._batch_barrier = _Barrier()
            self._outbox.append(self._batch_barrier)
            self._idle.clear()
            self.loop.call_soon(self._commit)
        self._batch.append(record)

    def _commit(self) -> None:
        records, barrier = self._batch, self._batch_barrier
        self._batch = None
        assert records is not None
        self._in_flight += 1
        future = self.store.persist(records)
        future.add_done_callback(lambda f: self._committed(barrier, f))

    def _committed(self, barrier: _Barrier, future: asyncio.Future[None]) -> None:
        self._in_flight -= 1
        error = None if future.cancelled() else future.exception()
        if error is not None:
            # Its messages are not shown (the senders are told); room changes still are.
            log.error("lanchat: error: messages not delivered, could not store them: %s", error)
            barrier.error = _reason(error)
        barrier.done = True
        self._pump()

    def _pump(self) -> None:
        outbox = self._outbox
        while outbox:
            head = outbox[0]
            if type(head) is _Barrier:
                if not head.done:
                    return
                outbox.popleft()
                continue
            outbox.popleft()
            if type(head) is _Held:
                self._release(head)
                continue
            assert not isinstance(head, _Barrier | _Held)
            self._deliver(head)
        self._check_idle()

    def _release(self, held: _Held) -> None:
        """A Publish whose batch is done: show it, or tell its sender it was not stored."""
        publish, error = held.publish, held.barrier.error
        if error is None:
            for send in publish.shown:
                self._deliver(send)
            # The room log shows what the room saw: logged once shown, never if lost.
            lines = self._room_lines
            for record in publish.records:
                if record.command != "TAGMSG" and record.target_key[:1] == "#":
                    nick, _, rest = record.source.partition("!")
                    ip = rest.rpartition("@")[2]
                    lines.append(console_text(f"<{ip}> {nick} {record.target}: {record.text}"))
            if lines:
                self._schedule_flush()
            return
        for effect in self.state.undelivered(publish, error):
            assert isinstance(effect, Send)  # only the sender's error, in the message's place
            self._deliver(effect)

    def _query(self, effect: Query) -> None:
        self._in_flight += 1
        self._idle.clear()
        future = self.store.query(effect.query)
        future.add_done_callback(lambda f: self._answered(effect, f))

    def _answered(self, effect: Query, future: asyncio.Future[list[HistoryRecord]]) -> None:
        self._in_flight -= 1
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is None:
            self.apply(self.state.history_result(effect, future.result()))
        else:
            log.error("lanchat: error: history query failed: %s", error)
            self.apply(self.state.history_failed(effect, _reason(error)))
        self._check_idle()

    # ------------------------------------------------------------------ writes

    def _schedule_flush(self) -> None:
        """Run _flush once, after the callbacks already queued for this loop pass."""
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        self._idle.clear()
        self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """The end of a loop pass: one write per dirty connection, one log call for the rooms."""
        self._flush_scheduled = False
        for conn in self._outgoing.take_dirty():
            conn.flush()
        if self._room_lines:
            # One LogRecord per pass, one line per message ("%(message)s" on stdout, so the
            # output is the same as a record per message): building, formatting and writing a
            # record per message was 10 % of the samples at saturation (docs/benchmarks.md).
            room_log.info("\n".join(self._room_lines))
            self._room_lines = []
        self.heap.busy()
        self._check_idle()

    def _check_idle(self) -> None:
        if (
            not self._outbox
            and self._batch is None
            and not self._in_flight
            and not self._flush_scheduled
        ):
            self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until every held effect is delivered, every batch committed, every byte written.

        Loop thread only.
        """
        await self._idle.wait()

    async def wait_closed(self) -> None:
        """Wait until no connection is open. Loop thread only."""
        await self._closed.wait()

    def abort_all(self) -> None:
        """Abort every connection still open (the end of a shutdown). Loop thread only."""
        self.heap.close()
        for conn in list(self.connections.values()):
            conn.transport.abort()
