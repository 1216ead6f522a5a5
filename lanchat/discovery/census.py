"""Who else speaks mDNS on this network: listen to port 5353 and ask every device to answer.

Layer: asyncio edge of discovery; may import zeroconf (its packet parser only), the standard
library, lanchat.discovery.checks and lanchat.errors; never the server, client, store or gui.

Spec: RFC 6763 https://www.rfc-editor.org/rfc/rfc6763 section 9 (a PTR query for
`_services._dns-sd._udp.local.` makes every DNS-SD responder list its service types) over
RFC 6762 https://www.rfc-editor.org/rfc/rfc6762 section 5.2 (a query sent from port 5353 is
answered by multicast, so the answers reach every listener of the group, us included).

The census is the "is multicast blocked?" test of `lanchat doctor` (issue #15): computers,
phones and printers of an ordinary LAN answer that query, so hearing nobody for a few
seconds means the network drops multicast between devices (Wi-Fi client isolation, a guest
network, IGMP snooping without a querier). It counts the *sources* of mDNS packets, which
python-zeroconf does not expose, hence a socket of our own beside zeroconf's: both bind
0.0.0.0:5353 with address reuse, and the kernel gives each a copy of every multicast packet.
IPv4 only, like the room browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import sys
from collections.abc import Sequence

# zeroconf's packet parser: importable from the package, though missing from its __all__
from zeroconf import DNSAddress, DNSIncoming  # type: ignore[attr-defined]

from lanchat.discovery.checks import Heard
from lanchat.errors import DiscoveryError

__all__ = ["MDNS_GROUP", "MDNS_PORT", "listen_for_neighbours"]

MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
# Header (id 0, flags 0: a standard query, one question) + `_services._dns-sd._udp.local.`
# PTR IN, asked as QM (RFC 6762 section 5.4: multicast answers) -- RFC 6763 section 9.
_ENUMERATE_SERVICES = (
    struct.pack("!6H", 0, 0, 1, 0, 0, 0)
    + b"\x09_services\x07_dns-sd\x04_udp\x05local\x00"
    + struct.pack("!2H", 12, 1)
)
_QUERIES = 3  # asked at the start and twice more: a lost packet must not read as "blocked"
# Linux delivers every multicast packet of the group to each socket bound to the port unless
# IP_MULTICAST_ALL is off; off, we hear only the interfaces we joined (`lanchat doctor
# --interface`). Python does not name the option before 3.13; 49 is its value in <linux/in.h>.
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


def _open_socket(addresses: Sequence[str]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            # zeroconf and avahi-daemon set it too; every socket sharing the port must
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if sys.platform.startswith("linux"):
            sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)  # RFC 6762 section 11
        sock.bind(("", MDNS_PORT))
        joined = 0
        for address in addresses:
            mreq = socket.inet_aton(MDNS_GROUP) + socket.inet_aton(address)
            with contextlib.suppress(OSError):  # an interface without multicast
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
                joined += 1
        if not joined:
            raise OSError(0, "no interface accepts multicast")
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise DiscoveryError(
            f"cannot listen for mDNS on UDP port {MDNS_PORT}: {e.strerror or e}"
        ) from None
    return sock


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, own: frozenset[str]) -> None:
        self.own = own  # this machine's addresses: our own packets come back to us
        self.heard: dict[str, str] = {}  # source address -> host name seen for it ("")

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        source = str(addr[0])
        if source in self.own:
            return
        message = DNSIncoming(data)
        if not message.valid:
            return  # not DNS: says nothing about who is there
        name = self.heard.get(source, "")
        for record in message.answers():
            if isinstance(record, DNSAddress) and record.address == socket.inet_aton(source):
                name = record.name.rstrip(".")
        self.heard[source] = name


async def listen_for_neighbours(
    addresses: Sequence[str], own: Sequence[str], *, listen_s: float = 3.0
) -> list[Heard]:
    """Ask every DNS-SD responder on these interfaces to answer and note who sends mDNS.

    Args:
        addresses: IPv4 addresses of the interfaces to listen and ask on.
        own: every address of this machine (its packets are not counted).
        listen_s: how long to listen.

    Returns:
        The other devices heard, sorted by address.

    Raises:
        DiscoveryError: UDP port 5353 cannot be opened (or no interface takes multicast).
    """
    sock = _open_socket(addresses)
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(
        lambda: _Listener(frozenset(own)), sock=sock
    )
    try:
        for _ in range(_QUERIES):
            for address in addresses:
                with contextlib.suppress(OSError):  # an interface that went down meanwhile
                    sock.setsockopt(
                        socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address)
                    )
                    sock.sendto(_ENUMERATE_SERVICES, (MDNS_GROUP, MDNS_PORT))
            await asyncio.sleep(listen_s / _QUERIES)
    finally:
        transport.close()
    return [
        Heard(address, name)
        for address, name in sorted(
            listener.heard.items(), key=lambda item: ipaddress.ip_address(item[0])
        )
    ]
