"""Room servers in network namespaces for the browser tests, and the IRC peers that talk to
the page: a raw TCP client and the lanchat client library.

The namespaces sit on one bridge (tests/gui/lan.py) that this machine is on too, so Chromium
and the test's IRC clients run here (in the root namespace) and reach each server at its
namespace's address, while the servers see each other's rooms over real mDNS on the bridge.
Inside its namespace a server has the well-known ports to itself (6667 for IRC, 8080 for the
web page), so it restarts on the same address, as a real one does.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

from lanchat.client.connection import ClientConnection
from lanchat.client.events import ClientEvent, Joined
from lanchat.client.session import ClientSession
from tests.discovery.netns import Namespace
from tests.server.test_serve_cli import serving_in
from tests.support import LineClient, ServerProcess

IRC_PORT = 6667
WEB_PORT = 8080
LISTED_TIMEOUT_S = 20.0  # mDNS: a room of another server appears in /api/rooms

T = TypeVar("T")


def page_url(ns: Namespace) -> str:
    return f"http://{ns.address}:{WEB_PORT}/"


def running(
    ns: Namespace, data_dir: Path, *flags: str
) -> AbstractAsyncContextManager[ServerProcess]:
    """`lanchat serve` inside `ns` on its address (ports 6667 and 8080), mDNS on; waits for
    `ready` and stops it on exit. Pass `--no-web` to leave the page out."""
    where = ("--host", ns.address, "--port", str(IRC_PORT), "--web-port", str(WEB_PORT))
    return serving_in(ns, data_dir, *where, *flags)


def _rooms_document(ns: Namespace) -> dict[str, Any]:
    with urllib.request.urlopen(f"{page_url(ns)}api/rooms", timeout=5) as response:
        return dict(json.load(response))


async def wait_lan_room(ns: Namespace, room: str) -> dict[str, Any]:
    """The entry of `room` in the "lan" list of `ns`'s /api/rooms, once mDNS has brought it.

    There is no event to wait on across the HTTP API: it is asked again every 0.2 s, under one
    deadline.
    """

    async def poll() -> dict[str, Any]:
        while True:
            document = await asyncio.to_thread(_rooms_document, ns)
            for entry in document["lan"]:
                if entry["name"] == room:
                    return dict(entry)
            await asyncio.sleep(0.2)

    try:
        return await asyncio.wait_for(poll(), LISTED_TIMEOUT_S)
    except TimeoutError:
        raise AssertionError(
            f"{room} not in {page_url(ns)}api/rooms within {LISTED_TIMEOUT_S}s"
        ) from None


async def irc_user(ns: Namespace, nick: str, *rooms: str) -> LineClient:
    """A raw TCP IRC client (no capabilities, like a plain old client) in `rooms`."""
    client = await LineClient.connect(IRC_PORT, host=ns.address)
    await client.register(nick)
    for room in rooms:
        client.send(f"JOIN {room}")
        await client.expect("366", lambda m, room=room: m.params[1] == room)  # end of NAMES
    return client


async def synced(client: LineClient) -> None:
    """Wait until the server has handled every line `client` sent (PING answered)."""
    client.send("PING :synced")
    await client.expect("PONG", lambda m: m.params[-1] == "synced")


class LibraryPeer:
    """Someone on lanchat's own client library (lanchat.client): a ClientConnection whose
    events are collected for `expect()`."""

    def __init__(self, ns: Namespace, nick: str, *rooms: str) -> None:
        self.events: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self.seen: list[ClientEvent] = []  # every event, for failure messages
        session = ClientSession(nick, server_id=nick)
        for room in rooms:
            session.join(room)
        self.conn = ClientConnection(session, ns.address, IRC_PORT, self._emit)

    def _emit(self, event: ClientEvent) -> None:
        self.seen.append(event)
        self.events.put_nowait(event)

    @classmethod
    async def joined(cls, ns: Namespace, nick: str, room: str) -> LibraryPeer:
        peer = cls(ns, nick, room)
        peer.conn.start()
        await peer.expect(Joined, lambda e: e.room == room and e.own)
        return peer

    async def expect(
        self, kind: type[T], where: Callable[[T], bool] | None = None, timeout_s: float = 10.0
    ) -> T:
        """The next event of type `kind` matching `where` (events before it are dropped)."""

        async def wait() -> T:
            while True:
                event = await self.events.get()
                if isinstance(event, kind) and (where is None or where(event)):
                    return event

        try:
            return await asyncio.wait_for(wait(), timeout_s)
        except TimeoutError:
            raise AssertionError(
                f"no {kind.__name__} within {timeout_s}s; got {self.seen[-20:]}"
            ) from None

    async def close(self) -> None:
        await self.conn.quit()
