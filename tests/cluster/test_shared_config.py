"""Nodes configured differently (docs/cluster.md): real nodes over a real redis-server; a node
whose decision-relevant settings differ from the running nodes' is refused at start-up."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import redis.asyncio as aioredis

from lanchat.cluster.events import read_hello
from lanchat.cluster.node import LOG_KEY
from lanchat.passwords import ScryptParams, hash_password
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.cluster.test_failures import NODE_TIMEOUT_S, node_process
from tests.cluster.test_nodes import close, joined
from tests.support import run_serve_process, serve_argv, start_lanchat

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
OPER = hash_password("open sesame", ScryptParams(log2_n=4))
_REFUSED_WITHIN_S = 60.0  # a node that is not refused would run on: it is killed then


async def refused(tmp_path: Path, redis: RedisServer, toml: str) -> str:
    """Start `lanchat serve --cluster` with the config `toml`; it must exit 2: its one line."""
    config = tmp_path / "other.toml"
    config.write_text(toml)
    argv = serve_argv(tmp_path / "other", "--cluster", redis.url, "--config", str(config))
    proc = await start_lanchat(*argv)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), _REFUSED_WITHIN_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 2, (out, err)
    assert b"ready: port" not in out
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


async def test_two_nodes_configured_alike_join(cluster_node: Node) -> None:
    same = {"limits": {"nicklen": 20}, "opers": {"host": OPER}}
    async with cluster_node("a", **same) as a, cluster_node("b", **same) as b:
        assert a.cluster is not None and b.cluster is not None
        both = {a.cluster.node, b.cluster.node}
        assert set(b.cluster.replica.settings) == both
        assert not b.cluster.replica.refused
        alice = await joined(b.port, "alice")
        await close(alice)


async def test_a_node_with_another_nicklen_is_refused_naming_limits(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    async with cluster_node("a") as a:
        assert a.cluster is not None
        line = await refused(tmp_path, redis_server, "[limits]\nnicklen = 20\n")
        assert line.startswith("lanchat: error: this node's settings differ from those of the")
        assert f"(node {a.cluster.node}) in [limits]," in line
        assert "[opers]" not in line and "password" not in line
        assert line.endswith("or stop every node to change these settings")
        alice = await joined(a.port, "alice")  # the running node goes on as before
        await close(alice)
        assert not a.cluster.replica.differing_nodes(a.cluster.replica.settings[a.cluster.node])


async def test_a_node_with_another_oper_password_is_refused_without_a_hash_shown(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    other = hash_password("other words", ScryptParams(log2_n=4))
    async with cluster_node("a", opers={"host": OPER}):
        line = await refused(tmp_path, redis_server, f'[opers]\nhost = "{other}"\n')
    assert "in [opers]," in line and "[limits]" not in line
    assert "scrypt" not in line and other not in line and OPER not in line
    assert not re.search(r"[0-9a-f]{16}", line)  # no digest either


async def test_once_every_node_stopped_a_new_config_takes_over(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    async with cluster_node("a"):
        pass  # stopped cleanly: it said it is gone
    async with cluster_node("b", limits={"nicklen": 20}) as b:
        client = await joined(b.port, "short")
        client.send("NICK " + "n" * 25)
        await client.expect("432")  # the new nicklen rules
        await close(client)


async def test_after_a_node_was_killed_a_new_config_waits_out_its_heartbeat(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    """Every node killed (none said it is gone): a node configured otherwise reports them gone
    once their heartbeat stood still for its node_timeout_s, then joins."""
    async with run_serve_process(tmp_path / "killed", "--cluster", redis_server.url) as killed:
        killed.proc.kill()
        await killed.proc.wait()
    new = {"limits": {"nicklen": 20}, "cluster": {"node_timeout_s": 1.0}}
    async with cluster_node("b", **new) as b:
        assert b.cluster is not None
        assert set(b.cluster.replica.settings) == {b.cluster.node}


async def until(condition: Callable[[], object], timeout_s: float) -> None:
    """Wait until `condition()` is true (polled), or fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_node_back_from_being_taken_for_gone_says_hello_again(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    """Paused (SIGSTOP) past node_timeout_s, node a is taken for gone; back, it continues under
    a new number with a hello of its own, as at start-up: its rooms opened again, and its
    settings held against a newcomer configured otherwise once every other node stopped."""
    async with node_process(tmp_path, "a", redis_server.url) as a:
        async with cluster_node("b", cluster={"node_timeout_s": NODE_TIMEOUT_S}) as b:
            assert b.cluster is not None
            replica, b_node = b.cluster.replica, b.cluster.node
            (old,) = set(replica.settings) - {b_node}
            a.proc.send_signal(signal.SIGSTOP)
            try:
                await until(lambda: old not in replica.settings, 4 * NODE_TIMEOUT_S)
            finally:
                a.proc.send_signal(signal.SIGCONT)
            await until(lambda: set(replica.settings) - {b_node}, 4 * NODE_TIMEOUT_S)
            (new,) = set(replica.settings) - {b_node}
            assert new > old
            assert replica.settings[new] == replica.settings[b_node]
        store = aioredis.Redis.from_url(redis_server.url)
        hellos = [
            read_hello(fields[b"v"])
            for _, fields in await store.xrange(LOG_KEY)
            if fields[b"k"] == b"h" and fields[b"n"] == str(new).encode()
        ]
        await store.aclose()
        assert [rooms for rooms, _ in hellos] == [["#lobby"]]
        # b stopped cleanly (it said it is gone): only the node that came back is running.
        line = await refused(tmp_path, redis_server, "[limits]\nnicklen = 20\n")
        assert f"(node {new}) in [limits]," in line
        client = await joined(a.port, "back")  # the node that came back goes on
        await close(client)


async def test_a_node_back_from_being_taken_for_gone_stops_if_the_cluster_changed_settings(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    """While node a is paused, a node with another nicklen waits out its heartbeat, reports it
    gone and takes over; back, a's hello is refused, and a stops as at start-up: status 2 and
    the one line that names the running node and what differs."""
    async with node_process(tmp_path, "a", redis_server.url) as a:
        a.proc.send_signal(signal.SIGSTOP)
        try:
            other = {"limits": {"nicklen": 20}, "cluster": {"node_timeout_s": NODE_TIMEOUT_S}}
            async with cluster_node("c", **other) as c:
                assert c.cluster is not None
                a.proc.send_signal(signal.SIGCONT)
                assert await a.wait(4 * NODE_TIMEOUT_S) == 2
                lines = (await a.stderr_text()).strip().splitlines()
                assert lines[-1] == (
                    "lanchat: error: this node's settings differ from those of the cluster's "
                    f"running nodes (node {c.cluster.node}) in [limits], and the nodes of a "
                    "cluster must decide every line alike: start it with the same settings as "
                    "theirs, or stop every node to change these settings"
                )
                assert set(c.cluster.replica.settings) == {c.cluster.node}
                client = await joined(c.port, "still")
                await close(client)
        finally:
            if a.proc.returncode is None:
                a.proc.send_signal(signal.SIGCONT)
