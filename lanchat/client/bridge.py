"""The thread bridge between the Tk main thread and the client's asyncio loop.

Layer: asyncio edge of the client; may import lanchat.client.*, lanchat.discovery.browser and
lanchat.protocol; never tkinter (the GUI imports this, not the other way round).

The Tk thread must never wait on the network (IDLE's rule, STYLE.md): it hands commands to
`NetworkThread.submit`, which only schedules them on the loop with `call_soon_threadsafe`, and
it drains `NetworkThread.events` with `after()`. Nothing else is shared between the threads.

API::

    class NetworkThread:
        def __init__(self, *, browse: bool = True, interfaces: Sequence[str] = (),
                     backoff_initial_s: float = 1.0, pins_path: Path | None = None) -> None
            # browse=False: no mDNS room discovery (tests); interfaces: passed to RoomBrowser;
            # pins_path: the remembered TLS certificate fingerprints (lanchat.client.pins)
        events: queue.SimpleQueue[ClientEvent | RoomEvent]
            # everything that happens, in order; the Tk side drains it with after()
        def start(self) -> None
            # starts the daemon loop thread (and discovery if browse); returns when it runs
        def submit(self, cmd: GuiCommand) -> None
            # any thread; never blocks; the command runs on the loop thread
        def stop(self, timeout_s: float = 3.0) -> None
            # QUITs every connection politely, closes discovery, joins the thread

Room discovery events (RoomAdded, RoomUpdated, RoomRemoved with `.ad: RoomAd`) come from
lanchat.discovery.browser and are re-exported here; client events and commands are in
lanchat.client.events.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from lanchat.client.connection import ClientConnection
from lanchat.client.events import (
    BrowseRooms,
    ClientEvent,
    Connect,
    GuiCommand,
    Quit,
    ServerError,
    TrustCertificate,
)
from lanchat.client.pins import PinStore
from lanchat.client.session import ClientSession
from lanchat.discovery.browser import RoomBrowser
from lanchat.discovery.events import RoomAdded, RoomEvent, RoomRemoved, RoomUpdated
from lanchat.errors import DiscoveryError

__all__ = ["BridgeEvent", "NetworkThread", "RoomAdded", "RoomEvent", "RoomRemoved", "RoomUpdated"]

log = logging.getLogger(__name__)

BridgeEvent = ClientEvent | RoomEvent

_START_TIMEOUT_S = 10.0  # the loop thread is up in milliseconds; this only guards against bugs


class NetworkThread:
    """Owns a background asyncio loop running the client connections and room discovery.

    The only object both threads touch. `start`, `submit` and `stop` may be called from any
    thread; everything else runs on the loop thread.
    """

    def __init__(
        self,
        *,
        browse: bool = True,
        interfaces: Sequence[str] = (),
        backoff_initial_s: float = 1.0,
        pins_path: Path | None = None,
    ) -> None:
        """Prepare the bridge; nothing runs until `start()`.

        Args:
            browse: discover rooms on the LAN from the start (False in tests; `BrowseRooms`
                turns it on or off later).
            interfaces: IP addresses of the interfaces to browse on; empty means all.
            backoff_initial_s: first reconnect delay of every connection (doubles up to 30 s).
            pins_path: where TLS certificate pins are kept (None: the user's pins.json).
        """
        self.events: queue.SimpleQueue[BridgeEvent] = queue.SimpleQueue()
        self.browse = browse
        self.interfaces = tuple(interfaces)
        self.backoff_initial_s = backoff_initial_s
        self.pins_path = pins_path
        self._pins: PinStore | None = None  # read on the loop thread at the first TLS connect
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by the loop thread
        self._stopping: asyncio.Event | None = None  # set by stop(): shut down and exit
        self._running = threading.Event()  # the loop runs and accepts commands
        self._connections: dict[str, ClientConnection] = {}  # server_id -> connection
        self._browser: RoomBrowser | None = None
        self._browse_lock = asyncio.Lock()  # serialises discovery start/stop (binds on first use)
        self._tasks: set[asyncio.Task[None]] = set()  # keeps spawned tasks alive

    # ------------------------------------------------------------------ any thread

    def start(self) -> None:
        """Start the loop thread; return once it accepts commands.

        Raises:
            RuntimeError: already started, or the thread did not come up.
        """
        if self._thread is not None:
            raise RuntimeError("NetworkThread.start() was already called")
        self._thread = threading.Thread(target=self._main, name="lanchat-network", daemon=True)
        self._thread.start()
        if not self._running.wait(_START_TIMEOUT_S):
            raise RuntimeError("the network thread did not start; see the log for why")

    def submit(self, cmd: GuiCommand) -> None:
        """Hand `cmd` to the loop thread. Any thread; never blocks.

        Raises:
            RuntimeError: the bridge is not running (not started, or stopped).
        """
        loop = self._loop
        if loop is None or not self._running.is_set():
            raise RuntimeError("the network thread is not running; call start() first")
        loop.call_soon_threadsafe(self._handle, cmd)

    def stop(self, timeout_s: float = 3.0) -> None:
        """Quit every server politely, stop discovery and join the thread (waits at most
        about `timeout_s`). Safe to call twice."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None or not thread.is_alive():
            return
        self._running.clear()
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("the network thread did not stop within %.1f s", timeout_s)

    @property
    def alive(self) -> bool:
        """True while the loop thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ loop thread

    def _main(self) -> None:
        asyncio.run(self._amain())

    async def _amain(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._running.set()
        if self.browse:
            await self._set_browsing(True)
        await self._stopping.wait()
        await asyncio.gather(*(c.quit("Closing") for c in self._connections.values()))
        await self._set_browsing(False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _emit(self, event: BridgeEvent) -> None:
        self.events.put(event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _handle(self, cmd: GuiCommand) -> None:
        """Loop thread only. Route a command to its connection (or to discovery)."""
        if isinstance(cmd, Connect):
            self._connect(cmd)
        elif isinstance(cmd, BrowseRooms):
            self._spawn(self._set_browsing(cmd.on))
        elif (conn := self._connections.get(cmd.server_id)) is None:
            self._emit(
                ServerError(
                    cmd.server_id,
                    "not-connected",
                    f"Not connected to {cmd.server_id}",
                    "Connect to the room first",
                )
            )
        elif isinstance(cmd, Quit):
            del self._connections[cmd.server_id]
            self._spawn(conn.quit(cmd.reason))
        elif isinstance(cmd, TrustCertificate):
            conn.trust(cmd.fingerprint)
        else:
            conn.handle(cmd)

    def _connect(self, cmd: Connect) -> None:
        # The new connection is registered at once, so commands submitted right after Connect
        # (Join, Quit) find it; it starts once the connection it replaces has said goodbye.
        old = self._connections.pop(cmd.server_id, None)
        session = ClientSession(
            cmd.nick, password=cmd.password, account=cmd.account, server_id=cmd.server_id
        )
        for i, room in enumerate(cmd.rooms):
            session.join(room, cmd.keys[i] if i < len(cmd.keys) else "")
        if self._pins is None and (cmd.tls or any(e.tls for e in cmd.alternates)):
            self._pins = PinStore(self.pins_path)
        conn = ClientConnection(
            session,
            cmd.host,
            cmd.port,
            self._emit,
            backoff_initial_s=self.backoff_initial_s,
            tls=cmd.tls,
            fingerprint=cmd.fingerprint,
            pin_key=cmd.pin_key,
            pins=self._pins,
            alternates=cmd.alternates,
        )
        self._connections[cmd.server_id] = conn
        self._spawn(self._replace(old, conn))

    async def _replace(self, old: ClientConnection | None, new: ClientConnection) -> None:
        if old is not None:
            await old.quit("Reconnecting")
        new.start()

    async def _set_browsing(self, on: bool) -> None:
        # One change at a time: a BrowseRooms arriving while the browser starts must not
        # start a second one (or close one that is half open).
        async with self._browse_lock:
            await self._change_browsing(on)

    async def _change_browsing(self, on: bool) -> None:
        if on and self._browser is None:
            browser = RoomBrowser(self._emit, interfaces=self.interfaces)
            try:
                await browser.start()
            except DiscoveryError as e:
                await browser.close()
                self._emit(
                    ServerError(
                        "",
                        "discovery",
                        str(e),
                        "Rooms cannot be listed; connect with host and port",
                    )
                )
                return
            self._browser = browser
        elif not on and self._browser is not None:
            browser, self._browser = self._browser, None
            await browser.close()
