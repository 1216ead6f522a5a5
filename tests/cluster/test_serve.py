"""`lanchat serve --cluster URL` and `[cluster] url`: what the host types, and what it is told."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from lanchat.cluster.node import without_password
from lanchat.config import load
from lanchat.errors import ClusterError, ConfigError
from lanchat.server.app import LanchatServer, running_server
from tests.cluster.conftest import RedisServer
from tests.cluster.test_nodes import close, joined, said
from tests.support import (
    free_port,
    run_serve_process,
    serve_argv,
    server_config,
    start_lanchat,
)

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]


async def test_a_node_configured_in_toml_shares_the_rooms_of_one_started_with_the_flag(
    tmp_path: Path, redis_server: RedisServer, cluster_node: Node
) -> None:
    config = tmp_path / "lanchat.toml"
    config.write_text(f'[cluster]\nurl = "{redis_server.url}"\n')
    async with (
        run_serve_process(tmp_path / "p", "--config", str(config)) as process,
        cluster_node("q") as node,
    ):
        assert await process.wait_for_output("this server is node")
        there = await joined(process.port, "there")
        here = await joined(node.port, "here")
        await there.expect("JOIN", lambda m: (m.source or "").startswith("here!"))
        here.send("PRIVMSG #lobby :across")
        await there.expect(said("across"))
        await close(there, here)


async def test_an_unreachable_redis_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = await start_lanchat(*serve_argv(tmp_path / "data", "--cluster", url))
    _, err = await proc.communicate()
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"lanchat: error: cannot use the cluster's Redis at {url} (")
    assert lines[0].endswith("start redis-server there, or check --cluster")


def test_a_cluster_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[cluster\] url 'http://x' must be a Redis URL"):
        load(None, {"cluster": {"url": "http://x"}})


def test_a_server_on_its_own_never_imports_redis(tmp_path: Path) -> None:
    """Without --cluster nothing changes: no Redis client is even loaded."""
    program = f"""
import asyncio, sys
from lanchat.cli import main
from lanchat.server.app import running_server
from tests.support import server_config

async def run():
    async with running_server(server_config({str(tmp_path / "data")!r})):
        pass

asyncio.run(run())
print("redis" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_redis_password_is_never_shown() -> None:
    assert without_password("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert without_password("redis://ann:s3cret@h/1") == "redis://ann:***@h/1"
    assert without_password("redis://h:6379/0") == "redis://h:6379/0"


async def test_a_data_directory_with_a_history_of_its_own_cannot_join(
    tmp_path: Path, cluster_node: Node
) -> None:
    """Its CHATHISTORY would answer with messages no other node has."""
    async with running_server(server_config(tmp_path / "solo")) as solo:
        talker = await joined(solo.port, "talker")
        talker.send("PRIVMSG #lobby :before the cluster")
        await talker.expect(said("before the cluster"))
        await close(talker)
    with pytest.raises(ClusterError, match="holds a history that is not this cluster's"):
        async with cluster_node("solo"):
            pass
