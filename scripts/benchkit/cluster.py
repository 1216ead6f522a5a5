"""A lanchat cluster on this machine for the benchmark: one redis-server and three nodes.

Layer: standard library (subprocess, /proc) and benchkit.servers. Spec: lanchat issue 20
("Three nodes and one Redis on this machine: cross-node p50/p99 latency at 200 messages/s,
and deliveries/s against a single node").

The nodes are `lanchat serve --cluster redis://127.0.0.1:PORT/0` with benchkit.servers's
config (every limit lifted, no mDNS, no web), each on its own port and data directory; Redis
is Debian's redis-server on a free loopback port, its data in a temporary directory, written
the way docs/cluster.md asks an operator to run it (append-only file, `appendfsync always`).
The CPU the cluster uses is the sum of the nodes' and Redis's, so its CPU per delivery
compares with one node's.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchkit import servers

NODES = 3
REDIS_SERVER = "redis-server"
# What docs/cluster.md asks of an operator: every entry fsync'd to the append-only file before
# Redis answers ("shown means stored").
REDIS_PERSISTENCE = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@dataclass
class Cluster:
    """The running cluster: its nodes (servers.Running) and its redis-server."""

    nodes: list[servers.Running]
    redis: subprocess.Popen[bytes]
    redis_log: Path

    @property
    def ports(self) -> list[int]:
        """The nodes' IRC ports on 127.0.0.1, node by node."""
        return [node.port for node in self.nodes]

    def cpu(self) -> float:
        """CPU seconds used so far by every node and Redis together."""
        return self.node_cpu() + self.redis_cpu()

    def node_cpu(self) -> float:
        """CPU seconds used so far by the nodes."""
        return sum(servers.cpu_seconds(node.pid) for node in self.nodes)

    def redis_cpu(self) -> float:
        """CPU seconds used so far by redis-server."""
        return servers.cpu_seconds(self.redis.pid)

    def died(self) -> str | None:
        """Why the cluster is broken (a node or Redis exited), or None."""
        for i, node in enumerate(self.nodes):
            if node.proc.poll() is not None:
                return f"node {i + 1} died ({node.proc.returncode}): {node.log_tail(2)}"
        if self.redis.poll() is not None:
            tail = self.redis_log.read_text(errors="replace").strip().splitlines()[-2:]
            return f"redis-server died ({self.redis.returncode}): {' | '.join(tail)}"
        return None


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + servers.READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise servers.SetupError(f"redis-server exited: {' | '.join(tail)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)  # a subprocess's listen socket: nothing to await on
    raise servers.SetupError(f"redis-server did not listen within {servers.READY_TIMEOUT_S} s")


@contextlib.contextmanager
def running(nodes: int = NODES) -> Iterator[Cluster]:
    """Start redis-server and `nodes` lanchat nodes joined to it; yield them; stop them all.

    Raises:
        servers.SetupError: redis-server is missing or did not start, or a node did not.
    """
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        raise servers.SetupError("no redis-server (Debian package redis-server)")
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmpname:
        tmp = Path(tmpname)
        port = servers.free_port()
        log = tmp / "redis.log"
        redis = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
             *REDIS_PERSISTENCE, "--logfile", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(redis, port, log)
            url = f"redis://127.0.0.1:{port}/0"
            with contextlib.ExitStack() as stack:
                started = [
                    stack.enter_context(servers.running("lanchat", extra_args=("--cluster", url)))
                    for _ in range(nodes)
                ]
                yield Cluster(started, redis, log)
        finally:
            servers.stop(redis)
