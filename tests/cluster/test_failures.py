"""A cluster under failure: a node killed with SIGKILL, Redis stopped and started again.

Spec: issue 20 "Failure": kill -9 of a node loses no message any client was shown; its users
reconnect to another node and fill the gap from history; the dead node's users leave the rooms
after a timeout, announced as a quit. If Redis becomes unreachable, clients are told in plain
words, nothing accepted is lost, and the node recovers by itself when Redis is back.
The killed nodes are `lanchat serve` processes, so SIGKILL is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from lanchat.protocol import Message
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.cluster.test_nodes import close, joined, said
from tests.server.test_durability import history
from tests.support import LineClient, ServerProcess, run_serve_process

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
NODE_TIMEOUT_S = 3.0


@contextlib.asynccontextmanager
async def node_process(tmp_path: Path, name: str, url: str) -> AsyncIterator[ServerProcess]:
    """`lanchat serve --cluster URL` with [cluster] node_timeout_s from its config file (and
    no flood control: the load is one client)."""
    config = tmp_path / f"{name}.toml"
    config.write_text(f"[cluster]\nnode_timeout_s = {NODE_TIMEOUT_S}\n[flood]\nenabled = false\n")
    async with run_serve_process(
        tmp_path / name, "--cluster", url, "--config", str(config)
    ) as server:
        yield server


class Sender:
    """Sends numbered room messages as fast as its server takes them, and keeps what it was
    shown (its echoes) and what it was told was not sent."""

    def __init__(self, client: LineClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.sent = 0
        self.echoed: list[str] = []
        self.refused: list[Message] = []
        self.running = True

    async def run(self, pause_s: float = 0.01) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while self.running:
                self.client.send(f"PRIVMSG #lobby :{self.prefix} {self.sent}")
                self.sent += 1
                await asyncio.sleep(pause_s)

    async def read(self) -> None:
        with contextlib.suppress(ConnectionError, OSError, AssertionError):
            while True:
                m = await self.client.expect(
                    lambda m: m.command in ("PRIVMSG", "FAIL", "NOTICE"), timeout_s=60
                )
                if m.command == "PRIVMSG" and m.params[-1].startswith(self.prefix):
                    self.echoed.append(m.params[-1])
                elif m.command == "FAIL":
                    self.refused.append(m)


async def rejoined(port: int, nick: str) -> LineClient:
    """`joined`, on a node that told its clients to connect again: as a client does, try again
    while it says it is joining the cluster again (until its hello is applied)."""
    async with asyncio.timeout(4 * NODE_TIMEOUT_S):
        while True:
            with contextlib.suppress(ConnectionError):
                return await joined(port, nick)
            await asyncio.sleep(0.2)


async def told_to_reconnect(stranded: LineClient, port: int, nick: str) -> LineClient:
    """The node of `stranded` came back from being taken for gone: its clients were closed
    with the sentence that says so, and `nick` joins on it again (`rejoined`)."""
    goodbye = [m for m in await stranded.expect_closed(timeout_s=10) if m.command == "ERROR"]
    assert "lost touch with the cluster for a while; connect again" in goodbye[0].params[0]
    return await rejoined(port, nick)


def from_(nick: str) -> Callable[[Message], bool]:
    return lambda m: (m.source or "").startswith(f"{nick}!")


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def watch(client: LineClient, prefix: str, into: list[str]) -> None:
    """Keep every room message starting with `prefix` that `client` is shown."""
    with contextlib.suppress(ConnectionError, OSError, AssertionError):
        while True:
            m = await client.expect(
                lambda m: m.command == "PRIVMSG" and m.params[-1].startswith(prefix), timeout_s=60
            )
            into.append(m.params[-1])


async def test_kill_9_of_a_node_under_load_loses_nothing_anyone_was_shown(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = redis_server.url
    async with node_process(tmp_path, "b", url) as b:
        async with node_process(tmp_path, "a", url) as a:
            client = await joined(a.port, "sender")
            sender = Sender(client, "k")
            on_a: list[str] = []
            on_b: list[str] = []
            watcher_a = await joined(a.port, "watch_a")
            watcher_b = await joined(b.port, "watch_b")
            tasks = [
                asyncio.create_task(sender.run()),
                asyncio.create_task(sender.read()),
                asyncio.create_task(watch(watcher_a, "k", on_a)),
                asyncio.create_task(watch(watcher_b, "k", on_b)),
            ]
            while len(on_b) < 100:
                await asyncio.sleep(0.05)
            a.proc.send_signal(signal.SIGKILL)
            await a.proc.wait()
            sender.running = False
            await stop(tasks)
            # Its users leave the rooms after the timeout, announced as a quit.
            for nick in ("sender", "watch_a"):
                quit_ = await watcher_b.expect("QUIT", from_(nick), timeout_s=4 * NODE_TIMEOUT_S)
                assert "stopped answering" in quit_.params[-1]
            shown = set(sender.echoed) | set(on_a) | set(on_b)
            # The sender comes back on the other node and fills the gap from history.
            back = await joined(b.port, "sender")
            stored = [m.params[-1] for m in await history(back, "#lobby")]
            assert shown <= set(stored)
            assert on_b == [text for text in stored if text in set(on_b)]  # one order
        # A restarted node rejoins, with the same history.
        async with node_process(tmp_path, "a", url) as again:
            reader = await joined(again.port, "reader")
            assert [m.params[-1] for m in await history(reader, "#lobby")] == stored
            back.send("PRIVMSG #lobby :after the restart")
            await reader.expect("PRIVMSG", lambda m: m.params[-1] == "after the restart")
            await close(reader, back, watcher_b)


async def test_redis_stopped_and_started_under_load(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    # Redis stays away longer than the node timeout: no node may take another for gone.
    settings = {"flood": {"enabled": False}, "cluster": {"node_timeout_s": 2.0}}
    async with cluster_node("a", **settings) as a, cluster_node("b", **settings) as b:
        client = await joined(a.port, "sender")
        client.send("CAP REQ standard-replies")
        await client.expect("CAP")
        sender = Sender(client, "r")
        on_b: list[str] = []
        watcher = await joined(b.port, "watcher")
        tasks = [
            asyncio.create_task(sender.run(0.02)),
            asyncio.create_task(sender.read()),
            asyncio.create_task(watch(watcher, "r", on_b)),
        ]
        while len(sender.echoed) < 50:
            await asyncio.sleep(0.05)
        assert redis_server.proc is not None
        redis_server.proc.send_signal(signal.SIGKILL)
        await redis_server.proc.wait()
        while not sender.refused:
            await asyncio.sleep(0.05)
        newcomer = await LineClient.connect(b.port)  # cannot join the cluster meanwhile
        goodbye = [m for m in await newcomer.expect_closed() if m.command == "ERROR"]
        assert (
            "the cluster's message store is unreachable; try again shortly" in goodbye[0].params[0]
        )
        await asyncio.sleep(3.0)
        await redis_server.start()
        echoed_before = len(sender.echoed)
        while len(sender.echoed) < echoed_before + 50:  # it recovered by itself
            await asyncio.sleep(0.05)
        sender.running = False
        await asyncio.sleep(0.5)
        await stop(tasks)
        refused = sender.refused[0]
        assert refused.params[:2] == ("PRIVMSG", "TEMPORARILY_UNAVAILABLE")
        assert "unreachable" in refused.params[-1] and "not sent" in refused.params[-1]
        stored_a = [m.params[-1] for m in await history(client, "#lobby")]
        stored_b = [m.params[-1] for m in await history(watcher, "#lobby")]
        assert stored_a == stored_b
        mine = [text for text in stored_a if text.startswith("r ")]
        assert mine == sender.echoed == on_b  # nothing accepted was lost, nothing shown twice
        assert not [m for m in watcher.seen + client.seen if m.command == "QUIT"]
        notices = [m.params[-1] for m in watcher.seen if m.command == "NOTICE"]
        assert any("unreachable" in text for text in notices)  # told, though not sending
        assert any("is back" in text for text in notices)
        await close(client, watcher)


async def test_a_node_taken_for_gone_closes_its_connections_and_joins_again(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A node cut off for longer than the timeout (here: stopped with SIGSTOP) finds, once
    back, that the others took it for gone: its users have quit everywhere, so it closes their
    connections with a reason, and goes on as a new node."""
    async with (
        node_process(tmp_path, "a", redis_server.url) as a,
        node_process(tmp_path, "b", redis_server.url) as b,
    ):
        watcher = await joined(a.port, "watcher")
        stranded = await joined(b.port, "stranded")
        b.proc.send_signal(signal.SIGSTOP)
        try:
            quit_ = await watcher.expect("QUIT", from_("stranded"), timeout_s=4 * NODE_TIMEOUT_S)
            assert "stopped answering" in quit_.params[-1]
        finally:
            b.proc.send_signal(signal.SIGCONT)
        again = await told_to_reconnect(stranded, b.port, "stranded")
        again.send("PRIVMSG #lobby :back again")
        await watcher.expect(said("back again"))
        await close(watcher, again)
