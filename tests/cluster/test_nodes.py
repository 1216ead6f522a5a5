"""Two and three in-process nodes over a real redis-server: one cluster, one set of rooms."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from lanchat.protocol import Message
from lanchat.server.app import LanchatServer
from tests.support import LineClient

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
CAPS = ("message-tags", "server-time", "echo-message", "batch", "draft/chathistory")


async def joined(port: int, nick: str, room: str = "#lobby") -> LineClient:
    client = await LineClient.connect(port)
    await client.register(nick, caps=CAPS)
    client.send(f"JOIN {room}")
    await client.expect("366")
    return client


def said(text: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "PRIVMSG" and m.params[-1] == text


async def test_a_room_message_and_a_private_one_cross_nodes_with_one_msgid_and_time(
    cluster_node: Node,
) -> None:
    async with cluster_node("a") as a, cluster_node("b") as b:
        alice = await joined(a.port, "alice")
        bob = await joined(b.port, "bob")
        await alice.expect("JOIN", lambda m: m.source is not None and m.source.startswith("bob!"))
        alice.send("PRIVMSG #lobby :hello from a")
        echo = await alice.expect(said("hello from a"))
        seen = await bob.expect(said("hello from a"))
        assert seen.tags["msgid"] == echo.tags["msgid"]
        assert seen.tags["time"] == echo.tags["time"]
        bob.send("PRIVMSG alice :psst")
        private = await alice.expect(said("psst"))
        assert private.source is not None and private.source.startswith("bob!")
        assert private.params[0] == "alice"
