"""Durability through SIGKILL: what any client saw is in CHATHISTORY after a restart.

Spec: issue #2 "History and durability": "A message is durable before it is shown to anyone
... A server killed with SIGKILL and restarted returns through CHATHISTORY every message that
any client had received. Rooms (name, topic, modes, key) survive a restart too."
The server runs as a child process (`lanchat serve`) so that SIGKILL is real.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from lanchat.protocol import Message, parse
from tests.support import DEFAULT_TIMEOUT_S, LineClient, ServerProcess

ServeProcess = Callable[..., AbstractAsyncContextManager[ServerProcess]]
HISTORY_CAPS = ("batch", "draft/chathistory", "message-tags", "server-time")
MESSAGES = 2000  # pipelined, so many are being committed while the last ones arrive
PADDING = "x" * 300  # bigger rows, bigger transactions: a wider window for a lost message


async def history_batch(client: LineClient, request: str) -> list[Message]:
    """Send a CHATHISTORY request; return the messages of its chathistory batch in order."""
    client.send(request)
    start = await client.expect("BATCH", lambda m: m.params[0].startswith("+"))
    ref = start.params[0][1:]
    assert start.params[1] == "chathistory"
    got = []
    while True:
        msg = await client.expect(lambda m: m.tags.get("batch") == ref or m.command == "BATCH")
        if msg.command == "BATCH":
            assert msg.params[0] == f"-{ref}"
            return got
        got.append(msg)


async def history(client: LineClient, target: str, page: int = 1000) -> list[Message]:
    """The whole stored history of `target`, oldest first (LATEST, then BEFORE page by page)."""
    got = await history_batch(client, f"CHATHISTORY LATEST {target} * {page}")
    while True:
        older = await history_batch(
            client, f"CHATHISTORY BEFORE {target} msgid={got[0].tags['msgid']} {page}"
        )
        if not older:
            return got
        got = older + got


async def test_every_message_a_client_saw_survives_sigkill(
    serve_process: ServeProcess, tmp_path: Path
) -> None:
    config = tmp_path / "lanchat.toml"
    config.write_text("[flood]\nenabled = false\n")  # pipeline messages as fast as possible
    async with serve_process("--config", str(config)) as server:
        alice = await LineClient.connect(server.port)
        bob = await LineClient.connect(server.port)
        await alice.register("alice", caps=HISTORY_CAPS)
        await bob.register("bob", caps=HISTORY_CAPS)
        for client in (alice, bob):
            client.send("JOIN #lobby")
            await client.expect("366")
        alice.send("TOPIC #lobby :plans for saturday")
        alice.send("MODE #lobby +kl sesame 42")
        await bob.expect("MODE")
        alice.send("PRIVMSG bob :just between us")
        private = await bob.expect("PRIVMSG", lambda m: m.params[0] == "bob")
        alice.send("".join(f"PRIVMSG #lobby :message {i} {PADDING}\r\n" for i in range(MESSAGES)))
        # Read raw bytes and kill the moment the last message is in, before parsing anything.
        last = f" :message {MESSAGES - 1} ".encode()
        received = b""
        while last not in received[-1000:]:
            received += await asyncio.wait_for(bob.reader.read(1 << 16), DEFAULT_TIMEOUT_S)
        server.proc.send_signal(signal.SIGKILL)
        assert await server.wait() == -signal.SIGKILL

    seen = [m for m in map(parse, received.splitlines()) if m.command == "PRIVMSG"]
    assert [m.params[1] for m in seen] == [f"message {i} {PADDING}" for i in range(MESSAGES)]
    async with serve_process("--config", str(config)) as server:
        carol = await LineClient.connect(server.port)
        await carol.register("carol", caps=HISTORY_CAPS)
        carol.send("JOIN #lobby")
        await carol.expect_numeric("475")  # the key survived
        carol.send("JOIN #lobby sesame")
        topic = await carol.expect_numeric("332")
        assert topic.params[-1] == "plans for saturday"
        await carol.expect("366")
        carol.send("MODE #lobby")
        modes = await carol.expect_numeric("324")
        assert "k" in modes.params[2] and "l" in modes.params[2]
        stored = await history(carol, "#lobby")
        assert [(m.tags["msgid"], m.params[1]) for m in stored] == [
            (m.tags["msgid"], m.params[1]) for m in seen
        ]

        bob = await LineClient.connect(server.port)
        await bob.register("bob", caps=HISTORY_CAPS)
        [again] = await history(bob, "alice")
        assert (again.tags["msgid"], again.params[1]) == (private.tags["msgid"], "just between us")
