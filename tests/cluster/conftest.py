"""A real redis-server for the cluster's tests (Debian's, started on a free loopback port)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from lanchat.server.app import LanchatServer, running_server
from tests.support import free_port, server_config

REDIS_SERVER = "/usr/bin/redis-server"
_READY_TIMEOUT_S = 10.0


class RedisServer:
    """One redis-server process with its data in a temporary directory; stop() and start()
    again keep the data (appendonly yes, appendfsync always: what docs/cluster.md asks for)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + _READY_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"redis-server did not listen on port {self.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop it as an operator would (SIGTERM); its data stays in the directory."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        self.proc = None


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A running redis-server on a free 127.0.0.1 port, data in a temporary directory."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def cluster_node(
    tmp_path: Path, redis_server: RedisServer
) -> Callable[..., AbstractAsyncContextManager[LanchatServer]]:
    """`async with cluster_node("a") as node:` runs an in-process node of the test cluster
    (its own data directory `tmp_path/<name>`; extra config sections as keyword arguments)."""

    def node(name: str, **sections: dict[str, Any]) -> AbstractAsyncContextManager[LanchatServer]:
        cluster = {"url": redis_server.url, **sections.pop("cluster", {})}
        return running_server(server_config(tmp_path / name, cluster=cluster, **sections))

    return node
