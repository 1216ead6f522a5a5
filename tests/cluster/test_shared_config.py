"""Nodes configured differently (docs/cluster.md): real nodes over a real redis-server; a node
whose decision-relevant settings differ from the running nodes' is refused at start-up."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from lanchat.passwords import ScryptParams, hash_password
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.cluster.test_nodes import close, joined
from tests.support import run_serve_process, serve_argv, start_lanchat

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
OPER = hash_password("open sesame", ScryptParams(log2_n=4))


async def refused(tmp_path: Path, redis: RedisServer, toml: str) -> str:
    """Start `lanchat serve --cluster` with the config `toml`; it must exit 2: its one line."""
    config = tmp_path / "other.toml"
    config.write_text(toml)
    argv = serve_argv(tmp_path / "other", "--cluster", redis.url, "--config", str(config))
    proc = await start_lanchat(*argv)
    out, err = await proc.communicate()
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
