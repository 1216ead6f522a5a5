"""Browse the LAN for lanchat rooms: added / updated / removed events for a GUI or the CLI.

Layer: asyncio edge of discovery; may import zeroconf, lanchat.discovery.records and
lanchat.errors; never the server, client, store or gui (import-linter contract).

Spec: DNS-SD browsing, RFC 6763 https://www.rfc-editor.org/rfc/rfc6763 section 4 (PTR
browse, then SRV/TXT/A resolve), over Multicast DNS, RFC 6762
https://www.rfc-editor.org/rfc/rfc6762 section 10.1 (a goodbye packet removes the room at
once).

mDNS alone keeps a dead host's room for the 75 minutes of its PTR TTL (RFC 6762 section 10),
so the browser also checks that each room's server answers: a TCP connect to the advertised
address and port every `probe_interval_s`. A failed probe is confirmed once, shortly after
(one lost SYN must not hide a room), then the room is removed. A removed room whose records
are still on the LAN is probed now and then, and comes back when its server answers again
(issue #2: "a room whose host stops answering disappears ... quickly").

python-zeroconf calls the browse handler on the loop, inside its record processing; the
handler only enqueues, and resolving and probing happen in tasks of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any

from zeroconf import InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from lanchat.discovery.events import RoomAdded, RoomEvent, RoomRemoved, RoomUpdated
from lanchat.discovery.records import SERVICE_TYPE, RoomAd, from_txt
from lanchat.errors import DiscoveryError

__all__ = ["BrowserThread", "RoomBrowser"]

log = logging.getLogger(__name__)

_RESOLVE_TIMEOUT_MS = 3000  # SRV/TXT/A answers normally arrive within a few hundred ms
_CONFIRM_DELAY_S = 0.5  # second probe after a failed one, before the room is removed
_DORMANT_PROBE_FACTOR = 5  # unreachable rooms are probed 5x less often than live ones
_START_TIMEOUT_S = 10.0  # BrowserThread.start() gives up after this


@dataclass(eq=False)
class _Instance:
    """What the browser knows of one service instance the LAN reported."""

    ad: RoomAd | None = None  # last resolved state; None until resolved
    listed: bool = False  # RoomAdded sent and no RoomRemoved since
    refresh: asyncio.Task[None] | None = None  # running resolve, if any
    again: bool = False  # the records changed during the running resolve
    probing: bool = False  # a reachability probe is running
    next_probe: float = 0.0  # loop time of the next probe while not listed
    gone: bool = False  # the LAN removed it (goodbye or expiry); a late probe result is moot


def _same_room(a: RoomAd, b: RoomAd) -> bool:
    """Equal apart from the order of addresses (which only says which one answered)."""
    return replace(a, addresses=tuple(sorted(a.addresses))) == replace(
        b, addresses=tuple(sorted(b.addresses))
    )


def _interface_choice(interfaces: Sequence[str]) -> list[str | int] | InterfaceChoice:
    return list(interfaces) if interfaces else InterfaceChoice.All


def _open_zeroconf(interfaces: Sequence[str], what: str) -> AsyncZeroconf:
    try:
        return AsyncZeroconf(interfaces=_interface_choice(interfaces))
    except (OSError, ValueError) as e:
        where = ", ".join(interfaces) or "any interface"
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise DiscoveryError(
            f"cannot {what} on {where}: {reason}; give addresses of this machine's network "
            "interfaces"
        ) from None


class RoomBrowser:
    """Follows the `_lanchat._tcp` rooms on the LAN. Runs on one asyncio loop.

    Args:
        callback: called on the loop thread with every RoomAdded / RoomUpdated / RoomRemoved;
            an exception it raises is logged and does not stop the browser.
        interfaces: IP addresses of the interfaces to browse on; empty means all of them.
        probe_interval_s: how often each listed room's server is checked with a TCP connect.
        probe_timeout_s: how long a probe waits for the TCP handshake.
    """

    def __init__(
        self,
        callback: Callable[[RoomEvent], None],
        *,
        interfaces: Sequence[str] = (),
        probe_interval_s: float = 2.0,
        probe_timeout_s: float = 1.0,
    ) -> None:
        self._callback = callback
        self.interfaces = tuple(interfaces)  # () = every interface
        self.probe_interval_s = probe_interval_s
        self.probe_timeout_s = probe_timeout_s
        self._aiozc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._changes: asyncio.Queue[tuple[str, ServiceStateChange]] = asyncio.Queue()
        self._instances: dict[str, _Instance] = {}  # full service name -> state
        self._tasks: set[asyncio.Task[None]] = set()  # every task we started, for close()

    async def start(self) -> None:
        """Open the mDNS sockets and start browsing. Loop thread only.

        Raises:
            DiscoveryError: an interface address is invalid or the mDNS sockets cannot be opened.
        """
        self._aiozc = _open_zeroconf(self.interfaces, "browse for rooms")
        self._spawn(self._process_changes(), "mdns changes")
        self._spawn(self._probe_forever(), "mdns probes")
        self._browser = AsyncServiceBrowser(
            self._aiozc.zeroconf, SERVICE_TYPE, handlers=[self._on_change]
        )

    def rooms(self) -> list[RoomAd]:
        """The rooms listed now (added and not removed). Loop thread only."""
        return [i.ad for i in self._instances.values() if i.listed and i.ad is not None]

    async def close(self) -> None:
        """Stop browsing and close the mDNS sockets. Loop thread only."""
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._aiozc is not None:
            await self._aiozc.async_close()
            self._aiozc = None

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        # Called by zeroconf inside its record processing: only enqueue.
        self._changes.put_nowait((name, state_change))

    def _emit(self, event: RoomEvent) -> None:
        try:
            self._callback(event)
        except Exception:
            log.exception("room event callback failed on %s", event)

    async def _process_changes(self) -> None:
        while True:
            name, change = await self._changes.get()
            if change is ServiceStateChange.Removed:
                instance = self._instances.pop(name, None)
                if instance is not None:
                    instance.gone = True
                    if instance.refresh is not None:
                        instance.refresh.cancel()
                    if instance.listed and instance.ad is not None:
                        self._emit(RoomRemoved(instance.ad))
                continue
            instance = self._instances.setdefault(name, _Instance())
            if instance.refresh is None:
                instance.refresh = self._spawn(self._resolve(name, instance), f"resolve {name}")
            else:
                instance.again = True

    async def _resolve(self, name: str, instance: _Instance) -> None:
        """Resolve SRV/TXT/A of `name`, check the server answers, emit Added or Updated."""
        assert self._aiozc is not None
        try:
            while True:
                instance.again = False
                try:
                    info = AsyncServiceInfo(SERVICE_TYPE, name)
                    resolved = await info.async_request(self._aiozc.zeroconf, _RESOLVE_TIMEOUT_MS)
                except Exception as e:  # a malformed record must not stop the browser
                    log.warning("cannot resolve room %r: %s", name, e)
                    resolved = False
                if not resolved:
                    log.debug("mDNS could not resolve %s", name)
                    if not instance.again:
                        return
                    continue
                ad = from_txt(
                    name[: -len(SERVICE_TYPE) - 1],
                    info.properties,
                    port=info.port or 0,
                    addresses=tuple(info.parsed_scoped_addresses()),
                )
                if ad is None:
                    # Not a room name anyone could join (issue 13, item 11): never listed.
                    log.info("ignoring %r: its room name is not a valid room", name)
                    self._drop(instance)
                    if not instance.again:
                        return
                    continue
                answered = await self._reach(ad)
                if not instance.again:
                    self._apply(instance, ad, answered)
                    return
        finally:
            instance.refresh = None

    def _apply(self, instance: _Instance, ad: RoomAd, answered: str | None) -> None:
        if answered is not None:
            # The address that answered goes first: it is the one to connect to.
            rest = tuple(a for a in ad.addresses if a != answered)
            ad = replace(ad, addresses=(answered, *rest))
        previous, instance.ad = instance.ad, ad
        if instance.listed:
            if previous is None or not _same_room(previous, ad):
                self._emit(RoomUpdated(ad))
        elif answered is not None:
            instance.listed = True
            self._emit(RoomAdded(ad))
        else:
            self._schedule_dormant_probe(instance)

    def _drop(self, instance: _Instance) -> None:
        """Forget what `instance` advertised; a listed room is removed."""
        previous, instance.ad = instance.ad, None
        if instance.listed and previous is not None:
            instance.listed = False
            self._emit(RoomRemoved(previous))

    def _schedule_dormant_probe(self, instance: _Instance) -> None:
        loop = asyncio.get_running_loop()
        instance.next_probe = loop.time() + self.probe_interval_s * _DORMANT_PROBE_FACTOR

    async def _reach(self, ad: RoomAd) -> str | None:
        """The first of the room's addresses where its port accepts a TCP connection, or None."""

        async def connect(address: str) -> str:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(address, ad.port), self.probe_timeout_s
            )
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return address

        if not ad.addresses or not ad.port:
            return None
        attempts = [asyncio.ensure_future(connect(a)) for a in ad.addresses]
        try:
            for attempt in asyncio.as_completed(attempts):
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    return await attempt
            return None
        finally:
            for attempt in attempts:
                attempt.cancel()
            await asyncio.gather(*attempts, return_exceptions=True)

    async def _probe_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.probe_interval_s)
            now = loop.time()
            for instance in list(self._instances.values()):
                due = instance.listed or now >= instance.next_probe
                if due and instance.ad and instance.refresh is None and not instance.probing:
                    instance.probing = True
                    self._spawn(self._probe(instance, instance.ad), "mdns probe")

    async def _probe(self, instance: _Instance, ad: RoomAd) -> None:
        try:
            answered = await self._reach(ad)
            if answered is None and instance.listed:
                # One lost SYN or a busy accept queue must not hide a room: ask again.
                await asyncio.sleep(_CONFIRM_DELAY_S)
                answered = await self._reach(ad)
        finally:
            instance.probing = False
        if instance.gone or instance.ad is not ad or instance.refresh is not None:
            return  # removed or re-resolved meanwhile; that result wins
        if answered is None:
            if instance.listed:
                instance.listed = False
                log.info("room %s on %s stopped answering", ad.room, ad.host)
                self._emit(RoomRemoved(ad))
            self._schedule_dormant_probe(instance)
        elif not instance.listed:
            self._apply(instance, ad, answered)


class BrowserThread:
    """A RoomBrowser on its own loop in a daemon thread; start/stop/rooms are thread-safe.

    The callback is called on the browser thread: hand events to your own thread (e.g. put
    them on a queue.SimpleQueue that the Tk loop drains with after()).

    Args:
        callback: called on the browser thread with every RoomEvent.
        interfaces: IP addresses of the interfaces to browse on; empty means all of them.
        probe_interval_s: how often each listed room's server is checked (see RoomBrowser).
    """

    def __init__(
        self,
        callback: Callable[[RoomEvent], None],
        *,
        interfaces: Sequence[str] = (),
        probe_interval_s: float = 2.0,
    ) -> None:
        self._callback = callback
        self.interfaces = tuple(interfaces)
        self.probe_interval_s = probe_interval_s
        self._lock = threading.Lock()  # guards _rooms, written on the browser thread
        self._rooms: dict[str, RoomAd] = {}  # instance -> listed room
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None  # set on the loop to end the thread

    def start(self) -> None:
        """Start browsing in a daemon thread; returns once the mDNS sockets are open.

        Raises:
            DiscoveryError: the mDNS sockets cannot be opened.
            RuntimeError: called twice.
        """
        if self._thread is not None:
            raise RuntimeError("BrowserThread.start() called twice")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._main(ready, failure),),
            name="lanchat-room-browser",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(_START_TIMEOUT_S):
            raise DiscoveryError("the room browser did not start; restart lanchat")
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Stop browsing, close the sockets and wait for the thread (at most a few seconds)."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is None or stop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(_START_TIMEOUT_S)

    def rooms(self) -> list[RoomAd]:
        """The rooms listed now. Any thread."""
        with self._lock:
            return list(self._rooms.values())

    async def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        browser = RoomBrowser(
            self._on_event, interfaces=self.interfaces, probe_interval_s=self.probe_interval_s
        )
        try:
            await browser.start()
        except DiscoveryError as e:
            failure.append(e)
            await browser.close()
            return
        finally:
            ready.set()
        try:
            await self._stop.wait()
        finally:
            await browser.close()

    def _on_event(self, event: RoomEvent) -> None:
        with self._lock:
            if isinstance(event, RoomRemoved):
                self._rooms.pop(event.ad.instance, None)
            else:
                self._rooms[event.ad.instance] = event.ad
        self._callback(event)
