"""The asyncio client driver against the real lanchat server on 127.0.0.1.

Two real client connections talk through a real server (in-process, or `lanchat serve` as a
subprocess for the restart test). Every wait is an asyncio timeout on the next event.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from lanchat.client.connection import ClientConnection, backoff_s, describe_connect_error
from lanchat.client.events import (
    AwayChanged,
    ClientEvent,
    ConnectFailed,
    Connecting,
    Disconnected,
    HistoryLoaded,
    Join,
    Joined,
    MembersChanged,
    MessageReceived,
    Registered,
    Say,
    SendRaw,
    ServerError,
    SetAway,
    SetTopic,
    TopicChanged,
)
from lanchat.client.session import ClientSession, hint_for
from lanchat.server.app import LanchatServer, running_server
from tests.support import DEFAULT_TIMEOUT_S, ServerProcess, free_port, server_config

T = TypeVar("T")


class Peer:
    """A real ClientConnection whose events are collected for `expect()`."""

    def __init__(self, port: int, nick: str, rooms: tuple[str, ...] = ("#lobby",), **kw: Any):
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self.seen: list[ClientEvent] = []  # every event, in order
        self._pending: list[ClientEvent] = []  # received, not consumed by expect() yet
        session = ClientSession(nick, server_id=nick)
        for room in rooms:
            session.join(room)
        self.conn = ClientConnection(session, "127.0.0.1", port, self._emit, **kw)

    def _emit(self, event: ClientEvent) -> None:
        self.seen.append(event)
        self.queue.put_nowait(event)

    @property
    def session(self) -> ClientSession:
        return self.conn.session

    async def expect(
        self,
        kind: type[T],
        where: Callable[[T], bool] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> T:
        """The first event not yet consumed of type `kind` (matching `where`); fails with
        what came instead. Events that do not match stay available to later calls, in order."""

        def ok(event: ClientEvent) -> bool:
            return isinstance(event, kind) and (where is None or where(event))

        for i, event in enumerate(self._pending):
            if ok(event):
                del self._pending[i]
                return event  # type: ignore[return-value]  # ok() checked the type

        async def wait() -> T:
            while True:
                event = await self.queue.get()
                if ok(event):
                    return event  # type: ignore[return-value]
                self._pending.append(event)

        try:
            return await asyncio.wait_for(wait(), timeout_s)
        except TimeoutError:
            got = "\n  ".join(map(repr, self._pending[-20:]))
            raise AssertionError(f"no {kind.__name__} within {timeout_s}s; got:\n  {got}") from None

    async def ready(self, room: str = "#lobby") -> None:
        """Wait until we are in `room` and its history (if any) is loaded."""
        await self.expect(Joined, lambda e: e.own and e.room == room)
        await self.expect(HistoryLoaded, lambda e: e.target == room)

    def say(self, target: str, text: str) -> None:
        self.conn.handle(Say(self.session.server_id, target, text))

    def texts(self, room: str = "#lobby") -> list[str]:
        """Texts of every message received in `room`, in order."""
        return [e.text for e in self.seen if isinstance(e, MessageReceived) and e.target == room]


@asynccontextmanager
async def peer(port: int, nick: str, **kw: Any) -> AsyncIterator[Peer]:
    """A started Peer that is made to QUIT at the end of the block."""
    p = Peer(port, nick, **kw)
    p.conn.start()
    try:
        yield p
    finally:
        await p.conn.quit("test over")


async def test_two_clients_exchange_messages_and_see_each_others_ip(
    irc_server: LanchatServer,
) -> None:
    async with peer(irc_server.port, "alice") as alice, peer(irc_server.port, "bob") as bob:
        await alice.ready()
        await bob.ready()
        members = await alice.expect(MembersChanged, lambda e: len(e.members) == 2)
        assert {(m.nick, m.ip) for m in members.members} == {
            ("alice", "127.0.0.1"),
            ("bob", "127.0.0.1"),
        }
        alice.say("#lobby", "hello bob")
        got = await bob.expect(MessageReceived)
        assert (got.nick, got.ip, got.text, got.own, got.history) == (
            "alice", "127.0.0.1", "hello bob", False, False,
        )  # fmt: skip
        echo = await alice.expect(MessageReceived)
        assert echo.own and echo.msgid == got.msgid and echo.msgid
        bob.say("alice", "psst, bob")
        private = await alice.expect(MessageReceived, lambda e: e.private)
        assert (private.target, private.nick, private.highlight) == ("bob", "bob", True)


async def test_join_shows_the_recent_history_of_the_room(irc_server: LanchatServer) -> None:
    async with peer(irc_server.port, "alice") as alice:
        await alice.ready()
        for i in range(3):
            alice.say("#lobby", f"earlier {i}")
            await alice.expect(MessageReceived, lambda e: e.own)
        async with peer(irc_server.port, "bob") as bob:
            loaded = await bob.expect(HistoryLoaded)
            assert loaded.count == 3
            history = [e for e in bob.seen if isinstance(e, MessageReceived)]
            assert [(e.text, e.history, e.nick) for e in history] == [
                (f"earlier {i}", True, "alice") for i in range(3)
            ]


async def test_taken_nick_falls_back_to_an_underscore(irc_server: LanchatServer) -> None:
    async with peer(irc_server.port, "alice") as first:
        await first.ready()
        async with peer(irc_server.port, "alice", rooms=()) as second:
            registered = await second.expect(Registered)
            assert registered.nick == "alice_"


async def test_connection_refused_is_connect_failed_with_a_hint() -> None:
    port = free_port()
    p = Peer(port, "alice")
    await asyncio.wait_for(p.conn.run(), DEFAULT_TIMEOUT_S)
    failed = await p.expect(ConnectFailed)
    assert failed.hint == f"Nobody is answering at 127.0.0.1:{port}: is the room still running?"


async def test_message_typed_while_disconnected_is_refused_not_queued() -> None:
    p = Peer(free_port(), "alice")
    p.say("#lobby", "anyone?")
    error = await p.expect(ServerError)
    assert error.code == "not-connected"
    assert p.session.data_to_send() == []


async def test_quit_ends_with_disconnected_without_retry(irc_server: LanchatServer) -> None:
    p = Peer(irc_server.port, "alice")
    p.conn.start()
    await p.ready()
    await p.conn.quit("bye")
    assert await p.expect(Disconnected) == Disconnected("alice", "You left the server", False, 0.0)


def test_connect_errors_are_said_without_python_internals() -> None:
    # the error exactly as asyncio's sock_connect raises it
    unreachable = OSError(errno.EHOSTUNREACH, "Connect call failed ('10.77.71.99', 16899)")
    assert describe_connect_error(unreachable, "10.77.71.99", 16899) == (
        "Cannot connect to 10.77.71.99:16899: no route to host"
    )
    try:
        socket.getaddrinfo("partyhost.invalid", 16899)
    except socket.gaierror as e:
        lookup = e
    assert describe_connect_error(lookup, "partyhost.invalid", 16899) == (
        "There is no computer called “partyhost.invalid” on this network"
    )
    assert describe_connect_error(OSError("Multiple exceptions: ..."), "pc", 1) == (
        "Cannot connect to pc:1"
    )


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    def middle() -> float:
        return 0.5

    assert [backoff_s(n, 1.0, 30.0, middle) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_s(1, 1.0, 30.0, lambda: 0.0) == 0.8
    assert backoff_s(1, 1.0, 30.0, lambda: 0.999999) < 1.2


async def test_reconnect_after_server_restart_fills_the_gap_without_duplicates(
    serve_process: Callable[..., AbstractAsyncContextManager[ServerProcess]],
) -> None:
    async with serve_process() as first:
        port = first.port
        # Bob waits a minute before retrying, so the gap is made before he is back;
        # Reconnect then ends his wait (the GUI's "Retry now").
        bob = Peer(port, "bob", backoff_initial_s=60.0)
        bob.conn.start()
        await bob.ready()
        async with peer(port, "alice") as alice:
            await alice.ready()
            for i in range(3):
                alice.say("#lobby", f"before {i}")
                await bob.expect(MessageReceived, lambda e, i=i: e.text == f"before {i}")
    # The server stopped (SIGTERM): bob is told it will retry.
    dropped = await bob.expect(Disconnected)
    assert dropped.will_retry
    async with serve_process("--port", str(port)):
        async with peer(port, "carol") as carol:
            await carol.ready()
            for i in range(3):
                carol.say("#lobby", f"missed {i}")
                await carol.expect(MessageReceived, lambda e, i=i: e.text == f"missed {i}")
        bob.conn.reconnect_now()
        await bob.expect(Registered)
        loaded = await bob.expect(HistoryLoaded, lambda e: e.target == "#lobby")
        assert loaded.count == 3
        assert bob.texts() == [f"before {i}" for i in range(3)] + [f"missed {i}" for i in range(3)]
        await bob.conn.quit()
        assert [e for e in bob.seen if isinstance(e, ServerError)] == []


async def test_wrong_server_password_is_connect_failed_with_a_password_hint(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path / "data", server={"password": "sesame"})
    async with running_server(config) as server:
        p = Peer(server.port, "alice")
        p.session.password = "wrong"
        await asyncio.wait_for(p.conn.run(), DEFAULT_TIMEOUT_S)
        failed = await p.expect(ConnectFailed)
        assert failed.hint == hint_for("464")


async def test_joining_a_room_with_the_wrong_key_is_an_error_with_a_hint(
    irc_server: LanchatServer,
) -> None:
    async with peer(irc_server.port, "alice", rooms=("#vault",)) as alice:
        await alice.ready("#vault")
        alice.conn.handle(SendRaw("alice", "MODE #vault +k s3cret"))
        async with peer(irc_server.port, "bob", rooms=()) as bob:
            await bob.expect(Registered)
            bob.conn.handle(Join("bob", "#vault", "guess"))
            error = await bob.expect(ServerError)
            assert (error.code, error.hint) == ("475", "This room needs a key (password)")
            bob.conn.handle(Join("bob", "#vault", "s3cret"))
            await bob.ready("#vault")


async def test_a_line_break_in_a_topic_is_refused_before_anything_is_sent(
    irc_server: LanchatServer,
) -> None:
    async with peer(irc_server.port, "alice") as alice:
        await alice.ready()
        alice.conn.handle(SetTopic("alice", "#lobby", "two\nlines"))
        error = await alice.expect(ServerError)
        assert error.code == "invalid"
        alice.conn.handle(SetTopic("alice", "#lobby", "one line"))
        topic = await alice.expect(TopicChanged)
        assert (topic.topic, topic.setter) == ("one line", "alice")


async def test_lost_server_is_retried_with_growing_delays_until_it_is_back(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path / "data")
    async with running_server(config) as server:
        port = server.port
        p = Peer(port, "alice", backoff_initial_s=0.05, rng=lambda: 0.5)
        p.conn.start()
        await p.ready()
    # The server is gone: every attempt is refused and the wait doubles.
    delays = [(await p.expect(Disconnected)).retry_in_s for _ in range(3)]
    assert delays == [0.05, 0.1, 0.2]
    assert [e.attempt for e in p.seen if isinstance(e, Connecting)][:3] == [1, 2, 3]
    config = server_config(tmp_path / "data", server={"port": port})
    async with running_server(config):
        await p.ready()  # back, and in #lobby again
        await p.conn.quit()


async def test_away_is_seen_by_those_already_in_the_room_and_by_newcomers(
    irc_server: LanchatServer,
) -> None:
    async with peer(irc_server.port, "alice") as alice, peer(irc_server.port, "bob") as bob:
        await alice.ready()
        await bob.ready()
        bob.conn.handle(SetAway("bob", "lunch"))
        mine = await bob.expect(AwayChanged)
        assert (mine.nick, mine.away, mine.own) == ("bob", True, True)
        seen = await alice.expect(AwayChanged)
        assert (seen.nick, seen.away, seen.message) == ("bob", True, "lunch")
        async with peer(irc_server.port, "carol") as carol:
            members = await carol.expect(
                MembersChanged, lambda e: any(m.nick == "bob" and m.away for m in e.members)
            )
            assert {m.nick: m.away for m in members.members}["alice"] is False


async def test_a_port_that_never_speaks_irc_is_given_up_with_connect_failed() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, listens, never answers (not an IRC server)
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with listener:
        port = listener.sockets[0].getsockname()[1]
        p = Peer(port, "alice", register_timeout_s=0.3)
        await asyncio.wait_for(p.conn.run(), DEFAULT_TIMEOUT_S)
        failed = await p.expect(ConnectFailed)
        assert failed.reason == "The server did not let us in within 0.3 s"
        assert "is it a lanchat room?" in failed.hint
