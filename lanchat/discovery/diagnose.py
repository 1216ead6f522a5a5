""" "Why can't I see anyone?": measure what hides rooms on a LAN and judge it (issue #15).

Layer: asyncio edge of discovery; may import zeroconf, ifaddr, lanchat.discovery.{checks,
census,records} and lanchat.errors; never the server, client, store or gui. The Tk dialog
(lanchat.gui.diagnose) runs it on a `DiagnosisThread`, never on Tk's thread; `lanchat doctor`
(lanchat.discovery.doctor) runs it in the terminal.

Spec: mDNS RFC 6762 https://www.rfc-editor.org/rfc/rfc6762, DNS-SD RFC 6763
https://www.rfc-editor.org/rfc/rfc6763. The verdicts are the pure functions of
lanchat.discovery.checks; this module measures: the interfaces and the default route
(`take_survey`), an mDNS self-test (`check_mdns`), the rooms advertised whether they answer or
not (`find_rooms`, unlike the room browser, which hides the unreachable ones) and a TCP probe of
each (`probe`); `diagnose()` runs them all, the slow ones side by side (about listen_s + 2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import ifaddr
from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from lanchat.discovery.census import listen_for_neighbours
from lanchat.discovery.checks import (
    CheckResult,
    Interface,
    Probe,
    Route,
    Status,
    Survey,
    check_address,
    check_by_hand,
    check_neighbours,
    check_rooms,
    check_subnet,
    check_vpn,
)
from lanchat.discovery.records import SERVICE_TYPE, RoomAd, from_txt
from lanchat.errors import DiscoveryError

__all__ = [
    "CHECK_TYPE",
    "DiagnosisThread",
    "check_mdns",
    "diagnose",
    "find_rooms",
    "probe",
    "take_survey",
]

log = logging.getLogger(__name__)

# A service type of its own, so the test service never shows up in anyone's room list.
CHECK_TYPE = "_lanchat-check._tcp.local."
_ROUTE_PROBE = ("198.51.100.1", 9)  # TEST-NET-2: connect() picks the default route, sends nothing
_RESOLVE_TIMEOUT_MS = 1500
# Interface names of VPN and tunnel software (WireGuard, OpenVPN tun/tap, PPP, macOS utun,
# Tailscale, ZeroTier, NordVPN, Cisco AnyConnect) and words in Windows adapter names.
_VPN_NAME = re.compile(
    r"^(tun|tap|wg|ppp|utun|ipsec|tailscale|zt|nordlynx|proton|mullvad|cscotun|gpd|vpn)",
    re.IGNORECASE,
)
_VPN_WORDS = re.compile(r"vpn|wireguard|wintun|tap-windows|tailscale|anyconnect|fortinet", re.I)
_TUNNEL_TYPES = {"65534", "512"}  # Linux ARPHRD_NONE (tun, WireGuard) and ARPHRD_PPP


def _looks_like_vpn(name: str, nice_name: str) -> bool:
    if _VPN_NAME.match(name) or _VPN_WORDS.search(nice_name):
        return True
    kind = Path(f"/sys/class/net/{name}/type")
    with contextlib.suppress(OSError):
        return sys.platform.startswith("linux") and kind.read_text().strip() in _TUNNEL_TYPES
    return False


def _default_route(adapters: Iterable[ifaddr.Adapter]) -> Route | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(_ROUTE_PROBE)
        except OSError:
            return None  # no route to the internet at all
        address = s.getsockname()[0]
    for adapter in adapters:
        if any(ip.ip == address for ip in adapter.ips):
            name = str(adapter.name)
            return Route(name, address, _looks_like_vpn(name, adapter.nice_name))
    return Route("?", address, vpn=False)


def take_survey(interfaces: Sequence[str] = ()) -> Survey:
    """Read this machine's IPv4 interfaces and its default route (no packet is sent).

    Args:
        interfaces: addresses of the interfaces to look at; empty means every one.

    Returns:
        The survey.
    """
    adapters = list(ifaddr.get_adapters())
    found: list[Interface] = []
    own: list[str] = []
    for adapter in adapters:
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue  # IPv6: the room browser and the census are IPv4 only
            own.append(ip.ip)
            if ipaddress.IPv4Address(ip.ip).is_loopback:
                continue
            if not interfaces or ip.ip in interfaces:
                found.append(Interface(adapter.nice_name, ip.ip, ip.network_prefix))
    return Survey(tuple(found), tuple(own), _default_route(adapters))


# ---------------------------------------------------------------------- network checks


def _choice(survey: Survey) -> list[str | int]:
    return [i.address for i in survey.usable]


async def check_mdns(survey: Survey, timeout_s: float = 3.0) -> CheckResult:
    """Advertise a test service and look for it with a second, separate mDNS stack."""
    token = secrets.token_hex(4)
    info = AsyncServiceInfo(
        CHECK_TYPE,
        f"check-{token}.{CHECK_TYPE}",
        port=9,  # discard: nothing connects to it
        addresses=[socket.inet_aton(i.address) for i in survey.usable],
        server=f"lanchat-check-{token}.local.",
    )
    try:
        advertiser = AsyncZeroconf(interfaces=_choice(survey))
    except OSError as e:
        return _mdns_broken(e)
    try:
        browser = AsyncZeroconf(interfaces=_choice(survey))
    except OSError as e:
        await advertiser.async_close()
        return _mdns_broken(e)
    try:
        await (await advertiser.async_register_service(info))
        wanted = AsyncServiceInfo(CHECK_TYPE, info.name)
        found = await wanted.async_request(browser.zeroconf, int(timeout_s * 1000))
    finally:
        await browser.async_close()
        await advertiser.async_close()  # unregisters the test service (goodbye packets)
    if found:
        return CheckResult(
            "mdns", Status.OK, "mDNS works on this computer: it found its own test service."
        )
    return CheckResult(
        "mdns",
        Status.PROBLEM,
        "This computer did not hear its own mDNS test service: something here blocks mDNS.",
        "Allow mDNS (UDP port 5353) in this computer's firewall: ufw `sudo ufw allow "
        "5353/udp`; firewalld `sudo firewall-cmd --permanent --add-service=mdns` and "
        "`sudo firewall-cmd --reload`; Windows: make the network Private.",
    )


def _mdns_broken(e: OSError) -> CheckResult:
    return CheckResult(
        "mdns",
        Status.PROBLEM,
        f"mDNS cannot start on this computer ({e.strerror or e}).",
        "Close other programs that use UDP port 5353 exclusively, or restart the computer.",
    )


async def find_rooms(survey: Survey, listen_s: float) -> list[RoomAd]:
    """Every `_lanchat._tcp` room advertised on the chosen interfaces within `listen_s`,
    reachable or not (the room browser hides the unreachable ones; here they matter)."""
    aiozc = AsyncZeroconf(interfaces=_choice(survey))
    resolving: list[asyncio.Task[RoomAd | None]] = []

    async def resolve(name: str) -> RoomAd | None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(aiozc.zeroconf, _RESOLVE_TIMEOUT_MS):
            return None
        return from_txt(
            name[: -len(SERVICE_TYPE) - 1],
            info.properties,
            port=info.port or 0,
            addresses=tuple(info.parsed_scoped_addresses()),
        )

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added:
            resolving.append(asyncio.ensure_future(resolve(name)))

    browser = AsyncServiceBrowser(aiozc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        await asyncio.sleep(listen_s)
        await browser.async_cancel()
        found = await asyncio.gather(*resolving, return_exceptions=True)
    finally:
        await aiozc.async_close()
    return [ad for ad in found if isinstance(ad, RoomAd)]


async def probe(ad: RoomAd, timeout_s: float = 1.5) -> Probe:
    """Try a TCP connection to each of the room's addresses; the first that accepts wins."""
    error = "no address"
    for address in ad.addresses:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(address, ad.port), timeout_s)
        except TimeoutError:
            error = "timed out"
        except OSError as e:
            error = (e.strerror or str(e)).lower()
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return Probe(ad, address)
    return Probe(ad, None, error)


async def diagnose(
    report: Callable[[CheckResult], None],
    *,
    interfaces: Sequence[str] = (),
    listen_s: float = 3.0,
    probe_timeout_s: float = 1.5,
) -> list[CheckResult]:
    """Run every check; `report` gets each result as soon as it is known, in CHECKS order.

    Args:
        report: called on the loop thread with each result.
        interfaces: addresses of the interfaces to check; empty means every one.
        listen_s: how long to listen for other devices and rooms.
        probe_timeout_s: how long each room's server may take to accept a connection.

    Returns:
        Every result, in CHECKS order.
    """
    results: list[CheckResult] = []

    def done(result: CheckResult) -> None:
        results.append(result)
        report(result)

    survey = await asyncio.get_running_loop().run_in_executor(None, take_survey, interfaces)
    done(check_address(survey))
    done(check_vpn(survey))
    if not survey.usable:
        for check in ("mdns", "neighbours", "subnet", "rooms"):
            done(CheckResult(check, Status.SKIPPED, "Not checked: fix the network address first."))
        done(check_by_hand(survey, ()))
        return results
    addresses = [i.address for i in survey.usable]
    heard_task = asyncio.ensure_future(
        listen_for_neighbours(addresses, survey.own, listen_s=listen_s)
    )
    rooms_task = asyncio.ensure_future(find_rooms(survey, listen_s))
    done(await check_mdns(survey))
    try:
        rooms = await rooms_task
    except OSError:
        rooms = []  # mDNS cannot start: the mdns check above says so and what to do
    try:
        heard = await heard_task
        done(check_neighbours(heard, rooms, listen_s))
    except DiscoveryError as e:
        heard = []
        done(
            CheckResult(
                "neighbours",
                Status.PROBLEM,
                f"Cannot listen for other devices: {e}.",
                "Close other programs that use UDP port 5353 exclusively, or restart the computer.",
            )
        )
    done(check_subnet(survey, heard, rooms))
    probes = await asyncio.gather(*(probe(ad, probe_timeout_s) for ad in rooms))
    done(check_rooms(survey, probes))
    done(check_by_hand(survey, rooms))
    return results


class DiagnosisThread:
    """Runs `diagnose()` on a loop in a daemon thread (never on Tk's thread).

    Args:
        report: called on that thread with each result (e.g. a queue's put).
        interfaces: addresses of the interfaces to check; empty means every one.
        listen_s: how long to listen for other devices and rooms.
    """

    def __init__(
        self,
        report: Callable[[CheckResult], None],
        *,
        interfaces: Sequence[str] = (),
        listen_s: float = 3.0,
    ) -> None:
        self._report = report
        self.interfaces = tuple(interfaces)
        self.listen_s = listen_s
        self.finished = threading.Event()  # set after the last result was reported
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[list[CheckResult]] | None = None
        self._cancelled = False

    def start(self) -> None:
        """Start the checks; returns at once. Any thread."""
        threading.Thread(target=self._main, name="lanchat-diagnosis", daemon=True).start()

    def cancel(self) -> None:
        """Stop the checks early (the dialog was closed); no more results are reported."""
        self._cancelled = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(task.cancel)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the network checks failed")
        finally:
            self.finished.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()

        def report(result: CheckResult) -> None:
            if not self._cancelled:
                self._report(result)

        self._task = asyncio.ensure_future(
            diagnose(report, interfaces=self.interfaces, listen_s=self.listen_s)
        )
        if self._cancelled:
            self._task.cancel()
        await self._task
