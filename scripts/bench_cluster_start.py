"""Benchmark a cluster node's start-up (issue 20): the whole log replayed, against the newest
snapshot loaded (docs/cluster.md "Snapshots and trimming").

Usage:
    .venv/bin/python scripts/bench_cluster_start.py [--entries 200000] [--users 100] [--rooms 1]
        [--rounds 3] [--quick]

(--quick: 3,000 entries, one round: checks that it runs.)

Each round starts a redis-server of its own (appendonly yes, appendfsync always, as
docs/cluster.md asks), fills the log with `--users` users of a node that is not running (their
heartbeat kept going by this script) joining #lobby (and `--rooms` - 1 more rooms) and saying
short lines, up to `--entries` entries; then times, each with a new data directory:

1. scratch: a node that replays the whole log (and writes every message to its SQLite);
2. that node writes a snapshot and the log is trimmed behind it (timed, with its size, and
   the longest time its event loop was held meanwhile: block_ms, what its clients wait);
3. handoff: a second node starts from the snapshot while the first runs, and the first hands it
   the history before the snapshot (lanchat.cluster.handoff);
4. snapshot: with the first node stopped, a third node starts from the snapshot alone (its
   history starts there).

Prints each round and the medians, with the ratio scratch / snapshot paired by round, the Redis
memory before and after the trim, and the 1-minute load average. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis

from lanchat.cluster.events import CONNECT, LINE, Event
from lanchat.cluster.node import LOG_KEY, RedisBus
from lanchat.config import load
from lanchat.server.app import SWITCH_INTERVAL_S, LanchatServer, running_server

FAKE_NODE = 1000  # the node the users are on: never running, its heartbeat kept by this script
_BATCH = 2000  # XADDs per pipeline while filling


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def redis_server(directory: Path) -> AsyncIterator[str]:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        shutil.which("redis-server") or "/usr/bin/redis-server",
        "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = aioredis.Redis.from_url(url)
    for _ in range(200):
        with contextlib.suppress(OSError, aioredis.ConnectionError):
            await client.ping()
            break
        await asyncio.sleep(0.05)
    await client.aclose()
    try:
        yield url
    finally:
        proc.terminate()
        await proc.wait()


async def fill(url: str, entries: int, users: int, rooms: int) -> None:
    """The log of `users` users of FAKE_NODE in #lobby (and rooms - 1 more rooms each), then
    their lines up to `entries`."""
    redis = aioredis.Redis.from_url(url)
    events = []
    joins = ",".join(["#lobby", *(f"#room{n}" for n in range(2, rooms + 1))])
    for n in range(1, users + 1):
        conn = (FAKE_NODE << 32) + n
        events.append(Event(CONNECT, FAKE_NODE, conn, b"10.0.0.1"))
        for text in (f"NICK user{n}", f"USER u{n} 0 * :User {n}", f"JOIN {joins}"):
            events.append(Event(LINE, FAKE_NODE, conn, text.encode()))
    for i in range(entries - len(events)):
        conn = (FAKE_NODE << 32) + 1 + i % users
        text = f"PRIVMSG #lobby :line {i}, a short message like most of a chat's"
        events.append(Event(LINE, FAKE_NODE, conn, text.encode()))
    for start in range(0, len(events), _BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for event in events[start : start + _BATCH]:
                pipe.xadd(LOG_KEY, event.fields())  # type: ignore[arg-type]
            await pipe.execute()
    await redis.aclose()


async def beat(url: str) -> None:
    """Keep FAKE_NODE's heartbeat going, so that no node takes its users for gone."""
    redis = aioredis.Redis.from_url(url)
    try:
        while True:
            await redis.hincrby("lanchat:beats", str(FAKE_NODE), 1)  # type: ignore[misc]
            await asyncio.sleep(0.5)
    finally:
        await redis.aclose()


def node_config(url: str, data_dir: Path) -> object:
    return load(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0},
            "store": {"data_dir": str(data_dir)},
            "discovery": {"enabled": False},
            "web": {"enabled": False, "port": 0},
            "tls": {"port": 0},
            "cluster": {"url": url},
        },
    )


@contextlib.asynccontextmanager
async def timed_node(url: str, data_dir: Path, took: list[float]) -> AsyncIterator[LanchatServer]:
    began = time.perf_counter()
    async with running_server(node_config(url, data_dir)) as node:  # type: ignore[arg-type]
        took.append(time.perf_counter() - began)
        yield node


async def longest_stall(stalls: list[float]) -> None:
    """Append the longest time the event loop went without coming back here, until cancelled
    (what a client of the node waits at worst meanwhile)."""
    longest = 0.0
    try:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0)
            longest = max(longest, time.perf_counter() - began)
    finally:
        stalls.append(longest)


async def used_memory(url: str) -> int:
    redis = aioredis.Redis.from_url(url)
    info = await redis.info("memory")
    await redis.aclose()
    return int(info["used_memory"])


async def one_round(entries: int, users: int, rooms: int, work: Path) -> dict[str, float]:
    got: dict[str, float] = {}
    redis_dir = work / "redis"
    redis_dir.mkdir()
    async with redis_server(redis_dir) as url:
        await fill(url, entries, users, rooms)
        beating = asyncio.get_running_loop().create_task(beat(url))
        got["memory_before_mb"] = await used_memory(url) / 1e6
        took: list[float] = []
        async with timed_node(url, work / "a", took) as first:
            got["scratch_s"] = took[-1]
            bus = first.cluster
            assert isinstance(bus, RedisBus)
            stalls: list[float] = []
            watching = asyncio.get_running_loop().create_task(longest_stall(stalls))
            await asyncio.sleep(0)
            began = time.perf_counter()
            await bus.compaction.write(bus.replica, bus.node, lambda: bus.last_id)
            got["snapshot_write_s"] = time.perf_counter() - began
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            got["block_ms"] = stalls[0] * 1000
            redis = aioredis.Redis.from_url(url)
            got["snapshot_kb"] = await redis.strlen("lanchat:snapshot") / 1000
            got["xlen_after_trim"] = await redis.xlen(LOG_KEY)
            await redis.aclose()
            got["memory_after_mb"] = await used_memory(url) / 1e6
            async with timed_node(url, work / "b", took):
                got["handoff_s"] = took[-1]
        async with timed_node(url, work / "c", took):
            got["snapshot_s"] = took[-1]
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    return got


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=1, help="rooms each user joins")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="3,000 entries, one round")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.rounds = 3000, 1
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as `lanchat serve` does: block_ms depends on it
    rounds = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="lanchat-bench-start-") as work:
            got = await one_round(args.entries, args.users, args.rooms, Path(work))
        got["ratio"] = got["scratch_s"] / got["snapshot_s"]
        rounds.append(got)
        print(f"round {n + 1}: " + ", ".join(f"{k} {v:.3g}" for k, v in got.items()), flush=True)
    print(
        f"medians of {args.rounds} rounds, {args.entries} entries, {args.users} users in "
        f"{args.rooms} rooms each:"
    )
    for key in rounds[0]:
        values = [got[key] for got in rounds]
        print(
            f"  {key}: {statistics.median(values):.3g} (range {min(values):.3g}-{max(values):.3g})"
        )
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
