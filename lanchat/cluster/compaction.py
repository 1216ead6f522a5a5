"""Snapshots in Redis, and the cluster's log trimmed behind them.

Layer: asyncio edge; imports redis (only lanchat.cluster.node imports this module, and only
`lanchat serve --cluster` imports that). The document itself is lanchat.cluster.snapshot's;
docs/cluster.md ("Snapshots and trimming") has the design. The keys, in the database of the
cluster's URL::

    lanchat:snapshot          the newest snapshot (lanchat.cluster.snapshot.encode)
    lanchat:snapshot:id       the entry it reflects; replaced with it, in one script
    lanchat:snapshot:tmp:<n>  node n's snapshot being written, page by page (expires)
    lanchat:snapshot:lease    SET NX PX: the one node that writes a snapshot now
    lanchat:positions         hash: node -> the last entry it applied (its heartbeat writes it)
    lanchat:trimmed           the MINID of the last XTRIM: the entries before it are gone

Policies a reader might question:
- A snapshot is written to a key of its own, page by page, and renamed over the newest one by
  a script that first checks it is newer: a node killed while writing leaves a temporary key
  that expires, never half a snapshot under lanchat:snapshot, and a writer that took long
  (its lease lapsed) cannot put an older snapshot over a newer one.
- The log is trimmed to the oldest of the newest snapshot's entry and every node's position,
  in one script: a starting node registers its position before it trusts the snapshot it read
  (load_start), so the trim either sees that position or ran before, and then the node sees
  `lanchat:trimmed` moved past it and reads the newer snapshot.
- The snapshot's document is built on the event loop, so that it reflects one entry, and
  encoded (JSON, zlib) on a thread while the loop applies the next entries: the document
  shares nothing mutable with the state (lanchat.cluster.snapshot), and the loop is held for
  the building alone (docs/cluster.md, "How it scales").
- A position whose node's heartbeat stood still for node_timeout_s (lanchat.cluster.liveness)
  is forgotten, so a node killed with -9 holds the log back a timeout only; if it was only
  paused and comes back behind the trim, it starts over from the newest snapshot
  (lanchat.cluster.node).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from lanchat.cluster.events import entry_time
from lanchat.cluster.liveness import Liveness
from lanchat.cluster.replica import Replica
from lanchat.cluster.snapshot import (
    Snapshot,
    SnapshotError,
    decode,
    document,
    holds_secrets,
    pack,
    restore,
)
from lanchat.config import Cluster
from lanchat.errors import ClusterError

__all__ = [
    "LEASE_KEY",
    "LOG_KEY",
    "POSITIONS_KEY",
    "SNAPSHOT_ID_KEY",
    "SNAPSHOT_KEY",
    "TRIMMED_KEY",
    "Compaction",
]

log = logging.getLogger(__name__)

LOG_KEY = "lanchat:log"  # the stream: every node's events, in the one order of the cluster
SNAPSHOT_KEY = "lanchat:snapshot"
SNAPSHOT_ID_KEY = "lanchat:snapshot:id"
LEASE_KEY = "lanchat:snapshot:lease"
POSITIONS_KEY = "lanchat:positions"
TRIMMED_KEY = "lanchat:trimmed"
PAGE_BYTES = 1 << 20  # a snapshot is written in pages of this size (APPEND)
_TEMP_TTL_S = 600  # a temporary snapshot key left by a killed writer goes after this long
LEASE_MS = 120_000  # a writer that dies holds the lease this long at most
_RETRY_S = 5.0  # a node that did not write a due snapshot tries again after this long

# Lua: stream ids compared as numbers (ms, seq), as lanchat.cluster.events.newer does.
_BEFORE = """
local function before(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
"""
# KEYS: temporary, snapshot, snapshot id; ARGV: the entry id. 1: stored; 0: a newer one is.
_COMMIT = (
    _BEFORE
    + """
local current = redis.call('GET', KEYS[3])
if current and not before(current, ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[1])
return 1
"""
)
# KEYS: log, positions, snapshot id, trimmed. Returns the MINID trimmed to, or false.
_TRIM = (
    _BEFORE
    + """
local least = redis.call('GET', KEYS[3])
if not least then return false end
for _, position in ipairs(redis.call('HVALS', KEYS[2])) do
  if before(position, least) then least = position end
end
redis.call('XTRIM', KEYS[1], 'MINID', least)
local trimmed = redis.call('GET', KEYS[4])
if not trimmed or before(trimmed, least) then redis.call('SET', KEYS[4], least) end
return least
"""
)
# KEYS: lease; ARGV: its holder. Let go of the lease only if still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Compaction:
    """One node's part in snapshots and trimming, on its Redis connection. Loop thread only."""

    def __init__(
        self, redis: aioredis.Redis, cluster_id: str, settings: Cluster, look_every_s: float
    ) -> None:
        """Args:
        redis: the node's Redis client.
        cluster_id: the cluster's id (a snapshot of another one is not used).
        settings: [cluster] snapshot_entries, snapshot_interval_s and node_timeout_s.
        look_every_s: how often `look` is called (the heartbeat's period).
        """
        self.redis = redis
        self.cluster_id = cluster_id
        self.every_entries = settings.snapshot_entries
        self.every_s = settings.snapshot_interval_s
        self._commit = redis.register_script(_COMMIT)
        self._trim = redis.register_script(_TRIM)
        self._release = redis.register_script(_RELEASE)
        self.newest_id: str | None = None  # the newest snapshot's entry, as last seen
        self.since = 0  # entries this node applied since it saw newest_id change
        self.writing = False  # this node is writing a snapshot
        self._wait_until = 0.0  # the log's time before which this node does not try again
        self._counting_since = 0.0  # the log's time of the first entry counted in `since`
        # Heartbeats of the nodes that registered a position (lanchat.cluster.liveness).
        self._liveness = Liveness(settings.node_timeout_s, look_every_s)

    # ------------------------------------------------------------------ start-up

    async def start(
        self, replica: Replica, node: int, position: str | None
    ) -> tuple[str, tuple[str | None, str] | None]:
        """Where a starting node begins: the newest snapshot loaded into its replica, or the
        start of the log while the log is whole. Registers the node's position first.

        Args:
            replica: the node's replica: empty, or (a node starting over) whatever it holds is
                replaced by the snapshot's state.
            node: the node's number.
            position: the last entry its SQLite stored (None: a new data directory).

        Returns:
            The last entry the replica reflects ("0-0": none), which the node applies the
            log after; and the entries whose messages its history lacks, (after, up to), or
            None (lanchat.cluster.handoff copies them from another node).

        Raises:
            ClusterError: the log was trimmed and no snapshot can be read.
        """
        while True:
            snapshot = await self.newest()
            trimmed = await self.trimmed()
            whole = not behind(trimmed, "0-0")
            use = snapshot is not None and (
                not whole or (position is not None and not behind(snapshot.entry_id, position))
            )
            if snapshot is None and not whole:
                raise ClusterError(
                    "the cluster's log was trimmed and its snapshot cannot be read; nodes "
                    "cannot start until a running node writes one"
                )
            start = snapshot.entry_id if use and snapshot is not None else "0-0"
            await self.register(node, start)
            if not behind(await self.trimmed(), start):
                break
            # Trimmed meanwhile, past what was read: read the newer snapshot.
        self.newest_id = snapshot.entry_id if snapshot is not None else None
        if not use or snapshot is None:
            return start, None
        began = time.perf_counter()
        try:
            restore(replica, snapshot.doc)
        except SnapshotError as e:
            raise ClusterError(
                f"the cluster's snapshot at entry {start} cannot be loaded by this lanchat "
                f"({e}); run the same lanchat version on every node"
            ) from None
        log.info(
            "cluster: state loaded from the snapshot at entry %s (%s) in %.2f s",
            start,
            when(start),
            time.perf_counter() - began,
        )
        if position is None or behind(start, position):
            return start, (position, start)
        return start, None

    # ------------------------------------------------------------------ while running

    def applied(self, count: int, replica: Replica) -> bool:
        """`count` more entries were applied; whether a snapshot is due (the settings)."""
        if not self.since:
            self._counting_since = replica.now
        self.since += count
        if self.writing or replica.now < self._wait_until:
            return False
        return (
            self.since >= self.every_entries or replica.now - self._counting_since >= self.every_s
        )

    async def write(self, replica: Replica, node: int, applied: Callable[[], str]) -> None:
        """Take the lease, write a snapshot of `replica` and trim the log behind it; nothing if
        another node holds the lease or a client of this node is halfway through a chunked
        SASL message (snapshot.holds_secrets).

        Args:
            replica: the node's replica.
            node: the node's number.
            applied: the last entry the replica applied, asked when the snapshot is made (the
                reader goes on applying entries while the lease is asked for).
        """
        self.writing = True
        self._wait_until = replica.now + _RETRY_S  # unless it is written: not at every entry
        try:
            if holds_secrets(replica, node) or not await self.lease(node):
                return
            try:
                began = time.perf_counter()
                entry_id = applied()  # nothing is applied until the document is built
                doc = document(replica, self.cluster_id, entry_id)
                built_s = time.perf_counter() - began
                data = await asyncio.to_thread(pack, doc)  # the loop applies entries meanwhile
                encoded_s = time.perf_counter() - began - built_s
                if not await self.store(node, data, entry_id):
                    return
                self.newest_id, self.since, self._wait_until = entry_id, 0, 0.0
                await self.register(node, entry_id)  # this node is there at least
                least = await self.trim()
                length = await self.redis.xlen(LOG_KEY)
            finally:
                await self.release(node)
            log.info(
                "cluster: snapshot at entry %s stored (%d bytes, %d users, %d rooms, built in "
                "%.3f s, encoded in %.3f s on a thread); the log is trimmed before %s and holds "
                "%d entries",
                entry_id,
                len(data),
                len(doc["state"]["users"]),
                len(doc["state"]["rooms"]),
                built_s,
                encoded_s,
                least,
                length,
            )
        except (RedisError, OSError) as e:
            log.warning("cluster: the snapshot could not be stored (%s); tried again later", e)
        finally:
            self.writing = False

    async def look(self, beats: Mapping[int, int], node: int, position: str, now: float) -> None:
        """The heartbeat's part: register `position`, forget the positions of nodes whose
        heartbeat stood still for node_timeout_s, note a newer snapshot.

        Args:
            beats: every node's heartbeat count (lanchat.cluster.node).
            node: this node.
            position: the last entry this node applied.
            now: this node's monotonic clock.
        """
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip, not three
            pipe.hset(POSITIONS_KEY, str(node), position)
            pipe.hkeys(POSITIONS_KEY)
            pipe.get(SNAPSHOT_ID_KEY)
            _, registered, newest_raw = await pipe.execute()
        others = {int(other) for other in cast(list[bytes], registered)} - {node}
        await self.forget(self._liveness.look(beats, others, now))
        newest = _text(newest_raw)
        if newest != self.newest_id:
            self.newest_id, self.since = newest, 0

    async def trimmed_and(self, call: Callable[[Any], object]) -> tuple[str | None, Any]:
        """`trimmed()` and the reply of `call(pipeline)`, in one round trip: the reader's XREAD
        comes with the trim point, so entries after a gap are never applied."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(TRIMMED_KEY)
            call(pipe)
            trimmed, reply = await pipe.execute()
        return _text(trimmed), reply

    async def newest(self) -> Snapshot | None:
        """The newest snapshot of this cluster, or None (none yet, or one that cannot be read,
        which is logged: the node then replays the log, if it is whole)."""
        data = await self.redis.get(SNAPSHOT_KEY)
        if data is None:
            return None
        try:
            snapshot = decode(cast(bytes, data))
        except SnapshotError as e:
            log.error("lanchat: error: the cluster's snapshot cannot be used: %s", e)
            return None
        if snapshot.cluster_id != self.cluster_id:
            log.error("lanchat: error: the cluster's snapshot is of another cluster: not used")
            return None
        return snapshot

    async def trimmed(self) -> str | None:
        """The MINID the log was last trimmed to (entries before it are gone); None: never."""
        return _text(await self.redis.get(TRIMMED_KEY))

    async def register(self, node: int, position: str) -> None:
        """Node `node` has applied the log up to `position`: trim nothing after it."""
        await self.redis.hset(POSITIONS_KEY, str(node), position)

    async def positions(self) -> dict[int, str]:
        """Every node's registered position."""
        raw = cast(dict[bytes, bytes], await self.redis.hgetall(POSITIONS_KEY))
        return {int(node): position.decode() for node, position in raw.items()}

    async def forget(self, nodes: Sequence[int]) -> None:
        """The positions of `nodes` hold the log back no longer (gone, or stopped cleanly)."""
        if nodes:
            await self.redis.hdel(POSITIONS_KEY, *(str(node) for node in nodes))

    async def lease(self, node: int) -> bool:
        """Whether node `node` got the right to write the next snapshot (until release)."""
        return bool(await self.redis.set(LEASE_KEY, str(node), nx=True, px=LEASE_MS))

    async def release(self, node: int) -> None:
        await self._release(keys=[LEASE_KEY], args=[str(node)])

    async def store(self, node: int, data: bytes, entry_id: str) -> bool:
        """Store snapshot `data` (reflecting `entry_id`) as the newest, all or nothing.

        Returns:
            False when a newer snapshot was stored meanwhile (this one is dropped).
        """
        temp = f"{SNAPSHOT_KEY}:tmp:{node}"
        await self.redis.delete(temp)
        for start in range(0, len(data), PAGE_BYTES):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.append(temp, data[start : start + PAGE_BYTES])
                pipe.expire(temp, _TEMP_TTL_S)
                await pipe.execute()
        keys = [temp, SNAPSHOT_KEY, SNAPSHOT_ID_KEY]
        return bool(await self._commit(keys=keys, args=[entry_id]))

    async def trim(self) -> str | None:
        """Trim the log to the oldest entry still needed (module docstring); the MINID used."""
        keys: list[Any] = [LOG_KEY, POSITIONS_KEY, SNAPSHOT_ID_KEY, TRIMMED_KEY]
        return _text(await self._trim(keys=keys))


def behind(trimmed: str | None, position: str) -> bool:
    """Whether entries after `position` may have been trimmed (the log was trimmed past it)."""
    return trimmed is not None and entry_time(trimmed) > entry_time(position)


def when(entry_id: str) -> str:
    """The time of a stream entry, for the log (UTC)."""
    stamp = datetime.fromtimestamp(entry_time(entry_id)[0] / 1000, UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(reply: object) -> str | None:
    return reply.decode() if isinstance(reply, bytes) else None
