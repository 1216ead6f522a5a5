"""Fan-out through real sockets: messages joined per room group keep every client's order.

Delivery gathers consecutive Sends to one room group and queues them on the members at the end
of the pass (lanchat.server.delivery, issue #4). These tests pipeline many lines in single TCP
writes, so that one loop pass holds messages from several senders, private messages between
room messages and several tag forms, and check what each client reads against one observer's
order. Every test runs on the standard asyncio loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from lanchat.server.app import LanchatServer, running_server
from lanchat.server.connection import EXCESS_FLOOD
from lanchat.server.effects import Send
from tests.server.clients import registered
from tests.support import DEFAULT_TIMEOUT_S, LineClient, server_config

ALSO_ON_UVLOOP = True  # tests/conftest.py runs each test on both loops

ROOM = "#fan"
BURST = 40  # messages per sender, written at once


@pytest.fixture
async def fast_server(tmp_path: Path) -> AsyncIterator[LanchatServer]:
    """A server without flood control, so that each burst is handled in one loop pass."""
    config = server_config(tmp_path / "data", flood={"enabled": False})
    async with running_server(config) as server:
        yield server


async def _seated(server: LanchatServer, *nicks: str) -> list[LineClient]:
    """Plain clients registered as `nicks`, in ROOM, with what they read so far forgotten."""
    clients = [await registered(server.port, nick, ROOM) for nick in nicks]
    for client in clients:
        client.drain()
    return clients


async def _texts(client: LineClient, count: int) -> list[str]:
    """The texts of the next `count` PRIVMSGs `client` reads (room or private)."""
    got = []
    for _ in range(count):
        m = await client.expect("PRIVMSG")
        got.append(m.params[1])
    return got


async def _until(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds: a state of the server's threads, which sends no event."""
    async with asyncio.timeout(DEFAULT_TIMEOUT_S):
        while not condition():
            await asyncio.sleep(0.001)


def _burst(nick: str, *, private_to: str = "") -> bytes:
    """BURST room messages from `nick`; with `private_to`, a private message after each one."""
    lines = []
    for i in range(BURST):
        lines.append(f"PRIVMSG {ROOM} :{nick}-{i}\r\n")
        if private_to:
            lines.append(f"PRIVMSG {private_to} :{nick}-pm-{i}\r\n")
    return "".join(lines).encode()


async def test_pipelined_senders_in_a_mixed_room_keep_one_order_for_everyone(
    fast_server: LanchatServer,
) -> None:
    """Three tag forms and echo-message: each member reads the observer's order, minus its own
    lines unless it asked for echoes."""
    port = fast_server.port
    observer = await registered(port, "observer", ROOM)
    plain = await registered(port, "plain", ROOM)
    timed = await registered(port, "timed", ROOM, caps=("server-time",))
    echo_caps = ("message-tags", "echo-message")
    echo = await registered(port, "echo", ROOM, caps=echo_caps)
    echo2 = await registered(port, "echo2", ROOM, caps=echo_caps)  # one group with echo
    senders = {"plain": plain, "timed": timed, "echo": echo, "echo2": echo2}
    for client in senders.values():
        client.drain()
    observer.drain()
    for nick, client in senders.items():
        client.writer.write(_burst(nick))
    order = await _texts(observer, BURST * len(senders))
    for nick in senders:
        mine = [t for t in order if t.rpartition("-")[0] == nick]
        assert mine == [f"{nick}-{i}" for i in range(BURST)]  # each sender's own order
    assert await _texts(plain, 3 * BURST) == [t for t in order if not t.startswith("plain-")]
    assert await _texts(timed, 3 * BURST) == [t for t in order if not t.startswith("timed-")]
    assert await _texts(echo, 4 * BURST) == order  # its echoes in their place
    assert await _texts(echo2, 4 * BURST) == order
    times = [m for m in timed.seen if m.command == "PRIVMSG"]
    assert all("time" in m.tags and "msgid" not in m.tags for m in times)
    echoes = [m for m in echo.seen if m.command == "PRIVMSG"]
    assert all("msgid" in m.tags for m in echoes)


async def test_private_messages_between_room_messages_arrive_in_between(
    fast_server: LanchatServer,
) -> None:
    """A private line to a member interrupts the room's run: bob reads room, private, room."""
    alice, bob, carol = await _seated(fast_server, "alice", "bob", "carol")
    alice.writer.write(_burst("alice", private_to="bob"))
    expected = []
    for i in range(BURST):
        expected += [f"alice-{i}", f"alice-pm-{i}"]
    assert await _texts(bob, 2 * BURST) == expected
    assert await _texts(carol, BURST) == [f"alice-{i}" for i in range(BURST)]


async def test_a_member_who_joins_between_bursts_reads_only_what_follows_its_join(
    fast_server: LanchatServer,
) -> None:
    """A join replaces the room's cached group, so runs before and after it stay apart."""
    alice, observer = await _seated(fast_server, "alice", "observer")
    late = await registered(fast_server.port, "late")
    lines = _burst("alice").splitlines(keepends=True)
    half = BURST // 2
    alice.writer.write(b"".join(lines[:half]))
    assert await _texts(observer, half) == [f"alice-{i}" for i in range(half)]
    late.send(f"JOIN {ROOM}")
    await observer.expect("JOIN", lambda m: m.source is not None and m.source.startswith("late!"))
    await late.expect_numeric("366")
    alice.writer.write(b"".join(lines[half:]))
    rest = [f"alice-{i}" for i in range(half, BURST)]
    assert await _texts(observer, BURST - half) == rest
    assert await _texts(late, BURST - half) == rest


async def test_a_dropped_member_still_gets_what_was_sent_before_its_error(
    fast_server: LanchatServer,
) -> None:
    """Sends gathered in a run reach a member that the edge drops later in the same pass, in
    order before its ERROR, and nothing after."""
    alice, flooder, witness = await _seated(fast_server, "alice", "flooder", "witness")
    alice.seen.clear()
    hub, state = fast_server.hub, fast_server.state
    ids = {u.nick: u.conn_id for u in state.users.values()}
    room = state.find_room(ROOM)
    assert room is not None
    (group,) = room.groups().values()

    def relay(text: str) -> Send:
        line = f":alice!alice@127.0.0.1 PRIVMSG #fan :{text}\r\n".encode()
        return Send(group.conn_ids, line, ids["alice"], group=group)

    hub.apply([relay("before")])
    hub.drop(ids["flooder"], EXCESS_FLOOD)
    hub.apply([relay("after")])
    got = await flooder.expect_closed()
    assert [(m.command, m.params[-1]) for m in got if m.command != "JOIN"] == [
        ("PRIVMSG", "before"),
        ("ERROR", "Closing Link: 127.0.0.1 (Excess Flood)"),
    ]
    assert await _texts(witness, 2) == ["before", "after"]
    alice.send("PING :done")
    await alice.expect("PONG")
    assert not [m for m in alice.seen if m.command == "PRIVMSG"]  # the skipped sender


async def test_a_room_message_is_queued_on_each_member_as_the_one_shared_bytes_object(
    fast_server: LanchatServer,
) -> None:
    """A pass's bytes for a member are the run's bytes object itself, not a list holding it.

    A list per recipient per pass was an object for the cyclic GC per member: 2,000 a pass in
    the big room, enough to run collections in the middle of the pass (issue 19). A second
    Send to a member in the same pass makes its list, and it reads both in order.
    """
    _alice, bob, carol = await _seated(fast_server, "alice", "bob", "carol")
    hub, state = fast_server.hub, fast_server.state
    ids = {u.nick: u.conn_id for u in state.users.values()}
    room = state.find_room(ROOM)
    assert room is not None
    (group,) = room.groups().values()
    line = b":alice!alice@127.0.0.1 PRIVMSG #fan :shared\r\n"
    hub.apply([Send(group.conn_ids, line, ids["alice"], group=group)])
    hub.delivery.queue()
    outs = hub.delivery.outs
    assert outs[ids["bob"]].pending is line
    assert outs[ids["carol"]].pending is line
    assert outs[ids["alice"]].pending is None  # the skipped sender
    private = b":alice!alice@127.0.0.1 PRIVMSG carol :private\r\n"
    hub.apply([Send((ids["carol"],), private)])
    hub.delivery.queue()
    assert outs[ids["carol"]].pending == [line, private]
    assert await _texts(carol, 2) == ["shared", "private"]
    assert await _texts(bob, 1) == ["shared"]


async def test_messages_held_up_by_the_database_are_shown_in_order_once_stored(
    fast_server: LanchatServer,
) -> None:
    """While SQLite is held up, lines that arrive in separate passes wait behind the commit in
    flight, are committed together (group commit) and then shown, in order."""
    alice, bob = await _seated(fast_server, "alice", "bob")
    store = fast_server.hub.store
    before, batches = store.commits, store.batches
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's next transaction waits for this lock
    try:
        alice.send(f"PRIVMSG {ROOM} :first")
        # Its batch is with the writer, held up by the lock.
        await _until(lambda: store.batches == batches + 1 and store.queued == 0)
        for i in range(BURST):  # one write per line, each a loop pass and a batch of its own
            alice.send(f"PRIVMSG {ROOM} :later-{i}")
            await _until(lambda i=i: store.queued == i + 1)
        with pytest.raises(AssertionError):  # nothing is shown before it is stored
            await bob.expect("PRIVMSG", timeout_s=0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    expected = ["first"] + [f"later-{i}" for i in range(BURST)]
    assert await _texts(bob, BURST + 1) == expected
    assert store.commits - before == 2


async def test_a_commit_waits_for_the_batches_behind_it_and_one_pass_shows_them_all(
    fast_server: LanchatServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch committed while later ones are with the writer thread is written with them.

    The first line's batch is held up by SQLite, the later ones queue behind it and are
    committed in the next transaction: the first commit comes back while they are in flight,
    waits for them, and one pass writes every line (the room log has one record a pass), in
    order (issue 19: in the big room each pass is 2,000 writes).
    """
    caplog.set_level(logging.INFO, logger="lanchat.rooms")
    alice, bob = await _seated(fast_server, "alice", "bob")
    store = fast_server.hub.store
    batches = store.batches
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's next transaction waits for this lock
    try:
        alice.send(f"PRIVMSG {ROOM} :first")
        await _until(lambda: store.batches == batches + 1 and store.queued == 0)
        for i in range(BURST):  # each a batch of its own, queued behind the first
            alice.send(f"PRIVMSG {ROOM} :later-{i}")
            await _until(lambda i=i: store.queued == i + 1)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    texts = ["first"] + [f"later-{i}" for i in range(BURST)]
    assert await _texts(bob, BURST + 1) == texts
    passes = [r.getMessage() for r in caplog.records if r.name == "lanchat.rooms"]
    assert passes == ["\n".join(f"<127.0.0.1> alice {ROOM}: {text}" for text in texts)]
