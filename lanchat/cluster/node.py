"""One node of a cluster: its events go to the Redis stream, the stream comes back to its core.

Layer: asyncio edge; with lanchat.cluster.compaction and .handoff, the modules that import
redis (an import-linter contract holds it), and only `lanchat serve --cluster` imports them.
docs/cluster.md has the design, the ordering and durability argument and the failure cases;
in short:

- Whatever a connection of this node does (connects, sends a line, goes away) is appended to
  the cluster's one stream (XADD, pipelined, in the order it happened here), and nothing else:
  the core hears of it when the entry comes back.
- One task reads the stream (XREAD BLOCK) from the last entry applied, and hands each entry to
  the Replica, in the stream's order; the hub applies the effects: writes to this node's
  connections only, the node's SQLite copy of the history (with the entry's msgid and time, and
  the stream position in the same transaction), mDNS.
- A room message is therefore shown to nobody before Redis has it (with appendfsync always, on
  its disk), and before this node's SQLite has it.
- Each node counts its heartbeats in Redis (HINCRBY); a node that sees another's count stand
  still for node_timeout_s appends "node gone", and every node makes that node's users quit.
- A node's hello carries the digests of the settings every node must share
  (lanchat.cluster.settings); every replica refuses one that differs from the running nodes',
  and the node stops before opening a port. A node taken for gone (paused, cut off from
  Redis) continues under a new number with a hello of its own; refused then, it stops too
  (on_failure: the server shuts down and exits 2 with the same line).
- Now and then one node stores a snapshot of its replica and the log is trimmed behind it
  (lanchat.cluster.compaction); a node starts from the newest snapshot, and has the history
  before it handed over by a live node (lanchat.cluster.handoff). Each read of the log comes
  with the trim point: a node the log was trimmed past starts over from the snapshot.
- Redis unreachable: lines are refused with a sentence saying so (the core never saw them, so
  nothing anyone was shown is lost), clients are told once, and the tasks retry until Redis is
  back, then resume from the last entry applied.

Exactly once: each entry carries this node's sequence number. A pipeline whose answer was lost
(the connection broke after Redis stored it, or before it got there) is not refused: once Redis
answers, the node reads the stream after the position it had applied when it sent it, finds
which of those entries are there (node and number), and appends the others again, in order,
before anything newer of its own; every node applies an entry appended twice only once
(lanchat.cluster.replica). Senders are told only if Redis stays away for _UNSURE_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias, cast
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from lanchat.cluster.compaction import LOG_KEY, Compaction, behind
from lanchat.cluster.events import (
    CONNECT,
    DISCONNECTED,
    GONE,
    HELLO,
    LINE,
    NODE_SHIFT,
    PASSWORD,
    TICK,
    TOO_LONG,
    Event,
    hello_data,
    newer,
    password_outcome,
)
from lanchat.cluster.handoff import Handoff
from lanchat.cluster.liveness import Liveness
from lanchat.cluster.redact import SaslChunks
from lanchat.cluster.replica import TICK_S, Replica
from lanchat.cluster.settings import digests, refusal
from lanchat.config import Config
from lanchat.errors import ClusterError, ProtocolError
from lanchat.protocol.lines import TooLong
from lanchat.protocol.message import Message, parse
from lanchat.server.effects import Effect, Password, Persist, Query, RoomChanged, Send
from lanchat.server.hub import Hub
from lanchat.store.records import StreamPosition

__all__ = ["RedisBus", "without_password"]

log = logging.getLogger(__name__)

# The keys of a cluster, in the Redis database of its URL.
# LOG_KEY, the stream (lanchat.cluster.compaction: the module below this one defines it).
ID_KEY = "lanchat:id"  # the cluster's random id (SET NX by the first node)
NODES_KEY = "lanchat:nodes"  # INCR: each node (each start of one) gets the next number


# Stream entries as redis-py gives them (RESP2, bytes): (id, {field: value}), in order.
_Entries: TypeAlias = Sequence[tuple[bytes, dict[bytes, bytes]]]
# What happens to an event that will not reach the log, given the sentence for its sender
# (None in its place: the event waits for Redis, however long).
_Failed: TypeAlias = Callable[[str], None]


BEATS_KEY = "lanchat:beats"  # hash: node number -> heartbeats so far (HINCRBY)


_READ_COUNT = 1000  # entries per XREAD / XRANGE
_BLOCK_MS = 1000  # XREAD BLOCK: the reader wakes at least this often
_RETRY_S = 0.5  # pause between attempts while Redis is unreachable
_IO_TIMEOUT_S = 5.0  # a Redis that does not answer this long is unreachable
_CLOSE_TIMEOUT_S = 5.0  # shutdown: longest wait for the last events to reach Redis
# How long a line whose XADD failed waits for Redis to answer again (and say whether it has the
# line) before its sender is told: as long as a command waits for an answer.
_UNSURE_S = _IO_TIMEOUT_S

NOT_SENT = (
    "The cluster's message store is unreachable, so your message was not sent; try again shortly"
)
UNSURE = (
    "The cluster's message store stopped answering while it was storing your message, so it "
    "may or may not have been sent; look at the room before sending it again"
)
DOWN = (
    "The cluster's message store is unreachable: nothing can be sent until it is back "
    "(whoever runs the room is told too)"
)
BACK = "The cluster's message store is back: you can send again"
REFUSED = "the cluster's message store is unreachable; try again shortly"
REJOINING = "this server is joining the cluster again; try again shortly"
EXPELLED = "this server lost touch with the cluster for a while; connect again"
SHUTDOWN = "Server shutting down"


class RedisBus:
    """The cluster bus over Redis (the `Bus` of lanchat.cluster). Loop thread only."""

    def __init__(
        self,
        config: Config,
        replica: Replica,
        hub: Hub,
        on_failure: Callable[[ClusterError], None],
    ) -> None:
        """Prepare the node; `start()` connects.

        Args:
            config: the validated configuration ([cluster] url and node_timeout_s).
            replica: the node's replica; `hub` applies the effects of its core.
            hub: the node's hub, whose `cluster` becomes this bus.
            on_failure: called, once started, when this node cannot go on (back after it was
                taken for gone, its hello was refused: the running nodes have other
                settings); the server then stops, with the error's one line, as at start-up.
        """
        self.config = config
        self.replica = replica
        self.hub = hub
        self.on_failure = on_failure
        self.url = without_password(config.cluster.url)  # as logs and errors show it
        self.timeout_s = config.cluster.node_timeout_s
        # One retry, without a pause: a connection the pool kept across a Redis restart
        # fails once, and the retry reconnects (a pipeline it repeats is applied once:
        # Event.seq, docs/cluster.md "An XADD whose answer was lost").
        self.redis = aioredis.Redis.from_url(
            config.cluster.url,
            socket_timeout=_IO_TIMEOUT_S + _BLOCK_MS / 1000,
            socket_connect_timeout=_IO_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        self.loop = asyncio.get_running_loop()
        self.cluster_id = ""  # the cluster's random id, known after start()
        self.node = 0  # this node's number, known after start()
        self.settings: dict[str, str] = {}  # this node's settings digests, known after start()
        self.position: str | None = None  # the last entry stored in SQLite
        self.last_id = "0-0"  # the last entry applied
        self.reachable = True  # the last Redis call succeeded
        self._beaten_at = 0.0  # loop time of the last heartbeat
        # The heartbeats heard: looked at every third of the timeout (at most a second late).
        look_every_s = self.timeout_s / 3 + _BLOCK_MS / 1000
        self.liveness = Liveness(self.timeout_s, look_every_s)
        self._applied_at = 0.0  # loop time an entry was last applied
        self._queue: list[tuple[Event, _Failed | None]] = []  # to append, in order
        self._wake = asyncio.Event()  # the queue has events
        # Appended, but the answer was lost: which of them Redis has is not known yet.
        self._unsure: list[tuple[Event, _Failed | None]] = []
        self._unsure_after = "0-0"  # the last entry applied when they were sent
        self._failing_since: float | None = None  # loop time the first of them failed
        self._seqs = itertools.count(1)  # this node's numbers for its entries (Event.seq)
        self._secrets = itertools.count(1)  # numbers of redacted lines (Event.secret)
        self._chunks = SaslChunks(config.server.password)  # SASL responses not whole yet
        self._filehosts: dict[int, str] = {}  # upload URL of connections not applied yet
        self._tasks: list[asyncio.Task[None]] = []  # reader, heartbeat (and any rejoin)
        self._writer: asyncio.Task[None] | None = None  # drains the queue, also at close()
        self._closing = False
        self._taken_for_gone = False  # the reader applied this node's "node gone": rejoin
        # Taken for gone, and its new number and hello not applied yet: new connections are
        # refused (they would be numbered, and appended, as the gone node's).
        self._rejoining = False
        # Snapshots and the log's trimming (lanchat.cluster.compaction).
        self.compaction = Compaction(self.redis, "", config.cluster, look_every_s)
        # History copied from a live node when this one starts past a trim (cluster.handoff).
        self.handoff = Handoff(self.redis, hub.store, wait_s=3 * self.timeout_s)
        hub.cluster = self

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Join the cluster: its id, a node number, the whole log applied, this node's hello.

        Raises:
            ClusterError: Redis cannot be reached or used, or this node's settings differ from
                the running nodes' (its hello was refused); one line that says what to do.
        """
        try:
            await self.redis.set(ID_KEY, secrets.token_hex(8), nx=True)
            self.cluster_id = _text(await self.redis.get(ID_KEY))
            store = self.hub.store
            self.position = await asyncio.to_thread(store.load_position, self.cluster_id)
            if self.position is None and await asyncio.to_thread(store.has_messages):
                raise ClusterError(
                    f"the data directory {self.config.store.data_dir} holds a history that is "
                    "not this cluster's (a server on its own, or another cluster); give this "
                    "node a new --data-dir"
                )
            self.compaction.cluster_id = self.cluster_id
            await self._join()
            await self._start_from_snapshot()
            await self._catch_up()
            self.settings = await asyncio.to_thread(digests, self.config, self.cluster_id)
            if refused := await self._hello():
                raise ClusterError(refused)
        except (RedisError, OSError) as e:
            await self.redis.aclose()
            raise ClusterError(
                f"cannot use the cluster's Redis at {self.url} ({e}); start redis-server "
                "there, or check --cluster"
            ) from None
        self._applied_at = self.loop.time()
        self._tasks = [
            self.loop.create_task(self._read(), name="cluster reader"),
            self.loop.create_task(self._heartbeats(), name="cluster heartbeat"),
        ]
        self._writer = self.loop.create_task(self._write(), name="cluster writer")
        log.info(
            "cluster %s: node %d, %d users",
            self.cluster_id,
            self.node,
            len(self.replica.state.users),
        )

    async def _join(self) -> None:
        """Take a new node number, beat, and number this node's connections from it."""
        self.node = int(await self.redis.incr(NODES_KEY))
        await self._beat()
        self.hub.number_connections_from((self.node << NODE_SHIFT) + 1)

    async def _hello(self) -> str | None:
        """Append this node's hello (its configured rooms, its settings digests) and apply the
        log up to it: at start-up, and when it continues under a new number after it was
        taken for gone (the cluster then holds its settings against newcomers again).

        Returns:
            None: the hello was taken; else what the host is told (lanchat.cluster.settings):
            the running nodes have other settings, and this node must stop.
        """
        await self._outwait(self.settings)
        server = self.config.server
        data = hello_data(server.rooms, self.settings)
        hello = Event(HELLO, self.node, 0, data, server.key)
        hello_id = _text(await self.redis.xadd(LOG_KEY, hello.fields()))  # type: ignore[arg-type]
        while newer(hello_id, self.last_id):
            await self._catch_up()
        if others := self.replica.refused.get(self.node):
            await self.redis.hdel(BEATS_KEY, str(self.node))
            return refusal(others)
        return None

    async def _outwait(self, settings: dict[str, str]) -> None:
        """Report gone the nodes configured otherwise whose heartbeat stands still: after every
        node stopped, even killed, a new configuration takes over (docs/cluster.md).

        A live node beats within a third of node_timeout_s: its count moves, and this node's
        hello will be refused (by every node's replica, lanchat.cluster.settings).
        """
        others = set(self.replica.differing_nodes(settings))
        if not others:
            return
        first = await self._beats()
        started = self.loop.time()
        while others:
            await asyncio.sleep(min(self.timeout_s / 3, _BLOCK_MS / 1000))
            beats = await self._beats()
            others -= {node for node in others if beats.get(node, 0) != first.get(node, 0)}
            if others and self.loop.time() - started >= self.timeout_s:
                for node in sorted(others):
                    await self.redis.xadd(LOG_KEY, self._gone(node).fields())  # type: ignore[arg-type]
                await self._catch_up()
                return

    async def _beats(self, *, beat: bool = False) -> dict[int, int]:
        """Each node's heartbeat count (HGETALL lanchat:beats); with `beat`, this node beats
        first, in the same round trip."""
        if beat:
            self._beaten_at = self.loop.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            if beat:
                pipe.hincrby(BEATS_KEY, str(self.node), 1)
            pipe.hgetall(BEATS_KEY)
            beats = cast(dict[bytes, bytes], (await pipe.execute())[-1])
        return {int(node): int(count) for node, count in beats.items()}

    def _gone(self, node: int) -> Event:
        """The "node gone" entry for `node`, whose heartbeat stood still (logged here)."""
        log.warning("cluster node %d stopped answering: its users quit", node)
        reason = f"Their server stopped answering ({self.timeout_s:g} s)"
        return Event(GONE, self.node, 0, str(node).encode(), reason)

    async def _start_from_snapshot(self) -> None:
        """Load the newest snapshot (lanchat.cluster.compaction), and have another node hand
        over the history this node lacks before it (lanchat.cluster.handoff)."""
        self.last_id, gap = await self.compaction.start(self.replica, self.node, self.position)
        if gap is not None:
            peers = set(await self.compaction.positions()) - {self.node}
            await self.handoff.receive(self.node, *gap, peers=bool(peers), alive=self._alive)

    async def _alive(self) -> None:
        """While starting (the heartbeat task is not running yet): beat and register the
        position reached once a heartbeat is due, so that the others neither take this node
        for gone nor trim the log past it."""
        if self.loop.time() - self._beaten_at >= self.timeout_s / 3:
            await self._beat()
            await self.compaction.register(self.node, self.last_id)

    async def _catch_up(self) -> None:
        """Apply every entry after the last one applied (start-up), alive meanwhile; if the
        log was trimmed past this node all the same (it was stopped), start again from the
        newest snapshot."""
        while True:
            trimmed, reply = await self.compaction.trimmed_and(
                lambda pipe: pipe.xrange(LOG_KEY, min=f"({self.last_id}", count=_READ_COUNT)
            )
            if behind(trimmed, self.last_id):
                log.warning("cluster: the log was trimmed past this node while it started")
                await self._start_from_snapshot()
                continue
            entries = cast(_Entries, reply)
            if not entries:
                await self.compaction.register(self.node, self.last_id)
                return
            self._apply(entries)
            await self._alive()

    async def close(self, reason: str = SHUTDOWN) -> None:
        """Leave: this node's users quit everywhere now (not after the timeout); stop."""
        if self._closing:
            return
        self._closing = True
        # The reader ends after its XREAD returns (BLOCK: within a second): redis-py does not
        # let a cancelled blocking read go.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=_IO_TIMEOUT_S)
        if self._writer is not None:
            self._submit(Event(GONE, self.node, 0, str(self.node).encode(), reason), _dropped)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer, _CLOSE_TIMEOUT_S)
                await asyncio.wait_for(self.redis.hdel(BEATS_KEY, str(self.node)), 1.0)
                await asyncio.wait_for(self.compaction.forget([self.node]), 1.0)
        await self.redis.aclose()

    # ------------------------------------------------------------------ the hub's events

    def connect(self, conn_id: int, ip: str, filehost: str) -> None:
        """A connection of this node was accepted (its upload URL, or "")."""
        if self._rejoining:  # as at start-up: no connection before the hello is applied
            self.loop.call_soon(self._refuse, conn_id, REJOINING)
            return
        if filehost:
            self._filehosts[conn_id] = filehost
        event = Event(CONNECT, self.node, conn_id, ip.encode())
        self._submit(event, lambda _text: self._refuse(conn_id))

    def line(self, conn_id: int, line: bytes | TooLong) -> None:
        """One line of a connection of this node (after its flood control); a chunk of a SASL
        response waits for the rest of it (lanchat.cluster.redact.SaslChunks)."""
        failed = functools.partial(self._not_sent, conn_id, line)
        if isinstance(line, TooLong):
            self._submit(Event(TOO_LONG, self.node, conn_id), failed)
            return
        for part in self._chunks.line(conn_id, line):
            secret = 0
            if part.kept is not None:
                secret = next(self._secrets)
                self.replica.keep(conn_id, secret, part.kept)
            event = Event(LINE, self.node, conn_id, part.logged, secret=secret, chunks=part.chunks)
            self._submit(event, failed)

    def disconnected(self, conn_id: int, reason: str) -> None:
        """A connection of this node is gone."""
        self._filehosts.pop(conn_id, None)
        self._chunks.forget(conn_id)
        self._submit(Event(DISCONNECTED, self.node, conn_id, reason.encode()), None)

    def password_done(self, effect: Password, ok: bool, detail: str, scram: str) -> None:
        """This node checked or hashed the password of `effect`: every node hears the outcome."""
        flag = "1" if ok else "0"
        data = password_outcome(detail, scram)
        self._submit(Event(PASSWORD, self.node, effect.conn_id, data, flag), None)

    def tick(self) -> None:
        """A second passed (the app's tick): time goes on in the log, if nothing else moved it."""
        idle = not self._queue and not self._unsure
        if self.loop.time() - self._applied_at >= TICK_S and idle and self.reachable:
            self._submit(Event(TICK, self.node), _dropped)

    # ------------------------------------------------------------------ to the stream

    def _submit(self, event: Event, failed: _Failed | None) -> None:
        """Queue `event` for the log, numbered; `failed` runs with the sentence for its sender
        if it cannot be appended (None: it waits until Redis is back, however long)."""
        if self._closing and event.kind != GONE:
            return
        if not self.reachable and failed is not None:
            self.loop.call_soon(failed, NOT_SENT)  # not even tried
            return
        self._queue.append((dataclasses.replace(event, seq=next(self._seqs)), failed))
        self._wake.set()

    async def _write(self) -> None:
        """Append the queued events, in order, one pipeline (one round trip) per batch; a
        batch whose answer was lost is settled before anything newer is sent."""
        while not (self._closing and not self._queue and not self._unsure):
            if self._unsure:
                await self._settle()
                continue
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            after = self.last_id  # whatever of the batch Redis stores comes after it
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for event, _ in batch:
                        pipe.xadd(LOG_KEY, event.fields())  # type: ignore[arg-type]
                    await pipe.execute()
            except (RedisError, OSError) as e:
                if self._failing_since is not None:
                    await asyncio.sleep(_RETRY_S)  # failed again: no busy loop
                else:
                    log.warning("cluster: %d events may not have reached Redis (%s)", len(batch), e)
                    self._failing_since = self.loop.time()
                self._unsure, self._unsure_after = batch, after
                continue
            self._failing_since = None
            self._up()

    async def _settle(self) -> None:
        """Find which unsure events Redis has, by node and sequence number in the stream after
        the position applied when they were sent; queue the others again, first, in order.
        Redis still away: try again shortly, and past _UNSURE_S tell their senders."""
        since = self._failing_since
        late = since is not None and self.loop.time() - since >= _UNSURE_S
        try:
            stored = await self._stored_since(self._unsure_after)
        except (RedisError, OSError) as e:
            self._down(e)
            if late:
                self._unsure = _give_up(self._unsure, UNSURE)
                if not self._unsure:
                    self._failing_since = None
            await asyncio.sleep(_RETRY_S)
            return
        self._up()
        missing = [(event, failed) for event, failed in self._unsure if _key(event) not in stored]
        self._unsure = []
        if late:
            missing = _give_up(missing, NOT_SENT)  # Redis answers, but will not take them
        if missing:  # the next pipeline: they fail again sooner, or all is well
            self._queue[:0] = missing
            self._wake.set()
        else:
            self._failing_since = None

    async def _stored_since(self, after: str) -> set[tuple[int, int]]:
        """(node, sequence number) of the entries of the stream after entry `after`."""
        stored: set[tuple[int, int]] = set()
        while entries := cast(
            _Entries, await self.redis.xrange(LOG_KEY, min=f"({after}", count=_READ_COUNT)
        ):
            for raw_id, fields in entries:
                with contextlib.suppress(ValueError, KeyError):
                    stored.add(_key(Event.from_fields(fields)))
                after = raw_id.decode()
        return stored

    def _refuse(self, conn_id: int, text: str = REFUSED) -> None:
        if conn_id in self.hub.connections:
            self.hub.drop(conn_id, text)

    def _not_sent(self, conn_id: int, line: bytes | TooLong, text: str) -> None:
        command = "*"
        if isinstance(line, bytes):
            with contextlib.suppress(ProtocolError):
                command = parse(line).command
        self.hub.apply(self.replica.state.unavailable(conn_id, command, text))

    # ------------------------------------------------------------------ from the stream

    async def _read(self) -> None:
        """Apply the stream's new entries as they come; retry while Redis is unreachable.
        Entries that follow a gap (the log was trimmed past last_id) are not applied: the node
        starts over from the newest snapshot. Taken for gone, the node continues as a new one
        (_rejoin); the reader ends if that one's hello is refused."""
        while not self._closing:
            try:
                trimmed, reply = await self.compaction.trimmed_and(
                    lambda pipe: pipe.xread(
                        {LOG_KEY: self.last_id}, count=_READ_COUNT, block=_BLOCK_MS
                    )
                )
            except (RedisError, OSError) as e:
                self._down(e)
                await asyncio.sleep(_RETRY_S)
                continue
            self._up()
            if behind(trimmed, self.last_id):
                log.error(
                    "lanchat: error: the cluster trimmed its log past this node's position while "
                    "it was away; it starts over from the newest snapshot and its clients reconnect"
                )
                if not await self._rejoin(from_snapshot=True):
                    return
                continue
            for _stream, entries in cast(list[tuple[bytes, _Entries]] | None, reply) or ():
                self._apply(entries)
            if self._taken_for_gone and not await self._rejoin(from_snapshot=False):
                return

    def _apply(self, entries: _Entries) -> None:
        """Apply entries in order; store what they changed and the position, in one commit."""
        hub, replica, local = self.hub, self.replica, self.hub.connections
        for raw_id, fields in entries:
            entry_id = raw_id.decode()
            try:
                event = Event.from_fields(fields)
            except (ValueError, KeyError) as e:
                log.warning("cluster log entry %s skipped: %s", entry_id, e)
                self.last_id = entry_id
                continue
            effects = replica.apply(entry_id, event)
            self.last_id = entry_id
            if not newer(entry_id, self.position):
                continue  # stored before this node restarted: its messages were shown then
            if event.kind == CONNECT and event.conn_id in self._filehosts:
                user = replica.state.users.get(event.conn_id)
                url = self._filehosts.pop(event.conn_id)
                if user is not None:
                    user.filehost = url
            hub.apply([effect for effect in effects if _for_this_node(effect, local)])
            if event.kind == GONE and event.data == str(self.node).encode() and not self._closing:
                self._expelled()
        if newer(self.last_id, self.position):
            self.position = self.last_id
            hub.apply([Persist(StreamPosition(self.cluster_id, self.last_id))])
        self._applied_at = self.loop.time()
        if self.compaction.applied(len(entries), replica) and self._tasks:
            write = self.compaction.write(replica, self.node, lambda: self.last_id)
            self._tasks = [task for task in self._tasks if not task.done()]
            self._tasks.append(self.loop.create_task(write, name="cluster snapshot"))

    async def _rejoin(self, *, from_snapshot: bool) -> bool:
        """Continue as a new node after the others took this one for gone (stopped or cut off
        from Redis longer than node_timeout_s): its clients reconnect, it takes a new number
        and says hello again, as at start-up (its rooms opened and advertised anew, its
        settings held against newcomers); from the newest snapshot if the log was trimmed
        past its position meanwhile.

        Returns:
            False when the hello was refused (the running nodes have other settings now):
            `on_failure` was told, and the server stops with the refusal's one line.
        """
        self._taken_for_gone, self._rejoining = False, True
        for conn_id in list(self.hub.connections):
            self.hub.drop(conn_id, EXPELLED)
        old = self.node
        if from_snapshot:  # the others may not have seen it go yet
            self._submit(Event(GONE, old, 0, str(old).encode(), EXPELLED), _dropped)
        while not self._closing:
            try:
                await self._join()
                await self.compaction.forget([old])
                if from_snapshot:
                    await self._start_from_snapshot()
                    rooms = self.replica.state.room_keys()
                    self.hub.apply([RoomChanged(key) for key in rooms])  # advertised anew
                refused = await self._hello()
            except (RedisError, OSError, ClusterError) as e:
                self._down(e)
                await asyncio.sleep(_RETRY_S)
                continue
            if refused is None:
                log.info("cluster %s: node %d (was node %d)", self.cluster_id, self.node, old)
                self._rejoining = False
                return True
            self.on_failure(ClusterError(refused))
            return False
        return True

    def _expelled(self) -> None:
        """Another node found this one gone (its heartbeat lapsed): the reader rejoins."""
        log.error("lanchat: error: the cluster took this node for gone; its clients reconnect")
        self._taken_for_gone = self._rejoining = True

    # ------------------------------------------------------------------ liveness

    async def _beat(self) -> None:
        self._beaten_at = self.loop.time()
        await self.redis.hincrby(BEATS_KEY, str(self.node), 1)

    async def _heartbeats(self) -> None:
        """Beat; report the nodes whose heartbeat stood still for node_timeout_s as gone
        (lanchat.cluster.liveness)."""
        period = self.timeout_s / 3
        while not self._closing:
            await asyncio.sleep(min(period, _BLOCK_MS / 1000))
            if self.loop.time() - self._beaten_at < period:
                continue
            try:
                counts = await self._beats(beat=True)
                self._up()
            except (RedisError, OSError) as e:
                self._down(e)
                continue
            try:
                await self.compaction.look(counts, self.node, self.last_id, self.loop.time())
                asked = (
                    None
                    if self.handoff.sending
                    else await self.handoff.take(self.node, self.position)
                )
            except (RedisError, OSError) as e:
                self._down(e)
                continue
            if asked is not None:
                send = self.handoff.send(self.node, asked)
                self._tasks.append(self.loop.create_task(send, name="cluster history handoff"))
            others = self.replica.nodes() - {self.node}
            for node in self.liveness.look(counts, others, self.loop.time()):
                self._submit(self._gone(node), _dropped)

    def _down(self, error: BaseException) -> None:
        if not self.reachable:
            return
        self.reachable = False
        self._queue = _give_up(self._queue, NOT_SENT)  # waiting behind unsure ones: not sent
        log.error(
            "lanchat: error: the cluster's Redis at %s is unreachable (%s); clients are told, "
            "retrying",
            self.url,
            error,
        )
        self._tell_everyone(DOWN)

    def _up(self) -> None:
        if self.reachable:
            return
        self.reachable = True
        log.info("the cluster's Redis at %s is back", self.url)
        self._beaten_at = 0.0  # beat at once
        self.liveness.forget()  # nobody could beat meanwhile: every node gets a whole timeout
        self._tell_everyone(BACK)
        self._wake.set()  # what waited for Redis goes now

    def _tell_everyone(self, text: str) -> None:
        """A server NOTICE to every connection of this node."""
        conn_ids = tuple(self.hub.connections)
        if conn_ids:
            notice = Message("NOTICE", ("*", text), source=self.config.server.name)
            self.hub.apply([Send(conn_ids, notice.to_bytes())])


def without_password(url: str) -> str:
    """`url` with any password replaced by "***" (redis://:secret@host -> redis://:***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _text(reply: object) -> str:
    """A Redis reply of bytes (a stream id, the cluster id) as text; "" for none."""
    return reply.decode() if isinstance(reply, bytes) else str(reply or "")


def _dropped(_text: str) -> None:
    """What happens to a tick or a gone event Redis refused: nothing (the next one comes)."""


def _give_up(
    events: list[tuple[Event, _Failed | None]], text: str
) -> list[tuple[Event, _Failed | None]]:
    """Tell the senders of `events` (`text`) they were not taken; the events that wait for
    Redis however long (no sender to tell) stay, in order."""
    for _event, failed in events:
        if failed is not None:
            failed(text)
    return [(event, failed) for event, failed in events if failed is None]


def _key(event: Event) -> tuple[int, int]:
    """An entry's node and sequence number: the same for an entry appended twice."""
    return event.node, event.seq


def _for_this_node(effect: Effect, local: Mapping[int, object]) -> bool:
    """Whether this node applies `effect`: history look-ups and passwords of its own clients."""
    if isinstance(effect, Query | Password):
        return effect.conn_id in local
    return True
