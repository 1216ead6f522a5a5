"""Advertise the rooms of a running server on the LAN as DNS-SD services over mDNS.

Layer: asyncio edge of discovery; may import zeroconf, ifaddr, lanchat.discovery.records and
lanchat.errors; never the server, client, store or gui (import-linter contract).

Spec: DNS-SD, RFC 6763 https://www.rfc-editor.org/rfc/rfc6763 (one service instance of type
`_lanchat._tcp.local.` per public room, TXT as in records.py) over Multicast DNS, RFC 6762
https://www.rfc-editor.org/rfc/rfc6762 -- section 8 (probing; a conflict renames the instance,
so two hosts with the same name both appear), 8.4 (updated records are announced again),
10.1 (goodbye packets when a room is withdrawn).

Probing alone does not find every namesake (issue 15, bug 2). python-zeroconf probes with QU
questions, and a responder that multicast its records lately (a room whose people or topic just
changed) defends its name by unicast only (RFC 6762 5.4). On a host where another process also
listens on port 5353 (the launcher's room list, a chat window), the kernel hands that unicast
reply to one socket of the port, not always ours (and some firewalls let only multicast mDNS
through), so the probe heard nothing and the second `#lobby on vm` took the first one's name
and replaced it in every room list. So the advertiser
asks the LAN for every `_lanchat._tcp` instance with a QM question (answered by multicast, which
every socket receives) as it starts, and keeps asking as a browser does; a room's first probe
waits until the answers had time to arrive (`_LISTEN_S`), and a name found in the cache is
renamed before it is ever announced.

Each room has one worker task that owns its registration, so publish() and withdraw() never
wait: they record the wanted state and wake the worker. TXT updates are rate-limited per room
to one per `min_update_interval_s` (a busy room must not flood the LAN with multicast, RFC
6762 section 8.4 asks for restraint); the latest state always goes out at the end of the
interval. A withdraw does not wait for the rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import ifaddr
from zeroconf import DNSQuestionType, InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from lanchat.discovery.records import SERVICE_TYPE, RoomAd, instance_name, room_key, to_txt
from lanchat.errors import DiscoveryError

__all__ = ["Advertiser", "default_host_label"]

log = logging.getLogger(__name__)

# Before a room's first probe: the LAN's answers to our QM question, which a responder that
# multicast them within the last second holds back for a second (RFC 6762 section 14).
_LISTEN_S = 1.2


def default_host_label() -> str:
    """This machine's short host name (`alice-laptop` of `alice-laptop.example.org`)."""
    return socket.gethostname().split(".")[0] or "lanchat"


def _lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces; loopback only if there is nothing else."""
    found = sorted(
        {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    )
    lan = [a for a in found if not ipaddress.ip_address(a).is_loopback]
    # A machine with no network still shows its rooms to browsers on the same machine.
    return lan or found[:1] or ["127.0.0.1"]


def _server_name(host_label: str) -> str:
    # Our own host name, not the machine's `<hostname>.local.`: publishing A records for the
    # name avahi-daemon or mDNSResponder already owns would make them see a conflict and rename
    # the machine (RFC 6762 section 9). The random part keeps two servers on one host apart.
    slug = re.sub(r"[^a-z0-9-]+", "-", host_label.lower()).strip("-")[:40] or "lanchat"
    return f"{slug}-lanchat-{secrets.token_hex(3)}.local."


@dataclass(eq=False)
class _Room:
    """One room's wanted state and registration, owned by its worker task."""

    wanted: RoomAd | None  # latest state asked for; None once withdrawn
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # wanted changed since sent
    withdrawn: asyncio.Event = field(default_factory=asyncio.Event)  # cuts the rate-limit wait
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # everything wanted is on the LAN
    info: AsyncServiceInfo | None = None  # the registered service, None while unregistered
    task: asyncio.Task[None] | None = None


class Advertiser:
    """Publishes rooms as `_lanchat._tcp.local.` services. Loop thread only.

    Args:
        port: the TCP port the server listens on (used when a RoomAd has port 0).
        host_label: readable host label in instance names and TXT (default: the host name).
        interfaces: IP addresses of the interfaces to advertise on; empty means all of them.
        min_update_interval_s: at most one TXT update per room per this many seconds.
    """

    def __init__(
        self,
        *,
        port: int,
        host_label: str | None = None,
        interfaces: Sequence[str] = (),
        min_update_interval_s: float = 2.0,
    ) -> None:
        self.port = port  # default port of published rooms
        self.host_label = host_label or default_host_label()  # default host of published rooms
        self.interfaces = tuple(interfaces)  # () = every interface
        self.min_update_interval_s = min_update_interval_s
        self._server = _server_name(self.host_label)  # SRV target / A record name
        self._addresses: list[str] = []  # A records: the interfaces' addresses
        self._aiozc: AsyncZeroconf | None = None
        self._rooms: dict[str, _Room] = {}  # room key -> state
        self._closed = False
        self._listener: AsyncServiceBrowser | None = None  # keeps the LAN's names in our cache
        self._listen_until = 0.0  # loop time before which no room starts probing

    async def start(self) -> None:
        """Open the mDNS sockets on the chosen interfaces. Loop thread only.

        Raises:
            DiscoveryError: an interface address is invalid or not on this machine, or the
                mDNS sockets cannot be opened.
        """
        for address in self.interfaces:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise DiscoveryError(
                    f"cannot advertise rooms: {address!r} in [discovery] interfaces is not an "
                    "IP address; give the addresses of this machine's network interfaces"
                ) from None
        choice: list[str | int] | InterfaceChoice = (
            list(self.interfaces) if self.interfaces else InterfaceChoice.All
        )
        try:
            self._aiozc = AsyncZeroconf(interfaces=choice)
        except OSError as e:
            where = ", ".join(self.interfaces) or "any interface"
            raise DiscoveryError(
                f"cannot advertise rooms on {where}: {e.strerror or e}; check the [discovery] "
                "interfaces setting (addresses of this machine) or run with --no-mdns"
            ) from None
        self._addresses = list(self.interfaces) or _lan_addresses()
        self._listener = AsyncServiceBrowser(
            self._aiozc.zeroconf,
            SERVICE_TYPE,
            handlers=[_ignore],
            question_type=DNSQuestionType.QM,
        )
        self._listen_until = asyncio.get_running_loop().time() + _LISTEN_S
        log.debug("mDNS advertiser on %s as %s", self._addresses, self._server)

    def publish(self, ad: RoomAd) -> None:
        """Advertise `ad`, or update its TXT record if the room is already advertised.

        Loop thread only; never waits. `ad.host` and `ad.port` default to the advertiser's
        host label and port when empty/0. Updates are rate-limited per room; the latest state
        wins.

        Args:
            ad: the room's current state.

        Raises:
            RuntimeError: called before start().
        """
        if self._closed:
            return
        if self._aiozc is None:
            raise RuntimeError("Advertiser.publish() called before start()")
        ad = replace(ad, host=ad.host or self.host_label, port=ad.port or self.port)
        key = room_key(ad.room)
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = _Room(wanted=ad)
            room.task = asyncio.create_task(self._run(key, room), name=f"mdns {ad.room}")
        else:
            room.wanted = ad
            room.withdrawn.clear()
        room.idle.clear()
        room.changed.set()

    def withdraw(self, room: str) -> None:
        """Stop advertising `room` (goodbye packets, RFC 6762 10.1). Loop thread only; never waits.

        Args:
            room: the room name (compared casefolded); unknown rooms are ignored.
        """
        state = self._rooms.get(room_key(room))
        if state is None or self._closed:
            return
        state.wanted = None
        state.idle.clear()
        state.withdrawn.set()
        state.changed.set()

    def instance(self, room: str) -> str | None:
        """The DNS-SD instance name `room` is registered under (after any rename), or None."""
        state = self._rooms.get(room_key(room))
        if state is None or state.info is None:
            return None
        return state.info.name[: -len(SERVICE_TYPE) - 1]

    async def flush(self) -> None:
        """Wait until every publish() and withdraw() so far has been announced on the LAN."""
        await asyncio.gather(*(room.idle.wait() for room in list(self._rooms.values())))

    async def close(self) -> None:
        """Withdraw every room (goodbye packets) and close the mDNS sockets. Loop thread only."""
        if self._closed:
            return
        self._closed = True
        tasks = [room.task for room in self._rooms.values() if room.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for room in self._rooms.values():
            room.idle.set()  # nothing more will be sent; a flush() waiting now returns
        self._rooms.clear()
        if self._listener is not None:
            await self._listener.async_cancel()
        if self._aiozc is not None:
            # async_close sends goodbyes for everything still registered, then closes.
            await self._aiozc.async_close()

    def _service_info(self, ad: RoomAd, name: str | None = None) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            name or f"{instance_name(ad.room, ad.host)}.{SERVICE_TYPE}",
            port=ad.port,
            properties=to_txt(ad),
            server=self._server,
            parsed_addresses=self._addresses,
        )

    async def _run(self, key: str, room: _Room) -> None:
        """The worker of one room: register, update (rate-limited), unregister."""
        assert self._aiozc is not None
        aiozc = self._aiozc
        while True:
            if not room.changed.is_set():
                room.idle.set()
            await room.changed.wait()
            room.changed.clear()
            ad = room.wanted
            try:
                if ad is None:
                    if room.info is not None:
                        await (await aiozc.async_unregister_service(room.info))
                        log.debug("mDNS withdrew %s", room.info.name)
                        room.info = None
                    if room.wanted is None:
                        del self._rooms[key]
                        room.idle.set()
                        return
                    continue
                if room.info is None:
                    await asyncio.sleep(self._listen_until - asyncio.get_running_loop().time())
                    info = self._service_info(ad)
                    # Probing takes about a second; a conflict renames the instance "... -2".
                    announced = await aiozc.async_register_service(info, allow_name_change=True)
                    room.info = info
                    await announced
                    log.debug("mDNS registered %s", info.name)
                elif to_txt(ad) != room.info.decoded_properties:
                    room.info = self._service_info(ad, name=room.info.name)
                    await (await aiozc.async_update_service(room.info))
                else:
                    continue
            except Exception as e:  # a failed announcement must not stop later ones
                log.warning("could not advertise room %s on the LAN: %s", ad.room if ad else key, e)
            if not room.changed.is_set():
                room.idle.set()
            # Rate limit (RFC 6762 8.4): hold further updates, but never a withdraw.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(room.withdrawn.wait(), self.min_update_interval_s)


def _ignore(
    zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
) -> None:
    """The listener's handler: only the records it brings into the cache matter."""
