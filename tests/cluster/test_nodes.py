"""Two and three in-process nodes over a real redis-server: one cluster, one set of rooms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from lanchat.protocol import Message
from lanchat.server.app import LanchatServer
from tests.server.test_durability import history
from tests.support import LineClient

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
CAPS = ("message-tags", "server-time", "echo-message", "batch", "draft/chathistory")


async def joined(port: int, nick: str, room: str = "#lobby") -> LineClient:
    client = await LineClient.connect(port)
    await client.register(nick, caps=CAPS)
    client.send(f"JOIN {room}")
    await client.expect("366")
    return client


async def close(*clients: LineClient) -> None:
    """Close the test's connections: a node stopping waits for its clients to go."""
    for client in clients:
        await client.close()


def numbered(m: Message) -> bool:
    return m.command == "PRIVMSG" and m.params[-1].startswith("m ")


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
        await close(alice, bob)


async def test_a_nick_taken_on_one_node_is_taken_on_the_others(cluster_node: Node) -> None:
    async with cluster_node("a") as a, cluster_node("b") as b:
        carol = await joined(a.port, "carol")
        late = await LineClient.connect(b.port)
        late.send("NICK Carol")
        late.send("USER x 0 * :x")
        await late.expect_numeric("433")
        await close(carol, late)


async def test_two_nodes_asked_for_one_nick_at_once_give_it_to_exactly_one(
    cluster_node: Node,
) -> None:
    async with cluster_node("a") as a, cluster_node("b") as b:
        for round_ in range(5):
            nick = f"dave{round_}"
            one, two = await LineClient.connect(a.port), await LineClient.connect(b.port)
            for client in (one, two):
                client.send(f"NICK {nick}")
                client.send("USER x 0 * :x")
            outcomes = await asyncio.gather(
                *(c.expect(lambda m: m.command in ("001", "433")) for c in (one, two))
            )
            assert sorted(m.command for m in outcomes) == ["001", "433"]
            await close(one, two)


async def test_three_nodes_show_every_message_in_one_order_and_chathistory_agrees(
    cluster_node: Node,
) -> None:
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(cluster_node(name)) for name in "abc"]
        clients = [await joined(node.port, f"user{i}") for i, node in enumerate(nodes)]
        watchers = [await joined(node.port, f"watch{i}") for i, node in enumerate(nodes)]
        per_sender = 30
        for n in range(per_sender):
            for i, client in enumerate(clients):
                client.send(f"PRIVMSG #lobby :m {i} {n}")
        total = per_sender * len(clients)

        async def transcript(client: LineClient) -> list[tuple[str, str, str]]:
            got: list[tuple[str, str, str]] = []
            while len(got) < total:
                m = await client.expect(numbered)
                got.append((m.params[-1], m.tags["msgid"], m.tags["time"]))
            return got

        seen = await asyncio.gather(*(transcript(w) for w in watchers))
        assert seen[0] == seen[1] == seen[2]
        for i in range(len(clients)):  # each sender's own order is kept
            mine = [text for text, _, _ in seen[0] if text.startswith(f"m {i} ")]
            assert mine == [f"m {i} {n}" for n in range(per_sender)]
        histories = [
            [(m.params[-1], m.tags["msgid"], m.tags["time"]) for m in await history(w, "#lobby")]
            for w in watchers
        ]
        assert histories[0] == histories[1] == histories[2] == seen[0]
        await close(*clients, *watchers)


async def test_a_topic_and_modes_set_on_one_node_hold_on_the_others(cluster_node: Node) -> None:
    async with cluster_node("a") as a, cluster_node("b") as b:
        op = await joined(a.port, "op")
        op.send("TOPIC #lobby :plans for tonight")
        op.send("MODE #lobby +m")
        await op.expect("MODE", lambda m: m.params[1:] == ("+m",))
        guest = await LineClient.connect(b.port)
        await guest.register("guest")
        guest.send("JOIN #lobby")
        topic = await guest.expect_numeric("332")
        assert topic.params[-1] == "plans for tonight"
        names = await guest.expect_numeric("353")
        assert names.params[-1].split() == ["@op", "guest"]
        guest.send("MODE #lobby")
        assert "m" in (await guest.expect_numeric("324")).params[2]
        guest.send("PRIVMSG #lobby :may I?")
        await guest.expect_numeric("404")  # moderated, on this node too
        await close(op, guest)
