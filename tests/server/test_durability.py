"""Durability through SIGKILL: what any client saw is in CHATHISTORY after a restart.

Spec: issue #2 "History and durability": "A message is durable before it is shown to anyone
... A server killed with SIGKILL and restarted returns through CHATHISTORY every message that
any client had received. Rooms (name, topic, modes, key) survive a restart too."
The server runs as a child process (`lanchat serve`) so that SIGKILL is real.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from lanchat.protocol import Message, parse
from lanchat.server.app import running_server
from lanchat.store import HistoryDB, HistoryQuery
from tests.server.clients import registered
from tests.support import DEFAULT_TIMEOUT_S, LineClient, ServerProcess, server_config

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
        alice = await registered(server.port, "alice", "#lobby", caps=HISTORY_CAPS)
        bob = await registered(server.port, "bob", "#lobby", caps=HISTORY_CAPS)
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

    # Private history is given back to nobody (issue 13), but it is kept: read the file.
    db = HistoryDB(tmp_path / "data" / "history.sqlite3")
    try:
        [again] = db.query(HistoryQuery("LATEST", target_key="alice bob", limit=10))
    finally:
        db.close()
    assert (again.msgid, again.text) == (private.tags["msgid"], "just between us")


# -- when the store fails while the server runs ---------------------------------------------------
# "A message is durable before it is shown to anyone; nothing accepted is ever lost": a message
# that cannot be stored is shown to nobody and its sender is told; everything else goes on.


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (we are root): a real disk that fills up, as a full data disk would."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with one file; remove that file to free them again."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


async def synced(client: LineClient) -> list[Message]:
    """Everything `client` received up to a PING it sends now (the server answers in order)."""
    client.send("PING :sync")
    await client.expect("PONG", lambda m: m.params[-1] == "sync")
    return client.seen


async def test_message_that_cannot_be_stored_is_shown_to_nobody_and_its_sender_is_told(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lanchat.rooms")
    config = server_config(small_disk / "data", flood={"enabled": False})
    async with running_server(config) as server:
        alice = await registered(
            server.port, "alice", "#lobby", caps=("echo-message", "standard-replies")
        )
        bob = await registered(server.port, "bob", "#lobby")
        filler = fill(small_disk)

        alice.send("PRIVMSG #lobby :lost in a full disk")
        fail = await alice.expect("FAIL")
        assert fail.params[:3] == ("PRIVMSG", "MESSAGE_ERROR", "#lobby")
        assert "could not save it (database or disk is full)" in fail.params[3]
        bob.send("PRIVMSG alice :me neither")
        notice = await bob.expect("NOTICE", lambda m: "not delivered" in m.params[-1])
        assert notice.params[-1].startswith("alice: Your message was not delivered")
        # What is not a message still happens: a new room's record cannot be stored either.
        bob.send("JOIN #new")
        await bob.expect("JOIN", lambda m: m.params[0] == "#new")
        await bob.expect("366")
        for client in (alice, bob):
            assert not [m for m in await synced(client) if m.command == "PRIVMSG"]

        filler.unlink()
        alice.send("PRIVMSG #lobby :room again")
        got = await bob.expect("PRIVMSG")
        assert got.params == ("#lobby", "room again")
        echo = await alice.expect("PRIVMSG")
        assert echo.params == ("#lobby", "room again")

        carol = await registered(server.port, "carol", "#lobby", caps=HISTORY_CAPS)
        assert [m.params[1] for m in await history(carol, "#lobby")] == ["room again"]
    # The room log, too, shows only what the room saw.
    room_log = [r.getMessage() for r in caplog.records if r.name == "lanchat.rooms"]
    assert room_log == ["<127.0.0.1> alice #lobby: room again"]


async def test_chathistory_the_store_cannot_read_answers_fail_message_error(
    tmp_path: Path,
) -> None:
    async with running_server(server_config(tmp_path / "data")) as server:
        alice = await registered(
            server.port, "alice", "#lobby", caps=(*HISTORY_CAPS, "labeled-response")
        )
        alice.send("".join(f"PRIVMSG #lobby :message {i}\r\n" for i in range(20)))
        await synced(alice)  # stored: the PONG waited for their commit
        # The database goes bad under the running server, as on a failing disk: every page
        # (in the main file and in the write-ahead log) after the headers becomes garbage.
        db_path = server.config.store.db_path
        for path in (db_path, db_path.with_name(db_path.name + "-wal")):
            with path.open("r+b") as f:
                f.seek(100)
                f.write(b"\xa5" * (path.stat().st_size - 100))
        alice.send("@label=h1 CHATHISTORY LATEST #lobby * 10")
        fail = await alice.expect("FAIL")
        assert fail.tags["label"] == "h1"
        assert fail.params[:4] == ("CHATHISTORY", "MESSAGE_ERROR", "LATEST", "#lobby")
        assert "Messages could not be retrieved (" in fail.params[4]
