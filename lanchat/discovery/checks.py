"""The checks of "why can't I see anyone?" as pure functions: measurements in, verdicts out.

Layer: PURE; imports the standard library and lanchat.discovery.records only (no zeroconf, no
sockets), so each verdict is tested with plain calls. The measuring is in
lanchat.discovery.diagnose (which runs them) and lanchat.discovery.census.

Spec: lanchat issue #15. A `CheckResult` is a status, a one-sentence verdict and what to do,
in plain words; `CHECKS` lists the checks in the order they are shown:

    address     this machine has a network address, and not only a self-assigned 169.254.x
    vpn         the default route does not go through a VPN (many hide the local network)
    mdns        mDNS works here: advertise a test service and find it with a second stack
    neighbours  other devices answer mDNS (census.py); nobody in 3 s = multicast is blocked
    subnet      the devices and rooms heard are on this machine's subnet (RFC 6762 section 11:
                multicast stays on one link, and a link may carry several subnets)
    rooms       every room found accepts a TCP connection (else: the host's firewall)
    by-hand     this machine's address (and a room hosted here) for people to type or scan
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from lanchat.discovery.records import RoomAd

__all__ = [
    "CHECKS",
    "CheckResult",
    "Heard",
    "Interface",
    "Probe",
    "Route",
    "Status",
    "Survey",
    "check_address",
    "check_by_hand",
    "check_neighbours",
    "check_rooms",
    "check_subnet",
    "check_vpn",
]


class Status(enum.Enum):
    """How a check came out."""

    OK = "ok"
    WARNING = "warning"  # may hide rooms; worth fixing
    PROBLEM = "problem"  # hides rooms
    INFO = "info"  # nothing to judge (this machine's address)
    SKIPPED = "skipped"  # not checked: an earlier check failed


CHECKS: dict[str, str] = {  # check id -> title, in the order they are shown
    "address": "Network address",
    "vpn": "VPN",
    "mdns": "mDNS on this computer",
    "neighbours": "Other devices answering",
    "subnet": "Same network",
    "rooms": "Rooms answer",
    "by-hand": "Connect by address",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check, in words a person can act on."""

    check: str  # a key of CHECKS
    status: Status
    verdict: str  # what was found, one sentence
    fix: str = ""  # what to do about it; "" when there is nothing to do
    link: str = ""  # what a QR code should carry (the by-hand check only)

    @property
    def title(self) -> str:
        return CHECKS[self.check]


@dataclass(frozen=True, slots=True)
class Interface:
    """One IPv4 address of a network interface of this machine."""

    name: str  # "eth0", "Wi-Fi"
    address: str
    prefix: int  # network prefix length, 24 for 255.255.255.0

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Interface(f"{self.address}/{self.prefix}").network

    @property
    def self_assigned(self) -> bool:
        """A 169.254.x.x address: the machine made it up because no DHCP server answered."""
        return ipaddress.IPv4Address(self.address).is_link_local


@dataclass(frozen=True, slots=True)
class Route:
    """Where traffic to the internet leaves this machine."""

    interface: str  # the interface's name
    address: str  # this machine's address on it
    vpn: bool  # the interface looks like a VPN tunnel


@dataclass(frozen=True, slots=True)
class Survey:
    """What this machine's interfaces look like."""

    interfaces: tuple[Interface, ...]  # IPv4, not loopback (only the chosen ones, if any)
    own: tuple[str, ...]  # every IPv4 address of this machine, loopback included
    route: Route | None  # the default route; None when there is none

    @property
    def usable(self) -> tuple[Interface, ...]:
        """The interfaces with a real (not self-assigned) address."""
        return tuple(i for i in self.interfaces if not i.self_assigned)

    def on_my_subnet(self, address: str) -> bool:
        with contextlib.suppress(ValueError):
            ip = ipaddress.IPv4Address(address)
            return any(ip in i.network for i in self.interfaces)
        return True  # IPv6: multicast reached us on this link, so it is no other subnet


@dataclass(frozen=True, slots=True)
class Probe:
    """A room found by mDNS and whether its server accepted a TCP connection."""

    ad: RoomAd
    answered: str | None  # the address that accepted, None if none did
    error: str = ""  # why the last address did not ("timed out", "refused")


# ---------------------------------------------------------------------- this machine


@dataclass(frozen=True, slots=True)
class Heard:
    """One other device that sent mDNS while we listened."""

    address: str  # the source address of its packets
    name: str  # a host name it announced for that address ("bob-pc.local"), else ""


def check_address(survey: Survey) -> CheckResult:
    """This machine has an address on a network, and one a DHCP server gave it."""
    if not survey.interfaces:
        return CheckResult(
            "address",
            Status.PROBLEM,
            "This computer is not connected to any network.",
            "Connect to the Wi-Fi or plug in the network cable, then check again.",
        )
    if not survey.usable:
        return CheckResult(
            "address",
            Status.PROBLEM,
            "This computer only has a self-assigned address "
            f"({survey.interfaces[0].address}): the network did not give it one.",
            "Reconnect to the network (turn Wi-Fi off and on) or restart the router; if that "
            "does not help, ask whoever runs the network to check its DHCP server.",
        )
    where = ", ".join(f"{i.address} on {i.name}" for i in survey.usable)
    return CheckResult("address", Status.OK, f"This computer is {where}.")


def check_vpn(survey: Survey) -> CheckResult:
    """The default route does not go through a VPN."""
    route = survey.route
    if route is None:
        return CheckResult(
            "vpn",
            Status.OK,
            "No VPN: this network has no way to the internet, which does not matter for rooms.",
        )
    if route.vpn:
        return CheckResult(
            "vpn",
            Status.WARNING,
            f"Your traffic goes through a VPN ({route.interface}); many VPNs hide the "
            "computers around you.",
            "Turn the VPN off while you chat, or allow local network (LAN) access in its settings.",
        )
    return CheckResult("vpn", Status.OK, f"No VPN: traffic leaves through {route.interface}.")


def _who(heard: Heard) -> str:
    return f"{heard.name} ({heard.address})" if heard.name else heard.address


def check_neighbours(
    heard: Sequence[Heard], rooms: Sequence[RoomAd], listen_s: float
) -> CheckResult:
    """Other devices sent mDNS by multicast; nobody at all means the network blocks multicast.

    A room can still be found through answers sent straight to us (RFC 6762 section 5.4), so
    `rooms` only softens the verdict: such a room comes and goes.
    """
    if not heard:
        direct = (
            f" (the {len(rooms)} room{'s' if len(rooms) != 1 else ''} found answered directly, "
            "but may come and go)"
            if rooms
            else ""
        )
        return CheckResult(
            "neighbours",
            Status.PROBLEM,
            f"No other device answered mDNS within {listen_s:g} seconds: this network seems "
            f"to block multicast between devices{direct}.",
            "Guest and public Wi-Fi often isolate clients: use another network, ask whoever "
            "runs this one to allow multicast (mDNS) between devices, or connect by address.",
        )
    names = ", ".join(_who(h) for h in heard[:5]) + (", …" if len(heard) > 5 else "")
    n = len(heard)
    return CheckResult(
        "neighbours",
        Status.OK,
        f"{n} other device{'s' if n != 1 else ''} answered mDNS: {names}.",
    )


def check_subnet(survey: Survey, heard: Sequence[Heard], rooms: Sequence[RoomAd]) -> CheckResult:
    """The devices and rooms heard have an address on one of this machine's subnets."""
    peers = {h.address: _who(h) for h in heard}
    for ad in rooms:
        if not any(a in survey.own for a in ad.addresses):
            for address in ad.addresses:
                peers.setdefault(address, f"{ad.host} ({address})")
    if not peers:
        return CheckResult(
            "subnet", Status.SKIPPED, "Not checked: no other device or room was heard."
        )
    mine = ", ".join(str(i.network) for i in survey.interfaces)
    elsewhere = sorted(who for address, who in peers.items() if not survey.on_my_subnet(address))
    if elsewhere:
        return CheckResult(
            "subnet",
            Status.WARNING,
            f"{', '.join(elsewhere)} {'is' if len(elsewhere) == 1 else 'are'} on another "
            f"subnet than this computer ({mine}), so connections may fail.",
            "Join the same network as the others (the same Wi-Fi, not a guest network), or "
            "ask whoever runs the network to route between the subnets.",
        )
    return CheckResult("subnet", Status.OK, f"Everyone heard is on your subnet ({mine}).")


def _address(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def check_rooms(survey: Survey, probes: Sequence[Probe]) -> CheckResult:
    """Every room advertised on the LAN accepts a TCP connection."""
    if not probes:
        return CheckResult(
            "rooms",
            Status.WARNING,
            "No lanchat room was found: nobody on this network hosts one right now, or their "
            "announcements do not reach this computer.",
            "Start a room with the launcher, or ask the host for their address and connect "
            "by address.",
        )
    dead = [p for p in probes if p.answered is None]
    if not dead:
        names = ", ".join(f"{p.ad.room} on {p.ad.host}" for p in probes)
        n = len(probes)
        return CheckResult(
            "rooms", Status.OK, f"{n} room{'s' if n != 1 else ''} found, all answering: {names}."
        )
    described = "; ".join(
        f"{p.ad.room} on {p.ad.host} ({', '.join(_address(a, p.ad.port) for a in p.ad.addresses)}"
        f"{': ' + p.error if p.error else ''})"
        for p in dead
    )
    if all(not survey.on_my_subnet(a) for p in dead for a in p.ad.addresses):
        return CheckResult(
            "rooms",
            Status.PROBLEM,
            f"Found but not reachable, from another subnet: {described}.",
            "Join the same network as the host of the room (see Same network above).",
        )
    ports = sorted({p.ad.port for p in dead})
    return CheckResult(
        "rooms",
        Status.PROBLEM,
        f"Found but not reachable: {described}. A firewall on the host of the room probably "
        "blocks it.",
        "On that computer, allow the port: ufw `sudo ufw allow "
        f"{','.join(map(str, ports))}/tcp`; firewalld `sudo firewall-cmd --permanent "
        f"{' '.join(f'--add-port={p}/tcp' for p in ports)}` and `sudo firewall-cmd --reload`; "
        "Windows: make the network Private and allow Python through Windows Defender Firewall.",
    )


def check_by_hand(survey: Survey, rooms: Sequence[RoomAd]) -> CheckResult:
    """This machine's address (and a room it hosts) for people to connect by hand."""
    if not survey.usable:
        return CheckResult(
            "by-hand", Status.SKIPPED, "Not available: this computer has no network address."
        )
    address = survey.usable[0].address
    others = ", ".join(i.address for i in survey.usable[1:])
    also = f" (also {others})" if others else ""
    hosted = sorted(
        (ad for ad in rooms if address in ad.addresses), key=lambda ad: ad.room.casefold()
    )
    if hosted:
        ad = hosted[0]
        link = f"irc://{_address(address, ad.port)}/{ad.room}"
        verdict = f"This computer is {address}{also} and hosts {ad.room}: {link}"
    else:
        link = address
        verdict = f"This computer is {address}{also}; rooms it hosts are joined at {address}:PORT."
    return CheckResult(
        "by-hand",
        Status.INFO,
        verdict,
        "People whose list stays empty can scan the code or type the address in Connect "
        "manually (any IRC client works too).",
        link,
    )


# ---------------------------------------------------------------------- network checks
