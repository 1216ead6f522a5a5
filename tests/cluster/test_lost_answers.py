"""Exactly once when an XADD's answer is lost (docs/cluster.md, "An XADD whose answer was lost").

Node a reaches the real redis-server through a small TCP proxy that breaks the connection of a
request holding a marker, at a chosen moment: after Redis stored it and before its answer came
back ("after"), or before the request got to Redis ("before"); node b reaches Redis directly.
Deterministic: the proxy acts on the marked request itself, not on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from lanchat.cluster.node import BACK, REJOINING, UNSURE
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.cluster.test_nodes import close, joined, said
from tests.cluster.test_secrets import stream
from tests.cluster.test_shared_config import until
from tests.support import LineClient, free_port

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
MARK = b"lost answer"


class Proxy:
    """127.0.0.1:port -> redis-server, breaking the connection of marked requests.

    `traps` are consumed in order, one per request holding `mark`: "before" closes the
    connection without forwarding the request; "after" forwards it and closes the connection
    when Redis's answer comes, without forwarding it; "away after" and "away before" do the
    same, and the proxy then closes every connection and refuses new ones until `back()`;
    "hold" keeps that request and every later one, of every connection, until `release()`
    (the client looks paused to Redis and to the other nodes).
    """

    def __init__(self, upstream_port: int, mark: bytes = MARK) -> None:
        self.upstream_port = upstream_port
        self.mark = mark
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.traps: list[str] = []
        self.sprung: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()  # cleared while a "hold" trap holds the requests
        self._flowing.set()

    def release(self) -> None:
        """Forward what a "hold" trap held, and what comes next."""
        self._flowing.set()

    async def back(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def away(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        redis_r, redis_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {client_w, redis_w}
        drop_answer: list[str] = []  # the trap waiting for Redis's answer on this connection

        def cut() -> None:
            client_w.close()
            redis_w.close()

        async def requests() -> None:
            while data := await client_r.read(65536):
                if self.mark in data and self.traps:
                    trap = self.traps.pop(0)
                    self.sprung.append(trap)
                    if trap == "hold":
                        self._flowing.clear()
                    elif trap.endswith("before"):
                        cut()
                        if trap.startswith("away"):
                            self.away()
                        return
                    else:
                        drop_answer.append(trap)
                await self._flowing.wait()
                redis_w.write(data)
                await redis_w.drain()
            cut()

        async def answers() -> None:
            while data := await redis_r.read(65536):
                if drop_answer:
                    cut()
                    if drop_answer[0].startswith("away"):
                        self.away()
                    return
                client_w.write(data)
                await client_w.drain()
            cut()

        with contextlib.suppress(OSError):
            await asyncio.gather(requests(), answers())
        self._writers -= {client_w, redis_w}


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[Proxy]:
    proxy = Proxy(redis_server.port)
    await proxy.back()
    try:
        yield proxy
    finally:
        proxy.away()


async def in_log(redis_server: RedisServer, text: bytes) -> int:
    """How many entries of the whole stream hold `text`."""
    return sum(text in fields.get(b"v", b"") for _, fields in await stream(redis_server))


def shown(client: LineClient, text: str) -> int:
    return sum(said(text)(m) for m in client.seen)


# The second trap of each: a repeated request (by redis-py, or the node's own second try) is
# lost too, so the node has to find out what Redis has, whichever tries the client makes.
@pytest.mark.parametrize(
    "traps",
    [
        pytest.param(["after", "before"], id="stored-answer-lost"),
        pytest.param(["before", "before"], id="never-got-there"),
    ],
)
async def test_a_line_whose_answer_was_lost_is_shown_once_and_never_refused(
    cluster_node: Node, redis_server: RedisServer, proxy: Proxy, traps: list[str]
) -> None:
    async with cluster_node("a", cluster={"url": proxy.url}) as a, cluster_node("b") as b:
        alice = await joined(a.port, "alice")
        bob = await joined(b.port, "bob")
        alice.send("CAP REQ standard-replies")
        await alice.expect("CAP", lambda m: m.params[1:] == ("ACK", "standard-replies"))
        proxy.traps = list(traps)
        alice.send("PRIVMSG #lobby :lost answer")
        alice.send("PRIVMSG #lobby :next one")
        await alice.expect(said("next one"))
        alice.send("PRIVMSG #lobby :third")  # appended once the node knows what Redis has
        for client in (alice, bob):
            await client.expect(said("third"))
            texts = [m.params[-1] for m in client.seen if m.command == "PRIVMSG"]
            assert texts == ["lost answer", "next one", "third"]
        assert proxy.sprung[0] == traps[0]
        assert not [m for m in alice.seen if m.command in ("FAIL", "NOTICE")]
        assert await in_log(redis_server, MARK) == 1
        await close(alice, bob)


@pytest.mark.parametrize(
    ("trap", "stored"),
    [pytest.param("away after", 1, id="stored"), pytest.param("away before", 0, id="not-stored")],
)
async def test_a_line_whose_answer_was_lost_while_redis_went_away_is_refused_honestly(
    cluster_node: Node, redis_server: RedisServer, proxy: Proxy, trap: str, stored: int
) -> None:
    """The answer was lost, and Redis stayed away past the wait: the sender is told it may or
    may not have been sent; once Redis is back, a stored line shows once, as stored, and one
    that was not is not appended late (a resend would show it twice)."""
    async with cluster_node("a", cluster={"url": proxy.url}) as a, cluster_node("b") as b:
        alice = await joined(a.port, "alice")
        bob = await joined(b.port, "bob")
        alice.send("CAP REQ standard-replies")
        await alice.expect("CAP", lambda m: m.params[1:] == ("ACK", "standard-replies"))
        proxy.traps = [trap]
        alice.send("PRIVMSG #lobby :lost answer")
        told = await alice.expect("FAIL", timeout_s=10)
        assert told.params[:2] == ("PRIVMSG", "TEMPORARILY_UNAVAILABLE")
        assert told.params[-1] == UNSURE
        await proxy.back()
        await alice.expect("NOTICE", lambda m: m.params[-1] == BACK, timeout_s=10)
        alice.send("PRIVMSG #lobby :next one")
        for client in (alice, bob):
            await client.expect(said("next one"))
            assert shown(client, "lost answer") == stored
        assert await in_log(redis_server, MARK) == stored
        await close(alice, bob)


async def test_a_node_back_from_being_taken_for_gone_takes_no_client_before_its_hello(
    cluster_node: Node, proxy: Proxy
) -> None:
    """Node a loses Redis (the proxy goes away) past node_timeout_s, and b reports it gone.
    Back, a takes a new number (INCR, held here by the proxy) and says hello: a client that
    connects meanwhile is told to try again, as no port is open before the hello at start-up
    (it would be numbered, and appended, as the gone node's)."""
    fast = {"node_timeout_s": 1.0}
    async with (
        cluster_node("a", cluster={"url": proxy.url, **fast}) as a,
        cluster_node("b", cluster=fast) as b,
    ):
        assert a.cluster is not None and b.cluster is not None
        old = a.cluster.node
        proxy.away()
        await until(lambda: old not in b.cluster.replica.settings, 15)
        proxy.mark = b"\r\nINCRBY\r\n"  # redis-py INCR (HINCRBY is not it)
        proxy.traps.append("hold")
        await proxy.back()
        await until(lambda: proxy.sprung, 15)  # a is taking its new number
        early = await LineClient.connect(a.port)
        goodbye = [m for m in await early.expect_closed() if m.command == "ERROR"]
        assert REJOINING in goodbye[0].params[0]
        proxy.release()
        await until(lambda: set(b.cluster.replica.settings) == {a.cluster.node, b.cluster.node}, 15)
        assert a.cluster.node != old
        client = await joined(a.port, "later")
        client.send("PRIVMSG #lobby :on the new number")
        watcher = await joined(b.port, "watcher")
        client.send("PRIVMSG #lobby :seen on b")
        await watcher.expect(said("seen on b"))
        await close(client, watcher)
