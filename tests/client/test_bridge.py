"""The thread bridge: commands in from the main thread, events out on a queue, clean stop.

Runs the real NetworkThread (its own thread and asyncio loop) against real sockets on
127.0.0.1; waits use `queue.get(timeout=...)`, never sleeps.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from lanchat.client.bridge import BridgeEvent, NetworkThread, RoomAdded, RoomRemoved
from lanchat.client.events import (
    BrowseRooms,
    ConnectFailed,
    Connecting,
    Disconnected,
    HistoryLoaded,
    Join,
    Joined,
    MessageReceived,
    Quit,
    Registered,
    Say,
    ServerError,
    UserQuit,
)
from lanchat.client.events import (
    Connect as ConnectCmd,
)
from lanchat.server.app import LanchatServer
from tests.discovery.netns import Agent, host_link
from tests.support import free_port

T = TypeVar("T")
U = TypeVar("U")
TIMEOUT_S = 10.0


def next_of(
    bridge: NetworkThread,
    kind: type[T],
    timeout_s: float = TIMEOUT_S,
    where: Callable[[T], bool] = lambda _: True,
) -> T:
    """The next event of type `kind` (and `where` it holds) on the bridge's queue (others are
    skipped, and shown if it never comes)."""
    skipped: list[BridgeEvent] = []
    while True:
        try:
            event = bridge.events.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"no {kind.__name__} within {timeout_s}s; got {skipped}") from None
        if isinstance(event, kind) and where(event):
            return event
        skipped.append(event)


def both_of(
    bridge: NetworkThread, first: type[T], second: type[U], timeout_s: float = TIMEOUT_S
) -> tuple[T, U]:
    """The next event of each of two types, whichever order they arrive in."""
    found: dict[type[Any], Any] = {}
    skipped: list[BridgeEvent] = []
    while len(found) < 2:
        try:
            event = bridge.events.get(timeout=timeout_s)
        except queue.Empty:
            missing = [k.__name__ for k in (first, second) if k not in found]
            raise AssertionError(f"no {missing} within {timeout_s}s; got {skipped}") from None
        kind = next((k for k in (first, second) if isinstance(event, k)), None)
        if kind is not None and kind not in found:
            found[kind] = event
        else:
            skipped.append(event)
    return found[first], found[second]


@pytest.fixture
def bridge() -> Iterator[NetworkThread]:
    b = NetworkThread(browse=False)
    b.start()
    yield b
    b.stop()


def test_connect_to_a_closed_port_reports_connect_failed_with_a_hint(
    bridge: NetworkThread,
) -> None:
    port = free_port()
    bridge.submit(ConnectCmd("lan", "127.0.0.1", port, "alice"))
    assert next_of(bridge, Connecting) == Connecting("lan", "127.0.0.1", port, 1)
    failed = next_of(bridge, ConnectFailed)
    assert failed.server_id == "lan"
    assert failed.hint == f"Nobody is answering at 127.0.0.1:{port}: is the room still running?"


def test_command_for_an_unknown_server_is_answered_with_an_error(bridge: NetworkThread) -> None:
    bridge.submit(Join("nowhere", "#lobby"))
    error = next_of(bridge, ServerError)
    assert (error.server_id, error.code) == ("nowhere", "not-connected")


def test_submit_from_another_thread_works(bridge: NetworkThread) -> None:
    worker = threading.Thread(target=bridge.submit, args=(Quit("ghost"),))
    worker.start()
    worker.join()
    assert next_of(bridge, ServerError).server_id == "ghost"


def test_stop_joins_the_thread_and_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    b = NetworkThread(browse=False)
    b.start()
    assert b.alive
    b.stop(timeout_s=5.0)
    assert not b.alive
    assert set(threading.enumerate()) <= before
    b.stop()  # a second stop is harmless


def test_submit_before_start_raises() -> None:
    with pytest.raises(RuntimeError, match="start"):
        NetworkThread(browse=False).submit(Join("lan", "#lobby"))


async def next_of_async(
    bridge: NetworkThread, kind: type[T], where: Callable[[T], bool] = lambda _: True
) -> T:
    """`next_of` off the test's loop, so the in-process server keeps running meanwhile."""
    return await asyncio.to_thread(next_of, bridge, kind, TIMEOUT_S, where)


async def test_two_connections_through_the_bridge_talk_and_stop_quits_politely(
    irc_server: LanchatServer,
) -> None:
    b = NetworkThread(browse=False)
    b.start()
    try:
        port = irc_server.port
        b.submit(ConnectCmd("a", "127.0.0.1", port, "alice", rooms=("#lobby",)))
        assert (await next_of_async(b, Registered)).nick == "alice"
        await next_of_async(b, HistoryLoaded)
        b.submit(ConnectCmd("b", "127.0.0.1", port, "bob", rooms=("#lobby",)))
        assert (await next_of_async(b, Registered)).server_id == "b"
        await next_of_async(b, HistoryLoaded)
        b.submit(Say("a", "#lobby", "hi from the main thread"))
        seen = [await next_of_async(b, MessageReceived) for _ in range(2)]
        assert {(m.server_id, m.own, m.text) for m in seen} == {
            ("a", True, "hi from the main thread"),
            ("b", False, "hi from the main thread"),
        }
        b.submit(Quit("b", "see you"))
        # b's own Disconnected and a's view of the quit race each other: take both in any order.
        quit_seen, gone = await asyncio.to_thread(both_of, b, UserQuit, Disconnected)
        assert quit_seen == UserQuit("a", "bob", "Quit: see you", ("#lobby",))
        assert (gone.server_id, gone.will_retry) == ("b", False)
    finally:
        await asyncio.to_thread(b.stop)
    assert not b.alive
    gone = await next_of_async(b, Disconnected)
    assert (gone.server_id, gone.will_retry) == ("a", False)


@pytest.mark.netns
async def test_browse_rooms_forwards_rooms_advertised_on_the_lan() -> None:
    def ours(event: RoomAdded | RoomRemoved) -> bool:
        return event.ad.host == "far-host"

    # A real advertiser in a network namespace, reached over our own veth link (never eth0).
    with host_link() as (host_address, ns):
        agent = await Agent.start(ns, "advertise", "--host", "far-host", "--interval", "0.5")
        b = NetworkThread(browse=False, interfaces=(host_address,))
        b.start()
        try:
            await agent.expect("ready")
            agent.send(op="publish", room="#lanparty", users=2, topic="games", key=True)
            b.submit(BrowseRooms(True))
            # Only the agent's host: a lanchat serve elsewhere on this machine also reaches the
            # host end of the link, and must not stand in for the room under test.
            added = (await next_of_async(b, RoomAdded, ours)).ad
            assert (added.room, added.host, added.users, added.topic, added.key_required) == (
                "#lanparty", "far-host", 2, "games", True,
            )  # fmt: skip
            assert added.addresses == (ns.address,)
            agent.send(op="withdraw", room="#lanparty")
            assert (await next_of_async(b, RoomRemoved, ours)).ad.room == "#lanparty"
            b.submit(BrowseRooms(False))
        finally:
            await asyncio.to_thread(b.stop)
            await agent.close()


async def test_commands_submitted_right_after_connect_reach_the_new_connection(
    irc_server: LanchatServer,
) -> None:
    b = NetworkThread(browse=False)
    b.start()
    try:
        b.submit(ConnectCmd("a", "127.0.0.1", irc_server.port, "alice"))
        b.submit(Join("a", "#second"))
        joined = await next_of_async(b, Joined)
        assert (joined.server_id, joined.room, joined.own) == ("a", "#second", True)
        b.submit(ConnectCmd("a", "127.0.0.1", irc_server.port, "alice"))
        b.submit(Quit("a", "changed my mind"))
        replaced = await next_of_async(b, Disconnected)  # the first connection said goodbye
        assert (replaced.server_id, replaced.will_retry) == ("a", False)
        quit_early = await next_of_async(b, Disconnected)  # the second quit before connecting
        assert (quit_early.server_id, quit_early.will_retry) == ("a", False)
    finally:
        await asyncio.to_thread(b.stop)
