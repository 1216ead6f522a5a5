"""Snapshots in a real redis-server, and the log trimmed behind them (cluster.compaction)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import zlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from lanchat.cluster.compaction import (
    POSITIONS_KEY,
    SNAPSHOT_ID_KEY,
    SNAPSHOT_KEY,
    TRIMMED_KEY,
    behind,
)
from lanchat.cluster.events import entry_time
from lanchat.cluster.node import LOG_KEY
from lanchat.cluster.snapshot import MAGIC, canonical, decode
from lanchat.errors import ClusterError
from lanchat.protocol import Message
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.cluster.test_failures import told_to_reconnect
from tests.cluster.test_lost_answers import Proxy
from tests.cluster.test_nodes import close, joined, said
from tests.server.test_durability import history, history_batch
from tests.support import LineClient, run_serve_process

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
OFTEN = {"snapshot_entries": 40, "snapshot_interval_s": 3600}


def often(
    cluster_node: Node, name: str, **cluster: float
) -> AbstractAsyncContextManager[LanchatServer]:
    """A node that takes a snapshot every 40 entries, with no flood control (the tests send
    as fast as they can); node_timeout_s=1.5 registers its position every half second."""
    return cluster_node(name, cluster={**OFTEN, **cluster}, flood={"enabled": False})


def with_(nick: str) -> Callable[[Message], bool]:
    """A reply that names `nick` (earlier replies without it stay unread)."""
    return lambda m: nick in " ".join(m.params).replace("@", " ").split()


async def settled(*nodes: LanchatServer) -> None:
    """Wait until every node applied the same last entry, then compare their states."""
    for _ in range(200):
        ids = {node.cluster.last_id for node in nodes if node.cluster is not None}
        if len(ids) == 1:
            states = [canonical(node.cluster.replica) for node in nodes if node.cluster]
            assert all(state == states[0] for state in states[1:])
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the nodes did not reach one entry: {ids}")


async def chat(client: LineClient, count: int, prefix: str) -> None:
    for i in range(count):
        client.send(f"PRIVMSG #lobby :{prefix} {i}")
    await client.expect(said(f"{prefix} {count - 1}"))


async def test_a_node_started_after_the_log_was_trimmed_holds_what_the_others_hold(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    store = aioredis.Redis.from_url(redis_server.url)
    async with (
        often(cluster_node, "a", node_timeout_s=1.5) as a,
        often(cluster_node, "b", node_timeout_s=1.5) as b,
    ):
        alice, bob = await joined(a.port, "alice"), await joined(b.port, "bob")
        alice.send("TOPIC #lobby :before the snapshot")
        alice.send("MODE #lobby +k door")
        bob.send("AWAY :out")
        await chat(alice, 100, "early")
        await asyncio.sleep(1.0)  # both nodes register their positions
        await chat(bob, 50, "middle")
        async with asyncio.timeout(10):  # the snapshot after "middle" is written, and trimmed
            while any(fields[b"k"] == b"h" for _, fields in await store.xrange(LOG_KEY)):
                await asyncio.sleep(0.05)  # the nodes' hellos are not gone yet
        trimmed = (await store.get(TRIMMED_KEY)).decode()
        kept = await store.xrange(LOG_KEY)
        assert entry_time(trimmed) > (0, 0) and kept[0][0].decode() == trimmed
        async with often(cluster_node, "c") as c:
            await settled(a, b, c)
            carol = await joined(c.port, "carol", "#lobby door")
            await chat(bob, 5, "late")
            await carol.expect(said("late 4"))
            await settled(a, b, c)
            for client in (alice, carol):
                client.send("WHO #lobby")
                client.send("NAMES #lobby")
            who = [await c.expect("352", lambda m: m.params[5] == "carol") for c in (alice, carol)]
            names = [await c.expect("353", with_("carol")) for c in (alice, carol)]
            for got in (who, names):  # as the others hold them
                assert got[0].params[1:] == got[1].params[1:]
            # Its history before the snapshot was handed over by a or b (cluster.handoff).
            stored = [await history(client, "#lobby") for client in (alice, carol)]
            assert [m.tags["msgid"] for m in stored[0]] == [m.tags["msgid"] for m in stored[1]]
            texts = [m.params[-1] for m in stored[1]]
            assert texts[:2] == ["early 0", "early 1"] and texts[-1] == "late 4"
            await close(carol)
        await close(alice, bob)
    await store.aclose()


async def test_the_log_stays_short_under_a_long_run(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    store = aioredis.Redis.from_url(redis_server.url)
    lengths = []
    async with (
        often(cluster_node, "a", node_timeout_s=1.5) as a,
        often(cluster_node, "b", node_timeout_s=1.5) as b,
    ):
        alice, bob = await joined(a.port, "alice"), await joined(b.port, "bob")
        for round_ in range(30):
            await chat(alice if round_ % 2 else bob, 40, f"r{round_}")
            await asyncio.sleep(0.3)
            lengths.append(await store.xlen(LOG_KEY))
        await close(alice, bob)
    await store.aclose()
    # 1,200 messages: the log holds what came since the newest snapshot and since the oldest
    # position registered (a heartbeat old), about two rounds.
    assert max(lengths[5:]) < 160, lengths


async def test_the_log_is_not_trimmed_past_a_live_node_that_has_not_applied_it(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    store = aioredis.Redis.from_url(redis_server.url)

    async def beat() -> None:
        while True:
            await store.hincrby("lanchat:beats", "99", 1)  # type: ignore[misc]
            await asyncio.sleep(0.1)

    async with often(cluster_node, "a", node_timeout_s=1.5) as a:
        alice = await joined(a.port, "alice")
        first = (await store.xrange(LOG_KEY, count=1))[0][0]
        # Node 99 applied the first entry and no more, and its heartbeat goes on.
        await store.hset("lanchat:positions", "99", first)  # type: ignore[misc]
        beating = asyncio.get_running_loop().create_task(beat())
        for round_ in range(4):
            await chat(alice, 50, f"m{round_}")
            await asyncio.sleep(0.5)
        assert await store.get(SNAPSHOT_ID_KEY) is not None
        assert (await store.xrange(LOG_KEY, count=1))[0][0] == first  # nothing trimmed
        beating.cancel()
        await asyncio.sleep(2.5)  # its heartbeat stood still for node_timeout_s: it is gone
        await chat(alice, 50, "after")
        await asyncio.sleep(0.5)
        await chat(alice, 50, "again")
        assert await store.hget("lanchat:positions", "99") is None  # type: ignore[misc]
        assert (await store.xrange(LOG_KEY, count=1))[0][0] != first
        await close(alice)
    await store.aclose()


WRITER = """
import asyncio, sys
import pytest
import redis.asyncio as aioredis
from lanchat.cluster.events import entry_time
from lanchat.cluster.compaction import Compaction
from lanchat.config import Cluster

async def main():
    redis = aioredis.Redis.from_url(sys.argv[1])
    compaction = Compaction(redis, sys.argv[2], Cluster(), 1.0)
    print("writing", flush=True)
    await compaction.store(7, b"x" * (64 << 20), "99999999999999-0")

asyncio.run(main())
"""


async def test_a_writer_killed_halfway_leaves_the_newest_snapshot_whole(
    cluster_node: Node, redis_server: RedisServer, tmp_path: Path
) -> None:
    store = aioredis.Redis.from_url(redis_server.url)
    async with often(cluster_node, "a") as a:
        alice = await joined(a.port, "alice")
        await chat(alice, 60, "m")
        await close(alice)
    before = await store.get(SNAPSHOT_KEY)
    assert before is not None
    cluster_id = (await store.get("lanchat:id")).decode()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, redis_server.url, cluster_id,
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert writer.stdout is not None
    await writer.stdout.readline()
    while not await store.exists(f"{SNAPSHOT_KEY}:tmp:7"):  # some pages are in
        await asyncio.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    await writer.wait()
    assert await store.get(SNAPSHOT_KEY) == before  # not half of the new one
    assert await store.ttl(f"{SNAPSHOT_KEY}:tmp:7") > 0  # the pages written go by themselves
    async with (
        often(cluster_node, "a2") as a2,
        often(cluster_node, "b") as b,
    ):
        await settled(a2, b)
        assert decode(before).entry_id == (await store.get(SNAPSHOT_ID_KEY)).decode()
    await store.aclose()


async def test_a_node_paused_while_the_log_moved_on_starts_over_from_the_snapshot(
    cluster_node: Node, redis_server: RedisServer, tmp_path: Path
) -> None:
    """A node stopped (SIGSTOP) past node_timeout_s: the others forget its position and trim
    the log past it. Back, it must not apply what follows the gap: it starts over from the
    newest snapshot as a new node, its clients reconnect, and it holds what the others hold."""
    store = aioredis.Redis.from_url(redis_server.url)
    config = tmp_path / "b.toml"
    config.write_text(
        "[cluster]\nnode_timeout_s = 2.0\nsnapshot_entries = 40\n[flood]\nenabled = false\n"
    )
    async with (
        often(cluster_node, "a", node_timeout_s=2.0) as a,
        run_serve_process(tmp_path / "b", "--cluster", redis_server.url, "--config", str(config))
        as b,
    ):  # fmt: skip
        watcher = await joined(a.port, "watcher")
        stranded = await joined(b.port, "stranded")
        b.proc.send_signal(signal.SIGSTOP)
        try:
            await watcher.expect("QUIT", lambda m: (m.source or "").startswith("stranded!"))
            paused_at = await store.hgetall("lanchat:positions")  # type: ignore[misc]
            for round_ in range(3):
                await chat(watcher, 50, f"w{round_}")
                await asyncio.sleep(1.0)
            trimmed = (await store.get(TRIMMED_KEY)).decode()
            assert all(entry_time(trimmed) > entry_time(p.decode()) for p in paused_at.values()
                       if p != paused_at.get(b"1"))  # fmt: skip
        finally:
            b.proc.send_signal(signal.SIGCONT)
        again = await told_to_reconnect(stranded, b.port, "again")
        watcher.send("PRIVMSG #lobby :after")
        await again.expect(said("after"))
        for client in (watcher, again):
            client.send("NAMES #lobby")
        names = [await client.expect("353", with_("again")) for client in (watcher, again)]
        assert names[0].params[-1] == names[1].params[-1] == "@watcher again"
        stored = [await history(client, "#lobby") for client in (watcher, again)]
        assert [m.tags["msgid"] for m in stored[0]] == [m.tags["msgid"] for m in stored[1]]
        await close(watcher, again)
    await store.aclose()


async def test_a_node_with_nobody_to_hand_it_the_history_says_what_it_lacks(
    cluster_node: Node, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with often(cluster_node, "a", node_timeout_s=1.5) as a:
        alice = await joined(a.port, "alice")
        await chat(alice, 60, "early")
        await asyncio.sleep(1.0)
        await chat(alice, 60, "more")
        await close(alice)
    caplog.set_level(logging.INFO, "lanchat.cluster")
    async with often(cluster_node, "b") as b:
        bob = await joined(b.port, "bob")
        await chat(bob, 1, "hello")
        stored = await history_batch(bob, "CHATHISTORY LATEST #lobby * 200")
        texts = [m.params[-1] for m in stored]
        assert "early 0" not in texts and texts[-1] == "hello 0"
        await close(bob)
    said_ = [r.getMessage() for r in caplog.records if r.name == "lanchat.cluster.handoff"]
    assert len(said_) == 1 and said_[0].startswith(
        "cluster: this node's history lacks the cluster's messages up to 20"
    )
    assert "no other node is running to hand its history over" in said_[0]


async def test_a_snapshot_this_lanchat_cannot_read_stops_a_starting_node_with_one_line(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    store = aioredis.Redis.from_url(redis_server.url)
    async with often(cluster_node, "a", node_timeout_s=1.5) as a:
        alice = await joined(a.port, "alice")
        await chat(alice, 60, "early")
        await asyncio.sleep(1.0)
        await chat(alice, 60, "more")  # trimmed: a node cannot start without the snapshot
        await close(alice)
    stored = decode(await store.get(SNAPSHOT_KEY))
    other = {"format": 1, "cluster": stored.cluster_id, "entry": stored.entry_id, "state": {}}
    await store.set(SNAPSHOT_KEY, MAGIC + zlib.compress(json.dumps(other).encode()))
    with pytest.raises(ClusterError, match="cannot be loaded by this lanchat"):
        async with often(cluster_node, "b"):
            pass
    await store.set(SNAPSHOT_KEY, b"\x80\x04pickled")
    with pytest.raises(ClusterError, match="the cluster's log was trimmed and its snapshot"):
        async with often(cluster_node, "c"):
            pass
    await store.aclose()


async def test_a_node_whose_log_was_trimmed_while_it_caught_up_starts_again_from_the_snapshot(
    cluster_node: Node, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Node c starts from a snapshot; its first read of the log after it is held (a proxy
    between c and Redis) until node a, hearing no heartbeat from c, forgot c's position and
    trimmed the log past it and past a user who joined meanwhile. c must not apply what follows
    the gap: it loads the newer snapshot, and holds what a holds."""
    store = aioredis.Redis.from_url(redis_server.url)
    proxy = Proxy(redis_server.port, mark=b"XRANGE")
    proxy.traps.append("hold")
    await proxy.back()
    caplog.set_level(logging.WARNING, "lanchat.cluster.node")
    async with (
        often(cluster_node, "a", node_timeout_s=1.0) as a,
        contextlib.AsyncExitStack() as stack,
    ):
        assert a.cluster is not None
        alice = await joined(a.port, "alice")
        await chat(alice, 60, "early")
        while await store.get(TRIMMED_KEY) is None:  # a snapshot, the log trimmed behind it
            await asyncio.sleep(0.05)
        c_node = cluster_node("c", cluster={**OFTEN, "url": proxy.url}, flood={"enabled": False})
        starting = asyncio.create_task(stack.enter_async_context(c_node))
        while not proxy.sprung:  # c reads the log after its snapshot: held there
            await asyncio.sleep(0.02)
        positions = await store.hgetall(POSITIONS_KEY)  # type: ignore[misc]
        (held_at,) = [p.decode() for n, p in positions.items() if int(n) != a.cluster.node]
        late = await joined(a.port, "late")  # in the part of the log c will not find
        ((joined_at, _),) = await store.xrevrange(LOG_KEY, count=1)
        round_ = 0
        while not behind(_text(await store.get(TRIMMED_KEY)), joined_at.decode()):
            await chat(alice, 20, f"m{round_}")
            round_ += 1
        assert behind(_text(await store.get(TRIMMED_KEY)), held_at)
        proxy.release()
        c = await starting
        await settled(a, c)
        assert "cluster: the log was trimmed past this node while it started" in caplog.messages
        carol = await joined(c.port, "carol")
        carol.send("NAMES #lobby")
        names = await carol.expect("353", with_("carol"))
        assert names.params[-1].split() == ["@alice", "late", "carol"]
        await close(alice, late, carol)
    proxy.away()
    await store.aclose()


def _text(reply: bytes | None) -> str | None:
    return reply.decode() if reply is not None else None
