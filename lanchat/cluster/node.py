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
- Now and then one node stores a snapshot of its replica and the log is trimmed behind it
  (lanchat.cluster.compaction); a node starts from the newest snapshot, and has the history
  before it handed over by a live node (lanchat.cluster.handoff). Each read of the log comes
  with the trim point: a node the log was trimmed past starts over from the snapshot.
- Redis unreachable: lines are refused with a sentence saying so (the core never saw them, so
  nothing anyone was shown is lost), clients are told once, and the tasks retry until Redis is
  back, then resume from the last entry applied.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from lanchat.cluster.compaction import Compaction, behind
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
    newer,
    password_outcome,
)
from lanchat.cluster.handoff import Handoff
from lanchat.cluster.liveness import Liveness
from lanchat.cluster.redact import redact
from lanchat.cluster.replica import TICK_S, Replica
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
LOG_KEY = "lanchat:log"  # the stream: every node's events, in the one order of the cluster
ID_KEY = "lanchat:id"  # the cluster's random id (SET NX by the first node)
NODES_KEY = "lanchat:nodes"  # INCR: each node (each start of one) gets the next number


# Stream entries as redis-py gives them (RESP2, bytes): (id, {field: value}), in order.
_Entries: TypeAlias = Sequence[tuple[bytes, dict[bytes, bytes]]]


BEATS_KEY = "lanchat:beats"  # hash: node number -> heartbeats so far (HINCRBY)


_READ_COUNT = 1000  # entries per XREAD / XRANGE
_BLOCK_MS = 1000  # XREAD BLOCK: the reader wakes at least this often
_RETRY_S = 0.5  # pause between attempts while Redis is unreachable
_IO_TIMEOUT_S = 5.0  # a Redis that does not answer this long is unreachable
_CLOSE_TIMEOUT_S = 5.0  # shutdown: longest wait for the last events to reach Redis

NOT_SENT = (
    "The cluster's message store is unreachable, so your message was not sent; try again shortly"
)
DOWN = (
    "The cluster's message store is unreachable: nothing can be sent until it is back "
    "(whoever runs the room is told too)"
)
BACK = "The cluster's message store is back: you can send again"
REFUSED = "the cluster's message store is unreachable; try again shortly"
EXPELLED = "this server lost touch with the cluster for a while; connect again"
SHUTDOWN = "Server shutting down"


class RedisBus:
    """The cluster bus over Redis (the `Bus` of lanchat.cluster). Loop thread only."""

    def __init__(self, config: Config, replica: Replica, hub: Hub) -> None:
        """Prepare the node; `start()` connects.

        Args:
            config: the validated configuration ([cluster] url and node_timeout_s).
            replica: the node's replica; `hub` applies the effects of its core.
            hub: the node's hub, whose `cluster` becomes this bus.
        """
        self.config = config
        self.replica = replica
        self.hub = hub
        self.url = without_password(config.cluster.url)  # as logs and errors show it
        self.timeout_s = config.cluster.node_timeout_s
        # One retry, without a pause: a connection the pool kept across a Redis restart
        # fails once, and the retry reconnects (docs/cluster.md: a rare duplicate line).
        self.redis = aioredis.Redis.from_url(
            config.cluster.url,
            socket_timeout=_IO_TIMEOUT_S + _BLOCK_MS / 1000,
            socket_connect_timeout=_IO_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        self.loop = asyncio.get_running_loop()
        self.cluster_id = ""  # the cluster's random id, known after start()
        self.node = 0  # this node's number, known after start()
        self.position: str | None = None  # the last entry stored in SQLite
        self.last_id = "0-0"  # the last entry applied
        self.reachable = True  # the last Redis call succeeded
        self._beaten_at = 0.0  # loop time of the last heartbeat
        # The heartbeats heard: looked at every third of the timeout (at most a second late).
        look_every_s = self.timeout_s / 3 + _BLOCK_MS / 1000
        self.liveness = Liveness(self.timeout_s, look_every_s)
        self._applied_at = 0.0  # loop time an entry was last applied
        self._queue: list[tuple[Event, Callable[[], None] | None]] = []  # to append, in order
        self._wake = asyncio.Event()  # the queue has events
        self._retry: list[Event] = []  # events that must reach the log once Redis is back
        self._secrets = itertools.count(1)  # numbers of redacted lines (Event.secret)
        self._filehosts: dict[int, str] = {}  # upload URL of connections not applied yet
        self._tasks: list[asyncio.Task[None]] = []  # reader, heartbeat (and any rejoin)
        self._writer: asyncio.Task[None] | None = None  # drains the queue, also at close()
        self._closing = False
        # Snapshots and the log's trimming (lanchat.cluster.compaction).
        self.compaction = Compaction(self.redis, "", config.cluster, look_every_s)
        # History copied from a live node when this one starts past a trim (cluster.handoff).
        self.handoff = Handoff(self.redis, hub.store, wait_s=3 * self.timeout_s)
        hub.cluster = self

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Join the cluster: its id, a node number, the whole log applied, this node's hello.

        Raises:
            ClusterError: Redis cannot be reached or used; one line that says what to do.
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
            server = self.config.server
            hello = Event(HELLO, self.node, 0, "\n".join(server.rooms).encode(), server.key)
            hello_id = _text(await self.redis.xadd(LOG_KEY, hello.fields()))  # type: ignore[arg-type]
            while newer(hello_id, self.last_id):
                await self._catch_up()
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
        if filehost:
            self._filehosts[conn_id] = filehost
        self._submit(Event(CONNECT, self.node, conn_id, ip.encode()), lambda: self._refuse(conn_id))

    def line(self, conn_id: int, line: bytes | TooLong) -> None:
        """One line of a connection of this node (after its flood control)."""
        if isinstance(line, TooLong):
            event = Event(TOO_LONG, self.node, conn_id)
        elif (redacted := redact(line, self.config.server.password)) is None:
            event = Event(LINE, self.node, conn_id, line)
        else:
            logged, applied = redacted
            secret = next(self._secrets)
            self.replica.keep(conn_id, secret, applied)
            event = Event(LINE, self.node, conn_id, logged, secret=secret)
        self._submit(event, lambda: self._not_sent(conn_id, line))

    def disconnected(self, conn_id: int, reason: str) -> None:
        """A connection of this node is gone."""
        self._filehosts.pop(conn_id, None)
        self._submit(Event(DISCONNECTED, self.node, conn_id, reason.encode()), None)

    def password_done(self, effect: Password, ok: bool, detail: str, scram: str) -> None:
        """This node checked or hashed the password of `effect`: every node hears the outcome."""
        flag = "1" if ok else "0"
        data = password_outcome(detail, scram)
        self._submit(Event(PASSWORD, self.node, effect.conn_id, data, flag), None)

    def tick(self) -> None:
        """A second passed (the app's tick): time goes on in the log, if nothing else moved it."""
        if self.loop.time() - self._applied_at >= TICK_S and not self._queue and self.reachable:
            self._submit(Event(TICK, self.node), _dropped)

    # ------------------------------------------------------------------ to the stream

    def _submit(self, event: Event, failed: Callable[[], None] | None) -> None:
        """Queue `event` for the log; `failed` runs if Redis refuses it (None: retry later)."""
        if self._closing and event.kind != GONE:
            return
        self._queue.append((event, failed))
        self._wake.set()

    async def _write(self) -> None:
        """Append the queued events, in order, one pipeline (one round trip) per batch."""
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for event, _ in batch:
                        pipe.xadd(LOG_KEY, event.fields())  # type: ignore[arg-type]
                    await pipe.execute()
                self._up()
            except (RedisError, OSError) as e:
                self._down(e)
                for event, failed in batch:
                    if failed is None:
                        self._retry.append(event)
                    else:
                        failed()

    def _refuse(self, conn_id: int) -> None:
        if conn_id in self.hub.connections:
            self.hub.drop(conn_id, REFUSED)

    def _not_sent(self, conn_id: int, line: bytes | TooLong) -> None:
        command = "*"
        if isinstance(line, bytes):
            with contextlib.suppress(ProtocolError):
                command = parse(line).command
        self.hub.apply(self.replica.state.unavailable(conn_id, command, NOT_SENT))

    # ------------------------------------------------------------------ from the stream

    async def _read(self) -> None:
        """Apply the stream's new entries as they come; retry while Redis is unreachable.
        Entries that follow a gap (the log was trimmed past last_id) are not applied: the node
        starts over from the newest snapshot."""
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
                await self._start_over()
                continue
            for _stream, entries in cast(list[tuple[bytes, _Entries]] | None, reply) or ():
                self._apply(entries)

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

    async def _start_over(self) -> None:
        """The log was trimmed past this node's position while it was away (stopped longer
        than node_timeout_s): its clients reconnect, and it starts from the newest snapshot
        as a new node."""
        log.error(
            "lanchat: error: the cluster trimmed its log past this node's position while it "
            "was away; it starts over from the newest snapshot and its clients reconnect"
        )
        for conn_id in list(self.hub.connections):
            self.hub.drop(conn_id, EXPELLED)
        old = self.node
        self._submit(Event(GONE, old, 0, str(old).encode(), EXPELLED), _dropped)
        while not self._closing:
            try:
                await self._join()
                await self.compaction.forget([old])
                await self._start_from_snapshot()
                rooms = self.replica.state.room_keys()
                self.hub.apply([RoomChanged(key) for key in rooms])  # advertised anew
                return
            except (RedisError, OSError, ClusterError) as e:
                self._down(e)
                await asyncio.sleep(_RETRY_S)

    def _expelled(self) -> None:
        """Another node found this one gone (its heartbeat lapsed): start over as a new node."""
        log.error("lanchat: error: the cluster took this node for gone; its clients reconnect")
        for conn_id in list(self.hub.connections):
            self.hub.drop(conn_id, EXPELLED)
        self._tasks.append(self.loop.create_task(self._join(), name="cluster rejoin"))

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
                await self._beat()
                self._up()
                beats = cast(dict[bytes, bytes], await self.redis.hgetall(BEATS_KEY))
            except (RedisError, OSError) as e:
                self._down(e)
                continue
            counts = {int(node): int(count) for node, count in beats.items()}
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
                log.warning("cluster node %d stopped answering: its users quit", node)
                why = f"Their server stopped answering ({self.timeout_s:g} s)"
                self._submit(Event(GONE, self.node, 0, str(node).encode(), why), _dropped)

    def _down(self, error: BaseException) -> None:
        if not self.reachable:
            return
        self.reachable = False
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
        retry, self._retry = self._retry, []
        for event in retry:
            self._submit(event, None)

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


def _dropped() -> None:
    """What happens to a tick or a gone event Redis refused: nothing (the next one comes)."""


def _for_this_node(effect: Effect, local: Mapping[int, object]) -> bool:
    """Whether this node applies `effect`: history look-ups and passwords of its own clients."""
    if isinstance(effect, Query | Password):
        return effect.conn_id in local
    return True
