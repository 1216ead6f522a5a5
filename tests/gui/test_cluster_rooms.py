"""A clustered room (issue 20) on a real (namespaced) LAN, seen from the desktop client.

Two machines each run `lanchat serve` and advertise the same room with the same cluster id
over real mDNS (the advertisement through the discovery API, tests/discovery/agent.py); a
third runs alice's chat window (tests/gui/chat_agent.py). Her Rooms page shows the room once
with both machines; she joins; the machine she is connected to is killed (SIGKILL, its server
and its advertisement), and her window moves to the other one, rejoins the room and goes on.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.discovery.netns import AGENT, Agent, Namespace
from tests.gui.lan import bridged_namespaces
from tests.support import SERVE_READY_TIMEOUT_S, ServerProcess, serve_argv

pytestmark = [pytest.mark.gui, pytest.mark.netns]

STEP_TIMEOUT_S = 15.0
CLUSTER = "c1u5t3r"


@pytest.fixture
def lan() -> Iterator[list[Namespace]]:
    with bridged_namespaces(3) as namespaces:
        yield namespaces


@asynccontextmanager
async def node(
    ns: Namespace, data_dir: Path, host: str
) -> AsyncIterator[tuple[ServerProcess, Agent]]:
    """A machine of the cluster: `lanchat serve` in `ns` and its room advertised as `host`."""
    proc = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-m", "lanchat", *serve_argv(data_dir, "--host", "0.0.0.0")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    server = ServerProcess(proc)
    advertiser = await Agent.start(ns, str(AGENT), "advertise", "--host", host, script=False)
    try:
        ready = await server.wait_for_output("ready: port ", SERVE_READY_TIMEOUT_S)
        server.port = int(ready.split()[-1])
        await advertiser.expect("ready", timeout_s=STEP_TIMEOUT_S)
        advertiser.send(op="publish", room="#party", cluster=CLUSTER, port=server.port, users=1)
        await advertiser.expect("published", timeout_s=STEP_TIMEOUT_S)
        yield server, advertiser
    finally:
        await advertiser.close()
        await server.stop()


def party_row(hosts: str, addresses: str) -> Any:
    return lambda o: (
        [r[1:5:3] for r in o["rows"] if r[0].endswith("#party")] == [[hosts, addresses]]
    )


async def test_clustered_room_is_listed_once_and_a_dead_node_moves_the_window_to_another(
    lan: list[Namespace], tmp_path: Path
) -> None:
    ns_a, ns_b, ns_alice = lan
    alice = await Agent.start(
        ns_alice, "-m", "tests.gui.chat_agent", "--nick", "alice", script=False
    )
    async with AsyncExitStack() as nodes:
        (server_a, advertiser_a), (server_b, _) = await asyncio.gather(
            nodes.enter_async_context(node(ns_a, tmp_path / "a", "hall-a")),
            nodes.enter_async_context(node(ns_b, tmp_path / "b", "hall-b")),
        )
        try:
            await alice.expect("ready", timeout_s=STEP_TIMEOUT_S)
            a, b = f"{ns_a.address}:{server_a.port}", f"{ns_b.address}:{server_b.port}"
            await alice.expect(
                "rooms", party_row("hall-a, hall-b", f"{a}, {b}"), timeout_s=STEP_TIMEOUT_S
            )
            alice.send(cmd="join", room="#party")
            await alice.expect(
                "transcript", lambda o: "You joined #party." in o["text"], timeout_s=STEP_TIMEOUT_S
            )
            await alice.expect(
                "status", lambda o: o["text"] == f"Connected to {a} as alice.",
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            server_a.proc.kill()  # machine A dies: its server and its advertisement
            advertiser_a.kill()
            await alice.expect(
                "status", lambda o: o["text"] == f"Connected to {b} as alice.",
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            # Rejoined on B: the room's members come from B, and a line typed there goes out.
            await alice.expect(
                "transcript", lambda o: o["text"].count("You joined #party.") == 2,
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            alice.send(cmd="say", text="still here")
            await alice.expect(
                "transcript", lambda o: "still here" in o["text"], timeout_s=STEP_TIMEOUT_S
            )
            # The room stays listed, now with B only (its probe found A gone).
            await alice.expect("rooms", party_row("hall-b", b), timeout_s=STEP_TIMEOUT_S)
        finally:
            await alice.close()
