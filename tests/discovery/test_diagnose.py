"""`lanchat doctor` across network namespaces: each thing that hides rooms, made real.

Namespace A runs `python -m lanchat doctor --json`; namespace B holds an advertiser agent
with a published room (tests/discovery/netns.py). Faults are made with the tools that make
them on real machines: nftables rules (multicast dropped on A's link as Wi-Fi client isolation
does, a host firewall dropping the room's port or mDNS), address changes and a tun device as
the default route, as a VPN client sets up.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest

from lanchat.discovery.checks import CHECKS
from tests.discovery.netns import REPO, Agent, Namespace, start_advertiser

pytestmark = pytest.mark.netns

LISTEN_S = "2"  # shorter than the default 3 s: the test LAN answers at once when it can


def drop_multicast(ns: Namespace) -> None:
    """What Wi-Fi client isolation does to `ns`: multicast from other devices never arrives.

    Dropped at the link's ingress; our own packets, which the kernel loops back through the
    same hook (and nftables classes as multicast too), are told apart by their source.
    """
    nft(
        ns,
        "table netdev isolation {\n"
        '    chain ingress { type filter hook ingress device "lc0" priority 0;\n'
        f"        ip saddr != {ns.address} ip daddr 224.0.0.0/4 drop; }}\n"
        "}\n",
    )


def nft(ns: Namespace, ruleset: str) -> None:
    """Load an nftables ruleset inside `ns`."""
    subprocess.run(ns.argv("nft", "-f", "-"), input=ruleset, text=True, check=True)


def ip(ns: Namespace, *args: str) -> None:
    subprocess.run(["ip", "-n", ns.name, *args], check=True)


def firewall(ns: Namespace, rule: str) -> None:
    """A host firewall in `ns` that drops what `rule` matches on the way in."""
    nft(
        ns,
        "table inet firewall {\n"
        f"    chain input {{ type filter hook input priority 0; {rule} drop; }}\n"
        "}\n",
    )


async def doctor(ns: Namespace, *options: str) -> tuple[dict[str, dict[str, Any]], int]:
    """Run `lanchat doctor --json` in `ns`; its results by check, and its exit status."""
    done = await asyncio.to_thread(
        subprocess.run,
        ns.argv(sys.executable, "-m", "lanchat", "doctor", "--listen", LISTEN_S, *options),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    if "--json" not in options:
        return {"text": {"stdout": done.stdout}}, done.returncode
    results = {obj["check"]: obj for obj in map(json.loads, done.stdout.splitlines())}
    assert list(results) == list(CHECKS), (done.stdout, done.stderr)
    return results, done.returncode


async def host_a_room(agents: list[Agent], ns: Namespace) -> int:
    """Publish #games from an advertiser agent in `ns`; returns its listening TCP port."""
    advertiser, port = await start_advertiser(agents, ns)
    advertiser.send(op="publish", room="#games", users=1, topic="", key=False)
    await advertiser.expect("published")
    return port


async def test_multicast_dropped_on_the_link_reads_as_blocked(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    await host_a_room(agents, b)
    results, status = await doctor(a, "--json")
    assert results["neighbours"]["status"] == "ok", results["neighbours"]
    assert results["rooms"]["status"] == "ok", results["rooms"]
    assert status == 0
    drop_multicast(a)
    results, status = await doctor(a, "--json")
    assert results["mdns"]["status"] == "ok"  # this machine itself is fine
    assert results["neighbours"]["status"] == "problem"
    assert "seems to block multicast" in results["neighbours"]["verdict"]
    assert status == 1


async def test_a_room_behind_a_firewall_is_found_but_not_reachable(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    port = await host_a_room(agents, b)
    firewall(b, f"tcp dport {port}")
    results, status = await doctor(a, "--json")
    rooms = results["rooms"]
    assert rooms["status"] == "problem"
    assert rooms["verdict"].startswith(
        f"Found but not reachable: #games on alice-laptop ({b.address}:{port}: timed out)"
    )
    assert f"sudo ufw allow {port}/tcp" in rooms["fix"]
    assert results["neighbours"]["status"] == "ok"
    assert status == 1


@pytest.mark.parametrize(
    ("address", "verdict"),
    [
        (None, "PROBLEM   Network address: This computer is not connected to any network."),
        (
            "169.254.9.1/16",
            "PROBLEM   Network address: This computer only has a self-assigned address "
            "(169.254.9.1): the network did not give it one.",
        ),
    ],
)
async def test_no_address_or_a_self_assigned_one_says_what_to_do(
    pair: tuple[Namespace, Namespace], address: str | None, verdict: str
) -> None:
    a, _ = pair
    ip(a, "addr", "flush", "dev", "lc0")
    if address:
        ip(a, "addr", "add", address, "dev", "lc0")
    text, status = await doctor(a)
    lines = text["text"]["stdout"].splitlines()
    assert lines[1] == verdict
    assert lines[2].startswith("          What to do: ")
    assert "skipped   mDNS on this computer: Not checked" in lines[4]
    assert status == 1


async def test_a_vpn_as_the_default_route_is_named(pair: tuple[Namespace, Namespace]) -> None:
    a, _ = pair
    ip(a, "tuntap", "add", "dev", "tun0", "mode", "tun")
    ip(a, "addr", "add", "10.200.0.2/32", "dev", "tun0")
    ip(a, "link", "set", "tun0", "up")
    ip(a, "route", "add", "default", "dev", "tun0")
    results, _ = await doctor(a, "--json")
    assert results["vpn"]["status"] == "warning"
    assert results["vpn"]["verdict"].startswith("Your traffic goes through a VPN (tun0)")


async def test_a_room_on_another_subnet_of_the_same_link(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    far = b.address.replace("10.123.", "10.125.")
    ip(b, "addr", "flush", "dev", "lc0")
    ip(b, "addr", "add", f"{far}/24", "dev", "lc0")
    await host_a_room(agents, b)
    results, _ = await doctor(a, "--json")
    assert results["subnet"]["status"] == "warning"
    assert f"({far}) is on another subnet" in results["subnet"]["verdict"]
    assert results["rooms"]["verdict"].startswith("Found but not reachable, from another subnet")


async def test_a_firewall_here_blocking_mdns_fails_the_self_test(
    pair: tuple[Namespace, Namespace],
) -> None:
    a, _ = pair
    firewall(a, "udp dport 5353")
    results, _ = await doctor(a, "--json")
    assert results["mdns"]["status"] == "problem"
    assert "sudo ufw allow 5353/udp" in results["mdns"]["fix"]
