"""The asyncio edge of the server: one `asyncio.Protocol` per TCP connection, and the hub that
applies the pure core's effects to sockets and to the store.

Layer: asyncio edge; may import asyncio, the pure server core, lanchat.protocol, lanchat.config
and the store's public API (StoreWriter). The IRC rules live in ServerState; this module only
moves bytes, in order, with the limits below.
Spec: https://modern.ircdocs.horse/#message-format (lines of at most 512 bytes incl. CRLF) and
https://ircv3.net/specs/extensions/message-tags (up to 8191 more bytes of tags).

What happens to received bytes::

    data_received -> LineReader.feed (bulk split) -> FloodControl (burst, then delayed)
      -> too long?  ServerState.reject_line (417, connection kept)
      -> parse      ServerState.reject_line on ProtocolError (FAIL INVALID_UTF8, NOTICE)
      -> ServerState.receive -> effects -> Hub.apply

What happens to effects (issue #2 "A message is durable before it is shown", issue #4)::

    Persist      collected per loop pass and handed to StoreWriter.persist() as one batch
                 (group commit); a barrier goes into the ordered outbox
    Publish      its records join that batch and it waits in the outbox behind the barrier;
                 committed: its Sends are written; failed: none are, and the sender gets
                 ServerState.undelivered() instead (the rest of the outbox goes out as usual)
    Send         written at once, or queued in the outbox behind an uncommitted barrier;
                 the same bytes object goes to every recipient; each connection's bytes of one
                 loop pass are joined into ONE transport.write by a single call_soon flush
    Disconnect   ordered like Send; the connection closes after its queued bytes are written
    Query        ordered like Send (so a client's history includes what it just sent), run by
                 StoreWriter.query(), the rows go to ServerState.history_result() (a failed
                 query to ServerState.history_failed())
    RoomChanged  handed straight to the app (mDNS), which is not ordered with chat lines

Policies a reader might question:
- A client that stops reading is disconnected with "SendQ exceeded" once its unsent bytes pass
  `limits.sendq_bytes`, instead of being awaited: one stuck laptop must not slow down a room
  (the websockets broadcast policy, docs/topics/broadcast.rst).
- Lines over the limit and invalid UTF-8 get a reply and the connection is kept (Ergo): a
  client with a bug should see why its line vanished, not be thrown out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from lanchat.config import Config
from lanchat.errors import ProtocolError
from lanchat.protocol.hostmask import host_for_ip
from lanchat.protocol.lines import TOO_LONG, LineReader, TooLong
from lanchat.protocol.message import parse
from lanchat.server.effects import Disconnect, Effect, Persist, Publish, Query, RoomChanged, Send
from lanchat.server.flood import FloodControl
from lanchat.server.heap import HeapTrimmer
from lanchat.store.records import HistoryRecord, RoomRecord

if TYPE_CHECKING:
    from lanchat.server.state import ServerState
    from lanchat.store.writer import StoreWriter

__all__ = ["KERNEL_SNDBUF", "Hub", "IrcConnection"]

log = logging.getLogger(__name__)
room_log = logging.getLogger("lanchat.rooms")  # the "<IP> nick #room: text" lines

SENDQ_EXCEEDED = "SendQ exceeded"
EXCESS_FLOOD = "Excess Flood"
# Transport buffer above this: pause_writing() tells us the peer is not keeping up.
_WRITE_HIGH_WATER = 64 * 1024
_WRITE_LOW_WATER = 16 * 1024
# The kernel's send buffer per connection. Linux grows it up to 4 MB on its own, which a stuck
# peer would hold on top of the SendQ; 256 KiB is still far more than a LAN's bandwidth-delay
# product, so fixing it costs no throughput and makes `sendq_bytes` the bound that matters.
# Set on the listening socket (app.py): accepted connections inherit it, so no per-connection
# system call, nor the socket object uvloop would create for it (issue #4).
KERNEL_SNDBUF = 256 * 1024
# A closed connection whose peer does not take the last bytes is aborted after this long, so a
# dead peer cannot hold a socket for the minutes TCP would retry.
_CLOSE_LINGER_S = 10.0
_AT = 0x40  # b"@": a line that starts with message tags


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
        self._dirty: list[IrcConnection] = []  # connections with bytes to write this pass
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
        copy of the message being fanned out is reordered around that QUIT.
        """
        if conn.closing:
            return
        conn.closing = True
        self.loop.call_soon(self._drop_now, conn, reason)

    def _drop_now(self, conn: IrcConnection, reason: str) -> None:
        if conn.conn_id not in self.connections:
            return  # the peer went away on its own in the meantime
        transport = conn.transport
        log.info("dropped %s (connection %d): %s", conn.ip, conn.conn_id, reason)
        if reason == SENDQ_EXCEEDED:
            # Its buffer is full and it does not read: writing more is pointless, abort.
            transport.abort()
        else:
            conn.write_pending()
            host = host_for_ip(conn.ip)
            transport.write(f"ERROR :Closing Link: {host} ({reason})\r\n".encode())
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
            # The loop over a fan-out's recipients, the only place bytes are queued: locals, no
            # method call and no byte count per recipient (it was 15 % of the samples at
            # saturation, docs/benchmarks.md). A connection's first bytes of the pass put it on
            # the dirty list; IrcConnection.flush() joins them into one write and checks the
            # SendQ. A closing connection takes nothing more (see drop()).
            data = effect.data
            get = self.connections.get
            dirty = self._dirty
            for conn_id in effect.conn_ids:
                conn = get(conn_id)
                if conn is None or conn.closing:
                    continue
                pending = conn.pending
                if pending is None:
                    conn.pending = [data]
                    dirty.append(conn)
                else:
                    pending.append(data)
            if dirty and not self._flush_scheduled:
                self._schedule_flush()
        elif type(effect) is Disconnect:
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
                    lines.append(f"<{ip}> {nick} {record.target}: {record.text}")
            if lines and not self._flush_scheduled:
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
        self._flush_scheduled = True
        self._idle.clear()
        self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """The end of a loop pass: one write per dirty connection, one log call for the rooms."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
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


class IrcConnection(asyncio.Protocol):
    """One client's TCP connection. Loop thread only; created by loop.create_server."""

    __slots__ = (
        "_flood",
        "_linger",
        "_paused",
        "_release",
        "closing",
        "conn_id",
        "hub",
        "ip",
        "pending",
        "reader",
        "transport",
    )

    def __init__(self, hub: Hub) -> None:
        flood = hub.config.flood
        self.hub = hub
        self.conn_id = 0  # 0 until accepted (a refused connection keeps 0)
        self.ip = ""  # peer IP literal
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        self.reader = LineReader(hub.max_line_bytes)
        self.closing = False  # no more bytes are queued; the transport closes soon
        # Bytes for this pass, appended by Hub._deliver and joined into one write by flush();
        # None between passes, so an idle connection holds no list (issue #4, memory per
        # connection).
        self.pending: list[bytes] | None = None
        self._paused = False  # the transport buffer is above its high-water mark
        self._flood: FloodControl[bytes | TooLong] | None = (
            FloodControl(
                burst_lines=flood.burst_lines,
                lines_per_s=flood.lines_per_s,
                max_delayed_lines=flood.max_delayed_lines,
                clock=hub.clock,
            )
            if flood.enabled
            else None
        )
        self._release: asyncio.TimerHandle | None = None  # releases delayed lines
        self._linger: asyncio.TimerHandle | None = None  # aborts a close that does not finish

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence the cast).
        self.transport = cast(asyncio.Transport, transport)
        self.hub.accept(self, self.transport)

    def data_received(self, data: bytes) -> None:
        if self.closing or not self.conn_id:
            return
        lines = self.reader.feed(data)
        if not lines:
            return
        flood = self._flood
        if flood is not None:
            lines = flood.submit(lines)
            if flood.overflowed:
                self.hub.drop(self, EXCESS_FLOOD)
                return
            if flood.waiting and self._release is None:
                self._schedule_release(flood)
        self._handle(lines)

    def eof_received(self) -> bool | None:
        return None  # close our side too (after the buffer): IRC has no half-closed connections

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._release, self._linger):
            if timer is not None:
                timer.cancel()
        self.closing = True
        if self.conn_id:
            reason = f"Connection error: {exc}" if exc else "Connection closed"
            self.hub.lost(self, reason)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False

    # ------------------------------------------------------------------ lines in

    def _handle(self, lines: list[bytes | TooLong]) -> None:
        hub, state, conn_id = self.hub, self.hub.state, self.conn_id
        limits = hub.config.limits
        max_body, max_tags = limits.max_line_bytes - 2, limits.max_tag_bytes  # without CRLF
        debug = hub.debug
        for line in lines:
            if self.closing:
                return
            if debug:
                log.debug("%d < %r", conn_id, line)
            if line is TOO_LONG:
                effects = state.reject_line(conn_id, TOO_LONG)
            else:
                assert isinstance(line, bytes)
                tags = 0
                if line[0] == _AT:  # the tags section ends after the first space
                    space = line.find(b" ")
                    tags = space + 1 if space >= 0 else len(line)
                if len(line) - tags > max_body or tags > max_tags:
                    effects = state.reject_line(conn_id, TOO_LONG)
                else:
                    try:
                        msg = parse(line)
                    except ProtocolError as e:
                        effects = state.reject_line(conn_id, e)
                    else:
                        effects = state.receive(conn_id, msg)
            hub.apply(effects)

    def _schedule_release(self, flood: FloodControl[bytes | TooLong]) -> None:
        delay = flood.delay_s()
        if delay is not None:
            self._release = self.hub.loop.call_later(delay, self._release_delayed)

    def _release_delayed(self) -> None:
        self._release = None
        flood = self._flood
        assert flood is not None
        if self.closing:
            return
        self._handle(flood.release())
        self._schedule_release(flood)

    # ------------------------------------------------------------------ bytes out

    def flush(self) -> None:
        """Write this pass's bytes in one transport.write; close if a Disconnect asked to."""
        if self.transport.is_closing():
            return
        pending = self.pending
        if pending:
            # A peer that kept up so far (buffer under the high-water mark) gets this pass's
            # bytes even if they are many: one busy moment is not a client that stopped reading.
            # Only a backed-up peer needs its bytes counted.
            if (
                self._paused
                and sum(map(len, pending)) + self.transport.get_write_buffer_size()
                > self.hub.config.limits.sendq_bytes
            ):
                self.pending = None
                self.hub.drop(self, SENDQ_EXCEEDED)
                return
            self.write_pending()
        if self.closing:
            self.close_transport()

    def write_pending(self) -> None:
        """Write whatever is queued now, as one write."""
        pending = self.pending
        if pending is None:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self.pending = None
        if self.hub.debug:
            for line in data.splitlines():
                log.debug("%d > %r", self.conn_id, line)
        self.transport.write(data)

    def finish(self, reason: str) -> None:
        """The core's Disconnect: close after writing what is already queued."""
        if self.closing:
            return
        self.closing = True
        if self.hub.debug:
            log.debug("%d closing: %s", self.conn_id, reason)
        if self.pending:
            return  # flush() writes it, then closes
        self.close_transport()

    def close_transport(self) -> None:
        """Close once the buffer is written; abort if the peer does not take it in time."""
        if self.transport.is_closing():
            return
        self.transport.close()
        self._linger = self.hub.loop.call_later(_CLOSE_LINGER_S, self.transport.abort)
