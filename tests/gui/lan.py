"""A small LAN of network namespaces on one bridge, for end-to-end tests with real mDNS.

Needs root and iproute2. Like tests/discovery/netns.py (whose Namespace and Agent this
reuses), every namespace and link exists only for one test and is deleted in teardown; the
10.124.x.0/24 addresses live only inside our namespaces, never on eth0.

A bridge (rather than one veth pair) lets three machines share one segment: the host of a
room and two people joining it, each with its own address, so each can see the other's IP.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.discovery.netns import Namespace


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()} (needs root)")


def _remove_stale() -> None:
    # Namespaces of an earlier run that was killed before its teardown (its process is gone).
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        name = (line.split() or [""])[0]
        match = re.fullmatch(r"lcg-(?:br|\d+)-(\d+)", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


@contextlib.contextmanager
def bridged_namespaces(count: int, *, host: bool = False) -> Iterator[list[Namespace]]:
    """`count` fresh namespaces on one bridge, addressed 10.124.S.1, .2, ...; deleted on exit.

    With `host`, this machine (the root namespace) is on the bridge too, as 10.124.S.254, so
    the test process reaches every namespace directly (the browser tests' Chromium does).
    """
    _remove_stale()
    tag = str(os.getpid())
    subnet = f"10.124.{os.getpid() % 250 + 1}"
    bridge = f"lcg-br-{tag}"
    members = [Namespace(f"lcg-{i}-{tag}", f"{subnet}.{i + 1}") for i in range(count)]
    try:
        _ip("netns", "add", bridge)
        # No multicast snooping: with no querier on this tiny LAN it would drop mDNS.
        _ip("-n", bridge, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", bridge, "link", "set", "br0", "up")
        for i, ns in enumerate(members):
            _ip("netns", "add", ns.name)
            port = f"p{i}"
            _ip(
                "link",
                "add",
                "lc0",
                "netns",
                ns.name,
                "type",
                "veth",
                "peer",
                port,
                "netns",
                bridge,
            )
            _ip("-n", bridge, "link", "set", port, "master", "br0")
            _ip("-n", bridge, "link", "set", port, "up")
            _ip("-n", ns.name, "addr", "add", f"{ns.address}/24", "dev", "lc0")
            _ip("-n", ns.name, "link", "set", "lc0", "multicast", "on", "up")
            _ip("-n", ns.name, "link", "set", "lo", "up")
        if host:
            # Deleting the bridge namespace deletes this veth pair's other end, and so this one.
            device = f"lcgh{os.getpid() % 100000}"  # interface names have at most 15 bytes
            _ip("link", "add", device, "type", "veth", "peer", "ph", "netns", bridge)
            _ip("-n", bridge, "link", "set", "ph", "master", "br0")
            _ip("-n", bridge, "link", "set", "ph", "up")
            _ip("addr", "add", f"{subnet}.254/24", "dev", device)
            _ip("link", "set", device, "up")
        yield members
    finally:
        for name in [bridge, *(ns.name for ns in members)]:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
