"""Real mDNS between network namespaces: veth links and discovery agent processes for tests.

Needs root and iproute2 (CI runs as root). Every namespace, link and address made here exists
only for one test and is deleted in teardown, also when the test fails; the 10.123.x.0/24
addresses live only inside our namespaces and on our own veth link, never on eth0.

`namespace_pair()` joins two namespaces A and B with a veth pair (both ends named `lc0`).
`host_link()` joins the root namespace (the host) to a namespace B: the host end is a real
interface of this machine, so the host-side advertiser uses "the host's own interface".
`Agent` runs tests/discovery/agent.py (advertise or browse) in a namespace and speaks JSON
lines with it; every wait is an asyncio timeout that fails with what was received.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AGENT = Path(__file__).with_name("agent.py")
DEFAULT_TIMEOUT_S = 8.0
_links = itertools.count()


@dataclass(frozen=True)
class Namespace:
    """A network namespace and the address of its end of the link."""

    name: str
    address: str

    def argv(self, *command: str) -> list[str]:
        """`command` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *command]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"`ip {' '.join(args)}` failed: {done.stderr.strip()} "
            "(discovery tests need root and iproute2)"
        )


def _subnet() -> str:
    # Unique per process and link, so parallel runs never share a subnet on the host link.
    n = next(_links)
    return f"10.123.{(os.getpid() * 8 + n) % 250 + 1}"


def _setup_end(namespace: str | None, device: str, address: str) -> None:
    where = ["-n", namespace] if namespace else []
    _ip(*where, "addr", "add", f"{address}/24", "dev", device)
    _ip(*where, "link", "set", device, "multicast", "on", "up")
    if namespace:
        _ip(*where, "link", "set", "lo", "up")


def remove_stale_namespaces() -> None:
    """Delete namespaces left by an earlier test run that was killed before its teardown.

    Only names this module makes (`lc-a-PID-N`, `lc-b-...`, `lc-h-...`) whose process is gone;
    deleting a namespace also deletes the veth pair it holds an end of.
    """
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(r"lc-[abh]-(\d+)-\d+", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


@contextlib.contextmanager
def namespace_pair() -> Iterator[tuple[Namespace, Namespace]]:
    """Two fresh namespaces A and B joined by a veth pair; deleted on exit."""
    subnet, tag = _subnet(), f"{os.getpid()}-{next(_links)}"
    a, b = Namespace(f"lc-a-{tag}", f"{subnet}.1"), Namespace(f"lc-b-{tag}", f"{subnet}.2")
    try:
        for ns in (a, b):
            _ip("netns", "add", ns.name)
        _ip("link", "add", "lc0", "netns", a.name, "type", "veth", "peer", "lc0", "netns", b.name)
        for ns in (a, b):
            _setup_end(ns.name, "lc0", ns.address)
        yield a, b
    finally:
        for ns in (a, b):  # deleting a namespace deletes its end of the veth pair too
            subprocess.run(["ip", "netns", "delete", ns.name], capture_output=True, check=False)


@contextlib.contextmanager
def host_link() -> Iterator[tuple[str, Namespace]]:
    """A veth pair from the host (root namespace) to a fresh namespace B; deleted on exit.

    Yields the host end's address (an interface of this machine) and the namespace.
    """
    subnet, n = _subnet(), next(_links)
    device = f"lch{os.getpid() % 100000}x{n % 100}"  # interface names have at most 15 bytes
    host_address, b = f"{subnet}.1", Namespace(f"lc-h-{os.getpid()}-{n}", f"{subnet}.2")
    try:
        _ip("netns", "add", b.name)
        _ip("link", "add", device, "type", "veth", "peer", "lc0", "netns", b.name)
        _setup_end(None, device, host_address)
        _setup_end(b.name, "lc0", b.address)
        yield host_address, b
    finally:
        subprocess.run(["ip", "link", "delete", device], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", b.name], capture_output=True, check=False)


def drop_unicast_mdns(ns: Namespace) -> None:
    """Make `ns` drop unicast packets to port 5353, as a firewall that lets multicast DNS
    through but nothing else does; also what a process sees when the kernel hands a unicast
    reply to another socket of the port (a room list open beside the server)."""
    for rule in (
        "add table inet lanchat_test",
        "add chain inet lanchat_test input { type filter hook input priority 0 ; }",
        "add rule inet lanchat_test input udp dport 5353 meta pkttype host drop",
    ):
        done = subprocess.run(ns.argv("nft", rule), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`nft {rule}` failed: {done.stderr.strip()} (needs nftables)")


class Agent:
    """A tests/discovery/agent.py (or any JSON-lines) process inside a namespace."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr: Any, what: str) -> None:
        self.proc = proc
        self._stderr = stderr  # temporary file with the process's stderr, shown on failure
        self.what = what  # command line, for messages
        self.seen: list[dict[str, Any]] = []  # every object received, in order
        self._pending: list[dict[str, Any]] = []  # received, not yet consumed by expect()

    @classmethod
    async def start(cls, ns: Namespace, *args: str, script: bool = True) -> Agent:
        """Start `agent.py ARGS` (or `python ARGS` when script is False) inside `ns`."""
        command = [sys.executable, str(AGENT), *args] if script else [sys.executable, *args]
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by close()
        proc = await asyncio.create_subprocess_exec(
            *ns.argv(*command),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=REPO,
        )
        return cls(proc, stderr, " ".join(args))

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")

    def errors(self) -> str:
        self._stderr.seek(0)
        return str(self._stderr.read().decode(errors="replace"))

    async def expect(
        self,
        event: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """The first unconsumed object with this "event" (and matching `where`)."""
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                if self._pending:
                    obj = self._pending.pop(0)
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise TimeoutError
                    line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
                    if not line:
                        raise TimeoutError
                    obj = json.loads(line)
                    self.seen.append(obj)
                if obj.get("event") == event and (where is None or where(obj)):
                    return obj
                skipped.append(obj)
        except TimeoutError:
            raise AssertionError(
                f"{self.what}: expected {event!r} within {timeout_s}s; got {self.seen}; "
                f"stderr: {self.errors()[-2000:]}"
            ) from None
        finally:
            self._pending[:0] = skipped

    def kill(self) -> None:
        """SIGKILL: no goodbye packets, the listening socket just disappears."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    async def close(self, timeout_s: float = 5.0) -> int:
        """Close stdin (the agent's signal to stop), wait for the exit; kill if it hangs."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            self.kill()
            return await self.proc.wait()
        finally:
            self._stderr.close()


async def start_browser(agents: list[Agent], ns: Namespace, *options: str) -> Agent:
    browser = await Agent.start(ns, "browse", *options)
    agents.append(browser)
    await browser.expect("ready")
    return browser


async def start_advertiser(
    agents: list[Agent], ns: Namespace, host: str = "alice-laptop", interval_s: float = 0.5
) -> tuple[Agent, int]:
    advertiser = await Agent.start(ns, "advertise", "--host", host, "--interval", str(interval_s))
    agents.append(advertiser)
    ready = await advertiser.expect("ready")
    return advertiser, int(ready["port"])


async def browse_and_advertise(
    agents: list[Agent], pair: tuple[Namespace, Namespace], *browser_options: str
) -> tuple[Agent, Agent, int]:
    """A browser in namespace B and an advertiser in namespace A, started together.

    Returns:
        (browser, advertiser, the advertiser's listening TCP port).
    """
    a, b = pair
    browser, (advertiser, port) = await asyncio.gather(
        start_browser(agents, b, *browser_options), start_advertiser(agents, a)
    )
    return browser, advertiser, port


def room(name: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """Matches an event of room `name` whose ad has these field values.

    Agent events carry the room under "ad"; `lanchat rooms --watch --json` lines are flat.
    """

    def match(obj: dict[str, Any]) -> bool:
        ad = obj.get("ad", obj)
        return bool(ad["room"] == name and all(ad[k] == v for k, v in fields.items()))

    return match
