"""The hub: applies the pure core's effects to connections and to the store, in order.

Layer: asyncio edge; may import asyncio, the pure server core, lanchat.protocol, lanchat.config,
lanchat.server.delivery and the store's public API (StoreWriter); never the connections, which
call it (connection -> state -> hub -> delivery -> transport, issue 19). Loop thread only.
Spec: issue #2 "A message is durable before it is shown"; issue #4 (fan-out, coalesced writes).

What happens to effects::

    Persist      collected per loop pass and handed to StoreWriter.persist() as one batch
                 (group commit); a barrier goes into the ordered outbox; a commit that comes
                 back hands over the batch being collected and waits for the batches with the
                 writer, which are then written in the same pass (Hub._committed, issue 19)
    Publish      its records join that batch and it waits in the outbox behind the barrier;
                 committed: its Sends are written; failed: none are, and the sender gets
                 ServerState.undelivered() instead (the rest of the outbox goes out as usual)
    Send         handed to Delivery at once, or queued in the outbox behind an uncommitted
                 barrier; Delivery writes the same bytes object to every recipient, joins
                 consecutive Sends to one room group first, and writes each connection's
                 bytes of one loop pass in ONE transport.write (lanchat.server.delivery)
    Disconnect   ordered like Send; the connection closes after its queued bytes are written
    Query        ordered like Send (so a client's history includes what it just sent), run by
                 StoreWriter.query(), the rows go to ServerState.history_result() (a failed
                 query to ServerState.history_failed())
    Password     ordered like Send; scrypt runs on its own thread (never the loop: issue 17),
                 a new account is then stored through StoreWriter.persist(); the outcome goes
                 to ServerState.password_done()
    RoomChanged  handed straight to the app (mDNS), which is not ordered with chat lines

A cluster node's hub (`cluster` set, issue 20) hands what its connections do (connect, lines,
disconnect, password outcomes) to the bus instead of the core; the core hears of them, as every
node's does, from the cluster's log, and its effects come back here (lanchat.cluster.node).

Limits kept here, for every transport (issue 13): who may connect (lanchat.server.admission),
each address's flood budget across its connections (FloodLedger), and the flood cost of a
history Query: charged to the asker for the lines it may return when the Query is applied, so
the lines it sent after it wait, and the unused part given back when the rows arrive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from lanchat.config import Config
from lanchat.passwords import account_secrets, verify_password
from lanchat.protocol.lines import LineLimits, TooLong
from lanchat.scram import server_final
from lanchat.server.admission import TOO_MANY_UNREGISTERED, Admission
from lanchat.server.delivery import Delivery, Outbound
from lanchat.server.effects import (
    Disconnect,
    Effect,
    FilesRedacted,
    Password,
    Persist,
    Publish,
    Query,
    RoomChanged,
    Send,
    Stored,
)
from lanchat.server.flood import FloodControl, FloodLedger
from lanchat.server.heap import HeapTrimmer
from lanchat.store.records import AccountRecord, HistoryRecord

if TYPE_CHECKING:
    from lanchat.cluster import Bus
    from lanchat.server.state import ServerState
    from lanchat.store.writer import StoreWriter

__all__ = ["Hub", "Inbound", "peer_ip"]

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


# Open files the server needs besides its connections: the database and its WAL, listening
# and mDNS sockets, stdout, the event loop's own descriptors, with room to spare.
RESERVED_FILES = 64
# History answers waiting to be rendered are rendered at most this many lines a second (about
# a quarter of the loop at ~25 us a line), and not paced at all past this many waiting lines
# (Hub._answer_next). Scheduling, not a per-client policy: the per-client limit is the flood
# charge ([flood] history_lines_per_flood_line).
_HISTORY_RENDER_LINES_PER_S = 10_000
_HISTORY_BACKLOG_LINES = 100_000


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


class Inbound(Protocol):
    """What the hub needs of a connection's inbound side (lanchat.server.connection)."""

    ip: str  # the peer's IP literal, as Hub.accept gave it
    flood: FloodControl[bytes | TooLong] | None  # its flood budget (Hub.flood_budget)

    def charge(self, lines: float) -> None:
        """Spend `lines` of the flood budget at once (a history reply's cost)."""

    def refund(self, lines: float) -> None:
        """Give back budget charged in advance; delayed lines go as soon as it allows."""


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


_Outgoing = Send | Disconnect | Query | Password | _Barrier | _Held


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
        open_files: int | None = None,
    ) -> None:
        """Create the hub for one running server.

        Args:
            config: the validated configuration (limits and flood settings are read here).
            state: the pure server core.
            store: the history store; persist() and query() are called on this loop.
            on_room_changed: called with a casefolded room name for each RoomChanged effect.
            debug: log every raw line in and out at DEBUG ("<" in, ">" out).
            open_files: the process's open-file limit (RLIMIT_NOFILE), or None if unknown:
                connections are capped at it less RESERVED_FILES, unregistered ones at half.
        """
        self.config = config
        self.state = state
        self.store = store
        self.on_room_changed = on_room_changed
        self.debug = debug
        self.loop = asyncio.get_running_loop()
        self.clock = self.loop.time  # one bound method for every connection's FloodControl
        # What a client's line may hold (one object for every connection's LineReader):
        # [limits] max_line_bytes counts the CRLF, LineLimits does not.
        self.line_limits = LineLimits(
            max_body_bytes=config.limits.max_line_bytes - 2,
            max_tags_bytes=config.limits.max_tag_bytes,
        )
        self.max_line_bytes = self.line_limits.max_line_bytes  # tags + body, without CRLF
        self.connections: dict[int, Inbound] = {}  # conn_id -> live connection
        self._next_id = 1  # connection ids are increasing ints, never reused
        limits = config.limits
        max_connections = limits.max_connections
        if open_files is not None:
            max_connections = max(1, min(max_connections, open_files - RESERVED_FILES))
        # Who may connect (issue 13 item 7), and each address's flood budget (item 8).
        self.admission = Admission(
            max_per_address=limits.max_connections_per_ip,
            max_connections=max_connections,
            max_unregistered=max(1, min(limits.max_unregistered_connections, max_connections // 2)),
            clock=self.clock,
        )
        self.floods = FloodLedger(config.flood, clock=self.clock)
        self._outbox: deque[_Outgoing] = deque()  # effects held behind uncommitted batches
        self._batch: list[Stored] | None = None  # Persists
        self._batch_barrier = _Barrier()  # the outbox barrier of `_batch`
        self._in_flight = 0  # persist batches and queries the store has not answered yet
        self._committing = 0  # persist batches the store has not answered yet
        self._handed = self._batch_barrier  # the barrier of the last batch handed to the store
        self._held_until: _Barrier | None = None  # _committed waits for this batch (_committed)
        # Answered queries not rendered yet, oldest first, and their rows (_answer_next).
        self._answers: deque[tuple[Query, asyncio.Future[list[HistoryRecord]]]] = deque()
        self._answer_lines = 0
        self._idle = asyncio.Event()  # set whenever nothing is held, in flight or unwritten
        self._idle.set()
        self._closed = asyncio.Event()  # set whenever no connection is open
        self._closed.set()
        # Every connection's output: this pass's Sends joined per room group, one write per
        # connection at the end of the pass (_pass_end follows it), closes and drops.
        self.delivery = Delivery(
            sendq_bytes=limits.sendq_bytes,
            on_busy=self._idle.clear,
            on_pass_end=self._pass_end,
            on_dropped=self._dropped,
            debug=debug,
        )
        self._room_lines: list[str] = []  # this pass's room log lines, logged by _pass_end
        # The upload URL for a connection's local address (draft/FILEHOST, issue 21), set by
        # the web site when files are on: each client gets an address it can reach.
        self.filehost_url: Callable[[object], str] | None = None
        self.on_files_redacted: Callable[[FilesRedacted], None] | None = None  # and this
        # Returns the memory a burst freed to the kernel once the loop is quiet (issue #4).
        self.heap = HeapTrimmer(self.loop)
        # scrypt, one hash at a time (16 MiB each): a registration storm queues here and
        # costs other users one core at most, never the loop (issue 17, docs/benchmarks.md).
        self._passwords = concurrent.futures.ThreadPoolExecutor(1, "lanchat-passwords")
        self._password_tasks: set[asyncio.Task[None]] = set()  # checks running, kept alive
        # A cluster node's bus (issue 20): its connections' events go to the cluster's log, and
        # the core hears of them from there (lanchat.cluster). None: one server on its own.
        self.cluster: Bus | None = None

    # ------------------------------------------------------------------ connections

    def accept(self, conn: Inbound, transport: asyncio.Transport) -> Outbound | None:
        """A new connection: admit it or not; if so, give it an id and tell the core.

        Returns:
            Its outgoing side (Outbound.conn_id is its id), or None if it is refused (it
            has been told why and is closing).
        """
        ip = peer_ip(transport.get_extra_info("peername"))
        conn_id = self._next_id
        verdict = self.admission.admit(conn_id, ip, self._settled)
        if verdict.refused:
            transport.write(f"ERROR :{verdict.refused}\r\n".encode())
            transport.close()
            return None
        if verdict.evict:
            self.drop(verdict.evict, TOO_MANY_UNREGISTERED)
        self._next_id += 1
        self.connections[conn_id] = conn
        self._closed.clear()
        out = self.delivery.open(conn_id, ip, transport)
        if self.debug:
            log.debug("%d connected from %s", conn_id, ip)
        url = ""
        if self.filehost_url is not None:
            url = self.filehost_url(transport.get_extra_info("sockname"))
        if self.cluster is not None:
            self.cluster.connect(conn_id, ip, url)
            return out
        self.apply(self.state.connect(conn_id, ip))
        self.state.users[conn_id].filehost = url
        return out

    def number_connections_from(self, first: int) -> None:
        """Give the next connections ids from `first` on (a cluster node's own range)."""
        self._next_id = first

    def flood_budget(self, ip: str) -> FloodControl[bytes | TooLong] | None:
        """A new connection's flood budget, drawn from its address's (FloodLedger, item 8).

        None with [flood] enabled = false. `lost` gives it back.
        """
        return self.floods.open(ip) if self.config.flood.enabled else None

    def lost(self, conn_id: int, reason: str) -> None:
        """The socket of `conn_id` is gone: forget it and tell the core (if it does not know)."""
        conn = self.connections.pop(conn_id, None)
        if conn is None:
            return
        self.delivery.forget(conn_id)
        self.admission.closed(conn_id, conn.ip)
        if conn.flood is not None:
            self.floods.close(conn.ip, conn.flood)
        if not self.connections:
            self._closed.set()
        if self.debug:
            log.debug("%d disconnected: %s", conn_id, reason)
        if self.cluster is not None:
            self.cluster.disconnected(conn_id, reason)
        else:
            self.apply(self.state.disconnected(conn_id, reason))

    def _settled(self, conn_id: int) -> bool:
        """Whether an admitted connection has registered or gone (Admission asks)."""
        user = self.state.users.get(conn_id)
        return user is None or user.registered

    def drop(self, conn_id: int, reason: str) -> None:
        """Disconnect `conn_id` for an edge limit ("Excess Flood"; Delivery drops "SendQ
        exceeded" itself): it takes no more bytes, and the core hears of it next callback."""
        self.delivery.drop(conn_id, reason)

    def _dropped(self, conn_id: int, reason: str) -> None:
        """Delivery closed a dropped connection: log it, and tell the core (QUIT to rooms)."""
        conn = self.connections.get(conn_id)
        if conn is None:
            return
        if reason != TOO_MANY_UNREGISTERED:  # Admission logs those, a line per 10 s at most
            log.info("dropped %s (connection %d): %s", conn.ip, conn_id, reason)
        self.lost(conn_id, reason)

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
            elif isinstance(effect, FilesRedacted):
                if self.on_files_redacted is not None:
                    self.on_files_redacted(effect)
            else:
                if type(effect) is Query:
                    self._charge(effect)
                if outbox:
                    outbox.append(effect)
                else:
                    self._deliver(effect)

    def _deliver(self, effect: Send | Disconnect | Query | Password) -> None:
        if type(effect) is Send:
            self.delivery.send(effect)
        elif type(effect) is Disconnect:
            self.delivery.finish(effect.conn_id, effect.reason)
        elif type(effect) is Password:
            self._in_flight += 1
            self._idle.clear()
            task = self.loop.create_task(self._password(effect))
            self._password_tasks.add(task)
            task.add_done_callback(self._password_tasks.discard)
        else:
            assert isinstance(effect, Query)
            self._query(effect)

    def _persist(self, record: Stored) -> None:
        if self._batch is None:
            self._batch = []
            self._batch_barrier = _Barrier()
            self._outbox.append(self._batch_barrier)
            self._idle.clear()
            self.loop.call_soon(self._commit)
        self._batch.append(record)

    def _commit(self) -> None:
        records, barrier = self._batch, self._batch_barrier
        if records is None:
            return  # _committed handed it over already
        self._batch = None
        self._in_flight += 1
        self._committing += 1
        self._handed = barrier
        future = self.store.persist(records)
        future.add_done_callback(lambda f: self._committed(barrier, f))

    def _committed(self, barrier: _Barrier, future: asyncio.Future[None]) -> None:
        """A batch is committed (or failed): write what it held back, with the batches after it.

        The batches already with the writer thread when it comes back, and the one being
        collected (handed over now), come back within about one commit; what they hold is
        written with it, in one pass, instead of in a pass of their own after this one's
        writes. In the big room (issue 19) a pass writes to 2,000 sockets in 15-40 ms, and a
        batch read while the one before it was being committed waited for that pass and then
        for its own. Only the batches handed over by then are waited for, so a steady stream
        of commits cannot hold the writes back. Then the writes go out at once (Delivery.flush)
        rather than after another poll of the sockets.

        The wait idles the loop for about one commit's round trip. A wait only where passes
        are long (4 round trips or more) was tried, for fan-out saturation's 1-2 ms passes:
        under a busy machine's long round trips it seldom waited in the big room either, and
        fan-out's deliveries/s did not show the loss it was meant to avoid (docs/benchmarks.md).
        """
        self._in_flight -= 1
        self._committing -= 1
        error = None if future.cancelled() else future.exception()
        if error is not None:
            # Its messages are not shown (the senders are told); room changes still are.
            log.error("lanchat: error: messages not delivered, could not store them: %s", error)
            barrier.error = _reason(error)
        barrier.done = True
        if self._held_until is None:
            self._commit()  # the batch being collected, if any
            if self._committing:
                self._held_until = self._handed
                return
        elif barrier is not self._held_until:
            return
        self._held_until = None
        self._pump()
        self.delivery.flush()

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
                self.delivery.schedule_flush()  # _pass_end logs them
            return
        for effect in self.state.undelivered(publish, error):
            assert isinstance(effect, Send)  # only the sender's error, in the message's place
            self._deliver(effect)

    def _history_cost(self, lines: int) -> float:
        return lines / self.config.flood.history_lines_per_flood_line

    def _charge(self, effect: Query) -> None:
        """Charge the asker's flood budget for the most lines `effect` may return (item 9)."""
        conn = self.connections.get(effect.conn_id)
        if conn is not None:
            conn.charge(self._history_cost(effect.query.limit))

    def _refund(self, effect: Query, returned: int) -> None:
        """Give back the part of `_charge` that the rows did not use."""
        conn = self.connections.get(effect.conn_id)
        unused = effect.query.limit - returned
        if conn is not None and unused > 0:
            conn.refund(self._history_cost(unused))

    def _query(self, effect: Query) -> None:
        self._in_flight += 1
        self._idle.clear()
        future = self.store.query(effect.query)
        future.add_done_callback(lambda f: self._answered(effect, f))

    def _answered(self, effect: Query, future: asyncio.Future[list[HistoryRecord]]) -> None:
        """A query is answered: queue it for `_answer_next`, which paces the renders."""
        if not future.cancelled() and future.exception() is None:
            self._answer_lines += len(future.result())
        self._answers.append((effect, future))
        if len(self._answers) == 1:
            self.loop.call_soon(self._answer_next)

    def _answer_next(self) -> None:
        """Render the oldest answered query; the next waits as long as this one's lines allow.

        A 1,000-line answer takes ~25 ms to render (a 2-core machine, docs/benchmarks.md);
        16 of them arriving together (16 clients asking at once, issue 13 item 9) held the
        loop for 0.4 s, and every other client's line waited behind them. While answers queue
        up, the next one is rendered only after `_HISTORY_RENDER_LINES_PER_S` allows for this
        one's lines, so chat goes on between them; a lone answer is rendered at once. Past
        `_HISTORY_BACKLOG_LINES` queued lines the pause is skipped, so memory stays bounded
        when history is asked for faster than any pacing could serve.
        """
        effect, future = self._answers.popleft()
        self._in_flight -= 1
        rendered = 0
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is None:
            records = future.result()
            self._answer_lines -= len(records)
            self._refund(effect, len(records))
            effects = self.state.history_result(effect, records)
            rendered = len(records) if effects else 0  # nothing for a client that has gone
            self.apply(effects)
        else:
            self._refund(effect, 0)
            log.error("lanchat: error: history query failed: %s", error)
            self.apply(self.state.history_failed(effect, _reason(error)))
        if self._answers:
            pause_s = rendered / _HISTORY_RENDER_LINES_PER_S
            if self._answer_lines > _HISTORY_BACKLOG_LINES:
                pause_s = 0.0
            self.loop.call_later(pause_s, self._answer_next)
        self._check_idle()

    async def _password(self, effect: Password) -> None:
        """Check or hash a password on the password thread; store a new account; report."""
        ok, detail, scram = False, "", ""
        try:
            if effect.purpose == "scram":
                detail = server_final(effect.password, effect.stored)
                ok = bool(detail)
            elif effect.stored:
                ok = await self.loop.run_in_executor(
                    self._passwords, verify_password, effect.password, effect.stored
                )
            else:
                detail, scram = await self.loop.run_in_executor(
                    self._passwords, account_secrets, effect.password
                )
                if self.cluster is None:  # a cluster's nodes store it from the log
                    record = AccountRecord(effect.key, effect.name, detail, effect.created_s, scram)
                    await self.store.persist([record])
                ok = True
        except Exception as error:  # a failed store is the client's error, not the server's
            log.error("lanchat: error: account %r not stored: %s", effect.name, error)
            ok, detail = False, _reason(error)
        finally:
            self._in_flight -= 1
        if self.cluster is not None:
            self.cluster.password_done(effect, ok, detail, scram)
        else:
            self.apply(self.state.password_done(effect, ok, detail, scram))
        self._check_idle()

    # ------------------------------------------------------------------ the end of a pass

    def _pass_end(self) -> None:
        """Delivery wrote this pass's bytes: one log call for the rooms, then maybe idle."""
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
            and self.delivery.flush_handle is None
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
        self._passwords.shutdown(wait=False, cancel_futures=True)
        self.delivery.abort_all()
